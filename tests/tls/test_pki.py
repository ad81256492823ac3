"""The test CA: what it issues is what tests ask for, checked with cryptography and openssl."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orchestrator.testbed.pki import OPENSSL, TestCA


def _load(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


@pytest.mark.parametrize(
    ("key", "kind", "bits"),
    [
        ("ec256", ec.EllipticCurvePublicKey, 256),
        ("rsa1024", rsa.RSAPublicKey, 1024),
        ("rsa2048", rsa.RSAPublicKey, 2048),
        ("rsa3072", rsa.RSAPublicKey, 3072),
    ],
)
def test_key_types(ca, key, kind, bits):
    cert = _load(ca.issue(f"pki-{key}", key=key).cert_pem)
    assert isinstance(cert.public_key(), kind)
    assert cert.public_key().key_size == bits


@pytest.mark.parametrize("digest", ["sha256", "sha1"])
def test_issued_certificate_fields_and_openssl_verifies_it(ca, digest):
    not_before = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    not_after = dt.datetime(2040, 6, 7, 8, 9, 10, tzinfo=dt.UTC)
    issued = ca.issue(
        f"pki-fields-{digest}",
        dns_names=("svc.example.go.id",),
        ip_addresses=("127.0.0.1", "::1"),
        not_before=not_before,
        not_after=not_after,
        hash=digest,
    )
    cert = _load(issued.cert_pem)
    assert cert.signature_hash_algorithm.name == digest
    assert cert.issuer == ca.certificate.subject
    assert cert.not_valid_before_utc == not_before and cert.not_valid_after_utc == not_after
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["svc.example.go.id"]
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert san.get_values_for_type(x509.IPAddress) == addresses
    assert issued.cert_path.read_bytes() == issued.cert_pem
    assert issued.key_path.read_bytes() == issued.key_pem
    assert issued.ca_path == ca.ca_path and issued.ca_pem == ca.ca_path.read_bytes()
    verified = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(ca.ca_path), str(issued.cert_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert verified.returncode == 0, verified.stderr


def test_a_certificate_does_not_verify_under_another_ca(ca, other_ca):
    issued = other_ca.issue("pki-stranger")
    verified = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(ca.ca_path), str(issued.cert_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert verified.returncode != 0


def test_unknown_key_type_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown key type"):
        TestCA(tmp_path).issue("x", key="dsa512")
