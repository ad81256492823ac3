"""Pure certificate knowledge: SAN matching, key strength, DER description."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from probes.tls.certificate import describe_certificate, match_hostname
from probes.tls.strength import key_strength

DNS = ["api.example.go.id", "*.layanan.example.go.id", "*.id"]
IPS = ["10.1.2.3", "2001:db8::1"]


@pytest.mark.parametrize(
    ("hostname", "matched"),
    [
        ("api.example.go.id", "DNS:api.example.go.id"),
        ("API.EXAMPLE.GO.ID.", "DNS:api.example.go.id"),  # case and trailing dot
        ("satu.layanan.example.go.id", "DNS:*.layanan.example.go.id"),
        ("layanan.example.go.id", None),  # the wildcard needs a label
        ("dua.satu.layanan.example.go.id", None),  # … exactly one label
        ("go.id", None),  # no wildcard directly under a top-level domain
        ("other.example.go.id", None),
        ("10.1.2.3", "IP:10.1.2.3"),
        ("10.1.2.4", None),
        ("2001:db8:0::1", "IP:2001:db8::1"),  # compared as addresses, not text
        ("[2001:db8::1]", "IP:2001:db8::1"),
    ],
)
def test_match_hostname(hostname, matched):
    assert match_hostname(hostname, DNS, IPS) == matched


def test_ip_literal_never_matches_a_dns_entry():
    assert match_hostname("10.1.2.3", ["10.1.2.3"], []) is None


@pytest.mark.parametrize(
    ("key_type", "bits", "curve", "strength"),
    [
        ("RSA", 1024, None, 80),
        ("RSA", 2047, None, 80),
        ("RSA", 2048, None, 112),
        ("RSA", 3072, None, 128),
        ("RSA", 4096, None, 128),
        ("RSA", 512, None, 0),
        ("EC", 256, "secp256r1", 128),
        ("EC", 384, "secp384r1", 192),
        ("EC", 192, "secp192r1", 96),
        ("EC", 256, "sect283k1-not-in-table", None),
        ("Ed25519", 256, None, 128),
        ("X25519", None, None, None),
    ],
)
def test_key_strength(key_type, bits, curve, strength):
    assert key_strength(key_type, bits, curve) == strength


def test_describe_sha1_certificate_made_by_openssl(ca):
    issued = ca.issue(
        "describe-sha1", key="rsa2048", hash="sha1", dns_names=("a.example.go.id", "b.example.go.id")
    )
    der = x509.load_pem_x509_certificate(issued.cert_pem).public_bytes(Encoding.DER)
    now = dt.datetime.now(dt.UTC)
    facts = describe_certificate(der, now)
    assert facts["signature_hash"] == "sha1"
    assert facts["signature_algorithm"] == "ecdsa-with-SHA1"  # the test CA's key is EC
    assert facts["key_type"] == "RSA" and facts["key_bits"] == 2048
    assert facts["dns_names"] == ["a.example.go.id", "b.example.go.id"]
    assert facts["ip_addresses"] == ["127.0.0.1"]
    assert facts["issuer"] == "CN=SPBE Test Root CA,O=spbe-interop tests,C=ID"
    assert facts["not_yet_valid"] is False
    assert 89 < facts["days_remaining"] <= 90


def test_describe_rejects_garbage():
    with pytest.raises(ValueError):  # noqa: PT011 - the message is cryptography's parser's
        describe_certificate(b"\x30\x03\x02\x01\x00")
