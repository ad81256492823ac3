"""What a server certificate says, as plain JSON-safe data (the key-strength table is ``strength``).

Pure functions over DER bytes: no network. Every string taken from the
certificate is server-supplied data, so it is truncated and lists are capped
before they reach facts or reports.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

MAX_TEXT_CHARS = 512
MAX_NAMES = 100

# Signature algorithms whose hash cryptography may not name (or not parse):
# by OID, so MD2/MD4/MD5/SHA-1 signatures are recognised whatever the library supports.
SIGNATURE_HASH_BY_OID = {
    "1.2.840.113549.1.1.2": "md2",  # md2WithRSAEncryption
    "1.2.840.113549.1.1.3": "md4",  # md4WithRSAEncryption
    "1.2.840.113549.1.1.4": "md5",  # md5WithRSAEncryption
    "1.2.840.113549.1.1.5": "sha1",  # sha1WithRSAEncryption
    "1.3.14.3.2.29": "sha1",  # sha1WithRSASignature (OIW)
    "1.2.840.10045.4.1": "sha1",  # ecdsa-with-SHA1
    "1.2.840.10040.4.3": "sha1",  # dsa-with-sha1
}


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _public_key_facts(cert: x509.Certificate) -> dict[str, Any]:
    try:
        key = cert.public_key()
    except Exception as exc:  # noqa: BLE001 - an unsupported key is a fact, not a crash
        return {"key_type": "unknown", "key_bits": None, "curve": None, "key_error": clip(str(exc), 200)}
    if isinstance(key, rsa.RSAPublicKey):
        return {"key_type": "RSA", "key_bits": key.key_size, "curve": None}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"key_type": "EC", "key_bits": key.curve.key_size, "curve": key.curve.name}
    if isinstance(key, dsa.DSAPublicKey):
        return {"key_type": "DSA", "key_bits": key.key_size, "curve": None}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"key_type": "Ed25519", "key_bits": 256, "curve": None}
    if isinstance(key, ed448.Ed448PublicKey):
        return {"key_type": "Ed448", "key_bits": 456, "curve": None}
    return {"key_type": type(key).__name__, "key_bits": None, "curve": None}


def _signature_facts(cert: x509.Certificate) -> dict[str, Any]:
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", None) or oid.dotted_string
    digest = SIGNATURE_HASH_BY_OID.get(oid.dotted_string)
    if digest is None:
        try:
            algorithm = cert.signature_hash_algorithm
            digest = algorithm.name if algorithm is not None else None  # None: Ed25519/Ed448
        except Exception:  # noqa: BLE001 - unknown algorithm: leave the hash unnamed
            digest = "unknown"
    return {
        "signature_algorithm": clip(str(name), 100),
        "signature_oid": oid.dotted_string,
        "signature_hash": digest,
    }


def _subject_alt_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [clip(name, 255) for name in san.get_values_for_type(x509.DNSName)][:MAX_NAMES]
    ips = [str(address) for address in san.get_values_for_type(x509.IPAddress)][:MAX_NAMES]
    return dns, ips


def describe_certificate(der: bytes, now: dt.datetime | None = None) -> dict[str, Any]:
    """The leaf certificate's facts; raises ValueError when it cannot be parsed at all."""
    cert = x509.load_der_x509_certificate(der)
    now = now or dt.datetime.now(dt.UTC)
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    dns_names, ip_addresses = _subject_alt_names(cert)
    return {
        "subject": clip(cert.subject.rfc4514_string()),
        "issuer": clip(cert.issuer.rfc4514_string()),
        "serial": format(cert.serial_number, "x")[:80],
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "not_yet_valid": not_before > now,
        "days_remaining": round((not_after - now).total_seconds() / 86400, 2),
        "dns_names": dns_names,
        "ip_addresses": ip_addresses,
        **_public_key_facts(cert),
        **_signature_facts(cert),
    }


def _dns_matches(pattern: str, hostname: str) -> bool:
    """RFC 6125 §6.4: case-insensitive; a wildcard only as the whole left-most label."""
    pattern = pattern.lower().rstrip(".")
    hostname = hostname.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == hostname
    suffix = pattern[1:]  # ".example.go.id"
    if "*" in suffix or suffix.count(".") < 2:
        return False  # no wildcards deeper in, none directly under a TLD
    head, dot, tail = hostname.partition(".")
    return bool(head) and bool(dot) and "." + tail == suffix


def match_hostname(hostname: str, dns_names: list[str], ip_addresses: list[str]) -> str | None:
    """The SAN entry that covers ``hostname``, or None.

    Only the subjectAltName counts (CA/B Forum BR 7.1.2.7.12; RFC 9525 drops
    the common-name fallback). An IP literal matches iPAddress entries only.
    """
    try:
        address = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        for entry in ip_addresses:
            if ipaddress.ip_address(entry) == address:
                return f"IP:{entry}"
        return None
    try:
        ascii_name = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = hostname
    for entry in dns_names:
        if _dns_matches(entry, ascii_name):
            return f"DNS:{entry}"
    return None
