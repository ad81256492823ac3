"""uvicorn serving the application on a socket bound beforehand, in a thread, stopped from the main thread.

Binding first turns "address in use" or a bad address into a usage error
before anything starts. uvicorn runs in a thread of its own, where it
installs no signal handlers: the command's main thread owns SIGINT and
SIGTERM, stops the scheduler and then the server (uvicorn, when it handles a
signal itself, raises it again once stopped, which would end the process
with the signal instead of exit status 0).
"""

from __future__ import annotations

import ipaddress
import socket
import threading

import uvicorn
from starlette.types import ASGIApp

GRACEFUL_SHUTDOWN_S = 5.0
START_TIMEOUT_S = 30.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (OSError if it cannot be had)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def is_loopback(host: str) -> bool:
    """Every address ``host`` resolves to is a loopback address (an unresolvable name is not)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )


class BackgroundServer:
    """uvicorn on ``sock`` in a daemon thread; ``stop`` asks it to finish open requests and waits."""

    def __init__(self, app: ASGIApp, sock: socket.socket):
        config = uvicorn.Config(
            app,
            lifespan="off",
            access_log=False,  # the application logs requests itself, without query strings
            log_config=None,  # the command's logging configuration
            http="httptools",  # C parser: a /probe answer spends a fifth less CPU than with h11
            loop="asyncio",
            timeout_keep_alive=5,
            timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_S),
            limit_concurrency=256,
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.sock = sock
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="interop-http", daemon=True)

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # noqa: BLE001 - reported by start()/stop() to the main thread
            self.error = exc

    def start(self) -> None:
        self.thread.start()
        deadline = threading.Event()
        for _ in range(int(START_TIMEOUT_S / 0.05)):
            if self.server.started or not self.thread.is_alive():
                break
            deadline.wait(0.05)
        if not self.server.started:
            raise RuntimeError(f"the HTTP server did not start: {self.error or 'timed out'}")

    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(GRACEFUL_SHUTDOWN_S + 5)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(5)
        self.sock.close()
