"""A throwaway certificate authority for test servers on loopback.

``TestCA(workdir)`` makes a root (EC P-256, written to ``workdir/ca.pem``);
``issue(name, ...)`` makes a server certificate with the SANs, validity, key
type and signature hash a test needs (``self_signed=True``: signed by its own
key, not the CA), and writes ``<name>.pem`` and ``<name>.key`` next to it.

``cryptography`` 50 refuses SHA-1 (and MD5) for signatures, so a ``sha1``
certificate is built with ``cryptography`` as a self-signed template and then
re-signed by the CA with the ``openssl`` command line tool
(``openssl x509 -CA ... -sha1 -preserve_dates``), under an empty config so
the host's ``openssl.cnf`` plays no part.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL = "/usr/bin/openssl"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

# Key type name -> how to make one. Knowledge as data: add a row for a new type.
KEY_FACTORIES: dict[str, Callable[[], PrivateKey]] = {
    "ec256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ec384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505 - a weak key to find
    "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "rsa3072": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
}

# Signature hashes cryptography can sign with; anything else goes through openssl.
CRYPTOGRAPHY_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
OPENSSL_ONLY_HASHES = ("sha1",)


@dataclass(frozen=True)
class Issued:
    """A server certificate, its key and the CA bundle that verifies it."""

    cert_path: Path
    key_path: Path
    ca_path: Path
    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


class TestCA:
    """A root CA living in ``workdir`` (one CA per directory)."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, workdir: Path, name: str = "SPBE Test Root CA") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "spbe-interop tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        public = self._key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        self.ca_path = self.workdir / "ca.pem"
        self.ca_path.write_bytes(self.ca_pem)
        self._ca_key_path = self.workdir / "ca.key"
        _write_private(self._ca_key_path, _key_pem(self._key))

    def issue(
        self,
        name: str,
        dns_names: tuple[str, ...] | list[str] = ("localhost",),
        ip_addresses: tuple[str, ...] | list[str] = ("127.0.0.1",),
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key: str = "ec256",
        hash: str = "sha256",  # the interface's name
        self_signed: bool = False,
    ) -> Issued:
        """A server certificate for ``name`` (also its CN and file stem)."""
        if key not in KEY_FACTORIES:
            raise ValueError(f"unknown key type {key!r}; one of {sorted(KEY_FACTORIES)}")
        if hash not in CRYPTOGRAPHY_HASHES and hash not in OPENSSL_ONLY_HASHES:
            raise ValueError(f"unknown hash {hash!r}")
        now = _now()
        not_before = not_before or now - dt.timedelta(hours=1)
        not_after = not_after or now + dt.timedelta(days=90)
        leaf_key = KEY_FACTORIES[key]()
        public = leaf_key.public_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        is_rsa = key.startswith("rsa")
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=is_rsa,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)

        cert_path = self.workdir / f"{name}.pem"
        key_path = self.workdir / f"{name}.key"
        key_pem = _key_pem(leaf_key)
        _write_private(key_path, key_pem)
        if self_signed:
            if hash not in CRYPTOGRAPHY_HASHES:
                raise ValueError("a self-signed certificate is signed with sha256, sha384 or sha512")
            cert = builder.issuer_name(subject).sign(leaf_key, CRYPTOGRAPHY_HASHES[hash]())
            cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            cert_path.write_bytes(cert_pem)
        elif hash in CRYPTOGRAPHY_HASHES:
            cert = (
                builder.issuer_name(self.name)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                    critical=False,
                )
                .sign(self._key, CRYPTOGRAPHY_HASHES[hash]())
            )
            cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            cert_path.write_bytes(cert_pem)
        else:
            cert_pem = self._resign_with_openssl(builder, subject, leaf_key, cert_path, hash)
        return Issued(cert_path, key_path, self.ca_path, cert_pem, key_pem, self.ca_pem)

    def _resign_with_openssl(
        self,
        builder: x509.CertificateBuilder,
        subject: x509.Name,
        leaf_key: PrivateKey,
        cert_path: Path,
        digest: str,
    ) -> bytes:
        # openssl re-signs only a self-signed input; it keeps its extensions,
        # dates (-preserve_dates) and sets the issuer to the CA's subject.
        template = builder.issuer_name(subject).sign(leaf_key, hashes.SHA256())
        template_path = cert_path.with_suffix(".template.pem")
        template_path.write_bytes(template.public_bytes(serialization.Encoding.PEM))
        empty_config = self.workdir / "openssl-empty.cnf"
        empty_config.write_text("")
        subprocess.run(
            [
                OPENSSL,
                "x509",
                "-in",
                str(template_path),
                "-CA",
                str(self.ca_path),
                "-CAkey",
                str(self._ca_key_path),
                f"-{digest}",
                "-preserve_dates",
                "-set_serial",
                str(template.serial_number),
                "-out",
                str(cert_path),
            ],
            check=True,
            capture_output=True,
            timeout=30,
            env={**os.environ, "OPENSSL_CONF": str(empty_config)},
        )
        template_path.unlink()
        return cert_path.read_bytes()
