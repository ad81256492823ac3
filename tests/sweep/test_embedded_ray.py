"""The default engine: an embedded single-node Ray started and stopped by the sweep.

It must stay on loopback, give the same results as the in-process engine,
shut Ray down afterwards, and on Ctrl-C stop cleanly with a resume command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading

import pytest

from orchestrator.engine.limits import Limits
from orchestrator.processes import alive, descendants
from orchestrator.profiles import load_profile
from orchestrator.store import Store, SweepState
from orchestrator.sweep import resume_sweep, run_sweep
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.process import free_port, free_ports
from orchestrator.testbed.sshd import start_dropbear, start_openssh
from probes.model import Status, Target
from probes.runner import run_probe
from tests.sweep.support import (
    PYTHON,
    REPO,
    is_loopback,
    listening_sockets,
    outcome_count,
    planned,
    start_grpc_fleet,
    sweep_ids,
    wait_until,
    write_inventory,
    write_profile,
)

LIMITS = Limits(concurrency=16, per_host=2, retries=1, backoff_s=0.1)
# Each test starts an embedded node; on a loaded machine that can take a retry
# (RayEngine.start: up to ~2 x 90 s before it gives up).
pytestmark = pytest.mark.timeout(360)


@pytest.fixture(scope="module")
def mixed_servers(tmp_path_factory):
    """Real OpenSSH, Dropbear and gRPC servers in several states, plus a closed port."""
    workdir = tmp_path_factory.mktemp("mixed")
    started = []
    try:
        openssh = start_openssh(workdir / "openssh", "hardened")
        started.append(openssh)
        dropbear = start_dropbear(workdir / "dropbear")
        started.append(dropbear)
        grpc = start_grpc_servers(
            [
                GrpcServerSpec("conformant", ports=free_ports(3)),
                GrpcServerSpec("not-serving", health="not_serving", host="127.0.0.2"),
                GrpcServerSpec("no-reflection", reflection=(), host="127.0.0.3"),
                GrpcServerSpec(
                    "slow",
                    latency_s=0.2,
                    host="127.0.0.4",
                    ports=free_ports(4, "127.0.0.4"),
                ),
            ],
            workdir / "grpc",
        )
        started.append(grpc)
        urls = {
            "openssh": [f"ssh://127.0.0.1:{openssh.port}"],
            "dropbear": [f"ssh://127.0.0.1:{dropbear.port}"],
            "closed": [f"grpc://127.0.0.5:{free_port('127.0.0.5')}"],
        }
        for name, spec in grpc.specs.items():
            urls[name] = [f"grpc://{spec.host}:{port}" for port in spec.ports]
        yield urls
    finally:
        for server in started:
            server.stop()


def statuses(store_path, sweep_id) -> dict[tuple[str, str], Status]:
    with Store(store_path) as store:
        return {(r.endpoint_id, r.check_id): r.status for r in store.results(sweep_id)}


def direct_statuses(urls: list[str], profile_path) -> dict[tuple[str, str], Status]:
    """The ground truth: each endpoint probed on its own with probes.runner."""
    profile = load_profile(profile_path)

    async def probe_all():
        found = {}
        for url in urls:
            scheme, rest = url.split("://")
            host, port = rest.rsplit(":", 1)
            report = await run_probe(Target(scheme, host, int(port)), profile.selection, profile.options)
            found.update({(url, r.check_id): r.status for r in report.results})
        return found

    return asyncio.run(probe_all())


def test_embedded_ray_on_loopback_matches_local_engine(mixed_servers, tmp_path):
    urls = [url for group in mixed_servers.values() for url in group]
    inventory = write_inventory(tmp_path / "inventory.yaml", planned(urls))
    profile = write_profile(tmp_path / "profile.yaml")
    store_path = tmp_path / "results.db"

    local = run_sweep(inventory, profile, store_path, engine="local", limits=LIMITS)

    before = descendants(os.getpid())
    seen: dict = {}
    sweep_over = threading.Event()

    def inspect_running_cluster() -> None:
        import ray

        def ray_results_stored() -> bool:
            return sweep_over.is_set() or (ray.is_initialized() and outcome_count(store_path) > len(urls))

        wait_until(ray_results_stored, 240, "Ray results")
        if sweep_over.is_set():
            return
        seen["gcs"] = ray.get_runtime_context().gcs_address
        seen["ray_pids"] = descendants(os.getpid()) - before
        seen["sockets"] = listening_sockets(seen["ray_pids"])

    inspector = threading.Thread(target=inspect_running_cluster)
    inspector.start()
    try:
        embedded = run_sweep(inventory, profile, store_path, engine="ray", num_cpus=2, limits=LIMITS)
    finally:
        sweep_over.set()
        inspector.join()
    assert seen, "the sweep ended before the cluster could be inspected"

    # Loopback only: the GCS address and every socket Ray's processes listen on.
    assert seen["gcs"].startswith("127.0.0.1:")
    assert seen["sockets"], "Ray processes listen on nothing?"
    assert [s for s in seen["sockets"] if not is_loopback(s[0])] == []
    # Ray was shut down with the command.
    wait_until(lambda: not any(alive(pid) for pid in seen["ray_pids"]), 30, "Ray processes to exit")

    assert local.state is embedded.state is SweepState.COMPLETE
    ray_results = statuses(store_path, embedded.sweep_id)
    assert ray_results == statuses(store_path, local.sweep_id)
    # Reason templates travel from Ray's workers as from the local engine (values like latencies vary).
    with Store(store_path) as store:
        keys = {
            sweep_id: {
                (r.endpoint_id, r.check_id): r.message and r.message.key for r in store.results(sweep_id)
            }
            for sweep_id in (local.sweep_id, embedded.sweep_id)
        }
    assert keys[embedded.sweep_id] == keys[local.sweep_id]
    assert keys[embedded.sweep_id][mixed_servers["not-serving"][0], "GRPC-HLTH-001"] == "grpc.status_is"
    assert ray_results == direct_statuses(urls, profile)
    for url in mixed_servers["conformant"] + mixed_servers["slow"]:
        assert ray_results[(url, "GRPC-HLTH-001")] is Status.PASS
        assert ray_results[(url, "GRPC-REFL-001")] is Status.PASS
    assert ray_results[(mixed_servers["not-serving"][0], "GRPC-HLTH-001")] is Status.FAIL
    assert ray_results[(mixed_servers["no-reflection"][0], "GRPC-REFL-001")] is Status.FAIL
    assert ray_results[(mixed_servers["openssh"][0], "SSH-BANNER-001")] is Status.PASS
    assert {s for (url, _), s in ray_results.items() if url == mixed_servers["closed"][0]} <= {
        Status.ERROR,
        Status.SKIP,
    }
    # The closed port was retried once (transient: refused) by both engines.
    with Store(store_path) as store:
        for sweep_id in (local.sweep_id, embedded.sweep_id):
            [closed] = [o for o in store.outcomes(sweep_id) if o.endpoint_id == mixed_servers["closed"][0]]
            assert (closed.attempts, closed.error_class) == (2, "refused")
            assert closed.unreachable
        local_nodes = {o.worker.split(":")[0] for o in store.outcomes(local.sweep_id)}
        ray_nodes = {o.worker.split(":")[0] for o in store.outcomes(embedded.sweep_id)}
    assert local_nodes == {"local"}
    assert len(ray_nodes) == 1 and len(next(iter(ray_nodes))) == 56  # the one node's hex id


@pytest.fixture(scope="module")
def slow_fleet(tmp_path_factory):
    hosts = {f"127.0.0.{n}": 12 for n in range(41, 45)}
    fleet = start_grpc_fleet(tmp_path_factory.mktemp("ctrl-c-fleet"), hosts, latency_s=0.1, name="ctrl-c")
    yield fleet
    fleet.stop()


def test_ctrl_c_stops_cleanly_keeps_results_and_resume_finishes(slow_fleet, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.yaml", planned(slow_fleet.urls))
    profile = write_profile(tmp_path / "profile.yaml")
    store_path = tmp_path / "results.db"
    # Its own session, so Ctrl-C can go to the whole process group as a terminal sends it.
    driver = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "orchestrator.cli",
            "sweep",
            "run",
            "--inventory",
            str(inventory),
            "--profile",
            str(profile),
            "--store",
            str(store_path),
            "--concurrency",
            "4",
            "--num-cpus",
            "2",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        wait_until(
            lambda: outcome_count(store_path) >= 4 or driver.poll() is not None, 240, "4 stored results"
        )
        assert driver.poll() is None, driver.communicate()
        ray_pids = descendants(driver.pid)
        assert [s for s in listening_sockets(ray_pids | {driver.pid}) if not is_loopback(s[0])] == []
        os.killpg(driver.pid, signal.SIGINT)
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()

    assert driver.returncode == 130, err
    [sweep_id] = sweep_ids(store_path)
    assert f"Resume with: interop sweep resume {sweep_id} --store {store_path}" in err
    wait_until(lambda: not any(alive(pid) for pid in ray_pids), 30, "Ray processes to exit")
    with Store(store_path) as store:
        assert store.get_sweep(sweep_id).state is SweepState.INTERRUPTED
        kept = {o.endpoint_id: o.finished_at for o in store.outcomes(sweep_id)}
        pending = store.pending(sweep_id)
    assert len(kept) >= 4 and pending

    resumed = resume_sweep(sweep_id, store_path, engine="local")
    assert resumed.state is SweepState.COMPLETE
    assert resumed.probed == len(pending)
    with Store(store_path) as store:
        after = {o.endpoint_id: o.finished_at for o in store.outcomes(sweep_id)}
    assert sorted(after) == sorted(slow_fleet.urls)
    assert all(after[e] == t for e, t in kept.items())
