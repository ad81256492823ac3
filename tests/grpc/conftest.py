"""Real gRPC servers for the gRPC probe's tests, one process per group.

Every variant of ``orchestrator.testbed.grpc_server`` runs in one server
process (plaintext) or a second one (TLS), each on its own port; the probe
runs in the test process with its own event loop. The selection holds only
this probe's checks, so sibling probes' timing plays no part.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.testbed.grpc_server import RunningGrpcServers, start_grpc_servers
from orchestrator.testbed.grpc_spec import WRONG, GrpcServerSpec
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.process import free_ports
from probes import registry
from probes.model import ProbeReport, Target
from probes.runner import CheckSettings, ProbeOptions, run_probe

PREFIXES = ("GRPC-HLTH-", "GRPC-REFL-", "GRPC-UNIM-", "GRPC-IDEN-", "GRPC-LAT-", "GRPC-TLS-")
AGENCY, APPLICATION = "32.73", "sikd"
DECLARED = ("grpc.testing.TestService",)

DESCRIBE = "/spbe.interop.v1.ServiceInfo/Describe"
REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"

PLAIN_SPECS = (
    GrpcServerSpec("conformant"),
    GrpcServerSpec("v1alpha_only", reflection=("v1alpha",)),
    GrpcServerSpec("no_health", health="absent"),
    GrpcServerSpec("not_serving", health="not_serving"),
    GrpcServerSpec("no_list", health_list=False),
    GrpcServerSpec("no_reflection", reflection=()),
    GrpcServerSpec("wrong_identity", identity=WRONG),
    GrpcServerSpec("no_identity", identity=None),
    GrpcServerSpec("incomplete_identity", contact=""),
    GrpcServerSpec("unresolvable", unresolvable=("sikd.v1.Arsip",)),
    GrpcServerSpec("catch_all", catch_all=True),
    GrpcServerSpec("slow", latency_s=0.1),
    GrpcServerSpec("garbled_identity", faults=((DESCRIBE, "garble"),)),
    GrpcServerSpec("garbled_reflection", faults=((REFLECTION_V1, "garble"),)),
    GrpcServerSpec("stalled_watch", faults=((WATCH, "stall"),)),
    GrpcServerSpec("stalled_health", faults=((CHECK, "stall"),)),
)


def own_check_ids() -> list[str]:
    return [check_id for check_id in registry.checks() if check_id.startswith(PREFIXES)]


# Latency is judged against a threshold no loaded test machine reaches: a
# verdict here must not depend on speed. The warn side has its own test.
UNHURRIED = {"GRPC-LAT-001": {"threshold_ms": 60_000}}


def selection(params: dict[str, dict[str, Any]] | None = None) -> dict[str, CheckSettings]:
    checks = registry.checks()
    overrides = UNHURRIED | (params or {})
    return {
        check_id: CheckSettings(
            checks[check_id].severity, checks[check_id].params | overrides.get(check_id, {})
        )
        for check_id in own_check_ids()
    }


def probe(
    target: Target, params: dict[str, dict[str, Any]] | None = None, timeout_s: float = 5.0
) -> ProbeReport:
    options = ProbeOptions(deadline_s=20.0, connect_timeout_s=timeout_s, read_timeout_s=timeout_s)
    return asyncio.run(run_probe(target, selection(params), options))


def statuses(report: ProbeReport) -> dict[str, str]:
    return {result.check_id: result.status.value for result in report.results}


def registered(target_of: RunningGrpcServers, name: str, **fields: Any) -> Target:
    """The target the inventory would hold for server ``name``."""
    defaults = {"agency": AGENCY, "application": APPLICATION, "services": DECLARED}
    return target_of.target(name, **{**defaults, **fields})


@pytest.fixture(scope="session")
def plain_servers(tmp_path_factory) -> Iterator[RunningGrpcServers]:
    multi = GrpcServerSpec("multi_port", ports=free_ports(3))
    servers = start_grpc_servers([*PLAIN_SPECS, multi], tmp_path_factory.mktemp("grpc-plain"), "grpc-plain")
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def tls_servers(tmp_path_factory) -> Iterator[RunningGrpcServers]:
    ca = TestCA(tmp_path_factory.mktemp("grpc-ca"))
    now = dt.datetime.now(dt.UTC)
    expired = ca.issue(
        "grpc-expired", not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=1)
    )
    wrong_name = ca.issue("grpc-wrong-name", dns_names=("lain.go.id",), ip_addresses=())
    specs = [
        GrpcServerSpec("tls", tls=ca.issue("grpc-tls")),
        GrpcServerSpec("tls_expired", tls=expired),
        GrpcServerSpec("tls_wrong_name", tls=wrong_name),
    ]
    servers = start_grpc_servers(specs, tmp_path_factory.mktemp("grpc-tls"), "grpc-tls")
    yield servers
    servers.stop()


class RawServer:
    """A TCP listener that is not gRPC: it stays silent or sends ``greeting`` and hangs up."""

    def __init__(self, greeting: bytes | None) -> None:
        self.greeting = greeting
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return  # listener closed
            self.clients.append(client)
            if self.greeting is not None:
                try:
                    client.sendall(self.greeting)
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        for client in self.clients:
            client.close()
        self.thread.join(timeout=2)


@pytest.fixture
def silent_server() -> Iterator[RawServer]:
    server = RawServer(None)
    yield server
    server.close()


@pytest.fixture
def http1_server() -> Iterator[RawServer]:
    server = RawServer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    yield server
    server.close()
