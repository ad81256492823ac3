"""Bounded network primitives: every read has a byte cap and a deadline."""

from __future__ import annotations

import asyncio
import ssl

from probes.errors import Unreachable, WireError, describe_error


async def open_connection(
    host: str,
    port: int,
    timeout_s: float,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open TCP (optionally TLS); a failure to connect at all is ``Unreachable``.

    A TLS handshake failure after TCP connected is *not* unreachability: it
    propagates as ``ssl.SSLError`` for the caller to record.
    """
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=64 * 1024), timeout_s
        )
    except (OSError, TimeoutError) as exc:
        raise Unreachable(f"{host}:{port}: {describe_error(exc)}") from exc
    if ssl_context is None:
        return reader, writer
    try:
        await asyncio.wait_for(
            writer.start_tls(ssl_context, server_hostname=server_hostname or host), timeout_s
        )
    except BaseException:
        close(writer)
        raise
    return reader, writer


async def read_exactly(reader: asyncio.StreamReader, count: int, timeout_s: float) -> bytes:
    return await asyncio.wait_for(reader.readexactly(count), timeout_s)


async def read_line(reader: asyncio.StreamReader, max_bytes: int, timeout_s: float) -> bytes:
    """One line ending in LF, at most ``max_bytes`` long (including CR LF)."""

    async def _read() -> bytes:
        line = bytearray()
        while not line.endswith(b"\n"):
            if len(line) >= max_bytes:
                raise WireError(f"line longer than {max_bytes} bytes")
            chunk = await reader.read(1)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(line), None)
            line += chunk
        return bytes(line)

    return await asyncio.wait_for(_read(), timeout_s)


def close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
    except Exception:  # noqa: BLE001 - closing a broken transport must not raise
        pass
