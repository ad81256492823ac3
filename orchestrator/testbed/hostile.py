"""Misbehaving TCP servers on loopback, for robustness tests of the probes.

Each behaviour is a function ``(conn, stop) -> None`` that owns one
accepted connection: it stays silent, floods, drips, lies, speaks another
protocol or drops the connection, and returns when ``stop`` is set, when
the peer goes away or when its own byte/time budget is spent.
``HostileServer`` accepts on 127.0.0.1 only, runs one thread per connection
and ``stop()`` ends them all.

Behaviours that react to the client (a reset, an HTTP reply, an HTTP/2
hang-up) wait for the client's first bytes: every probe speaks first (SSH
identification, TLS ClientHello, HTTP/2 preface), so the client's connect
has completed before the server acts and the outcome depends on no race.
TLS servers (a handshake, then silence) are in ``tls_server.py``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import socket
import struct
import threading
from collections.abc import Callable

Behaviour = Callable[[socket.socket, threading.Event], None]

LIFETIME_S = 30.0  # no connection is held longer than this, whatever happens
FLOOD_CAP_BYTES = 8 * 1024 * 1024  # a flood stops here even if the peer keeps reading
VALID_BANNER = b"SSH-2.0-OpenSSH_9.9 hostile\r\n"
SSH1_BANNER = b"SSH-1.5-OpenSSH_2.0 hostile\r\n"  # an SSH-1 only server: refused by RFC 4253 clients
HTTP1_REPLY = (
    b"HTTP/1.1 400 Bad Request\r\nServer: hostile\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n"
)


def _receive(conn: socket.socket, stop: threading.Event) -> bytes:
    """Wait for the peer's next bytes; empty when it left or we are stopped."""
    while not stop.is_set():
        try:
            return conn.recv(64 * 1024)
        except TimeoutError:
            continue
        except OSError:
            return b""
    return b""


def _send(conn: socket.socket, data: bytes, stop: threading.Event) -> bool:
    """Send all of ``data`` unless stopped or the peer left; False when it is time to quit."""
    view = memoryview(data)
    while view and not stop.is_set():
        try:
            sent = conn.send(view)
        except TimeoutError:
            continue  # the peer is not reading; check ``stop`` and try again
        except OSError:
            return False
        view = view[sent:]
    return not stop.is_set()


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, then never say a word."""
    stop.wait(LIFETIME_S)


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Random bytes with no line end: no identification line can ever complete."""
    noise = random.Random(4253).randbytes(64 * 1024).replace(b"\n", b"?")
    if _send(conn, noise, stop):
        stop.wait(LIFETIME_S)


