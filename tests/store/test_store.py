"""Recording, idempotence, resume-style flows, prefix resolution and reads of the results store."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import pytest

from orchestrator.store import (
    AmbiguousSweep,
    Recording,
    Store,
    StoreError,
    StoreNotFound,
    SweepState,
    UnknownSweep,
)
from probes.model import Severity, Status

from .conftest import CHECKS, endpoint, report

P, F, W, E, S = Status.PASS, Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP


def _count(store: Store, sql: str, *params) -> int:
    return store._conn().execute(sql, params).fetchone()[0]


def test_create_sweep_stores_metadata_and_endpoints(store, make_sweep):
    endpoints = [endpoint(i) for i in range(3)]
    sweep_id = make_sweep(endpoints)

    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", sweep_id)
    sweep = store.get_sweep(sweep_id)
    assert sweep.state is SweepState.RUNNING
    assert sweep.finished_at is None
    assert sweep.total_endpoints == 3
    assert sweep.options == {"concurrency": 50}
    assert (sweep.inventory_name, sweep.profile, sweep.engine) == ("national", "spbe-baseline", "asyncio")
    assert list(store.endpoints(sweep_id)) == endpoints
    assert store.pending(sweep_id) == [e.endpoint_id for e in endpoints]


def test_sweep_ids_sort_by_start_time(store, make_sweep):
    later = make_sweep([endpoint(1)], started_at=datetime(2026, 11, 27, 22, 40, 0, tzinfo=UTC))
    earlier = make_sweep([endpoint(1)], started_at=datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC))
    assert later.startswith("20261127-224000-")
    assert earlier < later
    assert [s.id for s in store.list_sweeps()] == [later, earlier]
    assert [s.id for s in store.list_sweeps(limit=1)] == [later]


def test_duplicate_endpoint_ids_are_refused(make_sweep):
    with pytest.raises(ValueError, match="duplicate endpoint id"):
        make_sweep([endpoint(1), endpoint(1)])


def test_record_writes_outcome_and_results(store, make_sweep):
    ep = endpoint(1)
    sweep_id = make_sweep([ep])
    store.record(
        sweep_id,
        ep.endpoint_id,
        report(ep.url, {"SSH-KEX-001": P, "SSH-KEX-002": F}, facts={"banner": "SSH-2.0-OpenSSH_9.2"}),
        attempts=2,
        worker="node-1",
    )

    [outcome] = store.outcomes(sweep_id)
    assert outcome.endpoint_id == ep.endpoint_id
    assert (outcome.unreachable, outcome.error_class, outcome.attempts, outcome.worker) == (
        None,
        None,
        2,
        "node-1",
    )
    assert outcome.facts == {"banner": "SSH-2.0-OpenSSH_9.2"}
    assert outcome.duration_s == 0.5
    rows = list(store.results(sweep_id))
    assert [(r.check_id, r.status, r.severity) for r in rows] == [
        ("SSH-KEX-001", P, Severity.HIGH),
        ("SSH-KEX-002", F, Severity.HIGH),
    ]
    assert rows[1].evidence == {"observed": ["SSH-KEX-002", "fail"], "expected": "pass"}
    assert (rows[1].agency, rows[1].province, rows[1].application) == ("kemenkes", "DKI Jakarta", "app-1")
    assert store.pending(sweep_id) == []


def test_recording_twice_leaves_one_row_per_check_and_the_later_wins(store, make_sweep):
    ep = endpoint(1)
    sweep_id = make_sweep([ep])
    store.record(sweep_id, ep.endpoint_id, report(ep.url, dict.fromkeys(CHECKS, E), unreachable="timed out"))
    store.record(sweep_id, ep.endpoint_id, report(ep.url, dict.fromkeys(CHECKS, P)), attempts=2)
    store.record_many(
        sweep_id, [Recording(ep.endpoint_id, report(ep.url, dict.fromkeys(CHECKS, F)), attempts=3)]
    )

    assert _count(store, "SELECT COUNT(*) FROM results") == len(CHECKS)
    assert _count(store, "SELECT COUNT(*) FROM outcomes") == 1
    assert {r.status for r in store.results(sweep_id)} == {F}
    [outcome] = store.outcomes(sweep_id)
    assert (outcome.unreachable, outcome.attempts) == (None, 3)


def test_a_later_report_without_a_check_drops_its_stale_row(store, make_sweep):
    ep = endpoint(1)
    sweep_id = make_sweep([ep])
    store.record(sweep_id, ep.endpoint_id, report(ep.url, {"SSH-KEX-001": F, "SSH-KEX-002": F}))
    store.record(sweep_id, ep.endpoint_id, report(ep.url, {"SSH-KEX-001": P}))
    assert [(r.check_id, r.status) for r in store.results(sweep_id)] == [("SSH-KEX-001", P)]


def test_record_many_in_one_batch_and_pending_after_partial_recording(store, make_sweep):
    endpoints = [endpoint(i) for i in range(10)]
    sweep_id = make_sweep(endpoints)
    done = endpoints[2:5] + endpoints[7:8]
    assert store.record_many(sweep_id, [(e.endpoint_id, report(e.url)) for e in done]) == 4

    expected = [e.endpoint_id for e in endpoints if e not in done]
    assert store.pending(sweep_id) == expected  # planned order kept
    assert store.progress(sweep_id).done == 4
    assert store.progress(sweep_id).by_status == {"pass": 4 * len(CHECKS)}
    assert store.record_many(sweep_id, []) == 0


def test_a_failing_batch_records_nothing(store, make_sweep):
    endpoints = [endpoint(i) for i in range(3)]
    sweep_id = make_sweep(endpoints)
    batch = [(e.endpoint_id, report(e.url)) for e in endpoints] + [("ssh://not-planned:22", report("x"))]
    with pytest.raises(StoreError, match="ssh://not-planned:22"):
        store.record_many(sweep_id, batch)
    assert store.pending(sweep_id) == [e.endpoint_id for e in endpoints]
    assert _count(store, "SELECT COUNT(*) FROM results") == 0


def test_recording_into_an_unknown_sweep_is_an_error(store):
    with pytest.raises(StoreError, match="unknown sweep or endpoint"):
        store.record("20260101-000000-dead", "ssh://a:22", report("ssh://a:22"))


def test_resume_flow_across_store_instances(store_path, make_sweep, store):
    endpoints = [endpoint(i) for i in range(6)]
    sweep_id = make_sweep(endpoints)
    store.record_many(sweep_id, [(e.endpoint_id, report(e.url)) for e in endpoints[:2]])
    # A worker crashed on the third endpoint: it has an outcome with an error class.
    store.record(
        sweep_id,
        endpoints[2].endpoint_id,
        report(endpoints[2].url, dict.fromkeys(CHECKS, E)),
        error_class="WorkerLost",
    )
    store.set_state(sweep_id, "interrupted")
    store.close()

    # The driver restarts: a fresh process opens the same file.
    with Store(store_path) as resumed:
        sweep = resumed.get_sweep(sweep_id[:15])
        assert sweep.state is SweepState.INTERRUPTED and sweep.finished_at is not None
        assert resumed.pending(sweep.id) == [e.endpoint_id for e in endpoints[3:]]
        assert resumed.pending(sweep.id, retry_errors=True) == [e.endpoint_id for e in endpoints[2:]]

        resumed.set_state(sweep.id, SweepState.RUNNING)
        assert resumed.get_sweep(sweep.id).finished_at is None
        todo = resumed.pending(sweep.id, retry_errors=True)
        resumed.record_many(sweep.id, [Recording(e, report(e), attempts=2) for e in todo])
        resumed.set_state(sweep.id, SweepState.COMPLETE)

        assert resumed.pending(sweep.id, retry_errors=True) == []
        final = resumed.get_sweep(sweep.id)
        assert final.state is SweepState.COMPLETE and final.duration_s is not None
        progress = resumed.progress(sweep.id)
        assert (progress.done, progress.total, progress.by_status) == (6, 6, {"pass": 6 * len(CHECKS)})
        assert {o.endpoint_id: o.error_class for o in resumed.outcomes(sweep.id)}[
            endpoints[2].endpoint_id
        ] is None


def test_status_counts_cache_follows_later_writes(store, make_sweep):
    ep = endpoint(1)
    sweep_id = make_sweep([ep])
    store.record(sweep_id, ep.endpoint_id, report(ep.url, dict.fromkeys(CHECKS, F)))
    store.set_state(sweep_id, "complete")
    assert store.progress(sweep_id).by_status == {"fail": 3}
    store.record(sweep_id, ep.endpoint_id, report(ep.url, dict.fromkeys(CHECKS, P)))
    assert store.progress(sweep_id).by_status == {"pass": 3}


def test_set_state_rejects_unknown_states(store, make_sweep):
    sweep_id = make_sweep([endpoint(1)])
    with pytest.raises(ValueError, match="not a valid SweepState"):
        store.set_state(sweep_id, "paused")


def test_prefix_resolution(store, make_sweep):
    a = make_sweep([endpoint(1)], started_at=datetime(2026, 11, 27, 22, 40, 0, tzinfo=UTC))
    b = make_sweep([endpoint(1)], started_at=datetime(2026, 11, 27, 22, 41, 0, tzinfo=UTC))
    c = make_sweep([endpoint(1)], started_at=datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC))

    assert store.resolve(a) == a
    assert store.resolve("20261127-2240") == a
    assert store.resolve("20261128") == c
    assert store.get_sweep("20261127-2241").id == b
    with pytest.raises(AmbiguousSweep) as ambiguous:
        store.resolve("20261127")
    assert ambiguous.value.candidates == [a, b]
    assert a in str(ambiguous.value) and b in str(ambiguous.value)
    with pytest.raises(UnknownSweep, match="2025"):
        store.resolve("2025")
    with pytest.raises(UnknownSweep):
        store.resolve("")
    # Prefix characters are literal, never patterns.
    with pytest.raises(UnknownSweep):
        store.resolve("2026%")


def test_summary_counts_by_status_province_check_and_agency(store, make_sweep):
    endpoints = [
        endpoint(1, agency="kemenkes", province="DKI Jakarta"),
        endpoint(2, agency="pemprov-jabar", province="Jawa Barat"),
        endpoint(3, agency="kota-bandung", province="Jawa Barat"),
        endpoint(4, agency="bssn", province=None),
        endpoint(5),  # never finishes
    ]
    sweep_id = make_sweep(endpoints)
    store.record_many(
        sweep_id,
        [
            (endpoints[0].endpoint_id, report(endpoints[0].url, {"SSH-KEX-001": P, "TLS-CERT-003": F})),
            (endpoints[1].endpoint_id, report(endpoints[1].url, {"SSH-KEX-001": F, "TLS-CERT-003": W})),
            (endpoints[2].endpoint_id, report(endpoints[2].url, {"SSH-KEX-001": P, "TLS-CERT-003": P})),
            (
                endpoints[3].endpoint_id,
                report(endpoints[3].url, {"SSH-KEX-001": E, "TLS-CERT-003": E}, unreachable="refused"),
            ),
        ],
    )
    summary = store.summary(sweep_id)
    assert (summary.total_endpoints, summary.done, summary.unreachable) == (5, 4, 1)
    assert summary.by_status == {"error": 2, "fail": 2, "pass": 3, "warn": 1}
    assert summary.by_province == {
        "DKI Jakarta": {"pass": 1, "fail": 1},
        "Jawa Barat": {"fail": 1, "warn": 1, "pass": 2},
        None: {"error": 2},
    }
    assert list(summary.by_province) == ["DKI Jakarta", "Jawa Barat", None]
    assert summary.by_check == {
        "SSH-KEX-001": {"pass": 2, "fail": 1, "error": 1},
        "TLS-CERT-003": {"fail": 1, "warn": 1, "pass": 1, "error": 1},
    }
    assert summary.check_severity == {"SSH-KEX-001": "high", "TLS-CERT-003": "medium"}
    assert summary.by_agency["kota-bandung"] == {"pass": 2}
    assert summary.by_agency["bssn"] == {"error": 2}
    as_dict = summary.to_dict()
    assert as_dict["by_check"][0] == {
        "check_id": "SSH-KEX-001",
        "severity": "high",
        "by_status": {"pass": 2, "fail": 1, "error": 1},
    }


def test_results_filter_by_agency_and_status(store, make_sweep):
    endpoints = [endpoint(1, agency="kemenkes"), endpoint(2, agency="bssn")]
    sweep_id = make_sweep(endpoints)
    store.record_many(
        sweep_id,
        [
            (endpoints[0].endpoint_id, report(endpoints[0].url, {"SSH-KEX-001": F, "SSH-KEX-002": P})),
            (endpoints[1].endpoint_id, report(endpoints[1].url, {"SSH-KEX-001": F})),
        ],
    )
    assert [(r.agency, r.check_id) for r in store.results(sweep_id, agency="kemenkes")] == [
        ("kemenkes", "SSH-KEX-001"),
        ("kemenkes", "SSH-KEX-002"),
    ]
    assert [r.endpoint_id for r in store.results(sweep_id, status="fail")] == [
        endpoints[0].endpoint_id,
        endpoints[1].endpoint_id,
    ]
    assert list(store.results(sweep_id, agency="nobody")) == []


def test_latest_complete_picks_the_newest_complete_sweep_of_that_inventory(store, make_sweep):
    def at(hour: int) -> datetime:
        return datetime(2026, 11, 27, hour, 0, 0, tzinfo=UTC)

    old = make_sweep([endpoint(1)], started_at=at(1))
    newer = make_sweep([endpoint(1)], started_at=at(2))
    make_sweep([endpoint(1)], started_at=at(3))  # still running
    other = make_sweep([endpoint(1)], started_at=at(4), inventory_name="jabar")
    for sweep_id in (old, newer, other):
        store.set_state(sweep_id, "complete")

    assert store.latest_complete("national").id == newer
    assert store.latest_complete("jabar").id == other
    assert store.latest_complete("nowhere") is None


def test_non_json_evidence_is_stored_as_text_rather_than_failing_the_batch(store, make_sweep):
    ep = endpoint(1)
    sweep_id = make_sweep([ep])
    rep = report(ep.url, {"SSH-KEX-001": F})
    rep.results[0].evidence = {"observed": b"\x00\xff", "set": {"b", "a"}, "status": Status.FAIL}
    store.record(sweep_id, ep.endpoint_id, rep)
    [row] = store.results(sweep_id)
    assert row.evidence == {"observed": "00ff", "set": ["a", "b"], "status": "fail"}


def test_missing_store_is_not_created_when_create_is_false(tmp_path):
    path = tmp_path / "absent.db"
    with pytest.raises(StoreNotFound):
        Store(path, create=False)
    assert not path.exists()


def test_store_uses_wal_and_foreign_keys_and_closes_every_connection(store, store_path):
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
    with pytest.raises(StoreError, match="closed"):
        store.list_sweeps()


def test_iterating_readers_reject_a_bad_id_when_called_not_when_consumed(store):
    for reader in (store.results, store.outcomes, store.endpoints):
        with pytest.raises(UnknownSweep):
            reader("nope")
