"""A real SSH server without strict key exchange: paramiko's server side, as unpatched servers were.

Every Debian SSH server here (OpenSSH, Dropbear) has strict key exchange and
TinySSH offers only chacha20-poly1305, so paramiko (``strict_kex=False``)
is the server that shows Terrapin with CBC or CTR next to encrypt-then-MAC.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import paramiko

ACCEPT_POLL_S = 0.2
MAX_CONNECTIONS = 50  # bounded: a test needs a handful


@contextlib.contextmanager
def unpatched_server(ciphers: tuple[str, ...], macs: tuple[str, ...]) -> Iterator[int]:
    """Listen on 127.0.0.1 and yield the port; each connection gets a paramiko server transport."""
    host_key = paramiko.ECDSAKey.generate()  # paramiko cannot generate Ed25519 keys; RSA is slow
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(ACCEPT_POLL_S)
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while not stop.is_set() and len(transports) < MAX_CONNECTIONS:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            transport = paramiko.Transport(conn, strict_kex=False)
            transport.add_server_key(host_key)
            options = transport.get_security_options()
            options.ciphers, options.digests = ciphers, macs
            transports.append(transport)
            with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
                transport.start_server(server=paramiko.ServerInterface())

    thread = threading.Thread(target=serve, name="paramiko-unpatched", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for transport in transports:
            transport.close()
        listener.close()
