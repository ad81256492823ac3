"""What the TLS probe spends on a server: connections per probe, and client contexts built once and shared."""

from __future__ import annotations

import shutil
import ssl

from orchestrator.testbed.tls_server import TLSServerConfig
from probes.tls.handshake import client_context
from tests.tls.support import expect, local_openssl_offers, result, statuses

SECLEVEL_0 = "ALL:@SECLEVEL=0"
LEGACY = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)


def connections_served(server) -> int:
    return len(server.handshakes) + len(server.failures)


def test_a_server_refusing_legacy_versions_costs_two_connections(ca, probe_server):
    # The verifying handshake, then one ClientHello offering TLS 1.0 to 1.1: its
    # refusal settles both legacy checks.
    report = probe_server(TLSServerConfig(ca.issue("modern-only")))
    assert statuses(report) == expect()
    offered = [version for version in LEGACY if local_openssl_offers(version)]
    assert connections_served(probe_server.servers[-1]) == (2 if offered else 1)
    if len(offered) == len(LEGACY):
        for check_id in ("TLS-PROTO-002", "TLS-PROTO-003"):
            assert "offered TLS 1.0 to TLS 1.1" in result(report, check_id).evidence["detail"]


def test_a_tls10_only_server_is_asked_about_tls11_alone(ca, probe_server):
    # Offered TLS 1.0 to 1.1, it picks 1.0: accepted; TLS 1.1 is then put to it alone.
    config = TLSServerConfig(
        ca.issue("tls10-only"),
        min_version=ssl.TLSVersion.TLSv1,
        max_version=ssl.TLSVersion.TLSv1,
        ciphers=SECLEVEL_0,
    )
    report = probe_server(config)
    found = statuses(report)
    tls10 = "fail" if local_openssl_offers(ssl.TLSVersion.TLSv1) else "error"
    tls11 = "pass" if local_openssl_offers(ssl.TLSVersion.TLSv1_1) else "error"
    assert (found["TLS-PROTO-002"], found["TLS-PROTO-003"]) == (tls10, tls11)
    if tls10 == "fail":
        assert [h.version for h in probe_server.servers[-1].handshakes] == ["TLSv1"]
        assert result(report, "TLS-PROTO-002").evidence["cipher"]


def test_a_server_accepting_both_legacy_versions_fails_both(ca, probe_server):
    config = TLSServerConfig(ca.issue("legacy-both"), min_version=ssl.TLSVersion.TLSv1, ciphers=SECLEVEL_0)
    report = probe_server(config)
    expected = {"fail" if local_openssl_offers(v) else "error" for v in LEGACY}
    assert {statuses(report)["TLS-PROTO-002"], statuses(report)["TLS-PROTO-003"]} == expected
    if expected == {"fail"}:
        # TLS 1.1 accepted when both were offered, then TLS 1.0 alone: the modern handshake and these two.
        versions = sorted(h.version for h in probe_server.servers[-1].handshakes)
        assert versions == ["TLSv1", "TLSv1.1", "TLSv1.3"]


def test_client_contexts_are_shared(ca):
    cafile = str(ca.ca_path)
    assert client_context(verify=True, cafile=cafile, alpn=("h2",)) is client_context(
        verify=True, cafile=cafile, alpn=("h2",)
    )
    legacy = client_context(verify=False, version=ssl.TLSVersion.TLSv1, ciphers=SECLEVEL_0)
    assert legacy is client_context(verify=False, version=ssl.TLSVersion.TLSv1, ciphers=SECLEVEL_0)
    assert legacy is not client_context(verify=False, version=ssl.TLSVersion.TLSv1_1, ciphers=SECLEVEL_0)


def test_a_ca_file_rewritten_in_place_is_read_again(ca, other_ca, probe_server, tmp_path):
    bundle = tmp_path / "bundle.pem"
    shutil.copyfile(ca.ca_path, bundle)
    issued = ca.issue("rewritten-bundle")
    first = probe_server(TLSServerConfig(issued), ca_file=str(bundle))
    assert statuses(first)["TLS-CERT-001"] == "pass"
    bundle.write_bytes(other_ca.ca_pem)  # same path, another CA: the shared context must not be reused
    second = probe_server(TLSServerConfig(issued), ca_file=str(bundle))
    assert statuses(second)["TLS-CERT-001"] == "fail"
    assert result(second, "TLS-CERT-001").evidence["observed"] == "unknown CA"
