"""The encrypted phase, just far enough to ask for "none" authentication on the probe's first connection.

After reading the host key the first connection may finish its key
exchange instead of hanging up, and learn the offered authentication
methods itself: one connection, no thread and no paramiko transport, where
asking on a connection of its own cost a second key exchange and a fork of
the server. It can when the server offers what this module implements
(``can_continue``): curve25519 key exchange (RFC 8731) and the
chacha20-poly1305@openssh.com cipher (OpenSSH PROTOCOL.chacha20poly1305),
which every maintained OpenSSH, Dropbear and TinySSH offer (TinySSH offers
no cipher paramiko implements). Other servers are asked through paramiko
(``probes.ssh.auth``).

The server's signature over the exchange hash is not verified: the probe
authenticates nothing and sends no secret; it only reads the method list.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.poly1305 import Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from probes.ssh import wire

KEX_NAMES = ("curve25519-sha256", "curve25519-sha256@libssh.org")  # the same method under two names
CIPHER = "chacha20-poly1305@openssh.com"
NO_COMPRESSION = "none"
TAG_BYTES = 16
KEY_BYTES = 64  # two ChaCha20 keys: the payload's, then the length field's
# The length field is outside the padded block here: a 1-byte message (USERAUTH_SUCCESS) is
# padding length, payload and 6 bytes of padding, 8 bytes, below the clear-text minimum of 12.
MIN_SEALED_LENGTH = wire.BLOCK_SIZE

MSG_SERVICE_REQUEST = 5
MSG_SERVICE_ACCEPT = 6
MSG_EXT_INFO = 7
MSG_USERAUTH_REQUEST = 50
MSG_USERAUTH_FAILURE = 51
MSG_USERAUTH_SUCCESS = 52
MSG_USERAUTH_BANNER = 53
USERAUTH_SERVICE = b"ssh-userauth"
CONNECTION_SERVICE = b"ssh-connection"


class NotContinued(Exception):
    """The first connection's key exchange cannot be finished: authentication is asked elsewhere."""


def kex_name(server: wire.KexInit) -> str | None:
    return next((name for name in KEX_NAMES if name in server.kex_algorithms), None)


def can_continue(server: wire.KexInit) -> bool:
    """The server offers a key exchange, cipher and compression this module can finish with."""
    return (
        kex_name(server) is not None
        and CIPHER in server.encryption_client_to_server
        and CIPHER in server.encryption_server_to_client
        and NO_COMPRESSION in server.compression_client_to_server
        and NO_COMPRESSION in server.compression_server_to_client
    )


def client_kexinit(server: wire.KexInit, host_key_algorithm: str) -> wire.KexInit:
    """Our KEXINIT: only what we can finish with, and one host-key algorithm (whose key we want)."""
    kex = kex_name(server)
    assert kex is not None, "call can_continue first"
    return wire.KexInit(
        cookie=os.urandom(16),
        kex_algorithms=(kex,),
        server_host_key_algorithms=(host_key_algorithm,),
        encryption_client_to_server=(CIPHER,),
        encryption_server_to_client=(CIPHER,),
        # An AEAD cipher ignores the MAC; mirroring the server's list keeps every server's negotiation happy.
        mac_client_to_server=server.mac_client_to_server,
        mac_server_to_client=server.mac_server_to_client,
        compression_client_to_server=(NO_COMPRESSION,),
        compression_server_to_client=(NO_COMPRESSION,),
    )


@dataclass
class Exchange:
    """Our half of a curve25519 key exchange and what the exchange hash covers (RFC 4253 §8, RFC 8731)."""

    private: x25519.X25519PrivateKey
    client_ident: bytes  # V_C, without CR LF
    server_ident: bytes  # V_S
    client_kexinit: bytes  # I_C, the payload
    server_kexinit: bytes  # I_S

    @classmethod
    def start(
        cls, client_ident: bytes, server_ident: bytes, client_kexinit: bytes, server_kexinit: bytes
    ) -> Exchange:
        return cls(
            x25519.X25519PrivateKey.generate(), client_ident, server_ident, client_kexinit, server_kexinit
        )

    def init_message(self) -> bytes:
        public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return bytes([wire.MSG_KEX_INIT]) + wire.encode_string(public)

    def keys(self, reply: wire.KexReply) -> tuple[Sealer, Opener]:
        """The two directions' ciphers once the server's reply is in."""
        if len(reply.server_public) != 32:
            raise wire.SshWireError(f"curve25519 public value of {len(reply.server_public)} bytes, not 32")
        shared = self.private.exchange(x25519.X25519PublicKey.from_public_bytes(reply.server_public))
        secret = wire.encode_mpint(int.from_bytes(shared, "big"))
        client_public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        exchange_hash = hashlib.sha256(
            b"".join(
                wire.encode_string(value)
                for value in (
                    self.client_ident,
                    self.server_ident,
                    self.client_kexinit,
                    self.server_kexinit,
                    reply.host_key_blob,
                    client_public,
                    reply.server_public,
                )
            )
            + secret
        ).digest()
        # The first exchange of a connection: the session id is its hash.
        return (
            Sealer(derive(secret, exchange_hash, b"C", exchange_hash)),
            Opener(derive(secret, exchange_hash, b"D", exchange_hash)),
        )


