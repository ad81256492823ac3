"""The scheduler of ``interop serve`` (``orchestrator.service.scheduler``): schedules, sweeps in child
processes against real loopback servers, the store lock, SIGTERM mid-sweep and the resume at the next
start, its status and metrics."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.service.scheduler import Scheduler, parse_schedule
from orchestrator.service.scheduler_metrics import SCHEDULER_FAMILIES
from orchestrator.store import Store, SweepState
from orchestrator.store.lock import StoreLock
from orchestrator.sweep import SweepStoreBusy, run_sweep
from orchestrator.testbed.hostile import HostileServer
from tests.sweep.support import (
    outcome_count,
    planned,
    start_grpc_fleet,
    wait_until,
    write_inventory,
    write_profile,
)

UTC = UTC
SWEEP_WAIT_S = 180  # bound for one small sweep in a child process on a loaded machine
LOCAL = ["--engine", "local", "--progress-interval", "0"]


# -- schedules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [("30m", 1800), ("6h", 21600), ("1d", 86400), ("1h30m", 5400), ("90s", 90), (" 2H ", 7200)],
)
def test_every_intervals(text, seconds):
    schedule = parse_schedule(text, None)
    assert schedule.every_s == seconds and schedule.cron is None


NOT_AN_INTERVAL = "give a number and a unit"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", NOT_AN_INTERVAL),
        ("6", NOT_AN_INTERVAL),
        ("h", NOT_AN_INTERVAL),
        ("6h30", NOT_AN_INTERVAL),
        ("-5m", NOT_AN_INTERVAL),
        ("6w", "unknown unit 'w'"),
        ("59s", "at least 1m"),
    ],
)
def test_every_errors_say_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_schedule(text, None)


def test_every_runs_from_the_last_sweep_start_or_at_once():
    schedule = parse_schedule("6h", None)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert schedule.next_run(now=now, last_start=None) == now
    assert schedule.next_run(now=now, last_start=now - timedelta(hours=2)) == now + timedelta(hours=4)
    assert schedule.next_run(now=now, last_start=now - timedelta(hours=9)) == now  # overdue: at once


def test_cron_in_utc_or_the_zone_it_names():
    now = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    utc = parse_schedule(None, "0 */6 * * *")
    assert (utc.cron, utc.timezone) == ("0 */6 * * *", "UTC")
    assert utc.next_run(now=now, last_start=None) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    wib = parse_schedule(None, "CRON_TZ=Asia/Jakarta 0 1 * * *")  # 01:00 WIB is 18:00 UTC the day before
    assert wib.timezone == "Asia/Jakarta" and wib.describe() == "cron 0 1 * * * (Asia/Jakarta)"
    assert wib.next_run(now=now, last_start=None) == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "every, cron, reason",
    [
        ("6h", "0 * * * *", "not both"),
        (None, "0 */6 * *", "4 fields; give 5"),
        (None, "* * * * * *", "6 fields; give 5"),
        (None, "61 * * * *", "out of range"),
        (None, "0 0 * * mon-xyz", "--cron"),
        (None, "CRON_TZ=Mars/Olympus 0 1 * * *", "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_cron_errors_say_why(every, cron, reason):
    with pytest.raises(ValueError, match=reason):
        parse_schedule(every, cron)


def test_no_schedule():
    assert parse_schedule(None, None) is None


# -- helpers ------------------------------------------------------------------------------------


def scrape(scheduler: Scheduler) -> dict[tuple[str, frozenset], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(scheduler.collector())
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sweeps_of(store_path: Path) -> list:
    if not store_path.exists():
        return []
    with Store(store_path, read_only=True) as store:
        return store.list_sweeps(None)


def result_sets(store_path: Path, sweep_id: str) -> dict[str, int]:
    """Per endpoint: outcome rows and distinct (check) result rows, read with plain SQL."""
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        sql = "SELECT endpoint_id, COUNT(*) FROM {} WHERE sweep_id = ? GROUP BY endpoint_id"
        outcomes, results = (dict(conn.execute(sql.format(t), (sweep_id,))) for t in ("outcomes", "results"))
    finally:
        conn.close()
    return {e: (outcomes.get(e, 0), results.get(e, 0)) for e in outcomes | results}


@pytest.fixture
def started():
    """Schedulers a test starts; each is stopped at the end, whatever happened."""
    schedulers: list[Scheduler] = []
    yield schedulers
    for scheduler in schedulers:
        scheduler.stop(60)


# -- sweeps on a schedule ------------------------------------------------------------------------


def test_a_due_sweep_runs_in_a_child_and_shows_in_status_and_metrics(tmp_path, started):
    fleet = start_grpc_fleet(tmp_path / "grpc", {"127.0.0.71": 3, "127.0.0.72": 2}, name="sched")
    try:
        inventory = write_inventory(tmp_path / "scheduled.yaml", planned(fleet.urls))
        profile = write_profile(tmp_path / "p.yaml", ("GRPC-HLTH-*",))
        store_path = tmp_path / "results.db"
        # An earlier complete sweep, two hours old: "every 1m" is overdue, and --keep 1 compacts it.
        earlier = run_sweep(inventory, profile, store_path, engine="local").sweep_id
        with sqlite3.connect(store_path) as conn:
            two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="milliseconds")
            conn.execute("UPDATE sweeps SET started_at = ? WHERE id = ?", (two_hours_ago, earlier))
        scheduler = Scheduler(
            store_path, inventory, str(profile), parse_schedule("1m", None), sweep_args=LOCAL, keep=1
        )
        started.append(scheduler)
        scheduler.start()
        wait_until(
            lambda: scheduler.status()["compactions"]["done"] == 1, SWEEP_WAIT_S, "a sweep and a compaction"
        )
        status = scheduler.status()
        assert status["alive"] and status["running_sweep"] is None and status["last_error"] is None
        newest = sweeps_of(store_path)[0]
        assert newest.id != earlier and newest.state is SweepState.COMPLETE
        assert status["last_sweep"]["id"] == newest.id and status["last_sweep"]["state"] == "complete"
        assert status["runs"]["complete"] == 1 and sum(status["runs"].values()) == 1
        # The next run is one interval after this sweep started (to the second, as status shows it).
        next_run = datetime.fromisoformat(status["next_run"])
        assert abs((next_run - newest.started_at - timedelta(minutes=1)).total_seconds()) <= 1
        assert status["last_compaction"]["compacted"] == [earlier]
        with Store(store_path, read_only=True) as store:
            assert {r.reason for r in store.results(earlier)} == {""}
            assert store.progress(newest.id).done == len(fleet.urls)

        metrics = scrape(scheduler)
        inv = ("inventory", "scheduled")
        assert metrics[("interop_scheduler_up", frozenset({inv}))] == 1
        assert metrics[("interop_scheduler_running", frozenset({inv}))] == 0
        assert metrics[("interop_scheduler_next_run_timestamp_seconds", frozenset({inv}))] == pytest.approx(
            next_run.timestamp()
        )
        assert metrics[("interop_scheduler_last_sweep_state", frozenset({inv, ("state", "complete")}))] == 1
        assert metrics[("interop_scheduler_last_sweep_state", frozenset({inv, ("state", "running")}))] == 0
        assert metrics[("interop_scheduler_runs_total", frozenset({inv, ("outcome", "complete")}))] == 1
        assert metrics[("interop_scheduler_compactions_total", frozenset({inv, ("outcome", "done")}))] == 1
        assert {name for name, _ in metrics} >= {f.name for f in SCHEDULER_FAMILIES if f.type == "gauge"} - {
            "interop_scheduler_last_error_timestamp_seconds"
        }

        scheduler.stop(60)
        assert not scheduler.alive() and scheduler.status()["next_run"] is None
        assert scrape(scheduler)[("interop_scheduler_up", frozenset({inv}))] == 0
    finally:
        fleet.stop()


def test_a_busy_store_skips_the_run_and_says_so(tmp_path, started):
    inventory = write_inventory(tmp_path / "busy.yaml", planned(["grpc://127.0.0.73:1"]))
    store_path = tmp_path / "results.db"
    with StoreLock(store_path):  # as another service's or a manual sweep holds it
        scheduler = Scheduler(
            store_path, inventory, "spbe-baseline", parse_schedule("1h", None), sweep_args=LOCAL
        )
        started.append(scheduler)
        scheduler.start()
        wait_until(lambda: scheduler.status()["runs"]["skipped"] == 1, 60, "the due run to be skipped")
        status = scheduler.status()
        assert f"process {os.getpid()} holds" in status["last_skipped"]["reason"]
        assert status["last_skipped"]["kind"] == "run"
        # Not retried at once: the next run is an interval away.
        next_run = datetime.fromisoformat(status["next_run"])
        assert next_run - datetime.now(UTC) > timedelta(minutes=50)
    assert sweeps_of(store_path) == []
    metrics = scrape(scheduler)
    skipped = frozenset({("inventory", "busy"), ("outcome", "skipped")})
    assert metrics[("interop_scheduler_runs_total", skipped)] == 1


def test_sweep_run_and_resume_refuse_a_busy_store_with_exit_75(tmp_path):
    store_path = tmp_path / "results.db"
    with Store(store_path) as store:
        left = store.create_sweep(
            inventory_path=str(tmp_path / "gone.yaml"),
            inventory_hash="sha256:x",
            inventory_name="gone",
            profile="spbe-baseline",
            profile_hash="sha256:y",
            engine="local",
            endpoints=[],
            options={},
        )
        store.set_state(left, SweepState.INTERRUPTED)
    with HostileServer("silent", host="127.0.0.78") as server:
        inventory = write_inventory(tmp_path / "busy.yaml", planned([f"grpc://127.0.0.78:{server.port}"]))
        with StoreLock(store_path):
            run = CliRunner().invoke(
                app, ["sweep", "run", "-i", str(inventory), "--store", str(store_path), "--engine", "local"]
            )
            resume = CliRunner().invoke(app, ["sweep", "resume", left, "--store", str(store_path)])
        assert server.accepted == 0  # nothing probed
    for result in (run, resume):
        assert result.exit_code == 75, result.output
        assert "is busy" in result.output
    assert [s.id for s in sweeps_of(store_path)] == [left]


def silent_servers(hosts: list[str], per_host: int) -> list[HostileServer]:
    return [HostileServer("silent", host=host) for host in hosts for _ in range(per_host)]


def test_sigterm_mid_sweep_then_a_new_start_resumes_it_probing_each_endpoint_once(tmp_path, started):
    """Slow endpoints (silent servers: each probe waits out its 3 s handshake timeout), two at a time."""
    servers = silent_servers(["127.0.0.74", "127.0.0.75", "127.0.0.76", "127.0.0.77"], 4)  # ~24 s in all
    try:
        urls = [f"grpc://{s.host}:{s.port}" for s in servers]
        by_url = dict(zip(urls, servers, strict=True))
        inventory = write_inventory(tmp_path / "slow.yaml", planned(urls))
        profile = tmp_path / "slow-profile.yaml"
        profile.write_text(
            'name: slow\ninclude: ["GRPC-HLTH-*"]\nprobe: {deadline_s: 6, connect_timeout_s: 3}\n'
        )
        store_path = tmp_path / "results.db"
        args = [*LOCAL, "--concurrency", "2", "--per-host", "1", "--retries", "0"]
        first = Scheduler(store_path, inventory, str(profile), parse_schedule("1h", None), sweep_args=args)
        started.append(first)
        first.start()
        wait_until(lambda: outcome_count(store_path) >= 2, SWEEP_WAIT_S, "the first endpoints recorded")
        sweep_id = wait_until(lambda: first.status()["running_sweep"], 30, "the running sweep's id")
        child_pid = first.status()["running"]["pid"]

        # Never two at once: a manual sweep (this process) and a second service find the store busy.
        with pytest.raises(SweepStoreBusy, match="is busy"):
            run_sweep(inventory, profile, store_path, engine="local")
        second = Scheduler(store_path, inventory, str(profile), parse_schedule("1h", None), sweep_args=args)
        started.append(second)
        second.start()
        wait_until(lambda: second.status()["runs"]["skipped"] == 1, 60, "the second service to skip")
        second.stop(10)
        assert [s.id for s in sweeps_of(store_path)] == [sweep_id]

        first.stop(60)  # SIGTERM to the child while it probes
        assert not first.alive()
        with pytest.raises(ProcessLookupError):
            os.kill(child_pid, 0)
        sweep = sweeps_of(store_path)[0]
        assert sweep.state is SweepState.INTERRUPTED
        assert first.status()["runs"]["interrupted"] == 1
        assert first.status()["last_sweep"]["state"] == "interrupted"
        with Store(store_path, read_only=True) as store:
            done_before = {o.endpoint_id for o in store.outcomes(sweep_id)}
        assert 2 <= len(done_before) < len(urls), "the stop came mid-sweep"
        connections_before = {url: by_url[url].accepted for url in urls}

        restarted = Scheduler(
            store_path, inventory, str(profile), parse_schedule("1h", None), sweep_args=args
        )
        started.append(restarted)
        restarted.start()  # resumes the interrupted sweep before anything else
        wait_until(lambda: restarted.status()["runs"]["complete"] == 1, SWEEP_WAIT_S, "the resumed sweep")
        assert restarted.status()["last_sweep"]["id"] == sweep_id
        assert [s.id for s in sweeps_of(store_path)] == [sweep_id]  # resumed, not a new sweep
        assert sweeps_of(store_path)[0].state is SweepState.COMPLETE
        sets = result_sets(store_path, sweep_id)
        assert set(sets) == set(urls)
        assert {outcomes for outcomes, _ in sets.values()} == {1}  # one outcome per endpoint
        assert len({results for _, results in sets.values()}) == 1  # the same checks everywhere
        # Endpoints recorded before the stop saw no connection since; the others were probed.
        assert {u: by_url[u].accepted for u in done_before} == {u: connections_before[u] for u in done_before}
        assert all(by_url[url].accepted > 0 for url in urls)
    finally:
        for server in servers:
            server.stop()
