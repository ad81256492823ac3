"""Real grpc.aio servers on loopback for the interop checks.

Servers run on their own event loop in a background thread (the probe under
test runs on the test's loop), or as a subprocess through the standalone
runner of orchestrator.testbed.interop_server.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from orchestrator.testbed.interop_server import add_test_service
from orchestrator.testbed.process import ServerProcess, free_port, spawn
from probes import registry
from probes.model import Target
from probes.runner import CheckSettings

HOST = "127.0.0.1"


class ServerThread:
    """grpc.aio servers on one event loop in a daemon thread; stopped at teardown."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="grpc-servers", daemon=True)
        self.thread.start()
        self.servers: list[grpc.aio.Server] = []
        self.tcp_servers: list[asyncio.Server] = []

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def start(self, broken: frozenset[str] = frozenset(), test_service: bool = True) -> int:
        """A server on a fresh loopback port; with the TestService or with health checking only."""

        async def register(server: grpc.aio.Server) -> None:
            if test_service:
                add_test_service(server, broken)
                return
            servicer = health.aio.HealthServicer()
            await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(servicer, server)

        return self.start_with(register)

    def start_with(self, register: Callable[[grpc.aio.Server], Awaitable[None]]) -> int:
        """A server whose services ``register`` adds."""

        async def start() -> int:
            server = grpc.aio.server()
            await register(server)
            port = server.add_insecure_port(f"{HOST}:0")
            await server.start()
            self.servers.append(server)
            return port

        return self._run(start())

    def start_tcp(self, greeting: bytes) -> int:
        """A TCP server that is not gRPC: it sends ``greeting`` (maybe nothing) and then stays silent."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(greeting)
            await writer.drain()
            await reader.read()  # until the client gives up
            writer.close()

        async def start() -> int:
            server = await asyncio.start_server(handle, HOST, 0)
            self.tcp_servers.append(server)
            return server.sockets[0].getsockname()[1]

        return self._run(start())

    def close(self) -> None:
        for server in self.servers:
            self._run(server.stop(grace=None))
        for tcp in self.tcp_servers:
            self._run(_close_tcp(tcp))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def _close_tcp(server: asyncio.Server) -> None:
    server.close()


@pytest.fixture(scope="session")
def grpc_servers() -> Iterator[ServerThread]:
    servers = ServerThread()
    yield servers
    servers.close()


def run_interop_server(workdir, broken: frozenset[str] = frozenset()) -> ServerProcess:
    port = free_port(HOST)
    argv = [sys.executable, "-m", "orchestrator.testbed.interop_server", "--host", HOST, "--port", str(port)]
    if broken:
        argv += ["--broken", ",".join(sorted(broken))]
    return spawn("interop-server", argv, HOST, port, workdir)


@pytest.fixture(scope="session")
def conformant_process(tmp_path_factory) -> Iterator[ServerProcess]:
    with run_interop_server(tmp_path_factory.mktemp("interop-conformant")) as server:
        yield server


def interop_selection(**params) -> dict[str, CheckSettings]:
    """Only the GRPC-INTR-* checks, with their defaults updated by ``params``."""
    return {
        check_id: CheckSettings(meta.severity, {**meta.params, **params})
        for check_id, meta in registry.checks().items()
        if check_id.startswith("GRPC-INTR-")
    }


def grpc_target(port: int) -> Target:
    return Target(scheme="grpc", host=HOST, port=port)
