"""Which non-OK statuses are a server's (or a proxy's) answer and which are a lost call.

The details strings are what grpcio 1.85 reported against real servers on
this machine: nginx 1.22 ``grpc_pass`` to a stopped backend (HTTP 502/503,
and its error page answering grpc-status 14), a grpcio server aborting with
UNAVAILABLE, and connections closed or reset under a call.
"""

from __future__ import annotations

import grpc
import pytest

from probes.grpc.channel import LOST_CALL_MARKERS, answered

S = grpc.StatusCode

ANSWERS = [
    (S.UNAVAILABLE, "Received http2 header with status: 502"),  # nginx, backend stopped
    (S.UNAVAILABLE, "Received http2 header with status: 503"),  # nginx `return 503`
    (S.UNAVAILABLE, "backend unavailable"),  # nginx error page: grpc-status 14
    (S.UNAVAILABLE, "backend down"),  # grpcio server: context.abort(UNAVAILABLE, ...)
    (S.UNAVAILABLE, ""),  # a server's UNAVAILABLE without a message
    (S.UNIMPLEMENTED, "Method not found!"),
    (S.UNKNOWN, "Stream removed (Data frame with END_STREAM flag received)"),  # nginx 502 page on a stream
    (S.INTERNAL, "Internal error from Core"),
    (S.RESOURCE_EXHAUSTED, "quota exceeded"),  # a server's rate limit
]
LOST_CALLS = [
    (S.UNAVAILABLE, "Stream removed (Socket closed)"),
    (S.UNAVAILABLE, "Stream removed (recvmsg:Connection reset by peer (104))"),
    (S.UNAVAILABLE, "Socket closed"),
    (
        S.UNAVAILABLE,
        (
            "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
            "Failed to connect to remote host: Connection refused"
        ),
    ),
    (S.RESOURCE_EXHAUSTED, "Received message larger than max (5000000 vs. 4194304)"),  # our own cap
    (S.DEADLINE_EXCEEDED, "Deadline Exceeded"),
    (S.CANCELLED, "Locally cancelled by application!"),
]


@pytest.mark.parametrize("code, details", ANSWERS)
def test_a_status_from_the_server_or_a_proxy_is_an_answer(code, details):
    assert answered(code, details)


@pytest.mark.parametrize("code, details", LOST_CALLS)
def test_a_status_grpcio_made_up_for_a_lost_call_is_no_answer(code, details):
    assert not answered(code, details)


def test_only_codes_grpcio_also_makes_up_itself_carry_markers():
    assert set(LOST_CALL_MARKERS) == {S.UNAVAILABLE, S.RESOURCE_EXHAUSTED}
