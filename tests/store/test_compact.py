"""Retention (``orchestrator.store.compact``, ``interop store compact``): what a compacted sweep keeps,
what still works over it (statuses, summaries, diffs, reports' trend and changes, the metrics), and
that the file shrinks."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.metrics.collector import StoreCollector
from orchestrator.reports.build import build_report
from orchestrator.store import Recording, Store, SweepState
from orchestrator.store.compact import KEPT_FACTS, compact_store, slim_facts
from orchestrator.store.lock import StoreBusy, StoreLock
from orchestrator.store.migrations import migrate
from probes.messages import Message
from probes.model import CheckResult, ProbeReport, Severity, Status
from tests.metrics.conftest import build_scenario, samples, scrape
from tests.reports.fleets import later, record_sweep
from tests.reports.test_trend_and_changes import WEEK_1, WEEK_2, WEEK_3
from tests.store.conftest import endpoint, new_sweep

runner = CliRunner()


def history(path: Path) -> list[str]:
    """Three complete weekly sweeps of inventory ``fleet`` (tests.reports.fleets), oldest first."""
    with Store(path) as store:
        weeks = (WEEK_1, WEEK_2, WEEK_3)
        return [record_sweep(store, week, started_at=later(7 * n)) for n, week in enumerate(weeks)]


def everything(store: Store, sweeps: list[str]) -> dict:
    """What history reads from a sweep: statuses, summary, progress, diffs of consecutive sweeps."""

    def diff(a: str, b: str) -> dict:
        d = store.diff(a, b)

        def pairs(entries):
            return [(e.endpoint_id, e.check_id, e.before, e.after, e.severity) for e in entries]

        return {
            "regressions": pairs(d.regressions),
            "fixes": pairs(d.fixes),
            "changed": pairs(d.changed),
            "new": d.new_endpoints,
            "gone": d.gone_endpoints,
        }

    return {
        "statuses": {s: list(store.statuses(s)) for s in sweeps},
        "summary": {s: store.summary(s).to_dict() for s in sweeps},
        "progress": {s: store.progress(s).to_dict() for s in sweeps},
        "endpoints": {s: list(store.endpoints(s)) for s in sweeps},
        "diffs": [diff(a, b) for a, b in itertools.pairwise(sweeps)],
    }


def test_compacted_sweeps_keep_statuses_summaries_and_diffs(tmp_path: Path) -> None:
    path = tmp_path / "results.db"
    sweeps = history(path)
    with Store(path, create=False) as store:
        before = everything(store, sweeps)
    done = compact_store(path, keep=1)
    assert done.compacted == sweeps[:2] and done.kept == sweeps[2:]
    with Store(path, create=False) as store:
        assert everything(store, sweeps) == before
        for sweep_id in sweeps[:2]:
            rows = list(store.results(sweep_id))
            assert rows
            assert all((r.reason, r.evidence, r.message, r.duration_s) == ("", {}, None, 0) for r in rows)
        kept = list(store.results(sweeps[2]))
        assert all(r.reason and r.evidence for r in kept)


def test_reports_trend_and_changes_over_compacted_sweeps(tmp_path: Path) -> None:
    full, compacted = tmp_path / "full.db", tmp_path / "compacted.db"
    sweeps, sweeps_c = history(full), history(compacted)  # the same fleets, other ids
    compact_store(compacted, keep=1)
    with Store(full, create=False) as a, Store(compacted, create=False) as b:
        for agency in (None, "A"):
            report_a = build_report(a, sweeps[2], agency=agency, lang="en")
            report_b = build_report(b, sweeps_c[2], agency=agency, lang="en")
            # The newest sweep is kept in full; its trend and its changes read the compacted ones.
            strip = lambda points: [(p["index"], p["predicate"]) for p in points]  # noqa: E731
            assert strip(report_b["trend"]) == strip(report_a["trend"]) and len(report_b["trend"]) == 3
            assert report_b["changes"]["by_endpoint"] == report_a["changes"]["by_endpoint"]
            assert report_b["changes"]["by_endpoint_counts"] == report_a["changes"]["by_endpoint_counts"]
            assert report_b["score"] == report_a["score"]
        # A report of a compacted sweep builds: same scores and findings, without reasons or evidence.
        old_a, old_b = build_report(a, sweeps[1], lang="en"), build_report(b, sweeps_c[1], lang="en")
        assert old_b["score"] == old_a["score"] and old_b["checks"] == old_a["checks"]

        def keys(report):
            return [(f["endpoint"], f["check_id"], f["status"]) for f in report["findings"]]

        assert keys(old_b) == keys(old_a) and keys(old_b)
        assert {f["reason"] for f in old_b["findings"]} == {""}
        assert all(f["reason"] for f in old_a["findings"])


def test_metrics_of_a_compacted_store_are_the_same(tmp_path: Path) -> None:
    full = build_scenario(tmp_path / "full.db")  # closed: its WAL is checkpointed into the file
    compacted = dataclasses.replace(full, path=tmp_path / "compacted.db")
    shutil.copyfile(full.path, compacted.path)
    done = compact_store(compacted.path, keep=1)
    assert done.compacted == [compacted.previous]  # not the running sweep, not the other inventory's
    # The latest sweep's host keys are compared with the compacted previous sweep's: kept facts.
    volatile = {"interop_exporter_snapshot_build_seconds"}
    expositions = []
    for scenario in (full, compacted):
        collector = StoreCollector(scenario.path, build_wait_s=60)
        try:
            expositions.append({k: v for k, v in samples(scrape(collector)).items() if k[0] not in volatile})
        finally:
            collector.close()
    assert expositions[0] == expositions[1]
    name = "interop_endpoint_ssh_host_key_changed"
    changed = [value for (n, _), value in expositions[1].items() if n == name]
    assert 1 in changed


def test_outcomes_keep_only_the_facts_later_sweeps_compare_with() -> None:
    host_keys = [{"type": "ssh-ed25519", "fingerprint": "SHA256:a"}]
    facts = {
        "ssh": {"banner": "SSH-2.0-x", "host_keys": host_keys},
        "tls": {"not_after": "2027-01-01T00:00:00+00:00", "subject": "CN=x"},
        "grpc": {"health": "SERVING"},
    }
    assert json.loads(slim_facts(json.dumps(facts))) == {
        family: {name: facts[family][name]} for family, name in KEPT_FACTS
    }
    assert slim_facts("{}") == "{}" and slim_facts("not json") == "{}" and slim_facts("[1]") == "{}"


def bulky_report(url: str, n: int) -> ProbeReport:
    """A report whose reasons, evidence and messages weigh as much as a real probe's."""
    results = [
        CheckResult(
            f"SSH-KEX-{c:03d}",
            Status.FAIL if (n + c) % 7 == 0 else Status.PASS,
            Severity.HIGH,
            f"server {url} offers diffie-hellman-group1-sha1 among {c} methods",
            {"observed": [f"kex-method-{i}@example.org" for i in range(12)], "expected": "no SHA-1"},
            0.0123,
            message=Message("ssh.kex.weak", {"method": "diffie-hellman-group1-sha1"}),
        )
        for c in range(12)
    ]
    return ProbeReport(
        url,
        results,
        0.4,
        facts={"ssh": {"banner": "SSH-2.0-OpenSSH_9.2p1", "kex": [f"m{i}" for i in range(20)]}},
    )


