"""The GRPC-INTR-* checks against real grpc.aio servers on loopback."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from orchestrator.testbed import interop_server
from probes import registry
from probes.grpc.interop.cases import CASES, CASES_BY_NAME, MAX_STREAM_RESPONSES
from probes.grpc.interop.checks import NOT_SERVED
from probes.model import ProbeReport, Status
from probes.runner import CheckSettings, run_probe
from protos.grpc.testing import messages_pb2, test_pb2_grpc
from tests.interop.conftest import grpc_target, interop_selection, run_interop_server

ALL_IDS = [case.check_id for case in CASES]


def probe(port: int, **params) -> ProbeReport:
    return asyncio.run(run_probe(grpc_target(port), interop_selection(**params)))


def statuses(report: ProbeReport) -> dict[str, Status]:
    return {result.check_id: result.status for result in report.results}


def test_conformant_server_passes_every_case(conformant_process):
    report = probe(conformant_process.port)

    assert statuses(report) == dict.fromkeys(ALL_IDS, Status.PASS)
    assert report.unreachable is None
    assert report.facts["grpc_interop"]["test_service_served"] is True
    for result in report.results:
        assert set(result.evidence) == {"observed", "expected"}
    large = next(r for r in report.results if r.check_id == "GRPC-INTR-002")
    assert large.evidence["observed"]["payload_size"] == 314159
    metadata = next(r for r in report.results if r.check_id == "GRPC-INTR-007")
    assert metadata.evidence["observed"]["full_duplex_trailing"] == "ababab"


def test_several_broken_cases_fail_exactly(tmp_path):
    broken = frozenset(
        {
            "large_unary",
            "ping_pong",
            "custom_metadata",
            "special_status_message",
            "unimplemented_service",
            "cancel_after_first_response",
        }
    )
    with run_interop_server(tmp_path, broken) as server:
        report = probe(server.port)

    failing = {CASES_BY_NAME[name].check_id for name in broken}
    assert statuses(report) == {
        check_id: Status.FAIL if check_id in failing else Status.PASS for check_id in ALL_IDS
    }
    result = {r.check_id: r for r in report.results}
    assert result["GRPC-INTR-002"].evidence["observed"]["payload_size"] == 314158
    assert result["GRPC-INTR-002"].evidence["expected"]["payload_size"] == 314159
    assert result["GRPC-INTR-002"].evidence["mismatched"] == ["payload_size"]
    assert result["GRPC-INTR-007"].evidence["observed"]["unary_initial"] is None
    assert result["GRPC-INTR-011"].reason == "code: observed 'OK', expected 'UNIMPLEMENTED'"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_fault_breaks_only_its_own_case(grpc_servers, case):
    port = grpc_servers.start(frozenset({case.name}))

    report = probe(port)

    assert statuses(report) == {
        check_id: Status.FAIL if check_id == case.check_id else Status.PASS for check_id in ALL_IDS
    }


def test_endpoint_without_test_service_skips(grpc_servers):
    port = grpc_servers.start(test_service=False)

    report = probe(port)

    assert statuses(report) == dict.fromkeys(ALL_IDS, Status.SKIP)
    assert {result.reason for result in report.results} == {NOT_SERVED}
    assert report.facts["grpc_interop"]["test_service_served"] is False


def test_endpoint_without_test_service_fails_where_required(grpc_servers):
    port = grpc_servers.start(test_service=False)
    selection = interop_selection()
    required = {"GRPC-INTR-001", "GRPC-INTR-009"}
    for check_id in required:
        selection[check_id].params["required"] = True

    report = asyncio.run(run_probe(grpc_target(port), selection))

    assert statuses(report) == {
        check_id: Status.FAIL if check_id in required else Status.SKIP for check_id in ALL_IDS
    }
    failed = next(r for r in report.results if r.check_id == "GRPC-INTR-001")
    assert failed.reason == NOT_SERVED
    assert failed.evidence["expected"] == "grpc.testing.TestService served"


def test_required_makes_every_check_fail_without_test_service(grpc_servers):
    port = grpc_servers.start(test_service=False)

    report = probe(port, required=True)

    assert statuses(report) == dict.fromkeys(ALL_IDS, Status.FAIL)


def test_only_the_wanted_cases_are_run(grpc_servers):
    # Every fault is on: a case that ran and was not selected would show up in the summary.
    port = grpc_servers.start(frozenset(case.name for case in CASES))
    selection = {k: v for k, v in interop_selection().items() if k == "GRPC-INTR-002"}

    report = asyncio.run(run_probe(grpc_target(port), selection))

    assert statuses(report) == {"GRPC-INTR-002": Status.FAIL}
    # EmptyCall always runs: it tells whether the TestService is served at all.
    assert set(report.facts["grpc_interop"]["cases"]) == {"empty_unary", "large_unary"}


def test_unreachable_target_is_reported_and_every_check_errors():
    from orchestrator.testbed.process import free_port

    report = probe(free_port())

    assert report.unreachable is not None
    assert statuses(report) == dict.fromkeys(ALL_IDS, Status.ERROR)


class SlowUnary(interop_server.TestService):
    """Answers UnaryCall only after the probe's timeout for it has passed."""

    async def UnaryCall(self, request, context):
        if request.response_size:
            await asyncio.sleep(3)
        return await super().UnaryCall(request, context)


