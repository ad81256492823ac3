"""The in-process engine and the commands' error handling (no Ray here).

Bad inventories and options exit 2 with nothing probed and no sweep
recorded; the shard runner honours its limits against real servers; resume
refuses what it cannot do safely.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli.sweep_run import sweep_run_app
from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.engine.limits import Limits
from orchestrator.engine.plan import PlannedEndpoint, Shard
from orchestrator.engine.shard import ProbeJob, run_shard
from orchestrator.profiles import load_profile
from orchestrator.store import Store, SweepState
from orchestrator.sweep import SweepConfigError, SweepLock, resume_sweep, run_sweep
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.process import free_port
from probes.model import ProbeReport, Status, Target
from probes.runner import run_probe
from tests.sweep.support import (
    GRPC_CHECKS,
    Planned,
    connections_to,
    planned,
    start_grpc_fleet,
    sweep_ids,
    write_inventory,
    write_profile,
)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    hosts = {"127.0.0.51": 6, "127.0.0.52": 6}
    fleet = start_grpc_fleet(tmp_path_factory.mktemp("local-fleet"), hosts, latency_s=0.02, name="local")
    yield fleet
    fleet.stop()


@pytest.fixture(scope="module")
def grpc_profile(tmp_path_factory):
    return load_profile(
        str(write_profile(tmp_path_factory.mktemp("profile") / "grpc.yaml", ("GRPC-HLTH-*", "GRPC-REFL-*")))
    )


def sweep_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(sweep_run_app)
    return app


def invoke(*args: str):
    return CliRunner().invoke(sweep_app(), list(args))


# -- nothing probed on a bad configuration ---------------------------------------------


BAD_INVENTORIES = {
    "yaml syntax": ("applications: [\n", "inventory.yaml:2: (yaml): not valid YAML"),
    "outside scope": (None, "10.9.9.9 is outside the inventory scope"),
    "unknown agency": (None, "unknown agency '99.99'"),
}


def bad_inventory(tmp_path, case: str, listener_url: str):
    path = tmp_path / "inventory.yaml"
    if case == "yaml syntax":
        path.write_text(BAD_INVENTORIES[case][0])
        return path
    extra = {
        "outside scope": [
            "  - id: stray",
            "    name: Stray",
            '    agency: "32.73"',
            "    endpoints:",
            "      - {url: grpc://10.9.9.9:50051}",
        ],
        "unknown agency": [
            "  - id: orphan",
            "    name: Orphan",
            '    agency: "99.99"',
            "    endpoints:",
            "      - {url: grpc://127.0.0.1:2}",
        ],
    }[case]
    return write_inventory(path, [Planned(listener_url)], extra_lines=extra)


@pytest.mark.parametrize("case", sorted(BAD_INVENTORIES))
def test_bad_inventory_exits_2_with_nothing_probed(case, tmp_path, quiet_listener):
    listener_url = f"grpc://127.0.0.1:{quiet_listener.getsockname()[1]}"
    inventory = bad_inventory(tmp_path, case, listener_url)
    store_path = tmp_path / "results.db"
    result = invoke(
        "run",
        "--inventory",
        str(inventory),
        "--profile",
        str(write_profile(tmp_path / "p.yaml")),
        "--store",
        str(store_path),
        "--engine",
        "local",
    )
    assert result.exit_code == 2, result.output
    assert BAD_INVENTORIES[case][1] in result.output
    assert sweep_ids(store_path) == []
    assert connections_to(quiet_listener) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "local"], "endpoints need vantage(s) papua"),
        (["--engine", "local", "--ray-address", "127.0.0.1:1"], "--ray-address needs --engine ray"),
        (["--engine", "local", "--profile", "no-such-profile"], "no such profile file"),
        (["--engine", "local", "--concurrency", "0"], "Invalid value for '--concurrency'"),
    ],
)
def test_bad_options_exit_2_with_nothing_probed(options, message, tmp_path, quiet_listener):
    listener_url = f"grpc://127.0.0.1:{quiet_listener.getsockname()[1]}"
    inventory = write_inventory(tmp_path / "inventory.yaml", [Planned(listener_url, vantage="papua")])
    profile = ["--profile", str(write_profile(tmp_path / "p.yaml"))] if "--profile" not in options else []
    store_path = tmp_path / "results.db"
    result = invoke("run", "--inventory", str(inventory), "--store", str(store_path), *profile, *options)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert sweep_ids(store_path) == []
    assert connections_to(quiet_listener) == 0


def test_missing_inventory_file_is_a_usage_error(tmp_path):
    result = invoke(
        "run",
        "--inventory",
        str(tmp_path / "nope.yaml"),
        "--store",
        str(tmp_path / "r.db"),
        "--engine",
        "local",
    )
    assert result.exit_code == 2
    assert "cannot read the inventory" in result.output


# -- a sweep with the local engine -------------------------------------------------------


def test_local_sweep_with_ignored_vantage_summary_and_json(fleet, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.yaml", planned(fleet.urls, vantage="papua"))
    store_path = tmp_path / "results.db"
    profile = str(write_profile(tmp_path / "p.yaml"))
    result = invoke(
        "run",
        "-i",
        str(inventory),
        "-p",
        profile,
        "--store",
        str(store_path),
        "--engine",
        "local",
        "--ignore-vantage",
        "--summary",
    )
    assert result.exit_code == 0, result.output
    for heading in ("Per province", "Per check", "GRPC-HLTH-001"):
        assert heading in result.output
    [sweep_id] = sweep_ids(store_path)
    assert f"sweep {sweep_id} complete: {len(fleet.urls)}/{len(fleet.urls)} endpoints done" in result.output
    with Store(store_path) as store:
        summary = store.summary(sweep_id)
        sweep = store.get_sweep(sweep_id)
    assert summary.done == len(fleet.urls)
    assert summary.by_status == {"pass": 6 * len(fleet.urls), "skip": 2 * len(fleet.urls)}
    assert set(summary.by_province) == {"32", "91", "31"}
    assert sweep.engine == "local" and sweep.state is SweepState.COMPLETE
    assert sweep.options["ignore_vantage"] is True

    # Resuming a complete sweep probes nothing.
    result = invoke("resume", sweep_id, "--store", str(store_path), "--json")
    assert result.exit_code == 0, result.output
    assert '"probed": 0' in result.output and '"state": "complete"' in result.output


def test_shard_runner_honours_per_host_and_global_limits(fleet, grpc_profile):
    profile = grpc_profile
    endpoints = tuple(
        PlannedEndpoint(
            EndpointMeta(url, url, "grpc"),
            Target("grpc", url.split("//")[1].rsplit(":", 1)[0], int(url.rsplit(":", 1)[1])),
        )
        for url in fleet.urls
    )
    inside: dict[str, int] = {}
    peak: dict[str, int] = {}
    overall = {"now": 0, "peak": 0}

    async def counting_probe(target, selection, options):
        inside[target.host] = inside.get(target.host, 0) + 1
        overall["now"] += 1
        peak[target.host] = max(peak.get(target.host, 0), inside[target.host])
        overall["peak"] = max(overall["peak"], overall["now"])
        try:
            return await run_probe(target, selection, options)
        finally:
            inside[target.host] -= 1
            overall["now"] -= 1

    finished = []
    shard = Shard("*/0", None, endpoints, concurrency=3)
    job = ProbeJob(profile.selection, profile.options, Limits(concurrency=3, per_host=2))
    asyncio.run(run_shard(shard, job, finished.append, "test:1", probe=counting_probe))

    assert sorted(f.endpoint_id for f in finished) == sorted(fleet.urls)
    assert all(f.attempts == 1 and f.error_class is None for f in finished)
    assert all(len(f.report.results) == GRPC_CHECKS for f in finished)
    assert peak == {"127.0.0.51": 2, "127.0.0.52": 2}
    assert overall["peak"] == 3


def test_agency_rate_spaces_probe_starts(fleet, grpc_profile):
    profile = grpc_profile
    urls = fleet.urls_by_host["127.0.0.51"][:4]
    endpoints = tuple(
        PlannedEndpoint(
            EndpointMeta(u, u, "grpc", "A"), Target("grpc", "127.0.0.51", int(u.rsplit(":", 1)[1]))
        )
        for u in urls
    )
    starts: list[float] = []

    async def timed_probe(target, selection, options):
        starts.append(time.monotonic())
        return await run_probe(target, selection, options)

    shard = Shard("*/0", None, endpoints, concurrency=4, agency_rates={"A": 10.0})
    job = ProbeJob(profile.selection, profile.options, Limits(per_host=4, agency_rate=10.0))
    finished = []
    asyncio.run(run_shard(shard, job, finished.append, "test:1", probe=timed_probe))
    assert len(finished) == 4
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.1 * 0.95  # at most 10 starts per second, whatever the concurrency


def test_blocking_probe_work_gets_a_thread_per_probe_in_flight(grpc_profile):
    # paramiko runs in asyncio.to_thread: with the loop's own pool (6 threads
    # on 2 cores) only 6 of these 12 could wait at the barrier together.
    concurrency = 12
    barrier = threading.Barrier(concurrency, timeout=10)
    endpoints = tuple(
        PlannedEndpoint(
            EndpointMeta(f"ssh://127.0.0.{60 + n}:22", f"ssh://127.0.0.{60 + n}:22", "ssh"),
            Target("ssh", f"127.0.0.{60 + n}", 22),
        )
        for n in range(concurrency)
    )

    async def probe_waiting_in_a_thread(target, selection, options):
        await asyncio.to_thread(barrier.wait)  # BrokenBarrierError unless all 12 get a thread
        return ProbeReport(target=target.url, results=[], duration_s=0.0)

    finished = []
    job = ProbeJob(grpc_profile.selection, grpc_profile.options, Limits(concurrency=concurrency))
    shard = Shard("*/0", None, endpoints, concurrency=concurrency)
    asyncio.run(run_shard(shard, job, finished.append, "test:1", probe=probe_waiting_in_a_thread))

    assert len(finished) == concurrency
    assert all(f.error_class is None for f in finished), [f.report for f in finished if f.error_class]


def test_scope_is_checked_again_before_connecting(grpc_profile, quiet_listener):
    profile = grpc_profile
    port = quiet_listener.getsockname()[1]
    url = f"grpc://127.0.0.1:{port}"
    endpoint = PlannedEndpoint(EndpointMeta(url, url, "grpc"), Target("grpc", "127.0.0.1", port))
    job = ProbeJob(profile.selection, profile.options, Limits(), allowed=lambda host: False)
    finished = []
    asyncio.run(run_shard(Shard("*/0", None, (endpoint,), 1), job, finished.append, "test:1"))
    [done] = finished
    assert (done.error_class, done.attempts) == ("scope", 1)
    assert {r.status for r in done.report.results} == {Status.ERROR}
    assert connections_to(quiet_listener) == 0


# -- resume safety ------------------------------------------------------------------------


def interrupted_sweep(fleet, tmp_path):
    """A real finished sweep turned back into an unfinished one by deleting some outcomes."""
    inventory = write_inventory(tmp_path / "inventory.yaml", planned(fleet.urls))
    store_path = tmp_path / "results.db"
    outcome = run_sweep(inventory, write_profile(tmp_path / "p.yaml"), store_path, engine="local")
    with Store(store_path) as store:
        conn = store._conn()
        conn.execute(
            "DELETE FROM results WHERE sweep_id = ? AND endpoint_id = ?", (outcome.sweep_id, fleet.urls[0])
        )
        conn.execute(
            "DELETE FROM outcomes WHERE sweep_id = ? AND endpoint_id = ?", (outcome.sweep_id, fleet.urls[0])
        )
        store.set_state(outcome.sweep_id, SweepState.INTERRUPTED)
    return inventory, store_path, outcome.sweep_id


def test_resume_refuses_a_changed_inventory(fleet, tmp_path):
    inventory, store_path, sweep_id = interrupted_sweep(fleet, tmp_path)
    inventory.write_text(inventory.read_text().replace(fleet.urls[-1], "grpc://127.0.0.99:1"))
    result = invoke("resume", sweep_id, "--store", str(store_path))
    assert result.exit_code == 2
    assert "changed since sweep" in result.output


def test_resume_refuses_a_sweep_another_driver_holds(fleet, tmp_path):
    _, store_path, sweep_id = interrupted_sweep(fleet, tmp_path)
    lock = SweepLock(store_path, sweep_id)
    lock.acquire()
    try:
        with pytest.raises(SweepConfigError, match="is being run by process"):
            resume_sweep(sweep_id, store_path)
    finally:
        lock.release()
    resumed = resume_sweep(sweep_id, store_path)  # recorded engine: local
    assert (resumed.state, resumed.probed, resumed.done) == (SweepState.COMPLETE, 1, len(fleet.urls))


def test_resume_unknown_sweep_or_store_exits_2(tmp_path):
    result = invoke("resume", "nope", "--store", str(tmp_path / "missing.db"))
    assert result.exit_code == 2
    assert "no results store" in result.output


def test_resume_retry_errors_reprobes_a_server_that_came_back(tmp_path):
    port = free_port("127.0.0.53")
    url = f"grpc://127.0.0.53:{port}"
    inventory = write_inventory(tmp_path / "inventory.yaml", [Planned(url)])
    store_path = tmp_path / "results.db"
    profile = write_profile(tmp_path / "p.yaml")
    first = run_sweep(
        inventory, profile, store_path, engine="local", limits=Limits(retries=1, backoff_s=0.05)
    )
    assert first.state is SweepState.COMPLETE
    with Store(store_path) as store:
        [down] = store.outcomes(first.sweep_id)
    assert (down.error_class, down.attempts) == ("refused", 2) and down.unreachable

    with start_grpc_servers([GrpcServerSpec("back", host="127.0.0.53", ports=(port,))], tmp_path / "grpc"):
        plain = invoke("resume", first.sweep_id, "--store", str(store_path), "--json")
        retried = invoke("resume", first.sweep_id, "--store", str(store_path), "--retry-errors", "--json")
    assert plain.exit_code == 0 and '"probed": 0' in plain.output
    assert retried.exit_code == 0 and '"probed": 1' in retried.output, retried.output
    with Store(store_path) as store:
        [up] = store.outcomes(first.sweep_id)
        statuses = {r.check_id: r.status for r in store.results(first.sweep_id)}
    assert (up.error_class, up.unreachable, up.attempts) == (None, None, 1)
    assert statuses["GRPC-HLTH-001"] is Status.PASS
