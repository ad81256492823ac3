"""gRPC servers that stall or answer garbage on some methods: errors with reasons, never verdicts."""

from __future__ import annotations

from tests.grpc.conftest import own_check_ids, probe, registered, statuses

# Long enough for every call that is answered, even on a loaded machine;
# the stalled call waits this long before its check is an error.
STALL_TIMEOUT_S = 1.5

PASS_ALL_BUT_PLAINTEXT = dict.fromkeys(own_check_ids(), "pass") | {"GRPC-TLS-001": "fail"}


def reason(report, check_id: str) -> str:
    return next(result.reason for result in report.results if result.check_id == check_id)


def test_garbled_identity_answer(plain_servers):
    report = probe(registered(plain_servers, "garbled_identity"))
    assert statuses(report) == PASS_ALL_BUT_PLAINTEXT | {
        "GRPC-IDEN-001": "error",
        "GRPC-IDEN-002": "error",
        "GRPC-IDEN-003": "error",
    }
    assert reason(report, "GRPC-IDEN-001") == (
        "ServiceInfo.Describe: answer is not a valid spbe.interop.v1.DescribeResponse"
    )


def test_garbled_reflection_is_not_taken_for_absent_reflection(plain_servers):
    report = probe(registered(plain_servers, "garbled_reflection"))
    assert statuses(report) == PASS_ALL_BUT_PLAINTEXT | {
        "GRPC-REFL-001": "error",
        "GRPC-REFL-002": "error",
        "GRPC-REFL-003": "error",
        "GRPC-REFL-004": "error",
    }
    assert "not a valid grpc.reflection.v1.ServerReflectionResponse" in reason(report, "GRPC-REFL-001")


def test_stalled_watch(plain_servers):
    report = probe(registered(plain_servers, "stalled_watch"), timeout_s=STALL_TIMEOUT_S)
    assert statuses(report) == PASS_ALL_BUT_PLAINTEXT | {"GRPC-HLTH-003": "error"}
    assert reason(report, "GRPC-HLTH-003") == "Health.Watch: no answer before the deadline"


def test_stalled_health_check(plain_servers):
    report = probe(registered(plain_servers, "stalled_health"), timeout_s=STALL_TIMEOUT_S)
    assert statuses(report) == PASS_ALL_BUT_PLAINTEXT | {
        "GRPC-HLTH-001": "error",
        "GRPC-HLTH-002": "error",
        "GRPC-LAT-001": "error",
    }
    assert reason(report, "GRPC-LAT-001") == "/grpc.health.v1.Health/Check: no answer before the deadline"
    assert "grpc.testing.TestService" in reason(report, "GRPC-HLTH-002")
