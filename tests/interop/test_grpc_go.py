"""grpc-go's official interop programs as permanent peers, both ways, plaintext and TLS.

- our probe, run as a user runs it (``interop check``), against grpc-go's interop
  server: every case of probes.grpc.interop passes;
- grpc-go's interop client (``-test_case=…``) against our reference server
  (orchestrator.testbed.interop_server): every case passes;
- grpc-go's client fails each fault of our testbed that a client can see, so
  the faults our probe catches are faults to another implementation too.

grpc-go's server listens on every interface, so it runs in a network namespace
of its own and the probe runs beside it there (orchestrator.testbed.grpc_go).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from orchestrator.testbed import grpc_go, interop_server
from orchestrator.testbed.pki import TestCA
from probes.grpc.interop.cases import CASES
from protos.grpc.testing import empty_pb2, test_pb2_grpc
from tests.interop.conftest import run_interop_server
from tests.schemas import validated

CASE_NAMES = [case.name for case in CASES]
ALL_IDS = [case.check_id for case in CASES]
SECURITY = ["plaintext", "tls"]
INTEROP = Path(sys.executable).with_name("interop")
PASSED = re.compile(r"^INFO: .* \w+ done$", re.MULTILINE)  # grpc-go's own line for a passed case


def client_tls(security: str, certificate) -> tuple[Path, str] | None:
    return (certificate.ca_path, "localhost") if security == "tls" else None


def grpc_go_passed(done: subprocess.CompletedProcess) -> bool:
    return done.returncode == 0 and PASSED.search(done.stderr) is not None


# -- our probe against grpc-go's server ------------------------------------------------


@pytest.fixture(scope="module", params=SECURITY)
def grpc_go_server(request, grpc_go_peers, interop_certificate, tmp_path_factory):
    tls = (interop_certificate.cert_path, interop_certificate.key_path) if request.param == "tls" else None
    with grpc_go.start_server(grpc_go_peers, tmp_path_factory.mktemp("grpc-go-server"), tls=tls) as server:
        yield server, request.param


def test_our_probe_passes_every_case_against_grpc_go_server(grpc_go_server, interop_certificate):
    server, security = grpc_go_server
    scheme = "grpcs" if security == "tls" else "grpc"
    argv = [
        str(INTEROP),
        "check",
        f"{scheme}://127.0.0.1:{server.port}",
        "--service",
        "grpc.testing.TestService",
        "--only",
        "GRPC-INTR-*",
        "--json",
    ]
    if security == "tls":
        argv += ["--ca", str(interop_certificate.ca_path)]

    done = subprocess.run(
        grpc_go.in_namespace(server, argv),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )

    report = validated(json.loads(done.stdout))
    statuses = {result["check_id"]: result["status"] for result in report["results"]}
    not_passed = {r["check_id"]: r["reason"] for r in report["results"] if r["status"] != "pass"}
    assert statuses == dict.fromkeys(ALL_IDS, "pass"), not_passed
    assert report["facts"]["grpc_interop"]["test_service_served"] is True
    assert done.returncode == 0, done.stderr[-2000:]


# -- grpc-go's client against our server ------------------------------------------------


@pytest.fixture(scope="module", params=SECURITY)
def reference_server(request, interop_certificate, tmp_path_factory):
    tls = interop_certificate if request.param == "tls" else None
    with run_interop_server(tmp_path_factory.mktemp("reference"), tls=tls) as server:
        yield server, request.param


@pytest.mark.parametrize("case", CASE_NAMES)
def test_grpc_go_client_passes_every_case_against_our_server(
    grpc_go_peers, reference_server, interop_certificate, case
):
    server, security = reference_server

    done = grpc_go.run_client(grpc_go_peers, server.port, case, tls=client_tls(security, interop_certificate))

    assert grpc_go_passed(done), done.stderr[-2000:]


@pytest.mark.parametrize("reference_server", ["tls"], indirect=True)
def test_grpc_go_client_verifies_our_certificate(grpc_go_peers, reference_server, tmp_path):
    # So the TLS runs above did verify it: with a CA that did not issue it, grpc-go never passes
    # (it keeps retrying the handshake, so it is stopped after a while; no pass is possible at all).
    server, _ = reference_server
    stranger = TestCA(tmp_path / "other-ca")

    try:
        done = grpc_go.run_client(
            grpc_go_peers, server.port, "empty_unary", tls=(stranger.ca_path, "localhost"), timeout_s=5
        )
    except subprocess.TimeoutExpired as stopped:
        assert PASSED.search((stopped.stderr or b"").decode(errors="replace")) is None
    else:
        assert not grpc_go_passed(done), done.stderr[-2000:]


# Their faults only show when a server ends a stream the client still holds
# open; grpc-go's client cancels at once (or after 1 ms), before a server can,
# as the spec's procedure asks. Our probe waits a grace first (probes.grpc.interop).
CLIENT_SIDE_CASES = {case.name for case in CASES if case.severity == "info"}


@pytest.mark.parametrize("case", [name for name in CASE_NAMES if name not in CLIENT_SIDE_CASES])
def test_grpc_go_client_fails_each_fault_a_client_can_see(grpc_go_peers, grpc_servers, case):
    port = grpc_servers.start(frozenset({case}))

    done = grpc_go.run_client(grpc_go_peers, port, case)

    assert done.returncode != 0, f"grpc-go passed {case} despite its fault: {done.stderr[-2000:]}"
    assert PASSED.search(done.stderr) is None


def test_client_side_cases_are_the_three_info_cases():
    assert {
        "cancel_after_begin",
        "cancel_after_first_response",
        "timeout_on_sleeping_server",
    } == CLIENT_SIDE_CASES


class AnswersUnimplementedWithAMessage(interop_server.TestService):
    """UnimplementedCall as the reference server answered it before: UNIMPLEMENTED and a response message."""

    async def UnimplementedCall(self, request, context):
        context.set_code(grpc.StatusCode.UNIMPLEMENTED)
        context.set_details("UnimplementedCall is not implemented")
        return empty_pb2.Empty()


def test_unimplemented_status_with_a_message_fails_grpc_go_client(grpc_go_peers, grpc_servers):
    # The bug the reference server had: a method no server implements never sends a message.
    async def register(server) -> None:
        test_pb2_grpc.add_TestServiceServicer_to_server(AnswersUnimplementedWithAMessage(), server)

    port = grpc_servers.start_with(register)

    done = grpc_go.run_client(grpc_go_peers, port, "unimplemented_method")

    assert done.returncode != 0
    assert "panic" in done.stderr or "FATAL" in done.stderr, done.stderr[-2000:]
