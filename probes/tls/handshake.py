"""One TLS handshake over an asyncio stream, driven through ``ssl.MemoryBIO``.

Driving OpenSSL by hand rather than ``start_tls`` gives three things the probe
needs: a byte cap on what the server may send, a deadline on the whole
handshake without a thread, and the knowledge of whether our ClientHello
ever left (an error before that is a limit of the local OpenSSL, not an
answer from the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from probes import net
from probes.errors import WireError

HANDSHAKE_MAX_BYTES = 256 * 1024  # OpenSSL itself refuses certificate lists over 100 KiB
READ_CHUNK = 16 * 1024
_HANDSHAKE_RECORD = 0x16  # TLS record content type of a ClientHello
SHARED_CONTEXTS = 64  # distinct client settings kept (per CA file: a probe uses 2 to 4)


class LocalLimitation(Exception):
    """The local OpenSSL refused to start this handshake: nothing was sent."""


@dataclass
class Handshake:
    """A handshake's result: the session it agreed, or ``error``, the SSL error that ended it."""

    version: str | None = None
    cipher: str | None = None
    cipher_bits: int | None = None
    alpn: str | None = None
    peer_der: bytes | None = None
    error: ssl.SSLError | None = None

    @property
    def completed(self) -> bool:
        # Derived, not stored: a failed handshake without its error cannot be built.
        return self.error is None


def client_context(
    *,
    verify: bool,
    cafile: str | None = None,
    alpn: tuple[str, ...] = (),
    version: ssl.TLSVersion | None = None,
    up_to: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """A client context: Python's defaults (TLS 1.2+, security level 2) unless told otherwise.

    ``version`` alone offers that version only; with ``up_to``, every version
    from ``version`` to ``up_to``.

    Host names are never checked here: the probe matches the SAN itself so a
    chain failure and a name mismatch are reported apart.

    Contexts are shared: building one (and loading its trust store) costs more
    CPU than the handshake it serves, and a sweep asks for the same few over
    and over. A CA file is known by its path and its stat, so a file rewritten
    in place is loaded again.
    """
    bundle = (cafile, _file_stamp(cafile)) if verify and cafile else None
    versions = (version, up_to or version) if version is not None else None
    return _shared_context(verify, bundle, tuple(alpn), versions, ciphers)


def _file_stamp(path: str) -> tuple[int, int, int]:
    stat = os.stat(path)  # OSError for a missing file, as loading it would raise
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=SHARED_CONTEXTS)
def _shared_context(
    verify: bool,
    bundle: tuple[str, tuple[int, int, int]] | None,
    alpn: tuple[str, ...],
    versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None,
    ciphers: str | None,
) -> ssl.SSLContext:
    if verify:
        context = ssl.create_default_context(cafile=bundle[0] if bundle else None)
        context.check_hostname = False
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if ciphers:
        context.set_ciphers(ciphers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/TLSv1_1 on purpose
        if versions is not None:
            context.minimum_version, context.maximum_version = versions
        else:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


@functools.lru_cache(maxsize=SHARED_CONTEXTS)
def offers_hello(context: ssl.SSLContext) -> bool:
    """Whether the local OpenSSL builds a ClientHello with this (shared) context at all; no network.

    A context whose versions or ciphers the local build cannot offer fails
    before anything is sent, or sends nothing.
    """
    outgoing = ssl.MemoryBIO()
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_side=False, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        data = outgoing.read()
        return bool(data) and data[0] == _HANDSHAKE_RECORD
    except ssl.SSLError:
        return False
    return False


async def handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    server_hostname: str | None,
    timeout_s: float,
    max_bytes: int = HANDSHAKE_MAX_BYTES,
) -> Handshake:
    """Run one client handshake on a connected stream, then close it.

    Returns a completed ``Handshake`` or one carrying the ``ssl.SSLError``
    the server's answer caused. Raises ``LocalLimitation`` when OpenSSL
    failed before sending a ClientHello, ``TimeoutError`` past ``timeout_s``,
    ``WireError`` past ``max_bytes``, and ``OSError`` on a reset.
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=server_hostname)
    hello_sent = False
    received = 0

    async def flush() -> None:
        nonlocal hello_sent
        data = outgoing.read()
        if data:
            hello_sent = hello_sent or data[0] == _HANDSHAKE_RECORD
            writer.write(data)
            await writer.drain()

    try:
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    tls.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as exc:
                    if not hello_sent:
                        reason = exc.reason or exc
                        raise LocalLimitation(f"local OpenSSL refused to offer it: {reason}") from exc
                    await _flush_quietly(flush)  # our alert, so the server logs why
                    return Handshake(error=exc)
                else:
                    # Our Finished (TLS 1.3) completes the server's side; a server
                    # that already hung up changes nothing we learned.
                    await _flush_quietly(flush)
                    cipher = tls.cipher()
                    return Handshake(
                        version=tls.version(),
                        cipher=cipher[0] if cipher else None,
                        cipher_bits=cipher[2] if cipher else None,
                        alpn=tls.selected_alpn_protocol(),
                        peer_der=tls.getpeercert(binary_form=True),
                    )
                await flush()
                chunk = await reader.read(READ_CHUNK)
                if not chunk:
                    if incoming.eof:  # OpenSSL should have raised on the first EOF
                        raise asyncio.IncompleteReadError(b"", None)
                    incoming.write_eof()  # the next do_handshake raises SSLEOFError
                    continue
                received += len(chunk)
                if received > max_bytes:
                    raise WireError(f"server sent over {max_bytes} bytes without finishing the handshake")
                incoming.write(chunk)
    except TimeoutError as exc:
        raise TimeoutError(f"TLS handshake not finished after {timeout_s:g} s") from exc
    finally:
        net.close(writer)


async def _flush_quietly(flush: Callable[[], Awaitable[None]]) -> None:
    with contextlib.suppress(OSError, RuntimeError):  # the server may already have closed
        await flush()