def bulky_store(path: Path, sweeps: int, endpoints: int = 150, **create) -> list[str]:
    metas = [endpoint(n) for n in range(endpoints)]
    ids = []
    with Store(path, **create) as store:
        for s in range(sweeps):
            sweep_id = new_sweep(store, metas, started_at=later(s))
            store.record_many(
                sweep_id, [Recording(m.endpoint_id, bulky_report(m.url, n + s)) for n, m in enumerate(metas)]
            )
            store.set_state(sweep_id, SweepState.COMPLETE)
            ids.append(sweep_id)
    return ids


def test_compaction_shrinks_the_file_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "results.db"
    sweeps = bulky_store(path, 5)
    done = compact_store(path, keep=2)
    assert done.compacted == sweeps[:3] and done.reclaim == "incremental vacuum"
    assert done.bytes_after < 0.7 * done.bytes_before, done.to_dict()
    size = path.stat().st_size
    again = compact_store(path, keep=2)
    assert (again.compacted, again.earlier, again.reclaim) == ([], 3, "none")
    assert path.stat().st_size == size
    with Store(path, create=False) as store:
        assert [s.id for s in store.list_sweeps(None)] == sweeps[::-1]  # sweep rows all kept


def test_a_store_without_incremental_auto_vacuum_is_switched_once(tmp_path: Path) -> None:
    path = tmp_path / "results.db"
    conn = sqlite3.connect(path, isolation_level=None)  # as stores were created before schema 5
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn, target=4)
    conn.close()
    sweeps = bulky_store(path, 3, create=False)
    first = compact_store(path, keep=1)
    assert first.reclaim == "vacuum" and first.bytes_after < first.bytes_before
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    with Store(path, create=False) as store:
        sweep_id = new_sweep(store, [endpoint(0)], started_at=later(9))
        store.record(sweep_id, endpoint(0).url, bulky_report(endpoint(0).url, 0))
        store.set_state(sweep_id, SweepState.COMPLETE)
    second = compact_store(path, keep=1)
    assert second.compacted == [sweeps[-1]] and second.reclaim == "incremental vacuum"


