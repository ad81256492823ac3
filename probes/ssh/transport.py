"""Bounded asyncio I/O for the unencrypted phase of an SSH connection.

One ``ClearSession`` per TCP connection: exchange identification lines,
receive the server's KEXINIT, and optionally run a key exchange far
enough to read the server's host key; where the server allows
(``sealed.can_continue``), finish that exchange and ask for "none"
authentication on the same connection. Each phase has its own deadline
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
from probes.ssh import keyshare, sealed, wire
from probes.ssh.hostkeys import HostKey, parse_host_key

CLIENT_SOFTWARE = "spbe_interop_probe"
# Housekeeping messages a server may interleave before its KEXINIT or reply.
SKIPPABLE_MESSAGES = frozenset({wire.MSG_IGNORE, wire.MSG_DEBUG, wire.MSG_UNIMPLEMENTED})
MAX_SKIPPED_MESSAGES = 16
# While asking for "none" authentication: a login banner or extension list may come first.
AUTH_SKIPPABLE = SKIPPABLE_MESSAGES | {sealed.MSG_USERAUTH_BANNER, sealed.MSG_EXT_INFO}
AUTH_ANSWERS = frozenset({sealed.MSG_USERAUTH_FAILURE, sealed.MSG_USERAUTH_SUCCESS})

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
        # Packets each way: a packet's sequence number is its cipher's nonce once encrypted.
        self.packets_sent = 0
        self.packets_read = 0
        self.server_ident = b""  # V_S and the server's KEXINIT payload, for the exchange hash
        self.server_kexinit = b""
        self._finishable: tuple[sealed.Exchange, wire.KexReply] | None = (
            None  # a key exchange auth_methods finishes
        )

    @classmethod
    async def open(
        cls, host: str, port: int, connect_timeout_s: float, read_timeout_s: float
    ) -> ClearSession:
        """Connect; ``Unreachable`` if that fails."""
        reader, writer = await net.open_connection(host, port, connect_timeout_s)
        return cls(reader, writer, read_timeout_s)

    def close(self) -> None:
        net.close(self.writer)

    async def __aenter__(self) -> ClearSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # --- phases -----------------------------------------------------------

    async def read_identification(self) -> Identification:
        return await self._phase("SSH identification line", self._read_identification())

    async def read_kexinit(self) -> wire.KexInit:
        payload = await self._phase("KEXINIT from the server", self._read_message(wire.MSG_KEXINIT))
        self.server_kexinit = payload
        return wire.parse_kexinit(payload)

    async def fetch_host_key(self, server: wire.KexInit, host_key_algorithm: str) -> HostKey:
        """Offer only ``host_key_algorithm`` and read K_S from the server's reply."""
        method, ours = _kexinit_for(server, host_key_algorithm)
        payload = await self._phase(f"{method.name} key-exchange reply", self._exchange(ours, method))
        reply = wire.parse_kex_reply(payload, keyshare.reply_type(method))
        return parse_host_key(reply.host_key_blob)

    async def fetch_host_key_at_once(self, known: wire.KexInit, host_key_algorithm: str) -> HostKey:
        """``fetch_host_key`` on a new connection to a server whose KEXINIT is ``known`` (from an earlier one).

        Our identification, KEXINIT and key share leave in one write, before the
        server's arrive: what the two KEXINITs negotiate depends on their lists
        only, and the server's are known. One round trip and one wake-up of the
        server fewer than identification, KEXINIT and exchange one after another.
        """
        method, ours = _kexinit_for(known, host_key_algorithm)
        await self._send(
            wire.encode_kexinit(ours),
            keyshare.first_message(method),
            prefix=wire.identification_line(CLIENT_SOFTWARE),
        )
        await self._phase("SSH identification line", self._read_identification(send=False))
        await self._phase("KEXINIT from the server", self._read_message(wire.MSG_KEXINIT))
        payload = await self._phase(f"{method.name} key-exchange reply", self._finish_exchange(method))
        reply = wire.parse_kex_reply(payload, keyshare.reply_type(method))
        return parse_host_key(reply.host_key_blob)

    async def fetch_host_key_and_continue(self, server: wire.KexInit, host_key_algorithm: str) -> HostKey:
        """``fetch_host_key`` with a key exchange ``auth_methods`` can then finish (``sealed.can_continue``)."""
        ours = wire.encode_kexinit(sealed.client_kexinit(server, host_key_algorithm))
        client_ident = wire.identification_line(CLIENT_SOFTWARE).rstrip(b"\r\n")
        exchange = sealed.Exchange.start(client_ident, self.server_ident, ours, self.server_kexinit)
        payload = await self._phase(
            f"{sealed.kex_name(server)} key-exchange reply",
            self._exchange_payloads(ours, exchange.init_message()),
        )
        reply = wire.parse_kex_reply(payload)
        self._finishable = (exchange, reply)
        return parse_host_key(reply.host_key_blob)

    async def auth_methods(self, username: str) -> list[str]:
        """After ``fetch_host_key_and_continue``: the methods a "none" request for ``username`` is told."""
        if self._finishable is None:
            raise RuntimeError("auth_methods needs fetch_host_key_and_continue first")
        return await self._phase(
            "answer to 'none' authentication", self._ask_methods(username, *self._finishable)
        )

    # --- internals --------------------------------------------------------

    async def _phase(self, what: str, work: Coroutine[Any, Any, T]) -> T:
        started_with = self.received
        try:
            return await asyncio.wait_for(work, self.read_timeout_s)
        except TimeoutError:
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

    async def _read_identification(self, send: bool = True) -> Identification:
        # Both sides send their identification at once (RFC 4253 §4.2); ``send=False``: ours has left already.
        if send:
            self.writer.write(wire.identification_line(CLIENT_SOFTWARE))
            await self.writer.drain()
        pre_banner: list[str] = []
        while True:
            line = await self._read_line(wire.MAX_PRE_BANNER_LINE_BYTES)
            if wire.is_banner_line(line):
                self.server_ident = line.rstrip(b"\r\n")
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
        self.packets_read += 1
        return wire.decode_packet_body(length, body)

    async def _read_sealed_packet(self, opener: sealed.Opener) -> bytes:
        header = await self.reader.readexactly(4)
        length = opener.length(self.packets_read, header)
        rest = await self.reader.readexactly(length + sealed.TAG_BYTES)
        self.received += 4 + len(rest)
        payload = opener.open(self.packets_read, header, rest[:length], rest[length:])
        self.packets_read += 1
        return payload

    async def _read_message(
        self,
        expected: int | frozenset[int],
        opener: sealed.Opener | None = None,
        skippable: frozenset[int] = SKIPPABLE_MESSAGES,
    ) -> bytes:
        """The next payload of an ``expected`` type, skipping ``skippable`` messages; encrypted with ``opener``."""
        wanted = expected if isinstance(expected, frozenset) else frozenset({expected})
        for _ in range(MAX_SKIPPED_MESSAGES + 1):
            payload = await (self._read_packet() if opener is None else self._read_sealed_packet(opener))
            kind = wire.message_type(payload)
            if kind in wanted:
                return payload
            if kind == wire.MSG_DISCONNECT:
                disconnect = wire.parse_disconnect(payload)
                raise ServerClosed(
                    f"server disconnected (reason {disconnect.reason_code}): {disconnect.description}"
                )
            if kind not in skippable:
                raise wire.SshWireError(f"expected message type {expected}, got {kind}")
        raise wire.SshWireError(f"more than {MAX_SKIPPED_MESSAGES} housekeeping messages")

    async def _send(
        self,
        *payloads: bytes,
        sealer: sealed.Sealer | None = None,
        prefix: bytes = b"",
        prefix_packets: int = 0,
    ) -> None:
        """``payloads`` as packets (encrypted with ``sealer``) in one write, after ``prefix`` (bytes already
        framed, holding ``prefix_packets`` packets)."""
        self.packets_sent += prefix_packets
        packets = [prefix]
        for payload in payloads:
            packets.append(
                wire.encode_packet(payload) if sealer is None else sealer.seal(self.packets_sent, payload)
            )
            self.packets_sent += 1
        self.writer.write(b"".join(packets))  # one write: each is a system call and a wake-up of the server
        await self.writer.drain()

    async def _exchange_payloads(self, kexinit: bytes, first: bytes) -> bytes:
        await self._send(kexinit, first)
        return await self._read_message(wire.MSG_KEX_REPLY)

    async def _ask_methods(self, username: str, exchange: sealed.Exchange, reply: wire.KexReply) -> list[str]:
        sealer, opener = exchange.keys(reply)
        # Our keys change as our NEWKEYS leaves, and a server handles messages in order: the service request
        # and the "none" request follow NEWKEYS in the same write. A server that minds is asked through paramiko.
        await self._send(
            sealed.service_request(),
            sealed.none_request(username),
            sealer=sealer,
            prefix=wire.encode_packet(bytes([wire.MSG_NEWKEYS])),
            prefix_packets=1,
        )
        await self._read_message(wire.MSG_NEWKEYS)
        await self._read_message(sealed.MSG_SERVICE_ACCEPT, opener, AUTH_SKIPPABLE)
        answer = await self._read_message(AUTH_ANSWERS, opener, AUTH_SKIPPABLE)
        return sealed.methods_of(answer)

    async def _exchange(self, ours: wire.KexInit, method: keyshare.KexMethod) -> bytes:
        await self._send(wire.encode_kexinit(ours), keyshare.first_message(method))
        return await self._finish_exchange(method)

    async def _finish_exchange(self, method: keyshare.KexMethod) -> bytes:
        if method.kind == "gex":
            group = await self._read_message(wire.MSG_KEX_DH_GEX_GROUP)
            await self._send(keyshare.gex_init(group))
        return await self._read_message(keyshare.reply_type(method))


def _kexinit_for(server: wire.KexInit, host_key_algorithm: str) -> tuple[keyshare.KexMethod, wire.KexInit]:
    """The method we start and our KEXINIT offering only ``host_key_algorithm``."""
    method = keyshare.choose_method(server.kex_algorithms)
    if method is None:
        raise NoCommonKex(
            "no key-exchange method in common with those the probe implements "
            f"(server offers {', '.join(server.kex_algorithms) or 'none'})"
        )
    return method, wire.KexInit(
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