class EndlessStream(interop_server.TestService):
    """StreamingOutputCall never stops sending."""

    async def StreamingOutputCall(self, request, context):
        while True:
            yield messages_pb2.StreamingOutputCallResponse(payload=messages_pb2.Payload(body=b"\0"))


def serving(servicer: interop_server.TestService):
    async def register(server) -> None:
        test_pb2_grpc.add_TestServiceServicer_to_server(servicer, server)

    return register


def test_a_case_without_answer_in_its_timeout_is_an_error(grpc_servers):
    port = grpc_servers.start_with(serving(SlowUnary()))
    selection = interop_selection()
    selection["GRPC-INTR-002"].params["timeout_s"] = 0.5

    report = asyncio.run(run_probe(grpc_target(port), selection))

    # custom_metadata keeps its own (default) timeout and so sees the slow answer arrive.
    expected = dict.fromkeys(ALL_IDS, Status.PASS) | {"GRPC-INTR-002": Status.ERROR}
    assert statuses(report) == expected
    slow = next(r for r in report.results if r.check_id == "GRPC-INTR-002")
    assert slow.reason == "large_unary: no complete answer within 0.5 s"


def test_an_endless_stream_is_cut_and_fails(grpc_servers):
    port = grpc_servers.start_with(serving(EndlessStream()))
    selection = {k: v for k, v in interop_selection().items() if k == "GRPC-INTR-004"}

    report = asyncio.run(run_probe(grpc_target(port), selection))

    assert statuses(report) == {"GRPC-INTR-004": Status.FAIL}
    observed = report.results[0].evidence["observed"]
    assert observed["responses_cut_at"] == MAX_STREAM_RESPONSES
    assert observed["payload_sizes"] == [1] * MAX_STREAM_RESPONSES
    assert observed["code"] == "CANCELLED"


@pytest.mark.parametrize(
    "greeting", [b"", b"SSH-2.0-OpenSSH_9.2\r\n" + bytes(range(256)) * 4], ids=["silent", "not-http2"]
)
def test_a_server_that_does_not_speak_grpc_errors_every_check(grpc_servers, greeting):
    port = grpc_servers.start_tcp(greeting)

    report = probe(port, timeout_s=1.0)

    assert report.unreachable is None
    assert statuses(report) == dict.fromkeys(ALL_IDS, Status.ERROR)
    no_answer = ("empty_unary: no complete answer", "empty_unary: no answer: UNAVAILABLE")
    assert all(result.reason.startswith(no_answer) for result in report.results), [
        r.reason for r in report.results
    ]


