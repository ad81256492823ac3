"""Helpers shared by the TLS tests: the TLS-only selection and expected-verdict tables."""

from __future__ import annotations

import ssl

from probes import registry
from probes.model import CheckResult, ProbeReport
from probes.runner import CheckSettings, ProbeOptions
from probes.tls import gather as tls_probe
from probes.tls.handshake import client_context, offers_hello

# Generous: the suite shares 2 cores with others; only the silent test waits out a timeout.
OPTIONS = ProbeOptions(deadline_s=20.0, connect_timeout_s=3.0, read_timeout_s=3.0)
SYSTEM_STORE = ""  # as ``ca_file`` of the probe_server fixture: probe with no ca_file


def tls_selection(**params: dict) -> dict[str, CheckSettings]:
    """Only the TLS checks (gRPC checks are another module's business); ``params`` override by id."""
    return {
        check_id: CheckSettings(meta.severity, {**meta.params, **params.get(check_id.replace("-", "_"), {})})
        for check_id, meta in registry.checks().items()
        if meta.protocol == "tls"
    }


def statuses(report: ProbeReport) -> dict[str, str]:
    return {result.check_id: result.status.value for result in report.results}


def result(report: ProbeReport, check_id: str) -> CheckResult:
    return next(r for r in report.results if r.check_id == check_id)


def expect(**overrides: str) -> dict[str, str]:
    """Every TLS check passing, except the ``TLS_CERT_001="fail"``-style overrides."""
    expected = dict.fromkeys(tls_selection(), "pass")
    for key, status in overrides.items():
        check_id = key.replace("_", "-")
        assert check_id in expected, check_id
        expected[check_id] = status
    return expected


def local_openssl_offers(version: ssl.TLSVersion) -> bool:
    """Whether this machine's OpenSSL can put a ClientHello for ``version`` on the wire.

    Built the way the probe builds its legacy handshake; no network.
    """
    try:
        context = client_context(verify=False, version=version, ciphers=tls_probe.LEGACY_CIPHERS)
    except (ValueError, ssl.SSLError):
        return False
    return offers_hello(context)
