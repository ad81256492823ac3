"""Bounded asyncio I/O for the unencrypted phase of an SSH connection.

One ``ClearSession`` per TCP connection: exchange identification lines,
receive the server's KEXINIT, and optionally run a key exchange far
enough to read the server's host key. Each phase has its own deadline
(``read_timeout_s``) and every read a byte cap, so a silent, dripping or
garbled server ends in an exception with a plain reason, never a hang.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from probes import net
from probes.errors import ProbeError
from probes.ssh import keyshare, wire
from probes.ssh.hostkeys import HostKey, parse_host_key

CLIENT_SOFTWARE = "spbe_interop_probe"
# Housekeeping messages a server may interleave before its KEXINIT or reply.
SKIPPABLE_MESSAGES = frozenset({wire.MSG_IGNORE, wire.MSG_DEBUG, wire.MSG_UNIMPLEMENTED})
MAX_SKIPPED_MESSAGES = 16

T = TypeVar("T")


class PhaseTimeout(TimeoutError):
    """A phase (banner, KEXINIT, key exchange) did not finish within its deadline."""


class ServerClosed(ProbeError):
    """The server closed the connection or sent DISCONNECT in the middle of a phase."""


class NoCommonKex(ProbeError):
    """The server offers no key-exchange method the probe can start."""


@dataclass
class Identification:
    """The server's identification line and any lines it sent before it."""

    banner: wire.Banner
    pre_banner_lines: list[str] = field(default_factory=list)


class ClearSession:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, read_timeout_s: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.read_timeout_s = read_timeout_s
        self.received = 0  # bytes read, for error reasons

    @classmethod
    async def open(
        cls, host: str, port: int, connect_timeout_s: float, read_timeout_s: float
    ) -> "ClearSession":
        """Connect; ``Unreachable`` if that fails."""
        reader, writer = await net.open_connection(host, port, connect_timeout_s)
        return cls(reader, writer, read_timeout_s)

    def close(self) -> None:
        net.close(self.writer)

    async def __aenter__(self) -> "ClearSession":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # --- phases -----------------------------------------------------------

    async def read_identification(self) -> Identification:
        return await self._phase("SSH identification line", self._read_identification())

    async def read_kexinit(self) -> wire.KexInit:
        payload = await self._phase("KEXINIT from the server", self._read_message(wire.MSG_KEXINIT))
        return wire.parse_kexinit(payload)

    async def fetch_host_key(self, server: wire.KexInit, host_key_algorithm: str) -> HostKey:
        """Offer only ``host_key_algorithm`` and read K_S from the server's reply."""
        method = keyshare.choose_method(server.kex_algorithms)
        if method is None:
            raise NoCommonKex(
                "no key-exchange method in common with those the probe implements "
                f"(server offers {', '.join(server.kex_algorithms) or 'none'})"
            )
        ours = wire.KexInit(
            cookie=os.urandom(16),
            kex_algorithms=(method.name,),
            server_host_key_algorithms=(host_key_algorithm,),
            # Mirror the server's own lists so negotiation cannot fail on them.
            encryption_client_to_server=server.encryption_client_to_server,
            encryption_server_to_client=server.encryption_server_to_client,
            mac_client_to_server=server.mac_client_to_server,
            mac_server_to_client=server.mac_server_to_client,
            compression_client_to_server=server.compression_client_to_server,
            compression_server_to_client=server.compression_server_to_client,
        )
        payload = await self._phase(f"{method.name} key-exchange reply", self._exchange(ours, method))
        reply = wire.parse_kex_reply(payload, keyshare.reply_type(method))
        return parse_host_key(reply.host_key_blob)

    # --- internals --------------------------------------------------------

    async def _phase(self, what: str, work: Coroutine[Any, Any, T]) -> T:
        started_with = self.received
        try:
            return await asyncio.wait_for(work, self.read_timeout_s)
        except asyncio.TimeoutError:
            got = self.received - started_with
            raise PhaseTimeout(
                f"no {what} within {self.read_timeout_s:g} s ({got} bytes received in that phase)"
            ) from None
        except wire.SshWireError as exc:
            raise wire.SshWireError(f"{what}: {exc}") from None
        except asyncio.IncompleteReadError:
            raise ServerClosed(
                f"server closed the connection while the probe waited for {what}"
                f" ({self.received - started_with} bytes received in that phase)"
            ) from None

    async def _read_line(self, max_bytes: int) -> bytes:
        line = bytearray()
        while not line.endswith(b"\n"):
            if len(line) >= max_bytes:
                raise wire.SshWireError(f"a line exceeds {max_bytes} bytes")
            chunk = await self.reader.read(1)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(line), None)
            self.received += 1
            line += chunk
        return bytes(line)

    async def _read_identification(self) -> Identification:
        # Both sides send their identification at once (RFC 4253 §4.2).
        self.writer.write(wire.identification_line(CLIENT_SOFTWARE))
        await self.writer.drain()
        pre_banner: list[str] = []
        while True:
            line = await self._read_line(wire.MAX_PRE_BANNER_LINE_BYTES)
            if wire.is_banner_line(line):
                return Identification(wire.parse_banner(line), pre_banner)
            if len(pre_banner) >= wire.MAX_PRE_BANNER_LINES:
                raise wire.SshWireError(f"not found within the first {wire.MAX_PRE_BANNER_LINES} lines")
            pre_banner.append(line.decode("utf-8", errors="replace").rstrip("\r\n")[:200])

    async def _read_packet(self) -> bytes:
        header = await self.reader.readexactly(4)
        self.received += 4
        length = wire.decode_packet_length(header)
        body = await self.reader.readexactly(length)
        self.received += length
        return wire.decode_packet_body(length, body)

    async def _read_message(self, expected: int) -> bytes:
        """The next payload of type ``expected``, skipping housekeeping messages."""
        for _ in range(MAX_SKIPPED_MESSAGES + 1):
            payload = await self._read_packet()
            kind = wire.message_type(payload)
            if kind == expected:
                return payload
            if kind == wire.MSG_DISCONNECT:
                disconnect = wire.parse_disconnect(payload)
                raise ServerClosed(
                    f"server disconnected (reason {disconnect.reason_code}): {disconnect.description}"
                )
            if kind not in SKIPPABLE_MESSAGES:
                raise wire.SshWireError(f"expected message type {expected}, got {kind}")
        raise wire.SshWireError(f"more than {MAX_SKIPPED_MESSAGES} housekeeping messages")

    async def _send(self, *payloads: bytes) -> None:
        self.writer.write(b"".join(wire.encode_packet(payload) for payload in payloads))
        await self.writer.drain()

    async def _exchange(self, ours: wire.KexInit, method: keyshare.KexMethod) -> bytes:
        await self._send(wire.encode_kexinit(ours), keyshare.first_message(method))
        if method.kind == "gex":
            group = await self._read_message(wire.MSG_KEX_DH_GEX_GROUP)
            await self._send(keyshare.gex_init(group))
        return await self._read_message(keyshare.reply_type(method))

