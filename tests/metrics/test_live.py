"""Live progress from a real drive: the driver writes it, another connection (as ``interop serve``) reads it.

Real servers on 127.0.0.1: three that accept and stay silent (each probe waits
for a banner until its read timeout) and one closed port (refused at once).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.engine.driver import drive
from orchestrator.engine.limits import Limits
from orchestrator.engine.local import LocalEngine
from orchestrator.engine.plan import PlannedEndpoint, make_plan
from orchestrator.engine.shard import ProbeJob
from orchestrator.metrics.collector import StoreCollector
from orchestrator.metrics.live import LiveObserver
from orchestrator.store import Store
from orchestrator.sweep import StoreSink
from orchestrator.testbed.hostile import HostileServer
from probes.model import Target
from probes.runner import ProbeOptions, default_selection
from tests.metrics.conftest import samples, scrape, value

READ_TIMEOUT_S = 3.0


@pytest.fixture
def silent_servers():
    servers = [HostileServer("silent") for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once closed


def test_in_flight_and_heartbeat_while_probes_hang(silent_servers, tmp_path):
    ports = [server.port for server in silent_servers] + [closed_port()]
    endpoints = [
        PlannedEndpoint(
            EndpointMeta(f"ssh://127.0.0.1:{port}", f"ssh://127.0.0.1:{port}", "ssh", "32.73"),
            Target("ssh", "127.0.0.1", port),
        )
        for port in ports
    ]
    path = tmp_path / "results.db"
    writer = Store(path)
    sweep_id = writer.create_sweep(
        inventory_path="/srv/interop/live.yaml",
        inventory_hash="h",
        inventory_name="live",
        profile="spbe-baseline",
        profile_hash="p",
        engine="local",
        endpoints=[
            EndpointMeta(e.endpoint_id, e.endpoint_id, "ssh", "32.73", "kota", "32", "32-73-0001")
            for e in endpoints
        ],
        options={},
    )
    limits = Limits(concurrency=8, per_host=8, retries=0)
    plan = make_plan(endpoints, limits, lambda vantage: 1)
    selection = {"SSH-BANNER-001": default_selection()["SSH-BANNER-001"]}
    options = ProbeOptions(deadline_s=10, connect_timeout_s=2, read_timeout_s=READ_TIMEOUT_S)
    job = ProbeJob(selection, options, limits)
    observer = LiveObserver(writer, sweep_id, plan, interval_s=0.2)

    def run() -> None:
        with observer:
            asyncio.run(drive(LocalEngine(interval_s=0.1), plan, job, StoreSink(writer, sweep_id), observer))

    driver = threading.Thread(target=run)
    driver.start()
    reader = Store(path, create=False)
    collector = StoreCollector(path)
    try:
        seen = []
        deadline = time.monotonic() + READ_TIMEOUT_S + 5
        while driver.is_alive() and time.monotonic() < deadline:
            live = reader.live(sweep_id)
            if live is not None and live.in_flight == 3:
                seen.append(live.updated_at)
                if len(set(seen)) == 3:
                    break
            time.sleep(0.1)
        # The refused endpoint is done, the three silent ones in flight, and the heartbeat moves.
        assert len(set(seen)) == 3
        parsed = samples(scrape(collector))
        run_labels = {"inventory": "live", "sweep": sweep_id}
        assert value(parsed, "interop_running_sweep_endpoints_in_flight", **run_labels) == 3
        assert value(parsed, "interop_running_sweep_endpoints_done", **run_labels) == 1
        assert value(parsed, "interop_running_sweep_workers", **run_labels) == 1
        errors = "interop_running_sweep_endpoint_errors"
        assert value(parsed, errors, **run_labels, error_class="refused") == 1
        driver.join(timeout=READ_TIMEOUT_S + 10)
        assert not driver.is_alive()
        final = reader.live(sweep_id)
        assert final.in_flight == 0
        assert reader.progress(sweep_id).done == 4
        parsed = samples(scrape(collector))
        assert value(parsed, errors, **run_labels, error_class="timeout") == 3
        assert value(parsed, "interop_running_sweep_probe_duration_seconds_count", **run_labels) == 4
    finally:
        driver.join(timeout=30)
        collector.close()
        reader.close()
        writer.close()


def test_live_writes_never_stop_a_sweep(tmp_path):
    store = Store(tmp_path / "results.db")
    endpoints = [
        PlannedEndpoint(
            EndpointMeta("ssh://127.0.0.1:1", "ssh://127.0.0.1:1", "ssh"), Target("ssh", "127.0.0.1", 1)
        )
    ]
    plan = make_plan(endpoints, Limits(), lambda v: 1)
    store.close()  # every write now raises StoreError
    with LiveObserver(store, "no-such-sweep", plan) as observer:
        observer.note("still fine")
    assert observer.in_flight == 0
