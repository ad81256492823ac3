"""SSH transport-layer wire format for the unencrypted phase, as pure functions over bytes.

Covers what a probe needs before any key is agreed: the identification
line (RFC 4253 §4.2), the binary packet framing with the ``none`` cipher
(RFC 4253 §6), the data types of RFC 4251 §5 and the SSH_MSG_KEXINIT
message (RFC 4253 §7.1). Every length read from the peer is checked
against a cap before anything is allocated; anything malformed raises
``SshWireError`` and nothing else.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass

from probes.errors import WireError

# RFC 4253 §4.2: the identification line is at most 255 bytes including CR LF.
MAX_BANNER_BYTES = 255
# Lines a server may send before its identification line: capped in length and number.
MAX_PRE_BANNER_LINE_BYTES = 1024
MAX_PRE_BANNER_LINES = 32
# RFC 4253 §6.1 asks implementations to handle packets of 35000 bytes; nothing in
# the unencrypted phase (KEXINIT, a key-exchange reply) legitimately needs more.
MAX_PACKET_LENGTH = 35000
MIN_PACKET_LENGTH = 12  # 16-byte minimum packet minus the length field
BLOCK_SIZE = 8  # the ``none`` cipher's block size for padding purposes
MIN_PADDING = 4
MAX_STRING_BYTES = 16384  # host-key blobs, signatures and DH values fit easily
MAX_NAME_LIST_BYTES = 4096
MAX_NAMES = 128
MAX_NAME_BYTES = 64  # RFC 4251 §6

MSG_DISCONNECT = 1
MSG_IGNORE = 2
MSG_UNIMPLEMENTED = 3
MSG_DEBUG = 4
MSG_KEXINIT = 20
MSG_NEWKEYS = 21
MSG_KEX_INIT = 30  # KEXDH_INIT / KEX_ECDH_INIT
MSG_KEX_REPLY = 31  # KEXDH_REPLY / KEX_ECDH_REPLY
MSG_KEX_DH_GEX_GROUP = 31  # RFC 4419 reuses the number in group exchange
MSG_KEX_DH_GEX_INIT = 32
MSG_KEX_DH_GEX_REPLY = 33
MSG_KEX_DH_GEX_REQUEST = 34

KEXINIT_FIELDS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_client_to_server",
    "encryption_server_to_client",
    "mac_client_to_server",
    "mac_server_to_client",
    "compression_client_to_server",
    "compression_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)


class SshWireError(WireError):
    """Bytes from the peer that break the SSH wire format or exceed a cap."""


# --- identification line ---------------------------------------------------


@dataclass(frozen=True)
class Banner:
    """The peer's identification string ``SSH-protoversion-softwareversion SP comments``."""

    raw: str
    protocol: str
    software_version: str
    comments: str = ""


@dataclass(frozen=True)
class Software:
    """Who wrote the server, as far as the identification string says."""

    product: str
    version: str | None = None


# Known implementations: regular expression over ``softwareversion`` -> product.
# Anything else is kept raw as the product with no version.
SOFTWARE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("OpenSSH", re.compile(r"^OpenSSH_(?:for_Windows_)?(?P<version>[0-9][0-9A-Za-z.]*)")),
    ("Dropbear", re.compile(r"^dropbear_(?P<version>[0-9][0-9A-Za-z.]*)", re.IGNORECASE)),
    ("libssh", re.compile(r"^libssh[_-](?P<version>[0-9][0-9A-Za-z.]*)")),
    # TinySSH sends e.g. "tinyssh_20230101-1" (a '-' the RFC does not allow, kept as is).
    ("TinySSH", re.compile(r"^tinysshd?(?:_(?P<version>[0-9A-Za-z.-]+))?$", re.IGNORECASE)),
    ("paramiko", re.compile(r"^paramiko_(?P<version>[0-9][0-9A-Za-z.]*)")),
    ("AsyncSSH", re.compile(r"^AsyncSSH_(?P<version>[0-9][0-9A-Za-z.]*)")),
    ("Cisco", re.compile(r"^Cisco[-_](?P<version>[0-9][0-9A-Za-z.]*)")),
)