def endless_lines(conn: socket.socket, stop: threading.Event) -> None:
    """Pre-banner text lines forever (RFC 4253 §4.2 allows some, not unboundedly many)."""
    line = b"Welcome. Authorised use only. This is not an SSH identification line.\r\n"
    chunk = line * 64
    for _ in range(FLOOD_CAP_BYTES // len(chunk)):
        if not _send(conn, chunk, stop):
            return
    stop.wait(LIFETIME_S)


def absurd_packet_length(conn: socket.socket, stop: threading.Event) -> None:
    """A valid identification line, then a packet claiming to be almost 4 GiB long."""
    if _send(conn, VALID_BANNER + struct.pack(">I", 0xFFFFFFF0) + b"\x04\x14" + b"\x00" * 64, stop):
        stop.wait(LIFETIME_S)


def slow_drip(conn: socket.socket, stop: threading.Event, interval_s: float = 1.0) -> None:
    """A valid identification line, one byte per second."""
    for byte in VALID_BANNER:
        if not _send(conn, bytes([byte]), stop) or stop.wait(interval_s):
            return
    stop.wait(LIFETIME_S)


def banner_then_silence(conn: socket.socket, stop: threading.Event) -> None:
    """A valid identification line and then nothing: no KEXINIT ever comes."""
    if _send(conn, VALID_BANNER, stop):
        stop.wait(LIFETIME_S)


def ssh1_banner(conn: socket.socket, stop: threading.Event) -> None:
    """An SSH-1 only server: its SSH-1.5 identification line; a 2.0 client is told off and dropped."""
    if _send(conn, SSH1_BANNER, stop) and _receive(conn, stop):
        _send(conn, b"Protocol major versions differ.\n", stop)


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Once the client has spoken, abort the connection: it reads a TCP reset, not a close."""
    _receive(conn, stop)
    reset_at_once(conn, stop)


def reset_at_once(conn: socket.socket, stop: threading.Event) -> None:
    """Abort every connection as soon as it is accepted (a crashing service, a filtering middlebox).

    The client may see the reset before or after its connect returns: either way
    something accepted the connection, so the target is not unreachable.
    """
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def http1_reply(conn: socket.socket, stop: threading.Event) -> None:
    """An HTTP/1.1 server: whatever the client sends is a bad request, then the server closes."""
    if _receive(conn, stop):
        _send(conn, HTTP1_REPLY, stop)


# HTTP/2 (RFC 9113 §3.4, §4.1, §6.5): the client's connection preface, then
# frames of a 9-byte header (24-bit length, type, flags, 31-bit stream id).
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_HEADERS, H2_SETTINGS = 0x1, 0x4
H2_ACK = 0x1
H2_SCAN_CAP_BYTES = 256 * 1024


def _h2_frame(kind: int, flags: int, payload: bytes = b"", stream: int = 0) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def h2_hangup(conn: socket.socket, stop: threading.Event) -> None:
    """An HTTP/2 server that completes the connection set-up and closes it when a call arrives.

    The client's channel gets ready, then loses its transport under the call:
    the call was never answered.
    """
    if not _send(conn, _h2_frame(H2_SETTINGS, 0), stop):
        return
    buffer = b""
    offset = len(H2_PREFACE)
    while len(buffer) < H2_SCAN_CAP_BYTES:
        chunk = _receive(conn, stop)
        if not chunk:
            return
        buffer += chunk
        if not buffer.startswith(H2_PREFACE[: len(buffer)]):
            return  # not an HTTP/2 client
        while len(buffer) >= offset + 9:
            length = int.from_bytes(buffer[offset : offset + 3], "big")
            kind, flags = buffer[offset + 3], buffer[offset + 4]
            if kind == H2_HEADERS:
                return  # a call: hang up (the caller closes the socket)
            if kind == H2_SETTINGS and not flags & H2_ACK:  # noqa: SIM102 - the send is an action, not a condition
                if not _send(conn, _h2_frame(H2_SETTINGS, H2_ACK), stop):
                    return
            offset += 9 + length


BEHAVIOURS: dict[str, Behaviour] = {
    "silent": silent,
    "garbage": garbage,
    "endless_lines": endless_lines,
    "absurd_packet_length": absurd_packet_length,
    "slow_drip": slow_drip,
    "banner_then_silence": banner_then_silence,
    "ssh1_banner": ssh1_banner,
    "reset": reset,
    "reset_at_once": reset_at_once,
    "http1_reply": http1_reply,
    "h2_hangup": h2_hangup,
}


class HostileServer:
    """Listen on loopback and hand each connection to a behaviour in its own thread."""

    def __init__(self, behaviour: str | Behaviour, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"hostile servers listen on loopback only, not {host}")
        self.behaviour = BEHAVIOURS[behaviour] if isinstance(behaviour, str) else behaviour
        self.host = host
        self._stop = threading.Event()
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"hostile-{self.port}", daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # listener closed by stop()
            conn.settimeout(0.2)
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self.accepted += 1
                self._connections.append(conn)
                self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour(conn, self._stop)
        except OSError:
            pass  # the peer went away: nothing to report
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._acceptor.join(timeout=2)
        with self._lock:
            threads, connections = list(self._threads), list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=2)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
