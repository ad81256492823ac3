"""Opening connections: a target that cannot be reached at all is ``Unreachable``."""

from __future__ import annotations

import asyncio
import contextlib

from probes.errors import Unreachable, explain_error
from probes.messages import Message

STREAM_BUFFER_BYTES = 64 * 1024  # StreamReader's own cap on what it buffers


async def open_connection(
    host: str, port: int, timeout_s: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open TCP within ``timeout_s``; refused, unroutable or silent is ``Unreachable``.

    A reset reported by the connect itself means the connection was accepted
    and then dropped before we looked: something listens there, so it is
    raised as it is (an ``error`` of the facts, not an unreachable target).
    """
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=STREAM_BUFFER_BYTES), timeout_s
        )
    except (ConnectionResetError, ConnectionAbortedError):
        raise
    except (OSError, TimeoutError) as exc:
        said = {"address": f"{host}:{port}", "error": explain_error(exc)}
        raise Unreachable(message=Message("net.address", said)) from exc


def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):  # closing a broken transport must not raise
        writer.close()
