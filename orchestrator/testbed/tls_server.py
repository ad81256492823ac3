"""A small TLS server on loopback built on Python's ``ssl``, for TLS probe tests.

It completes handshakes and closes: that is all a TLS probe needs to see
(version, cipher, ALPN, certificate). Each situation an agency server is
found in is a ``TLSServerConfig``: the certificate, the protocol versions it
accepts, the ALPN protocols it selects from, a cipher string, ``silent``
(accepts TCP, never answers the handshake), ``plaintext_reply`` (a
service that does not speak TLS on a port declared as TLS) or
``hold_after_handshake`` (completes the handshake, then says nothing more:
a TLS terminator whose application never answers).

Threads, not a subprocess: the server lives in the test process, every
socket has a timeout, the number of open connections is capped, and
``stop()`` closes everything and joins the threads.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass, field

from orchestrator.testbed.pki import Issued

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TLSServerConfig:
    cert: Issued
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    alpn_protocols: tuple[str, ...] = ("h2",)  # () = the server does no ALPN
    # OpenSSL cipher string for TLS 1.2 and below; "@SECLEVEL=0" lets the
    # server load weak keys / SHA-1 certificates and speak TLS 1.0/1.1.
    ciphers: str | None = None
    silent: bool = False  # accept TCP, never send a byte
    plaintext_reply: bytes | None = None  # answer with these bytes instead of TLS, then close
    hold_after_handshake: bool = False  # after the handshake, silence until stop() or the timeout
    socket_timeout_s: float = 5.0
    max_connections: int = 64


@dataclass(frozen=True)
class Handshake:
    """What the server saw for one completed handshake (for test assertions)."""

    version: str | None
    cipher: str | None
    alpn: str | None


@dataclass
class TLSServer:
    config: TLSServerConfig
    host: str = HOST
    port: int = 0
    handshakes: list[Handshake] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        speaks_tls = not self.config.silent and self.config.plaintext_reply is None
        self._context = _server_context(self.config) if speaks_tls else None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, self.port))
        self._listener.listen(64)
        self._listener.settimeout(0.2)  # so the accept loop notices stop()
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"tls-server-{self.port}", daemon=True
        )

    def start(self) -> TLSServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=self.config.socket_timeout_s + 1)

    def __enter__(self) -> TLSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if len(self._open) >= self.config.max_connections:
                    _close(conn)
                    continue
                self._open.add(conn)
                self._workers = [w for w in self._workers if w.is_alive()]
                worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._workers.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.config.silent:
                # Hold the connection without answering until stop() or the timeout.
                self._stopping.wait(self.config.socket_timeout_s)
                return
            if self.config.plaintext_reply is not None:
                conn.settimeout(self.config.socket_timeout_s)
                conn.recv(4096)  # the ClientHello, unread
                conn.sendall(self.config.plaintext_reply)
                return
            conn.settimeout(self.config.socket_timeout_s)
            assert self._context is not None  # neither silent nor plaintext: it speaks TLS
            tls = self._context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            with self._lock:  # wrapping moved the descriptor into ``tls``
                self._open.discard(conn)
                self._open.add(tls)
            conn = tls
            with tls:
                tls.do_handshake()
                cipher = tls.cipher()
                self.handshakes.append(
                    Handshake(tls.version(), cipher[0] if cipher else None, tls.selected_alpn_protocol())
                )
                if self.config.hold_after_handshake:
                    self._stopping.wait(self.config.socket_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a client aborting is normal here
            self.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._open.discard(conn)
            _close(conn)


def _server_context(config: TLSServerConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        # TLSVersion.TLSv1 / TLSv1_1 are deprecated: legacy servers are the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = config.min_version
        context.maximum_version = config.max_version
    if config.ciphers:
        context.set_ciphers(config.ciphers)  # before loading: the security level gates the key
    context.load_cert_chain(config.cert.cert_path, config.cert.key_path)
    if config.alpn_protocols:
        context.set_alpn_protocols(list(config.alpn_protocols))
    return context


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
    with contextlib.suppress(OSError):
        sock.close()


def start_tls_server(config: TLSServerConfig) -> TLSServer:
    """A started server on 127.0.0.1 and a free port; call ``stop()`` when done."""
    return TLSServer(config).start()
