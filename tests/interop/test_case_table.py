"""The interop case table, its pure evaluation and the testbed's fault table."""

from __future__ import annotations

import pytest

from orchestrator.testbed import interop_server
from probes import registry
from probes.errors import NotApplicable, Undetermined
from probes.facts import Facts
from probes.grpc.facts import INTEROP_SERVED as SERVED_FACT
from probes.grpc.interop import cases as interop
from probes.grpc.interop.cases import CASES, Case
from probes.grpc.interop.checks import NOT_SERVED, evaluate, judge, not_served
from probes.grpc.interop.gather import unanswered
from probes.model import Severity, Status

SPEC_ORDER = [
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
]


def test_one_check_per_case_numbered_in_spec_order():
    assert [case.name for case in CASES] == SPEC_ORDER
    assert [case.check_id for case in CASES] == [f"GRPC-INTR-{n:03d}" for n in range(1, 15)]


def test_every_case_has_a_fault_in_the_testbed():
    assert list(interop_server.FAULTS) == SPEC_ORDER


def test_expected_values_are_the_spec_numbers():
    expected = {case.name: case.expected for case in CASES}
    assert expected["large_unary"]["payload_size"] == 314159
    assert expected["client_streaming"]["aggregated_payload_size"] == 27182 + 8 + 1828 + 45904 == 74922
    assert expected["server_streaming"]["payload_sizes"] == [31415, 9, 2653, 58979]
    assert expected["ping_pong"]["payload_sizes"] == [31415, 9, 2653, 58979]
    assert expected["custom_metadata"]["unary_trailing"] == "ababab"
    assert expected["special_status_message"]["details"] == (
        "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_registered_metadata(case):
    meta = registry.get_check(case.check_id)
    assert meta.protocol == "grpc"
    assert meta.category == "interop"
    assert meta.facts == (SERVED_FACT, case.fact)
    assert meta.params["required"] is False
    assert meta.params["timeout_s"] > 0
    assert meta.references == (f"{interop.SPEC}#{case.name}",)
    client_side = {"cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server"}
    assert meta.severity == (Severity.INFO if case.name in client_side else Severity.MEDIUM)


def test_judge_passes_when_every_expected_key_matches():
    verdict = judge({"code": "OK", "payload_size": 3}, {"code": "OK", "payload_size": 3, "extra": 1})
    assert verdict.status is Status.PASS
    assert verdict.evidence == {
        "observed": {"code": "OK", "payload_size": 3, "extra": 1},
        "expected": {"code": "OK", "payload_size": 3},
    }


def test_judge_names_each_mismatch():
    verdict = judge({"code": "OK", "payload_size": 3, "zeros": True}, {"code": "INTERNAL", "zeros": True})
    assert verdict.status is Status.FAIL
    assert verdict.reason == (
        "code: observed 'INTERNAL', expected 'OK'; payload_size: observed None, expected 3"
    )
    assert verdict.evidence["mismatched"] == ["code", "payload_size"]


def test_not_served_skips_unless_required():
    with pytest.raises(NotApplicable, match=NOT_SERVED):
        not_served({"required": False})
    verdict = not_served({"required": True})
    assert verdict.status is Status.FAIL
    assert verdict.reason == NOT_SERVED


def _facts(**values) -> Facts:
    facts = Facts()
    for name, value in values.items():
        facts.set(name, value)
    return facts


LARGE = interop.CASES_BY_NAME["large_unary"]


def test_evaluate_reads_the_served_fact_first():
    with pytest.raises(NotApplicable):
        evaluate(LARGE, _facts(**{SERVED_FACT: False}), {"required": False})
    assert evaluate(LARGE, _facts(**{SERVED_FACT: False}), {"required": True}).status is Status.FAIL


def test_evaluate_without_facts_is_undetermined():
    facts = Facts()
    facts.fail(SERVED_FACT, "EmptyCall: UNAVAILABLE: handshake failed")
    with pytest.raises(Undetermined, match="handshake failed"):
        evaluate(LARGE, facts, {})
    with pytest.raises(Undetermined):
        evaluate(LARGE, _facts(**{SERVED_FACT: True}), {})


def test_evaluate_compares_the_case_observation():
    observed = {"code": "OK", "payload_size": 314159, "payload_zeros": False}
    verdict = evaluate(LARGE, _facts(**{SERVED_FACT: True, LARGE.fact: observed}), {})
    assert verdict.status is Status.FAIL
    assert verdict.evidence["mismatched"] == ["payload_zeros"]


async def _nothing(session):
    return {}


PLAIN = Case("x", "GRPC-INTR-999", "", _nothing, {"code": "OK"}, "")
SLEEPING = Case("y", "GRPC-INTR-998", "", _nothing, {"code": "DEADLINE_EXCEEDED"}, "")


def test_our_deadline_is_no_answer_only_where_not_expected():
    assert unanswered(PLAIN, {"code": "DEADLINE_EXCEEDED"}, 5.0, 5.0) == "no complete answer within 5 s"
    assert unanswered(PLAIN, {"unary_code": "OK", "full_duplex_code": "DEADLINE_EXCEEDED"}, 7.5, 5.0)
    assert unanswered(PLAIN, {"code": "INTERNAL"}, 7.5, 5.0) is None
    assert unanswered(SLEEPING, {"code": "DEADLINE_EXCEEDED"}, 7.5, 5.0) is None


def test_a_deadline_status_before_our_deadline_is_the_servers_answer():
    # No call of the case can hit our deadline before timeout_s has passed: the server sent it.
    assert unanswered(PLAIN, {"code": "DEADLINE_EXCEEDED", "details": "upstream timed out"}, 0.2, 5.0) is None


@pytest.mark.parametrize(
    "details",
    [
        "Received http2 header with status: 502",  # nginx with its backend down
        "backend unavailable",  # a grpc-status 14 the server or a proxy sent
    ],
)
def test_unavailable_sent_by_the_server_or_a_proxy_is_an_answer(details):
    assert unanswered(PLAIN, {"code": "UNAVAILABLE", "details": details}, 0.1, 5.0) is None


@pytest.mark.parametrize(
    "details",
    [
        "Socket closed",
        "Stream removed (recvmsg:Connection reset by peer (104))",
        "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Connection refused",
    ],
)
def test_a_lost_or_missing_connection_is_no_answer(details):
    reason = unanswered(
        PLAIN,
        {"unary_code": "OK", "full_duplex_code": "UNAVAILABLE", "full_duplex_details": details},
        0.1,
        5.0,
    )
    assert reason == f"no answer: UNAVAILABLE: {details}"


def test_testbed_refuses_unknown_faults():
    with pytest.raises(ValueError, match="no_such_case"):
        interop_server.TestService(frozenset({"no_such_case"}))
    with pytest.raises(SystemExit):
        interop_server.parse_args(["--port", "1", "--broken", "large_unary,no_such_case"])
    args = interop_server.parse_args(["--port", "1", "--broken", "large_unary, ping_pong"])
    assert args.broken == frozenset({"large_unary", "ping_pong"})