_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")


def is_banner_line(line: bytes) -> bool:
    """Whether a received line is the identification line (RFC 4253 §4.2)."""
    return line.startswith(b"SSH-")


def parse_banner(line: bytes) -> Banner:
    """Parse one identification line (with or without its CR LF)."""
    if len(line) > MAX_BANNER_BYTES:
        raise SshWireError(f"identification line of {len(line)} bytes exceeds {MAX_BANNER_BYTES}")
    # RFC 4253 §4.2 ends the line in CR LF; LF alone is accepted for old peers.
    body = line[:-1] if line.endswith(b"\n") else line
    body = body[:-1] if body.endswith(b"\r") else body
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise SshWireError("identification line is not US-ASCII") from None
    if not _PRINTABLE.match(text):
        raise SshWireError("identification line contains control characters")
    if not text.startswith("SSH-"):
        raise SshWireError("identification line does not start with 'SSH-'")
    ident, _, comments = text.partition(" ")
    protocol, dash, software_version = ident[4:].partition("-")
    if not dash or not protocol or not software_version:
        raise SshWireError(f"malformed identification line {text[:80]!r}")
    return Banner(raw=text, protocol=protocol, software_version=software_version, comments=comments)


def parse_software(software_version: str) -> Software:
    for product, pattern in SOFTWARE_PATTERNS:
        match = pattern.match(software_version)
        if match:
            return Software(product, match.group("version"))
    return Software(software_version, None)


def identification_line(software_version: str) -> bytes:
    return f"SSH-2.0-{software_version}\r\n".encode("ascii")


# --- RFC 4251 §5 data types ------------------------------------------------


class Reader:
    """A bounded cursor over a byte string; every read checks what is left."""

    def __init__(self, data: bytes, what: str = "message") -> None:
        self._data = data
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, count: int, field_name: str) -> bytes:
        if count < 0 or count > self.remaining:
            raise SshWireError(f"{self._what}: {field_name} needs {count} bytes, {self.remaining} left")
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def byte(self, field_name: str) -> int:
        return self.take(1, field_name)[0]

    def boolean(self, field_name: str) -> bool:
        return self.byte(field_name) != 0  # RFC 4251 §5: any non-zero value is TRUE

    def uint32(self, field_name: str) -> int:
        return int.from_bytes(self.take(4, field_name), "big")

    def string(self, field_name: str, max_bytes: int = MAX_STRING_BYTES) -> bytes:
        length = self.uint32(field_name)
        if length > max_bytes:
            raise SshWireError(f"{self._what}: {field_name} of {length} bytes exceeds {max_bytes}")
        return self.take(length, field_name)

    def mpint(self, field_name: str, max_bytes: int = MAX_STRING_BYTES) -> int:
        raw = self.string(field_name, max_bytes)
        return int.from_bytes(raw, "big", signed=True) if raw else 0

    def name_list(self, field_name: str) -> tuple[str, ...]:
        return parse_name_list(self.string(field_name, MAX_NAME_LIST_BYTES), field_name)

    def end(self) -> None:
        if self.remaining:
            raise SshWireError(f"{self._what}: {self.remaining} unexpected trailing bytes")


_NAME = re.compile(r"^[\x21-\x2b\x2d-\x7e]+$")  # printable US-ASCII, no space, no comma


def parse_name_list(raw: bytes, field_name: str = "name-list") -> tuple[str, ...]:
    """RFC 4251 §5 name-list: comma-separated, non-empty names of printable ASCII."""
    if len(raw) > MAX_NAME_LIST_BYTES:
        raise SshWireError(f"{field_name}: {len(raw)} bytes exceeds {MAX_NAME_LIST_BYTES}")
    if not raw:
        return ()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise SshWireError(f"{field_name}: not US-ASCII") from None
    names = text.split(",")
    if len(names) > MAX_NAMES:
        raise SshWireError(f"{field_name}: {len(names)} names exceeds {MAX_NAMES}")
    for name in names:
        if not name:
            raise SshWireError(f"{field_name}: empty name")
        if len(name) > MAX_NAME_BYTES:
            raise SshWireError(f"{field_name}: name longer than {MAX_NAME_BYTES} bytes")
        if not _NAME.match(name):
            raise SshWireError(f"{field_name}: name {name[:40]!r} has characters outside printable ASCII")
    return tuple(names)


