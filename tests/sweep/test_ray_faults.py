"""Fault tests on one Ray cluster (started once for the module, joined with --ray-address).

A worker killed mid-sweep, a driver killed mid-sweep then resumed, and a
vantage the cluster does not have. The fleet is slow on purpose (every gRPC
call waits 0.1 s) so there is time to kill things while results stream in.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli.sweep_run import sweep_run_app
from orchestrator.engine.limits import Limits
from orchestrator.store import Store, SweepState
from orchestrator.sweep import resume_sweep, run_sweep
from probes.model import Status
from tests.sweep.support import (
    GRPC_CHECKS,
    Planned,
    cli,
    connections_to,
    outcome_count,
    planned,
    start_cluster,
    start_grpc_fleet,
    stop_cluster,
    stop_process,
    sweep_ids,
    wait_until,
    write_inventory,
    write_profile,
)

# gRPC checks of the test profile and their verdicts on a conformant server.
CONFORMANT = {
    "GRPC-HLTH-001": Status.PASS,
    "GRPC-HLTH-002": Status.SKIP,
    "GRPC-HLTH-003": Status.PASS,
    "GRPC-HLTH-004": Status.PASS,
    "GRPC-REFL-001": Status.PASS,
    "GRPC-REFL-002": Status.SKIP,
    "GRPC-REFL-003": Status.PASS,
    "GRPC-REFL-004": Status.PASS,
}
# Bringing a cluster up counts against the first test: room for a retried start.
# Multi-node clusters are started from the test process: `make test` runs these in a process of their own.
pytestmark = [pytest.mark.timeout(300), pytest.mark.ray_cluster]
SLOW = Limits(concurrency=8, per_host=2, retries=0)


@pytest.fixture(scope="module")
def cluster():
    head = start_cluster({"num_cpus": 2})
    yield head
    stop_cluster(head)


@pytest.fixture(scope="module")
def slow_fleet(tmp_path_factory):
    hosts = {f"127.0.0.{n}": 16 for n in range(11, 15)}
    fleet = start_grpc_fleet(tmp_path_factory.mktemp("slow-fleet"), hosts, latency_s=0.1, name="slow")
    yield fleet
    fleet.stop()


@pytest.fixture
def sweep_files(tmp_path, slow_fleet):
    inventory = write_inventory(tmp_path / "inventory.yaml", planned(slow_fleet.urls))
    profile = write_profile(tmp_path / "profile.yaml")
    return inventory, profile, tmp_path / "results.db"


def first_worker(store_path) -> str | None:
    if not store_path.exists():
        return None
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT worker FROM outcomes WHERE worker IS NOT NULL LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def assert_every_endpoint_once(store: Store, sweep_id: str, urls: list[str]) -> None:
    outcomes = list(store.outcomes(sweep_id))
    assert sorted(o.endpoint_id for o in outcomes) == sorted(urls)
    results = list(store.results(sweep_id))
    assert len(results) == len(urls) * GRPC_CHECKS
    assert len({(r.endpoint_id, r.check_id) for r in results}) == len(results)
    for result in results:
        assert result.status is CONFORMANT[result.check_id], (
            result.endpoint_id,
            result.check_id,
            result.reason,
        )


def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(cluster, slow_fleet, sweep_files):
    inventory, profile, store_path = sweep_files
    killed: list[str] = []

    def kill_first_worker() -> None:
        worker = wait_until(lambda: first_worker(store_path), 90, "the first stored result")
        os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
        killed.append(worker)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    try:
        outcome = run_sweep(inventory, profile, store_path, ray_address=cluster.address, limits=SLOW)
    finally:
        killer.join()

    assert killed, "no worker was killed"
    assert outcome.state is SweepState.COMPLETE
    assert len(outcome.stats.losses) == 1 and "worker process died" in outcome.stats.losses[0]
    assert outcome.stats.resubmissions == 1
    assert outcome.stats.duplicates == 0
    assert outcome.probed == outcome.done == len(slow_fleet.urls)
    with Store(store_path) as store:
        assert_every_endpoint_once(store, outcome.sweep_id, slow_fleet.urls)
        worker_of = {o.endpoint_id: o.worker for o in store.outcomes(outcome.sweep_id)}
        assert store.get_sweep(outcome.sweep_id).state is SweepState.COMPLETE
    # What the killed worker delivered is kept; another worker finished the rest of
    # its shard (a shard is a set of whole hosts, so: the rest of those hosts).
    delivered = [url for url, worker in worker_of.items() if worker == killed[0]]
    assert delivered
    shard_hosts = {host_of(url) for url in delivered}
    rest_of_shard = [url for url in slow_fleet.urls if host_of(url) in shard_hosts and url not in delivered]
    assert rest_of_shard
    assert all(worker_of[url] != killed[0] for url in rest_of_shard)


def host_of(url: str) -> str:
    return url.split("//")[1].rsplit(":", 1)[0]


def test_a_hung_worker_is_given_up_and_its_shard_finished_elsewhere(
    cluster, slow_fleet, sweep_files, monkeypatch
):
    from orchestrator.engine import ray_engine

    monkeypatch.setattr(ray_engine, "STALL_TIMEOUT_S", 3.0)
    inventory, profile, store_path = sweep_files
    frozen: list[int] = []

    def freeze_first_worker() -> None:
        worker = wait_until(lambda: first_worker(store_path), 90, "the first stored result")
        pid = int(worker.rsplit(":", 1)[1])
        os.kill(pid, signal.SIGSTOP)  # alive but silent: no batch, no heartbeat
        frozen.append(pid)

    freezer = threading.Thread(target=freeze_first_worker)
    freezer.start()
    try:
        outcome = run_sweep(inventory, profile, store_path, ray_address=cluster.address, limits=SLOW)
    finally:
        freezer.join()
        for pid in frozen:  # it still holds its CPU lease; Ray cannot stop a stopped process
            os.kill(pid, signal.SIGKILL)

    assert frozen
    assert outcome.state is SweepState.COMPLETE
    assert [loss.split(": ", 1)[1] for loss in outcome.stats.losses] == ["worker silent for 3 s"]
    assert outcome.stats.duplicates == 0
    with Store(store_path) as store:
        assert_every_endpoint_once(store, outcome.sweep_id, slow_fleet.urls)


def test_driver_killed_then_resume_probes_only_the_remainder(cluster, slow_fleet, sweep_files):
    inventory, profile, store_path = sweep_files
    driver = cli(
        "run",
        "--inventory",
        str(inventory),
        "--profile",
        str(profile),
        "--store",
        str(store_path),
        "--ray-address",
        cluster.address,
        "--concurrency",
        "8",
        "--retries",
        "0",
    )
    try:
        wait_until(
            lambda: outcome_count(store_path) >= 10 or driver.poll() is not None, 90, "10 stored results"
        )
        assert driver.poll() is None, driver.communicate()
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=10)
    finally:
        stop_process(driver)

    [sweep_id] = sweep_ids(store_path)
    with Store(store_path) as store:
        sweep = store.get_sweep(sweep_id)
        assert sweep.state is SweepState.RUNNING  # nobody could mark it
        before = {o.endpoint_id: (o.finished_at, o.worker) for o in store.outcomes(sweep_id)}
        pending = store.pending(sweep_id)
    assert before and pending
    assert len(before) + len(pending) == len(slow_fleet.urls)

    outcome = resume_sweep(sweep_id, store_path)  # engine and address as recorded

    assert outcome.state is SweepState.COMPLETE
    assert outcome.probed == len(pending)
    with Store(store_path) as store:
        assert_every_endpoint_once(store, sweep_id, slow_fleet.urls)
        after = {o.endpoint_id: (o.finished_at, o.worker) for o in store.outcomes(sweep_id)}
    # Endpoints finished before the kill were not probed again: same time, same worker.
    for endpoint_id, recorded in before.items():
        assert after[endpoint_id] == recorded
    newly = [e for e in after if e not in before]
    assert sorted(newly) == sorted(pending)
    assert all(after[e][0] > max(t for t, _ in before.values()) for e in newly)


def test_vantage_missing_from_cluster_is_a_usage_error(cluster, tmp_path, quiet_listener):
    port = quiet_listener.getsockname()[1]
    inventory = write_inventory(
        tmp_path / "inventory.yaml",
        [Planned(f"grpc://127.0.0.1:{port}", vantage="papua"), Planned("grpc://127.0.0.1:1", agency=1)],
    )
    store_path = tmp_path / "results.db"
    app = typer.Typer()
    app.add_typer(sweep_run_app)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--inventory",
            str(inventory),
            "--profile",
            str(write_profile(tmp_path / "p.yaml")),
            "--store",
            str(store_path),
            "--ray-address",
            cluster.address,
        ],
    )
    assert result.exit_code == 2, result.output
    assert "vantage(s) papua" in result.output
    assert sweep_ids(store_path) == []
    assert connections_to(quiet_listener) == 0
