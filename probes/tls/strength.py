"""Security strength in bits of a certificate's key: tables and one lookup, no cryptography import.

The checks judge key sizes from the facts the TLS gatherer recorded; keeping
this apart from ``certificate`` spares every sweep without TLS the import of
``cryptography.x509``.
"""

from __future__ import annotations

# Security strength in bits of RSA/DSA moduli (NIST SP 800-57 Part 1 Rev. 5,
# Table 2): the largest row not above the key size applies.
FINITE_FIELD_STRENGTH = ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80), (0, 0))

# Named curves: security strength is half the group order size.
CURVE_STRENGTH = {
    "secp192r1": 96,
    "secp224r1": 112,
    "secp256r1": 128,
    "secp384r1": 192,
    "secp521r1": 256,
    "brainpoolP256r1": 128,
    "brainpoolP384r1": 192,
    "brainpoolP512r1": 256,
}
EDWARDS_STRENGTH = {"Ed25519": 128, "Ed448": 224}


def key_strength(key_type: str, key_bits: int | None, curve: str | None) -> int | None:
    """Security strength in bits, or None when the key type/curve is unknown."""
    if key_type in ("RSA", "DSA") and key_bits is not None:
        return next(strength for size, strength in FINITE_FIELD_STRENGTH if key_bits >= size)
    if key_type == "EC":
        return CURVE_STRENGTH.get(curve or "")
    return EDWARDS_STRENGTH.get(key_type)