def test_only_complete_sweeps_beyond_keep_per_inventory_are_compacted(tmp_path: Path) -> None:
    path = tmp_path / "results.db"
    metas = [endpoint(n) for n in range(3)]
    with Store(path) as store:

        def sweep(day: int, state: SweepState, inventory: str = "national") -> str:
            sweep_id = new_sweep(store, metas, started_at=later(day), inventory_name=inventory)
            store.record(sweep_id, metas[0].url, bulky_report(metas[0].url, day))
            store.set_state(sweep_id, state)
            return sweep_id

        old_interrupted = sweep(0, SweepState.INTERRUPTED)
        old_failed = sweep(1, SweepState.FAILED)
        old_complete = sweep(2, SweepState.COMPLETE)
        other_inventory = sweep(3, SweepState.COMPLETE, "pilot")
        newest = sweep(4, SweepState.COMPLETE)
        running = new_sweep(store, metas, started_at=later(5))
    done = compact_store(path, keep=1)
    assert done.compacted == [old_complete]
    assert done.kept == [other_inventory, newest]
    with Store(path, create=False) as store:
        for untouched in (old_interrupted, old_failed, newest, other_inventory):
            assert all(r.reason for r in store.results(untouched))
        assert store.get_sweep(running).state is SweepState.RUNNING


def test_a_busy_store_is_not_compacted(tmp_path: Path) -> None:
    path = tmp_path / "results.db"
    bulky_store(path, 2, endpoints=3)
    with StoreLock(path):  # as a sweep driver holds it
        with pytest.raises(StoreBusy, match="is busy"):
            compact_store(path, keep=1)
        result = runner.invoke(app, ["store", "compact", "--store", str(path), "--keep", "1"])
        assert result.exit_code == 75, result.output
        assert "busy" in result.output
    assert compact_store(path, keep=1).compacted  # free again


def test_cli_compact_json_and_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "results.db"
    sweeps = bulky_store(path, 3, endpoints=5)
    result = runner.invoke(app, ["store", "compact", "--store", str(path), "--keep", "2", "--json"])
    assert result.exit_code == 0, result.output
    reported = json.loads(result.stdout)
    assert reported["compacted"] == sweeps[:1] and reported["keep"] == 2
    assert "compacted 1 sweep(s)" in result.stderr
    again = runner.invoke(app, ["store", "compact", "--store", str(path), "--keep", "2"])
    assert again.exit_code == 0 and "nothing to compact" in again.stderr
    missing = runner.invoke(app, ["store", "compact", "--store", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no results store" in missing.output
    zero = runner.invoke(app, ["store", "compact", "--store", str(path), "--keep", "0"])
    assert zero.exit_code == 2
