"""Public host keys: parse an SSH key blob, report type, size and fingerprint.

The output matches ``ssh-keygen -lf``: ``<bits> SHA256:<fp> (<TYPE>)``
where ``<fp>`` is the unpadded base64 of SHA-256 over the plain public-key
blob. For OpenSSH certificates the fingerprint is that of the certified
key, as ``ssh-keygen`` prints it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from probes.ssh.wire import Reader, SshWireError, encode_string

CERT_SUFFIX = "-cert-v01@openssh.com"


@dataclass(frozen=True)
class KeyFormat:
    """How one public-key type is laid out after its type string."""

    label: str  # as ssh-keygen names it
    fields: tuple[str, ...]  # "mpint" or "string", in wire order
    fixed_bits: int | None = None  # None: size comes from a field


# RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4, OpenSSH PROTOCOL.u2f.
KEY_FORMATS: dict[str, KeyFormat] = {
    "ssh-rsa": KeyFormat("RSA", ("mpint", "mpint")),  # e, n
    "ssh-dss": KeyFormat("DSA", ("mpint", "mpint", "mpint", "mpint")),  # p, q, g, y
    "ecdsa-sha2-nistp256": KeyFormat("ECDSA", ("string", "string"), 256),
    "ecdsa-sha2-nistp384": KeyFormat("ECDSA", ("string", "string"), 384),
    "ecdsa-sha2-nistp521": KeyFormat("ECDSA", ("string", "string"), 521),
    "ssh-ed25519": KeyFormat("ED25519", ("string",), 256),
    "ssh-ed448": KeyFormat("ED448", ("string",), 456),
    "sk-ecdsa-sha2-nistp256@openssh.com": KeyFormat("ECDSA-SK", ("string", "string", "string"), 256),
    "sk-ssh-ed25519@openssh.com": KeyFormat("ED25519-SK", ("string", "string"), 256),
}

# Signature algorithms whose key blob has another type name (RFC 8332).
BLOB_TYPE_OF_ALGORITHM: dict[str, str] = {
    "rsa-sha2-256": "ssh-rsa",
    "rsa-sha2-512": "ssh-rsa",
    "rsa-sha2-256-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
}


def blob_type_of(algorithm: str) -> str:
    """The key type carried in the blob for a host-key algorithm name."""
    return BLOB_TYPE_OF_ALGORITHM.get(algorithm, algorithm)


@dataclass(frozen=True)
class HostKey:
    key_type: str  # type string in the blob, e.g. "ssh-ed25519"
    label: str  # ssh-keygen's name, e.g. "ED25519", "RSA-CERT"
    bits: int
    fingerprint: str  # "SHA256:..." without padding

    @property
    def display(self) -> str:
        """What ``ssh-keygen -lf`` prints, without the comment."""
        return f"{self.bits} {self.fingerprint} ({self.label})"

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.key_type,
            "label": self.label,
            "bits": self.bits,
            "fingerprint": self.fingerprint,
            "display": self.display,
        }


def sha256_fingerprint(blob: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def parse_host_key(blob: bytes) -> HostKey:
    """Type, size and fingerprint of a public-key blob (K_S of a key exchange)."""
    reader = Reader(blob, "host key")
    key_type = reader.string("key type", 128).decode("ascii", errors="replace")
    is_cert = key_type.endswith(CERT_SUFFIX)
    base_type = _cert_base_type(key_type) if is_cert else key_type
    if is_cert:
        reader.string("certificate nonce", 64)
    key_format = KEY_FORMATS.get(base_type)
    if key_format is None:
        raise SshWireError(f"unsupported host key type {key_type[:64]!r}")
    start = len(blob) - reader.remaining
    values = [
        reader.mpint("key field") if kind == "mpint" else reader.string("key field")
        for kind in key_format.fields
    ]
    plain_fields = blob[start : len(blob) - reader.remaining]
    if not is_cert:
        reader.end()
    # The certificate's remaining fields (serial, principals, CA signature) are
    # not needed for a fingerprint; ssh-keygen fingerprints the plain key.
    plain_blob = encode_string(base_type.encode("ascii")) + plain_fields
    bits = key_format.fixed_bits or _bits_from_fields(base_type, values)
    label = key_format.label + ("-CERT" if is_cert else "")
    return HostKey(key_type, label, bits, sha256_fingerprint(plain_blob))


def _cert_base_type(cert_type: str) -> str:
    # "ssh-ed25519-cert-v01@openssh.com" -> "ssh-ed25519";
    # "sk-ssh-ed25519-cert-v01@openssh.com" -> "sk-ssh-ed25519@openssh.com".
    stem = cert_type[: -len(CERT_SUFFIX)]
    return f"{stem}@openssh.com" if stem.startswith("sk-") else stem


def _bits_from_fields(base_type: str, values: list[int | bytes]) -> int:
    if base_type == "ssh-rsa":
        exponent, modulus = values
        if not isinstance(modulus, int) or modulus <= 0 or not isinstance(exponent, int) or exponent <= 0:
            raise SshWireError("RSA host key with a non-positive modulus or exponent")
        return modulus.bit_length()
    if base_type == "ssh-dss":
        prime = values[0]
        if not isinstance(prime, int) or prime <= 0:
            raise SshWireError("DSA host key with a non-positive prime")
        return prime.bit_length()
    raise SshWireError(f"no size rule for {base_type}")


def normalise_pin(pin: str) -> str:
    """``SHA256:abc=`` / ``abc`` -> ``SHA256:abc`` (ssh-keygen's form, no padding)."""
    value = pin.strip()
    if value.upper().startswith("SHA256:"):
        value = value[len("SHA256:") :]
    return "SHA256:" + value.rstrip("=")
