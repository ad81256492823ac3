"""Real gRPC servers on loopback for the interop checks.

grpc.aio servers run on their own event loop in a background thread (the
probe under test runs on the test's loop), or as a subprocess through the
standalone runner of orchestrator.testbed.interop_server. grpc-go's official
interop server and client (orchestrator.testbed.grpc_go) are the other
implementation: ``grpc_go_peers`` builds them when ``make grpc-go`` has not,
and fails - never skips - when it cannot.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from orchestrator.testbed import grpc_go
from orchestrator.testbed.interop_server import add_test_service
from orchestrator.testbed.pki import Issued, TestCA
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
        self.relayed: dict[int, int] = {}  # relay port -> connections it accepted

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

    def start_cutting_relay(self, target_port: int, cut_after_bytes: int | None = None) -> int:
        """A TCP relay to ``target_port`` that resets the first connection whose client has sent
        more than ``cut_after_bytes``: a connection lost mid-call, as a middlebox or a crash loses it.
        Later connections (all of them when ``cut_after_bytes`` is None) are relayed whole; the
        connections it accepted are counted in ``relayed[port]``."""
        cut = asyncio.Event()

        async def pump(reader, writer, counted: bool, both: tuple) -> None:
            sent = 0
            try:
                while data := await reader.read(65536):
                    sent += len(data)
                    if (
                        counted
                        and cut_after_bytes is not None
                        and not cut.is_set()
                        and sent > cut_after_bytes
                    ):
                        cut.set()
                        for side in both:  # SO_LINGER 0: close with a TCP reset
                            side.transport.get_extra_info("socket").setsockopt(
                                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                            )
                            side.transport.abort()
                        return
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(client_reader, client_writer) -> None:
            port = client_writer.get_extra_info("sockname")[1]
            self.relayed[port] = self.relayed.get(port, 0) + 1
            server_reader, server_writer = await asyncio.open_connection(HOST, target_port)
            both = (client_writer, server_writer)
            await asyncio.gather(
                pump(client_reader, server_writer, True, both),
                pump(server_reader, client_writer, False, both),
            )

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
        self._run(_cancel_the_rest())  # connection handlers still open
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def _close_tcp(server: asyncio.Server) -> None:
    server.close()


async def _cancel_the_rest() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(scope="session")
def grpc_servers() -> Iterator[ServerThread]:
    servers = ServerThread()
    yield servers
    servers.close()


def run_interop_server(
    workdir, broken: frozenset[str] = frozenset(), tls: Issued | None = None
) -> ServerProcess:
    port = free_port(HOST)
    argv = [sys.executable, "-m", "orchestrator.testbed.interop_server", "--host", HOST, "--port", str(port)]
    if broken:
        argv += ["--broken", ",".join(sorted(broken))]
    if tls is not None:
        argv += ["--tls-cert", str(tls.cert_path), "--tls-key", str(tls.key_path)]
    return spawn("interop-server", argv, HOST, port, workdir, timeout_s=30)


@pytest.fixture(scope="session")
def grpc_go_peers() -> grpc_go.Peers:
    """grpc-go's interop server and client (cached under build/grpc-go; about 30 s to build)."""
    return grpc_go.build()


@pytest.fixture(scope="session")
def interop_certificate(tmp_path_factory) -> Issued:
    """A server certificate for localhost and 127.0.0.1 from a throwaway CA (``.ca_path``)."""
    return TestCA(tmp_path_factory.mktemp("interop-pki")).issue("localhost")


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
