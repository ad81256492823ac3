"""Vantage routing on a multi-node Ray cluster on this machine.

Head node: vantage papua. Two more nodes: vantage jabar each, so a jabar
node can be removed mid-sweep and its endpoints still finish on the other.
The node that ran each endpoint is read from the outcome's ``worker`` column
(``<node id>:<pid>``).
"""

from __future__ import annotations

import threading

import pytest

from orchestrator.engine.limits import Limits
from orchestrator.store import Store, SweepState
from orchestrator.sweep import resume_sweep, run_sweep
from tests.sweep.support import (
    GRPC_CHECKS,
    RAY_NODE_DEFAULTS,
    planned,
    start_cluster,
    start_grpc_fleet,
    stop_cluster,
    wait_until,
    write_inventory,
    write_profile,
)

JABAR_HOSTS = {f"127.0.0.{n}": 10 for n in range(21, 25)}
PAPUA_HOSTS = {"127.0.0.25": 6}
# Bringing a cluster up counts against the first test: room for a retried start.
# Multi-node clusters are started from the test process: `make test` runs these in a process of their own.
pytestmark = [pytest.mark.timeout(300), pytest.mark.ray_cluster]
LIMITS = Limits(concurrency=8, per_host=2, retries=0)


@pytest.fixture(scope="module")
def nodes():
    jabar_node = {"num_cpus": 1, "resources": {"vantage:jabar": 1}}
    cluster = start_cluster({"num_cpus": 1, "resources": {"vantage:papua": 1}}, [jabar_node, jabar_node])
    jabar = list(cluster.worker_nodes)
    yield cluster, jabar
    stop_cluster(cluster)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fleet = start_grpc_fleet(
        tmp_path_factory.mktemp("vantage-fleet"),
        {**JABAR_HOSTS, **PAPUA_HOSTS},
        latency_s=0.1,
        name="vantage",
    )
    yield fleet
    fleet.stop()


def inventory_for(path, fleet):
    jabar = [url for host in JABAR_HOSTS for url in fleet.urls_by_host[host]]
    papua = [url for host in PAPUA_HOSTS for url in fleet.urls_by_host[host]]
    write_inventory(path, planned(jabar, "jabar") + planned(papua, "papua"))
    return jabar, papua


def node_of(worker: str) -> str:
    return worker.rsplit(":", 1)[0]


def outcomes_by_node(store_path, sweep_id) -> dict[str, str]:
    with Store(store_path) as store:
        return {o.endpoint_id: node_of(o.worker) for o in store.outcomes(sweep_id)}


def first_jabar_node(store_path, jabar_ids: set[str]) -> str | None:
    import sqlite3

    if not store_path.exists():
        return None
    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
    try:
        for endpoint_id, worker in conn.execute("SELECT endpoint_id, worker FROM outcomes"):
            if endpoint_id in jabar_ids:
                return node_of(worker)
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return None


def test_vantage_routing_and_a_node_removed_mid_sweep(nodes, fleet, tmp_path):
    cluster, jabar_nodes = nodes
    head_id = cluster.head_node.node_id
    jabar_ids = {node.node_id for node in jabar_nodes}
    jabar, papua = inventory_for(tmp_path / "inventory.yaml", fleet)
    store_path = tmp_path / "results.db"
    removed: list[str] = []

    def remove_a_busy_jabar_node() -> None:
        node_id = wait_until(lambda: first_jabar_node(store_path, set(jabar)), 90, "a jabar result")
        [node] = [n for n in jabar_nodes if n.node_id == node_id]
        cluster.remove_node(node)
        removed.append(node_id)

    remover = threading.Thread(target=remove_a_busy_jabar_node)
    remover.start()
    try:
        outcome = run_sweep(
            tmp_path / "inventory.yaml",
            write_profile(tmp_path / "p.yaml"),
            store_path,
            ray_address=cluster.address,
            limits=LIMITS,
        )
    finally:
        remover.join()

    assert outcome.state is SweepState.COMPLETE, outcome.stats
    assert outcome.stats.losses and outcome.stats.resubmissions >= 1
    assert outcome.stats.duplicates == 0
    placed = outcomes_by_node(store_path, outcome.sweep_id)
    assert sorted(placed) == sorted(jabar + papua)
    with Store(store_path) as store:
        results = list(store.results(outcome.sweep_id))
    assert len(results) == len(placed) * GRPC_CHECKS
    assert len({(r.endpoint_id, r.check_id) for r in results}) == len(results)
    # Each endpoint ran on a node of its vantage.
    assert {placed[url] for url in papua} == {head_id}
    assert {placed[url] for url in jabar} <= jabar_ids
    # What the removed node finished before it went is kept; the rest finished on the other one.
    [survivor] = jabar_ids - set(removed)
    on_removed = [url for url in jabar if placed[url] == removed[0]]
    assert on_removed and len(on_removed) < len(jabar)
    assert sum(placed[url] == survivor for url in jabar) == len(jabar) - len(on_removed)


def test_last_node_of_a_vantage_lost_then_resumed_on_a_new_one(nodes, fleet, tmp_path):
    cluster, jabar_nodes = nodes
    alive = [node for node in jabar_nodes if node in cluster.worker_nodes]
    assert len(alive) == 1  # the previous test removed the other one
    jabar, papua = inventory_for(tmp_path / "inventory.yaml", fleet)
    store_path = tmp_path / "results.db"

    def remove_last_jabar_node() -> None:
        wait_until(lambda: first_jabar_node(store_path, set(jabar)), 90, "a jabar result")
        cluster.remove_node(alive[0])

    remover = threading.Thread(target=remove_last_jabar_node)
    remover.start()
    try:
        outcome = run_sweep(
            tmp_path / "inventory.yaml",
            write_profile(tmp_path / "p.yaml"),
            store_path,
            ray_address=cluster.address,
            limits=LIMITS,
        )
    finally:
        remover.join()

    # Nothing can run the rest of jabar: the shard is given up, its endpoints stay pending.
    assert outcome.state is SweepState.FAILED
    assert outcome.exit_code == 1
    assert list(outcome.stats.abandoned) == ["jabar/0"]
    pending_before = outcome.total - outcome.done
    assert pending_before == outcome.stats.abandoned["jabar/0"] > 0
    with Store(store_path) as store:
        pending = store.pending(outcome.sweep_id)
    assert set(pending) <= set(jabar)

    new_node = cluster.add_node(**RAY_NODE_DEFAULTS, num_cpus=1, resources={"vantage:jabar": 1})
    cluster.wait_for_nodes()
    resumed = resume_sweep(outcome.sweep_id, store_path)
    assert resumed.state is SweepState.COMPLETE
    assert resumed.probed == len(pending)
    placed = outcomes_by_node(store_path, outcome.sweep_id)
    assert sorted(placed) == sorted(jabar + papua)
    assert {placed[url] for url in pending} == {new_node.node_id}
