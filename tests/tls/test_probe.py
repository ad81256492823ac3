"""The TLS probe against real Python ``ssl`` servers on 127.0.0.1: exact verdicts per check."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from dataclasses import replace

from orchestrator.testbed.process import free_port
from orchestrator.testbed.tls_server import TLSServerConfig
from probes.model import Target
from probes.runner import run_probe
from probes.tls import gather as tls_probe
from tests.tls.support import (
    OPTIONS,
    SYSTEM_STORE,
    expect,
    local_openssl_offers,
    result,
    statuses,
    tls_selection,
)

NOW = dt.datetime.now(dt.UTC)
# Lets a test server load RSA-1024 / SHA-1 certificates and speak TLS 1.0/1.1.
SECLEVEL_0 = "ALL:@SECLEVEL=0"


def test_valid_certificate_with_h2_passes_everything(ca, probe_server):
    server_cert = ca.issue("valid")
    report = probe_server(TLSServerConfig(server_cert))
    assert report.unreachable is None
    assert statuses(report) == expect()
    summary = report.facts["tls"]
    assert summary["version"] == "TLSv1.3"
    assert summary["alpn"] == "h2"
    assert summary["subject"] == "CN=valid"
    assert summary["ip_addresses"] == ["127.0.0.1"]
    assert summary["key_type"] == "EC" and summary["curve"] == "secp256r1"
    assert summary["signature_algorithm"] == "ecdsa-with-SHA256"
    assert summary["legacy"] == {"TLS 1.0": "refused", "TLS 1.1": "refused"}
    # Hostname by IP (no server_name): the IP SAN matched.
    assert result(report, "TLS-CERT-002").evidence["matched_by"] == "IP:127.0.0.1"


def test_server_name_matches_a_dns_san(ca, probe_server):
    cert = ca.issue("named", dns_names=("api.example.go.id",), ip_addresses=())
    report = probe_server(TLSServerConfig(cert), server_name="API.Example.go.id")
    assert statuses(report) == expect()
    assert result(report, "TLS-CERT-002").evidence["matched_by"] == "DNS:api.example.go.id"


def test_expired_certificate(ca, probe_server):
    cert = ca.issue("expired", not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=2))
    report = probe_server(TLSServerConfig(cert))
    assert statuses(report) == expect(TLS_CERT_001="fail", TLS_CERT_003="fail", TLS_CERT_004="warn")
    chain = result(report, "TLS-CERT-001")
    assert chain.evidence["observed"] == "expired"
    assert chain.evidence["verify_code"] == 10
    assert "expired" in result(report, "TLS-CERT-003").reason


def test_not_yet_valid_certificate(ca, probe_server):
    cert = ca.issue("future", not_before=NOW + dt.timedelta(days=5), not_after=NOW + dt.timedelta(days=300))
    report = probe_server(TLSServerConfig(cert))
    assert statuses(report) == expect(TLS_CERT_001="fail", TLS_CERT_003="fail")
    assert result(report, "TLS-CERT-001").evidence["observed"] == "not yet valid"


def test_certificate_expiring_in_ten_days_warns(ca, probe_server):
    cert = ca.issue("soon", not_after=NOW + dt.timedelta(days=10))
    report = probe_server(TLSServerConfig(cert))
    assert statuses(report) == expect(TLS_CERT_004="warn")
    assert 9 < result(report, "TLS-CERT-004").evidence["observed"] <= 10


def test_expiry_threshold_is_a_parameter(ca, probe_server):
    cert = ca.issue("soon-ok", not_after=NOW + dt.timedelta(days=10))
    report = probe_server(TLSServerConfig(cert), selection=tls_selection(TLS_CERT_004={"warn_days": 7}))
    assert statuses(report) == expect()


def test_wrong_hostname(ca, probe_server):
    report = probe_server(TLSServerConfig(ca.issue("wrongname")), server_name="layanan.example.go.id")
    assert statuses(report) == expect(TLS_CERT_002="fail")
    evidence = result(report, "TLS-CERT-002").evidence
    assert evidence["reason"] == "hostname mismatch"
    assert evidence["expected"] == "layanan.example.go.id"
    assert evidence["observed"] == {"dns_names": ["localhost"], "ip_addresses": ["127.0.0.1"]}


def test_ip_target_without_ip_san_is_a_mismatch(ca, probe_server):
    report = probe_server(TLSServerConfig(ca.issue("dns-only", ip_addresses=())))
    assert statuses(report) == expect(TLS_CERT_002="fail")


def test_unknown_ca(other_ca, ca, probe_server):
    report = probe_server(TLSServerConfig(other_ca.issue("stranger")), ca_file=str(ca.ca_path))
    assert statuses(report) == expect(TLS_CERT_001="fail")
    chain = result(report, "TLS-CERT-001")
    assert chain.evidence["observed"] == "unknown CA"
    assert chain.evidence["expected"] == f"a chain to a CA in {ca.ca_path}"
    # The certificate was still read (second, unverified handshake).
    assert report.facts["tls"]["issuer"] == "CN=Somebody Else's Root CA,O=spbe-interop tests,C=ID"


def test_system_trust_store_when_no_ca_file(ca, probe_server):
    # No ca_file: the system store, which does not hold the test CA.
    report = probe_server(TLSServerConfig(ca.issue("system-store")), ca_file=SYSTEM_STORE)
    assert statuses(report) == expect(TLS_CERT_001="fail")
    assert result(report, "TLS-CERT-001").evidence["expected"] == "a chain to a CA in system trust store"


def test_unreadable_ca_bundle_is_an_error_not_a_verdict(ca, probe_server, tmp_path):
    bogus = tmp_path / "not-a-bundle.pem"
    bogus.write_text("this is not PEM\n")
    report = probe_server(TLSServerConfig(ca.issue("bundle")), ca_file=str(bogus))
    assert statuses(report) == expect(TLS_CERT_001="error")
    assert "cannot load CA bundle" in result(report, "TLS-CERT-001").reason


def test_tls12_only_server(ca, probe_server):
    config = TLSServerConfig(ca.issue("tls12"), max_version=ssl.TLSVersion.TLSv1_2)
    report = probe_server(config)
    assert statuses(report) == expect(TLS_PROTO_004="warn")
    assert report.facts["tls"]["version"] == "TLSv1.2"
    assert result(report, "TLS-PROTO-005").evidence["observed"].startswith("ECDHE-ECDSA-")


def test_tls12_cbc_cipher_without_aead_warns(ca, probe_server):
    # A CBC suite a default client still offers (its list drops only SHA-1 MACs).
    config = TLSServerConfig(
        ca.issue("cbc"), max_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA256"
    )
    report = probe_server(config)
    assert statuses(report) == expect(TLS_PROTO_004="warn", TLS_PROTO_005="warn")
    evidence = result(report, "TLS-PROTO-005").evidence
    assert evidence == {
        "observed": "ECDHE-ECDSA-AES128-SHA256",
        "expected": "ECDHE/DHE key exchange with an AEAD mode",
        "forward_secrecy": True,
        "aead": False,
    }


def test_server_accepting_tls10_and_tls11(ca, probe_server):
    config = TLSServerConfig(ca.issue("legacy"), min_version=ssl.TLSVersion.TLSv1, ciphers=SECLEVEL_0)
    report = probe_server(config)
    # On a machine whose OpenSSL cannot even send a TLS 1.0/1.1 ClientHello the
    # probe must say "could not test" (error), never pass; Debian 12's OpenSSL
    # 3.0 can at security level 0, so there the server's acceptance is a fail.
    tls10 = "fail" if local_openssl_offers(ssl.TLSVersion.TLSv1) else "error"
    tls11 = "fail" if local_openssl_offers(ssl.TLSVersion.TLSv1_1) else "error"
    assert statuses(report) == expect(TLS_PROTO_002=tls10, TLS_PROTO_003=tls11)
    if tls10 == "fail":
        assert result(report, "TLS-PROTO-002").evidence["observed"] == "TLS 1.0 accepted"
        # The server's side agrees: it completed a TLS 1.0 handshake.
        assert "TLSv1" in {h.version for h in probe_server.servers[-1].handshakes}


def test_server_accepting_tls11_but_not_tls10(ca, probe_server):
    config = TLSServerConfig(ca.issue("tls11"), min_version=ssl.TLSVersion.TLSv1_1, ciphers=SECLEVEL_0)
    report = probe_server(config)
    tls11 = "fail" if local_openssl_offers(ssl.TLSVersion.TLSv1_1) else "error"
    tls10 = "pass" if local_openssl_offers(ssl.TLSVersion.TLSv1) else "error"
    assert statuses(report) == expect(TLS_PROTO_002=tls10, TLS_PROTO_003=tls11)


def test_legacy_versions_are_error_when_the_client_cannot_offer_them(ca, probe_server, monkeypatch):
    # Simulate a local OpenSSL without TLS 1.0/1.1 suites: only TLS 1.2 AEAD
    # ciphers, so no TLS 1.0/1.1 ClientHello can be built. The server does
    # accept TLS 1.0: the verdict must be "could not test", not pass.
    monkeypatch.setattr(tls_probe, "LEGACY_CIPHERS", "AESGCM:@SECLEVEL=0")
    config = TLSServerConfig(
        ca.issue("legacy-untestable"), min_version=ssl.TLSVersion.TLSv1, ciphers=SECLEVEL_0
    )
    report = probe_server(config)
    assert statuses(report) == expect(TLS_PROTO_002="error", TLS_PROTO_003="error")
    assert result(report, "TLS-PROTO-002").reason.startswith("could not test TLS 1.0")


def test_no_alpn(ca, probe_server):
    report = probe_server(TLSServerConfig(ca.issue("no-alpn"), alpn_protocols=()))
    assert statuses(report) == expect(TLS_ALPN_001="fail")
    assert result(report, "TLS-ALPN-001").evidence == {
        "observed": None,
        "expected": "h2",
        "offered": ["h2", "http/1.1"],
    }


def test_alpn_http11_only(ca, probe_server):
    report = probe_server(TLSServerConfig(ca.issue("http11"), alpn_protocols=("http/1.1",)))
    assert statuses(report) == expect(TLS_ALPN_001="fail")
    assert result(report, "TLS-ALPN-001").reason == "the server selected 'http/1.1'"


def test_alpn_without_overlap(ca, probe_server):
    # OpenSSL servers ignore an ALPN list with no overlap: nothing is selected.
    report = probe_server(TLSServerConfig(ca.issue("h3"), alpn_protocols=("h3",)))
    assert statuses(report) == expect(TLS_ALPN_001="fail")
    assert result(report, "TLS-ALPN-001").evidence["observed"] is None


def test_rsa_1024_key(ca, probe_server):
    config = TLSServerConfig(ca.issue("rsa1024", key="rsa1024"), ciphers=SECLEVEL_0)
    report = probe_server(config)
    # A default client (security level 2) also refuses the chain because of the key.
    assert statuses(report) == expect(TLS_KEY_001="fail", TLS_CERT_001="fail")
    assert result(report, "TLS-CERT-001").evidence["observed"] == "leaf key too weak"
    assert result(report, "TLS-KEY-001").evidence["security_bits"] == 80


def test_rsa_2048_passes_and_warns_under_a_stricter_profile(ca, probe_server):
    cert = ca.issue("rsa2048", key="rsa2048")
    assert statuses(probe_server(TLSServerConfig(cert))) == expect()
    strict = tls_selection(TLS_KEY_001={"warn_below_bits": 128})
    assert statuses(probe_server(TLSServerConfig(cert), selection=strict)) == expect(TLS_KEY_001="warn")


def test_rsa_3072_passes_a_stricter_profile(ca, probe_server):
    strict = tls_selection(TLS_KEY_001={"warn_below_bits": 128})
    report = probe_server(TLSServerConfig(ca.issue("rsa3072", key="rsa3072")), selection=strict)
    assert statuses(report) == expect()


def test_sha1_signature(ca, probe_server):
    config = TLSServerConfig(ca.issue("sha1", hash="sha1"), ciphers=SECLEVEL_0)
    report = probe_server(config)
    assert statuses(report) == expect(TLS_CERT_005="fail", TLS_CERT_001="fail")
    assert result(report, "TLS-CERT-005").evidence["hash"] == "sha1"
    assert result(report, "TLS-CERT-001").evidence["observed"] == "signature digest too weak"


def test_silent_handshake_is_error_within_the_deadline(ca, probe_server):
    options = replace(OPTIONS, read_timeout_s=1.0)
    report = probe_server(TLSServerConfig(ca.issue("silent"), silent=True), options=options)
    assert report.unreachable is None
    assert set(statuses(report).values()) == {"error"}
    assert all("not finished after 1 s" in r.reason for r in report.results)
    assert report.duration_s < options.deadline_s


def test_plaintext_service_on_a_tls_port(ca, probe_server):
    config = TLSServerConfig(ca.issue("plain"), plaintext_reply=b"HTTP/1.1 400 Bad Request\r\n\r\n")
    report = probe_server(config)
    # The legacy handshakes got no TLS answer either: refused. Everything
    # about the certificate and the session is unknown: error.
    assert statuses(report) == {
        **dict.fromkeys(expect(), "error"),
        "TLS-PROTO-001": "fail",
        "TLS-PROTO-002": "pass",
        "TLS-PROTO-003": "pass",
    }
    assert "no TLS 1.2+ handshake" in result(report, "TLS-PROTO-001").reason


def test_closed_port_is_unreachable(ca):
    target = Target(scheme="grpcs", host="127.0.0.1", port=free_port(), ca_file=str(ca.ca_path))
    report = asyncio.run(run_probe(target, tls_selection(), OPTIONS))
    assert report.unreachable is not None and "connection refused" in report.unreachable
    assert set(statuses(report).values()) == {"error"}
    assert statuses(report).keys() == expect().keys()


def test_only_selected_facts_are_gathered(ca, probe_server):
    # Only the legacy checks: no modern handshake needed, no certificate read.
    selection = {k: v for k, v in tls_selection().items() if k in ("TLS-PROTO-002", "TLS-PROTO-003")}
    report = probe_server(TLSServerConfig(ca.issue("legacy-only")), selection=selection)
    assert statuses(report) == {"TLS-PROTO-002": "pass", "TLS-PROTO-003": "pass"}
    assert "subject" not in report.facts["tls"]


def test_server_refusing_tls12_and_tls13_in_tls_itself(ca, probe_server):
    """A TLS 1.0/1.1-only server answers a default client with a protocol_version alert:
    a definite answer (no TLS 1.3, no suite to judge), while the certificate stays unseen."""
    config = TLSServerConfig(
        ca.issue("tls11-only"),
        min_version=ssl.TLSVersion.TLSv1,
        max_version=ssl.TLSVersion.TLSv1_1,
        ciphers=SECLEVEL_0,
    )
    report = probe_server(config)
    tls10 = "fail" if local_openssl_offers(ssl.TLSVersion.TLSv1) else "error"
    tls11 = "fail" if local_openssl_offers(ssl.TLSVersion.TLSv1_1) else "error"
    unseen = (
        "TLS-ALPN-001",
        "TLS-CERT-001",
        "TLS-CERT-002",
        "TLS-CERT-003",
        "TLS-CERT-004",
        "TLS-CERT-005",
        "TLS-KEY-001",
    )
    assert statuses(report) == {
        **dict.fromkeys(unseen, "error"),
        "TLS-PROTO-001": "fail",
        "TLS-PROTO-002": tls10,
        "TLS-PROTO-003": tls11,
        "TLS-PROTO-004": "warn",
        "TLS-PROTO-005": "skip",
    }
    assert "PROTOCOL_VERSION" in result(report, "TLS-PROTO-004").reason.upper()
    assert "see TLS-PROTO-001" in result(report, "TLS-PROTO-005").reason