def test_cacheable_unary_call_echoes_metadata_beside_cache_control(conformant_process):
    # Not an interop case of ours, but part of the testbed's TestService: both headers in one send.
    async def call() -> tuple:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{conformant_process.port}") as channel:
            rpc = test_pb2_grpc.TestServiceStub(channel).CacheableUnaryCall(
                messages_pb2.SimpleRequest(), metadata=(("x-grpc-test-echo-initial", "v"),), timeout=5
            )
            response = await rpc
            return response, await rpc.initial_metadata()

    response, initial = asyncio.run(call())
    assert response.payload.body
    assert initial["cache-control"] == "max-age=60, public"
    assert initial["x-grpc-test-echo-initial"] == "v"


# -- a definite answer is a verdict, no answer is an error ------------------------------


@pytest.fixture(scope="module")
def proxy_without_backend(tmp_path_factory):
    """nginx grpc_pass to a port where nothing listens: it answers every call itself."""
    from orchestrator.testbed.nginx import start_grpc_proxy
    from orchestrator.testbed.process import free_port

    with start_grpc_proxy(tmp_path_factory.mktemp("nginx"), backend_port=free_port()) as proxy:
        yield proxy


@pytest.mark.parametrize("listener", ["plain", "status"], ids=["http-502", "grpc-unavailable"])
def test_a_proxy_answering_for_a_stopped_backend_fails_every_case(proxy_without_backend, listener):
    report = probe(proxy_without_backend.port(listener))

    assert report.unreachable is None
    assert statuses(report) == dict.fromkeys(ALL_IDS, Status.FAIL)
    empty = next(r for r in report.results if r.check_id == "GRPC-INTR-001")
    assert empty.evidence["observed"]["code"] == "UNAVAILABLE"
    assert (
        empty.evidence["observed"]["details"]
        == {"plain": "Received http2 header with status: 502", "status": "backend unavailable"}[listener]
    )


class DeadlineFromUpstream(interop_server.TestService):
    """Answers the large UnaryCall at once with DEADLINE_EXCEEDED, as a gateway whose upstream timed out."""

    async def UnaryCall(self, request, context):
        if request.response_size:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "upstream request timeout")
        return await super().UnaryCall(request, context)


def test_a_deadline_the_server_sends_is_its_answer(grpc_servers):
    port = grpc_servers.start_with(serving(DeadlineFromUpstream()))
    selection = {k: v for k, v in interop_selection().items() if k == "GRPC-INTR-002"}

    report = asyncio.run(run_probe(grpc_target(port), selection))

    assert statuses(report) == {"GRPC-INTR-002": Status.FAIL}
    assert report.results[0].evidence["observed"]["code"] == "DEADLINE_EXCEEDED"
    assert report.results[0].evidence["observed"]["details"] == "upstream request timeout"


def test_a_connection_lost_mid_case_is_an_error_not_a_fail(grpc_servers):
    # The relay resets the connection while large_unary's 271828-byte request goes through;
    # the cases after it get a fresh connection.
    relay = grpc_servers.start_cutting_relay(grpc_servers.start(), cut_after_bytes=32 * 1024)

    report = probe(relay)

    expected = dict.fromkeys(ALL_IDS, Status.PASS) | {"GRPC-INTR-002": Status.ERROR}
    assert statuses(report) == expected
    lost = next(r for r in report.results if r.check_id == "GRPC-INTR-002")
    assert lost.reason.startswith("large_unary: no answer: UNAVAILABLE: "), lost.reason
    assert grpc_servers.relayed[relay] == 2  # the one that was cut, then the fresh one


def test_the_grpc_and_interop_checks_share_one_connection(grpc_servers):
    # Every gRPC check of the registry, the endpoint's and the interop cases': one probe, one
    # connection (and for grpcs one TLS handshake), not one per gatherer.
    relay = grpc_servers.start_cutting_relay(grpc_servers.start())
    every_grpc_check = {
        check_id: CheckSettings(meta.severity, dict(meta.params))
        for check_id, meta in registry.checks().items()
        if meta.protocol == "grpc"
    }

    report = asyncio.run(run_probe(grpc_target(relay), every_grpc_check))

    assert {r.check_id for r in report.results} >= set(ALL_IDS) | {"GRPC-HLTH-001"}
    assert all(statuses(report)[check_id] == Status.PASS for check_id in ALL_IDS)
    assert grpc_servers.relayed[relay] == 1
