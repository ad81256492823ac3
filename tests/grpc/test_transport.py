"""TLS, plaintext mix-ups and endpoints that are not (working) gRPC."""

from __future__ import annotations

from tests.grpc.conftest import own_check_ids, probe, registered, statuses

ALL_PASS = dict.fromkeys(own_check_ids(), "pass")


def all_error_but(**verdicts: str) -> dict[str, str]:
    return dict.fromkeys(own_check_ids(), "error") | {
        check_id.replace("_", "-"): status for check_id, status in verdicts.items()
    }


def reason(report, check_id: str) -> str:
    return next(result.reason for result in report.results if result.check_id == check_id)


def test_conformant_tls_server_passes_everything(tls_servers):
    report = probe(registered(tls_servers, "tls"))
    assert statuses(report) == ALL_PASS


def test_server_name_override_is_used_for_verification(tls_servers):
    # The certificate names localhost and 127.0.0.1; the override must be what is checked.
    assert statuses(probe(registered(tls_servers, "tls", server_name="localhost"))) == ALL_PASS
    report = probe(registered(tls_servers, "tls", server_name="lain.go.id"))
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert "does not match the expected name" in reason(report, "GRPC-TLS-001")


def test_expired_certificate(tls_servers):
    report = probe(registered(tls_servers, "tls_expired"))
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert reason(report, "GRPC-TLS-001") == "no verified TLS channel: the server's certificate has expired"
    assert "certificate has expired" in reason(report, "GRPC-HLTH-001")


def test_certificate_for_another_name(tls_servers):
    report = probe(registered(tls_servers, "tls_wrong_name"))
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert "does not match the expected name" in reason(report, "GRPC-TLS-001")


def test_certificate_from_an_unknown_ca(tls_servers, plain_servers):
    # No CA bundle: the system store does not know the test CA.
    report = probe(registered(tls_servers, "tls", ca_file=None))
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert "does not verify against the CA bundle" in reason(report, "GRPC-TLS-001")


def test_tls_target_on_a_plaintext_server(tls_servers, plain_servers):
    ca_file = tls_servers.target("tls").ca_file
    report = probe(registered(plain_servers, "conformant", scheme="grpcs", ca_file=ca_file))
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert reason(report, "GRPC-TLS-001") == "no verified TLS channel: the server does not speak TLS"
    assert report.unreachable is None


def test_plaintext_target_on_a_tls_server(tls_servers):
    report = probe(registered(tls_servers, "tls", scheme="grpc", ca_file=None))
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert reason(report, "GRPC-TLS-001") == "the endpoint is reached over plaintext gRPC"
    assert reason(report, "GRPC-HLTH-001").startswith("gRPC connection failed")


def test_missing_ca_bundle_is_an_error_not_a_crash(tls_servers, tmp_path):
    report = probe(registered(tls_servers, "tls", ca_file=str(tmp_path / "absent.pem")))
    assert statuses(report) == all_error_but()
    assert "cannot read CA bundle" in reason(report, "GRPC-TLS-001")


def test_closed_port_is_unreachable(plain_servers):
    from orchestrator.testbed.process import free_port

    report = probe(registered(plain_servers, "conformant", port=free_port()))
    assert report.unreachable is not None and "connection refused" in report.unreachable
    assert statuses(report) == all_error_but()


def test_silent_server_is_an_error_with_a_reason(plain_servers, silent_server):
    report = probe(registered(plain_servers, "conformant", port=silent_server.port), timeout_s=0.5)
    assert report.unreachable is None
    # The inventory says plaintext, so that much is known without an answer.
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert reason(report, "GRPC-HLTH-001") == "no gRPC (HTTP/2) handshake completed within 0.5 s"


def test_http1_server_is_an_error_with_a_reason(plain_servers, http1_server):
    report = probe(registered(plain_servers, "conformant", port=http1_server.port))
    assert report.unreachable is None
    assert statuses(report) == all_error_but(GRPC_TLS_001="fail")
    assert "HTTP/2" in reason(report, "GRPC-REFL-001")


def test_a_failing_gatherer_costs_its_own_facts_only(tls_servers, monkeypatch):
    """A bug in the TLS gatherer (run first for grpcs://) must not leave the gRPC checks undetermined."""
    import asyncio

    from probes import registry
    from probes.runner import ProbeOptions, default_selection, run_probe

    async def broken(context):
        raise RuntimeError("a bug in a gatherer")

    registry.load()
    monkeypatch.setitem(registry._GATHERERS, "tls", [broken])
    chosen = ["TLS-CERT-001", "GRPC-HLTH-001", "GRPC-TLS-001"]
    selection = {cid: settings for cid, settings in default_selection().items() if cid in chosen}
    report = asyncio.run(run_probe(registered(tls_servers, "tls"), selection, ProbeOptions(deadline_s=20.0)))
    assert statuses(report) == {"TLS-CERT-001": "error", "GRPC-HLTH-001": "pass", "GRPC-TLS-001": "pass"}
    assert reason(report, "TLS-CERT-001").endswith("probe failed: RuntimeError: a bug in a gatherer")