def encode_uint32(value: int) -> bytes:
    return struct.pack(">I", value)


def encode_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def encode_mpint(value: int) -> bytes:
    if value == 0:
        return encode_string(b"")
    length = (value.bit_length() + 8) // 8  # room for the sign bit
    return encode_string(value.to_bytes(length, "big", signed=True))


def encode_name_list(names: tuple[str, ...] | list[str]) -> bytes:
    return encode_string(",".join(names).encode("ascii"))


# --- binary packet protocol (RFC 4253 §6), cipher ``none`` -------------------


def decode_packet_length(header: bytes) -> int:
    """Validate the 4-byte ``packet_length`` before reading the rest of the packet."""
    if len(header) != 4:
        raise SshWireError(f"packet header needs 4 bytes, got {len(header)}")
    length = int.from_bytes(header, "big")
    if length > MAX_PACKET_LENGTH:
        raise SshWireError(f"packet length {length} exceeds {MAX_PACKET_LENGTH}")
    if length < MIN_PACKET_LENGTH:
        raise SshWireError(f"packet length {length} below the minimum of {MIN_PACKET_LENGTH}")
    if (length + 4) % BLOCK_SIZE:
        raise SshWireError(f"packet length {length} is not aligned to {BLOCK_SIZE}-byte blocks")
    return length


def decode_packet_body(length: int, body: bytes) -> bytes:
    """Given a validated ``packet_length`` and the bytes that follow it, return the payload."""
    if len(body) != length:
        raise SshWireError(f"packet body has {len(body)} bytes, length field says {length}")
    padding = body[0]
    if padding < MIN_PADDING:
        raise SshWireError(f"padding of {padding} bytes is below the minimum of {MIN_PADDING}")
    payload_length = length - 1 - padding
    if payload_length < 1:
        raise SshWireError(f"padding of {padding} bytes leaves no payload in a {length}-byte packet")
    return body[1 : 1 + payload_length]


def decode_packet(data: bytes) -> tuple[bytes, int]:
    """Decode one complete packet at the start of ``data``: ``(payload, bytes consumed)``."""
    length = decode_packet_length(data[:4])
    body = data[4 : 4 + length]
    if len(body) < length:
        raise SshWireError(f"truncated packet: {len(body)} of {length} bytes")
    return decode_packet_body(length, body), 4 + length


def encode_packet(payload: bytes) -> bytes:
    """Frame ``payload`` with random padding for the ``none`` cipher."""
    padding = BLOCK_SIZE - (5 + len(payload)) % BLOCK_SIZE
    if padding < MIN_PADDING:
        padding += BLOCK_SIZE
    length = 1 + len(payload) + padding
    return encode_uint32(length) + bytes([padding]) + payload + os.urandom(padding)


def message_type(payload: bytes) -> int:
    if not payload:
        raise SshWireError("empty payload")
    return payload[0]


# --- messages ----------------------------------------------------------------


@dataclass(frozen=True)
class KexInit:
    """SSH_MSG_KEXINIT (RFC 4253 §7.1): ten name-lists and the guess flag."""

    cookie: bytes
    kex_algorithms: tuple[str, ...]
    server_host_key_algorithms: tuple[str, ...]
    encryption_client_to_server: tuple[str, ...]
    encryption_server_to_client: tuple[str, ...]
    mac_client_to_server: tuple[str, ...]
    mac_server_to_client: tuple[str, ...]
    compression_client_to_server: tuple[str, ...]
    compression_server_to_client: tuple[str, ...]
    languages_client_to_server: tuple[str, ...] = ()
    languages_server_to_client: tuple[str, ...] = ()
    first_kex_packet_follows: bool = False
    reserved: int = 0

    def lists(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in KEXINIT_FIELDS}

    def to_dict(self) -> dict[str, object]:
        return {**self.lists(), "first_kex_packet_follows": self.first_kex_packet_follows}


