"""Client key shares for the key-exchange methods the probe can start.

The probe runs a key exchange only far enough to receive the server's host
key (K_S in the reply), so it needs a valid first message for each method,
not the derived secret. Methods are data: name -> how to build the client's
first message and which reply carries K_S.

Fixed MODP groups (RFC 2409 §6.2, RFC 3526) are defined from pi:
``p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * pi) + k)``, g = 2.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from probes.ssh import wire

# name -> (bits, k) of the MODP group's defining formula.
MODP_GROUPS: dict[str, tuple[int, int]] = {
    "oakley2": (1024, 129093),  # RFC 2409 §6.2, "group1" in SSH
    "modp2048": (2048, 124476),  # RFC 3526 §3, "group14"
    "modp4096": (4096, 240904),  # RFC 3526 §5, "group16"
    "modp8192": (8192, 4743158),  # RFC 3526 §7, "group18"
}

GEX_MIN_BITS, GEX_PREFERRED_BITS, GEX_MAX_BITS = 1024, 2048, 8192


@dataclass(frozen=True)
class KexMethod:
    name: str
    kind: str  # "x25519", "ecdh", "modp" or "gex"
    parameter: str = ""  # curve or MODP group name


# In the probe's order of preference: the server takes the first one it also
# offers, so the cheapest come first. Post-quantum hybrids are not started
# here (a server that offers them offers curve25519 too in practice).
KEX_METHODS: tuple[KexMethod, ...] = (
    KexMethod("curve25519-sha256", "x25519"),
    KexMethod("curve25519-sha256@libssh.org", "x25519"),
    KexMethod("ecdh-sha2-nistp256", "ecdh", "secp256r1"),
    KexMethod("ecdh-sha2-nistp384", "ecdh", "secp384r1"),
    KexMethod("ecdh-sha2-nistp521", "ecdh", "secp521r1"),
    KexMethod("diffie-hellman-group14-sha256", "modp", "modp2048"),
    KexMethod("diffie-hellman-group14-sha1", "modp", "modp2048"),
    KexMethod("diffie-hellman-group16-sha512", "modp", "modp4096"),
    KexMethod("diffie-hellman-group18-sha512", "modp", "modp8192"),
    KexMethod("diffie-hellman-group-exchange-sha256", "gex"),
    KexMethod("diffie-hellman-group-exchange-sha1", "gex"),
    KexMethod("diffie-hellman-group1-sha1", "modp", "oakley2"),
)
KEX_METHOD_NAMES = tuple(method.name for method in KEX_METHODS)

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
    "secp521r1": ec.SECP521R1,
}


def choose_method(server_kex: tuple[str, ...] | list[str]) -> KexMethod | None:
    """RFC 4253 §7.1: the first of the client's methods that the server also offers."""
    offered = set(server_kex)
    return next((method for method in KEX_METHODS if method.name in offered), None)


@cache
def _pi_scaled(bits: int) -> int:
    """floor(2^bits * pi), by Machin's formula in fixed-point integers."""
    guard = 64
    one = 1 << (bits + guard)

    def arctan_inverse(x: int) -> int:
        total, term, k, sign = 0, one // x, 1, 1
        while term:
            total += sign * (term // k)
            term //= x * x
            k += 2
            sign = -sign
        return total

    return (16 * arctan_inverse(5) - 4 * arctan_inverse(239)) >> guard


@cache
def modp_prime(group: str) -> int:
    bits, k = MODP_GROUPS[group]
    return (1 << bits) - (1 << (bits - 64)) - 1 + (1 << 64) * (_pi_scaled(bits - 130) + k)


def dh_public(prime: int, generator: int = 2) -> int:
    """A fresh ``g^x mod p`` with a 512-bit exponent (RFC 4419 §6.2 sizes)."""
    exponent = secrets.randbits(512) | (1 << 511)
    return pow(generator, exponent, prime)


def first_message(method: KexMethod) -> bytes:
    """The client's first key-exchange payload for a method."""
    if method.kind == "x25519":
        public = x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return bytes([wire.MSG_KEX_INIT]) + wire.encode_string(public)
    if method.kind == "ecdh":
        key = ec.generate_private_key(_CURVES[method.parameter]())
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return bytes([wire.MSG_KEX_INIT]) + wire.encode_string(point)
    if method.kind == "modp":
        return bytes([wire.MSG_KEX_INIT]) + wire.encode_mpint(dh_public(modp_prime(method.parameter)))
    if method.kind == "gex":
        # RFC 4419 §3: min, preferred, max group size in bits.
        return bytes([wire.MSG_KEX_DH_GEX_REQUEST]) + b"".join(
            wire.encode_uint32(value) for value in (GEX_MIN_BITS, GEX_PREFERRED_BITS, GEX_MAX_BITS)
        )
    raise ValueError(f"unknown key-exchange kind {method.kind}")


def gex_init(group_payload: bytes) -> bytes:
    """Answer a KEX_DH_GEX_GROUP with KEX_DH_GEX_INIT (RFC 4419 §3)."""
    prime, generator = wire.parse_gex_group(group_payload, GEX_MAX_BITS)
    if prime.bit_length() < GEX_MIN_BITS // 2:
        raise wire.SshWireError(f"group-exchange prime of {prime.bit_length()} bits is implausibly small")
    return bytes([wire.MSG_KEX_DH_GEX_INIT]) + wire.encode_mpint(dh_public(prime, generator))


def reply_type(method: KexMethod) -> int:
    return wire.MSG_KEX_DH_GEX_REPLY if method.kind == "gex" else wire.MSG_KEX_REPLY