def derive(secret: bytes, exchange_hash: bytes, letter: bytes, session_id: bytes) -> bytes:
    """RFC 4253 §7.2: HASH(K || H || letter || session_id), extended to ``KEY_BYTES``."""
    key = hashlib.sha256(secret + exchange_hash + letter + session_id).digest()
    while len(key) < KEY_BYTES:
        key += hashlib.sha256(secret + exchange_hash + key).digest()
    return key[:KEY_BYTES]


def _chacha(key: bytes, counter: int, sequence: int, data: bytes) -> bytes:
    # The original ChaCha20: 64-bit block counter (little-endian) then a 64-bit nonce, the packet's sequence number.
    nonce = counter.to_bytes(8, "little") + sequence.to_bytes(8, "big")
    return Cipher(algorithms.ChaCha20(key, nonce), mode=None).encryptor().update(data)


class _Direction:
    def __init__(self, key: bytes) -> None:
        self.payload_key, self.length_key = key[:32], key[32:]

    def poly_key(self, sequence: int) -> bytes:
        return _chacha(self.payload_key, 0, sequence, bytes(32))


class Sealer(_Direction):
    def seal(self, sequence: int, payload: bytes) -> bytes:
        # Padding aligns what follows the (separately encrypted) length field to 8 bytes.
        padding = wire.BLOCK_SIZE - (1 + len(payload)) % wire.BLOCK_SIZE
        if padding < wire.MIN_PADDING:
            padding += wire.BLOCK_SIZE
        body = bytes([padding]) + payload + os.urandom(padding)
        length = _chacha(self.length_key, 0, sequence, wire.encode_uint32(len(body)))
        sealed = _chacha(self.payload_key, 1, sequence, body)
        return length + sealed + Poly1305.generate_tag(self.poly_key(sequence), length + sealed)


class Opener(_Direction):
    def length(self, sequence: int, header: bytes) -> int:
        length = int.from_bytes(_chacha(self.length_key, 0, sequence, header), "big")
        if not MIN_SEALED_LENGTH <= length <= wire.MAX_PACKET_LENGTH or length % wire.BLOCK_SIZE:
            raise wire.SshWireError(f"encrypted packet length {length} is implausible (wrong keys?)")
        return length

    def open(self, sequence: int, header: bytes, sealed: bytes, tag: bytes) -> bytes:
        expected = Poly1305.generate_tag(self.poly_key(sequence), header + sealed)
        if not hmac.compare_digest(expected, tag):
            raise wire.SshWireError("packet authentication tag does not verify")
        body = _chacha(self.payload_key, 1, sequence, sealed)
        return wire.decode_packet_body(len(body), body)


def service_request() -> bytes:
    return bytes([MSG_SERVICE_REQUEST]) + wire.encode_string(USERAUTH_SERVICE)


def none_request(username: str) -> bytes:
    return (
        bytes([MSG_USERAUTH_REQUEST])
        + wire.encode_string(username.encode("utf-8"))
        + wire.encode_string(CONNECTION_SERVICE)
        + wire.encode_string(b"none")
    )


def methods_of(payload: bytes) -> list[str]:
    """USERAUTH_FAILURE's methods that can continue; SUCCESS: the server let an unknown user in."""
    if payload[0] == MSG_USERAUTH_SUCCESS:
        return ["none"]
    reader = wire.Reader(payload, "USERAUTH_FAILURE")
    reader.byte("message type")
    methods = reader.name_list("authentications that can continue")
    reader.boolean("partial success")
    return sorted(set(methods))