def parse_kexinit(payload: bytes) -> KexInit:
    reader = Reader(payload, "KEXINIT")
    kind = reader.byte("message type")
    if kind != MSG_KEXINIT:
        raise SshWireError(f"expected KEXINIT (20), got message type {kind}")
    cookie = reader.take(16, "cookie")
    lists = {name: reader.name_list(name) for name in KEXINIT_FIELDS}
    follows = reader.boolean("first_kex_packet_follows")
    reserved = reader.uint32("reserved")
    reader.end()
    return KexInit(cookie=cookie, first_kex_packet_follows=follows, reserved=reserved, **lists)


def encode_kexinit(kexinit: KexInit) -> bytes:
    if len(kexinit.cookie) != 16:
        raise ValueError("KEXINIT cookie must be 16 bytes")
    body = bytearray([MSG_KEXINIT]) + kexinit.cookie
    for name in KEXINIT_FIELDS:
        body += encode_name_list(getattr(kexinit, name))
    body += bytes([1 if kexinit.first_kex_packet_follows else 0]) + encode_uint32(kexinit.reserved)
    return bytes(body)


@dataclass(frozen=True)
class Disconnect:
    reason_code: int
    description: str


def parse_disconnect(payload: bytes) -> Disconnect:
    """SSH_MSG_DISCONNECT (RFC 4253 §11.1); the description is sanitised for reports."""
    reader = Reader(payload, "DISCONNECT")
    if reader.byte("message type") != MSG_DISCONNECT:
        raise SshWireError("not a DISCONNECT message")
    code = reader.uint32("reason code")
    text = reader.string("description", 1024).decode("utf-8", errors="replace")
    return Disconnect(code, "".join(ch if ch.isprintable() else "?" for ch in text)[:200])


@dataclass(frozen=True)
class KexReply:
    """A key-exchange reply: the server's host key K_S, its public value, its signature."""

    host_key_blob: bytes
    server_public: bytes
    signature: bytes


def parse_kex_reply(payload: bytes, expected_type: int = MSG_KEX_REPLY) -> KexReply:
    """KEXDH_REPLY, KEX_ECDH_REPLY (type 31) or KEX_DH_GEX_REPLY (type 33).

    All start with ``string K_S``; the server's public value and the
    signature follow. Only K_S is kept: the probe learns the host key and
    does not complete the exchange.
    """
    reader = Reader(payload, "key-exchange reply")
    kind = reader.byte("message type")
    if kind != expected_type:
        raise SshWireError(f"expected message type {expected_type}, got {kind}")
    host_key = reader.string("host key")
    if not host_key:
        raise SshWireError("key-exchange reply: empty host key")
    server_public = reader.string("server public value")
    signature = reader.string("signature")
    reader.end()
    return KexReply(host_key, server_public, signature)


def parse_gex_group(payload: bytes, max_bits: int = 8192) -> tuple[int, int]:
    """SSH_MSG_KEX_DH_GEX_GROUP (RFC 4419 §3): ``(p, g)``, bounded in size."""
    reader = Reader(payload, "KEX_DH_GEX_GROUP")
    if reader.byte("message type") != MSG_KEX_DH_GEX_GROUP:
        raise SshWireError("not a KEX_DH_GEX_GROUP message")
    prime = reader.mpint("p", max_bytes=max_bits // 8 + 1)
    generator = reader.mpint("g", max_bytes=max_bits // 8 + 1)
    reader.end()
    if prime < 3 or generator < 2 or generator >= prime - 1:
        raise SshWireError("KEX_DH_GEX_GROUP: implausible group parameters")
    return prime, generator
