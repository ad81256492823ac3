"""Schema migrations: versions are recorded, re-opening is idempotent, old databases upgrade."""

from __future__ import annotations

import sqlite3

import pytest

from orchestrator.store import Store, StoreError
from orchestrator.store.migrations import MIGRATIONS, SCHEMA_VERSION, migrate

from .conftest import endpoint, new_sweep, report


def _versions(path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_migrations_are_numbered_in_order_from_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_fresh_store_records_every_version_and_reopening_changes_nothing(store_path):
    with Store(store_path) as store:
        assert store.schema_version == SCHEMA_VERSION
    assert _versions(store_path) == [m.version for m in MIGRATIONS]
    with sqlite3.connect(store_path) as conn:
        schema_before = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()

    for _ in range(2):
        with Store(store_path) as store:
            assert store.schema_version == SCHEMA_VERSION

    assert _versions(store_path) == [m.version for m in MIGRATIONS]
    with sqlite3.connect(store_path) as conn:
        assert (
            conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
            == schema_before
        )


def test_a_version_1_database_with_data_is_upgraded_on_open(store_path):
    store_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(store_path, isolation_level=None)
    assert migrate(conn, target=1) == 1
    # A sweep written by the version-1 program.
    conn.execute(
        "INSERT INTO sweeps (id, inventory_path, inventory_hash, inventory_name, profile, profile_hash,"
        " engine, started_at, finished_at, state, total_endpoints, options) VALUES"
        " ('20261101-010000-abcd', 'inv.yaml', 'sha256:1', 'national', 'baseline', 'sha256:2', 'ray',"
        " '2026-11-01T01:00:00.000+00:00', '2026-11-01T02:00:00.000+00:00', 'complete', 1, '{}')"
    )
    conn.execute(
        "INSERT INTO endpoints (sweep_id, endpoint_id, seq, url, protocol, agency) VALUES"
        " ('20261101-010000-abcd', 'ssh://old:22', 0, 'ssh://old:22', 'ssh', 'bssn')"
    )
    conn.execute(
        "INSERT INTO outcomes (sweep_id, endpoint_id, attempts, duration_s, finished_at) VALUES"
        " ('20261101-010000-abcd', 'ssh://old:22', 1, 0.2, '2026-11-01T01:00:01.000+00:00')"
    )
    conn.execute(
        "INSERT INTO results (sweep_id, endpoint_id, check_id, status, severity) VALUES"
        " ('20261101-010000-abcd', 'ssh://old:22', 'SSH-KEX-001', 'fail', 'high')"
    )
    conn.close()
    assert _versions(store_path) == [1]

    with Store(store_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        # Old data reads through the new schema (the v2 counts cache starts empty).
        assert store.get_sweep("20261101").inventory_name == "national"
        assert store.progress("20261101").by_status == {"fail": 1}
        assert store.summary("20261101").by_agency == {"bssn": {"fail": 1}}
        # And the upgraded database takes new sweeps.
        ep = endpoint(1)
        new = new_sweep(store, [ep])
        store.record(new, ep.endpoint_id, report(ep.url))
        store.set_state(new, "complete")
        assert store.latest_complete("national").id == new
    assert _versions(store_path) == [m.version for m in MIGRATIONS]


def test_a_database_from_a_newer_program_is_refused(store_path):
    Store(store_path).close()
    with sqlite3.connect(store_path) as conn:
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from the future', '2030-01-01T00:00:00+00:00')",
            (SCHEMA_VERSION + 1,),
        )
    with pytest.raises(StoreError, match="newer"):
        Store(store_path)


def test_a_failing_migration_leaves_the_previous_version(store_path, monkeypatch):
    from orchestrator.store import migrations

    broken = migrations.Migration(SCHEMA_VERSION + 1, "broken", ("CREATE TABLE extra (x)", "NOT SQL"))
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS + (broken,))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError):
        Store(store_path)
    assert _versions(store_path) == [m.version for m in MIGRATIONS]
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0


def test_a_version_3_database_gains_result_messages_and_its_rows_read_back_without_one(store_path):
    from probes.messages import Message
    from probes.model import CheckResult, ProbeReport, Severity, Status

    store_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(store_path, isolation_level=None)
    assert migrate(conn, target=3) == 3
    # A result written by the version-3 program: no message column yet.
    conn.execute(
        "INSERT INTO sweeps (id, inventory_path, inventory_hash, inventory_name, profile, profile_hash,"
        " engine, started_at, state, total_endpoints) VALUES ('20261201-010000-abcd', 'inv.yaml', 'sha256:1',"
        " 'national', 'baseline', 'sha256:2', 'ray', '2026-12-01T01:00:00.000+00:00', 'complete', 1)"
    )
    conn.execute(
        "INSERT INTO endpoints (sweep_id, endpoint_id, seq, url, protocol) VALUES"
        " ('20261201-010000-abcd', 'ssh://old:22', 0, 'ssh://old:22', 'ssh')"
    )
    conn.execute(
        "INSERT INTO results (sweep_id, endpoint_id, check_id, status, severity, reason) VALUES"
        " ('20261201-010000-abcd', 'ssh://old:22', 'SSH-ENC-001', 'fail', 'high',"
        " 'weak ciphers offered: 3des-cbc')"
    )
    conn.close()

    with Store(store_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        (old,) = store.results("20261201")
        assert (old.reason, old.message) == ("weak ciphers offered: 3des-cbc", None)
        # New rows carry their message.
        ep = endpoint(1)
        new = new_sweep(store, [ep])
        message = Message("ssh.offered", {"what": Message("ssh.what.weak_ciphers"), "names": ["3des-cbc"]})
        result = CheckResult("SSH-ENC-001", Status.FAIL, Severity.HIGH, old.reason, message=message)
        store.record(new, ep.endpoint_id, ProbeReport(ep.url, [result], 0.1))
        assert [row.message for row in store.results(new)] == [message]
    assert _versions(store_path) == [m.version for m in MIGRATIONS]
