"""The grpc-go health fleet (orchestrator.testbed.go_health) against our probe: one process serving
many addresses, plaintext and TLS; the health-only selection passes on every one, a port nobody
serves is unreachable, and only the checks asked for cost a call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from orchestrator.testbed import go_health
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.process import free_port
from probes import registry
from probes.model import Status, Target
from probes.runner import CheckSettings, ProbeOptions, run_probe

SERVER_NAME = "health.spbe.test"
HEALTH_ONLY = ("GRPC-HLTH-001",)
OPTIONS = ProbeOptions(deadline_s=15.0, connect_timeout_s=5.0, read_timeout_s=5.0)


def selection(*check_ids: str) -> dict[str, CheckSettings]:
    return {check_id: CheckSettings(registry.get_check(check_id).severity) for check_id in check_ids}


@pytest.fixture(scope="module")
def fleets(tmp_path_factory) -> Iterator[dict[str, go_health.HealthFleet]]:
    workdir = tmp_path_factory.mktemp("go-health")
    binary = go_health.build()  # a build failure fails the tests; nothing skips
    cert = TestCA(workdir / "ca").issue("go-health", dns_names=(SERVER_NAME,), ip_addresses=())
    with (
        go_health.start_fleet(binary, workdir, 3, first_octet=240, name="plain") as plain,
        go_health.start_fleet(binary, workdir, 3, first_octet=241, tls=cert, name="tls") as tls,
    ):
        yield {"plain": plain, "tls": tls}


def target(host: str, port: int, tls: go_health.HealthFleet | None = None) -> Target:
    if tls is None:
        return Target(scheme="grpc", host=host, port=port)
    return Target(scheme="grpcs", host=host, port=port, server_name=SERVER_NAME, ca_file=str(tls.tls.ca_path))


def probe_all(targets: list[Target], check_ids: tuple[str, ...]):
    async def run():
        return await asyncio.gather(*(run_probe(t, selection(*check_ids), OPTIONS) for t in targets))

    return asyncio.run(run())


def test_one_process_serves_every_address(fleets):
    for fleet in fleets.values():
        hosts = [host for host, _ in fleet.endpoints]
        assert len(set(hosts)) == len(hosts) == 3
        assert len({port for _, port in fleet.endpoints}) == 1
        assert fleet.server.process.poll() is None


@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_health_only_passes_on_every_endpoint(fleets, transport):
    fleet = fleets[transport]
    tls = fleet if transport == "tls" else None
    reports = probe_all([target(host, port, tls) for host, port in fleet.endpoints], HEALTH_ONLY)
    for report in reports:
        assert report.unreachable is None
        assert [(r.check_id, r.status) for r in report.results] == [("GRPC-HLTH-001", Status.PASS)], report
        assert report.facts["grpc"]["health"] == {"": "SERVING"}
        # The latency check was not selected: no latency was sampled.
        assert "health_latency_ms" not in report.facts["grpc"]


def test_latency_is_sampled_when_its_check_is_selected(fleets):
    host, port = fleets["plain"].endpoints[0]
    (report,) = probe_all([target(host, port)], ("GRPC-HLTH-001", "GRPC-LAT-001"))
    assert {r.check_id: r.status for r in report.results} == {
        "GRPC-HLTH-001": Status.PASS,
        "GRPC-LAT-001": Status.PASS,
    }
    assert report.facts["grpc"]["health_latency_ms"] > 0


def test_a_port_nobody_serves_is_unreachable(fleets):
    (report,) = probe_all([target("127.0.0.1", free_port())], HEALTH_ONLY)
    assert report.unreachable is not None and "connection refused" in report.unreachable
    assert [r.status for r in report.results] == [Status.ERROR]
