"""The interop cases as data: what each sends (a coroutine over a ``Session``) and what must come back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc._cython import cygrpc  # type: ignore[attr-defined]  # compiled (Cython): no stub

from probes.grpc.facts import interop_case
from protos.grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc

SPEC = "https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md"

ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
STATUS_MESSAGE = "test status message"
SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
UNKNOWN_CODE = 2  # the code the spec asks servers to echo

MAX_STREAM_RESPONSES = 64  # more than any case asks for; a server streaming on is cut here
MAX_TEXT = 512  # status details and metadata values kept in evidence


@dataclass(frozen=True)
class Session:
    """What a case runs with: the stubs over one channel and its own settings."""

    test: test_pb2_grpc.TestServiceStub
    unimplemented: test_pb2_grpc.UnimplementedServiceStub
    params: dict[str, Any]

    @property
    def timeout_s(self) -> float:
        return float(self.params["timeout_s"])


CaseRun = Callable[[Session], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    name: str
    check_id: str
    summary: str
    run: CaseRun
    expected: dict[str, Any]
    why: str  # what breaks for clients when a server fails the case
    severity: str = "medium"
    params: dict[str, Any] = field(default_factory=dict)  # besides required/timeout_s

    @property
    def fact(self) -> str:
        return interop_case(self.name)


# -- small pieces every case uses --------------------------------------------------


def zeros(size: int) -> messages_pb2.Payload:
    return messages_pb2.Payload(body=bytes(size))


def clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def metadata_value(metadata: Any, key: str) -> str | None:
    """The first value of ``key`` as evidence text (binary values in hex)."""
    for item_key, value in metadata or ():
        if item_key == key:
            return clip(value.hex() if isinstance(value, bytes) else str(value))
    return None


async def status_of(call: grpc.aio.Call, prefix: str = "") -> dict[str, Any]:
    code = await call.code()
    details = await call.details()
    status = {f"{prefix}code": code.name}
    if details:
        status[f"{prefix}details"] = clip(details)
    return status


async def finish_unary(call: Any) -> Any:
    """The response of a unary-response call, or None when it ended with an error status."""
    try:
        return await call
    except grpc.aio.AioRpcError:
        return None


async def drain(call: Any, observed: dict[str, Any]) -> list[int]:
    """Payload sizes of the remaining responses; past the cap the call is cancelled and noted."""
    sizes: list[int] = []
    while len(sizes) < MAX_STREAM_RESPONSES:
        response = await call.read()
        if response is grpc.aio.EOF:
            return sizes
        sizes.append(len(response.payload.body))
    observed["responses_cut_at"] = MAX_STREAM_RESPONSES
    call.cancel()
    return sizes


# What grpcio raises when a write or a half-close races the server ending the
# call (nginx answering 502 as the request goes out): its internal batch error
# (grpc.aio's own write path catches the same class) or, once it knows, an
# InvalidStateError. The call's status is then the server's answer.
ENDED_UNDER_A_WRITE = (cygrpc.InternalError, asyncio.InvalidStateError)


async def streaming(
    call: Any, body: Callable[[dict[str, Any]], Awaitable[None]], prefix: str = ""
) -> dict[str, Any]:
    """Run ``body`` on a streaming call, recording into ``observed`` as it goes.

    An error status ends the body early; what it had observed so far is kept
    and the call's status is added.
    """
    observed: dict[str, Any] = {}
    try:
        await body(observed)
    except (grpc.aio.AioRpcError, *ENDED_UNDER_A_WRITE):
        pass  # the call's own status says what happened
    except BaseException:
        call.cancel()
        raise
    return {**observed, **await status_of(call, prefix)}


def output_request(
    response_size: int | None = None, payload_size: int = 0, **fields: Any
) -> messages_pb2.StreamingOutputCallRequest:
    parameters = [] if response_size is None else [messages_pb2.ResponseParameters(size=response_size)]
    return messages_pb2.StreamingOutputCallRequest(
        response_parameters=parameters, payload=zeros(payload_size), **fields
    )


# -- the cases ---------------------------------------------------------------------


async def empty_unary(session: Session) -> dict[str, Any]:
    call = session.test.EmptyCall(empty_pb2.Empty(), timeout=session.timeout_s)
    response = await finish_unary(call)
    return {**await status_of(call), "response": response is not None}


LARGE_REQUEST = {"response_size": 314159, "payload_size": 271828}


async def large_unary(session: Session) -> dict[str, Any]:
    request = messages_pb2.SimpleRequest(
        response_size=LARGE_REQUEST["response_size"], payload=zeros(LARGE_REQUEST["payload_size"])
    )
    call = session.test.UnaryCall(request, timeout=session.timeout_s)
    response = await finish_unary(call)
    observed = await status_of(call)
    if response is not None:
        body = response.payload.body
        observed.update(payload_size=len(body), payload_zeros=body == bytes(len(body)))
    return observed


CLIENT_STREAM_SIZES = (27182, 8, 1828, 45904)


async def client_streaming(session: Session) -> dict[str, Any]:
    async def requests() -> AsyncIterator[messages_pb2.StreamingInputCallRequest]:
        for size in CLIENT_STREAM_SIZES:
            yield messages_pb2.StreamingInputCallRequest(payload=zeros(size))

    call = session.test.StreamingInputCall(requests(), timeout=session.timeout_s)
    response = await finish_unary(call)
    observed = await status_of(call)
    if response is not None:
        observed["aggregated_payload_size"] = response.aggregated_payload_size
    return observed


SERVER_STREAM_SIZES = (31415, 9, 2653, 58979)


async def server_streaming(session: Session) -> dict[str, Any]:
    request = messages_pb2.StreamingOutputCallRequest(
        response_parameters=[messages_pb2.ResponseParameters(size=size) for size in SERVER_STREAM_SIZES]
    )
    call = session.test.StreamingOutputCall(request, timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        observed["payload_sizes"] = await drain(call, observed)

    return await streaming(call, body)


PING_PONG = ((31415, 27182), (9, 8), (2653, 1828), (58979, 45904))  # (response size, request payload)


async def ping_pong(session: Session) -> dict[str, Any]:
    call = session.test.FullDuplexCall(timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        sizes = observed["payload_sizes"] = []
        for response_size, payload_size in PING_PONG:
            await call.write(output_request(response_size, payload_size))
            response = await call.read()
            if response is grpc.aio.EOF:
                return
            sizes.append(len(response.payload.body))
        await call.done_writing()
        sizes.extend(await drain(call, observed))

    return await streaming(call, body)


async def empty_stream(session: Session) -> dict[str, Any]:
    call = session.test.FullDuplexCall(timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        observed["responses"] = 0
        await call.done_writing()
        observed["responses"] = len(await drain(call, observed))

    return await streaming(call, body)


ECHO_METADATA = (ECHO_INITIAL, ECHO_TRAILING)


async def echoed_metadata(call: Any, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}initial": metadata_value(await call.initial_metadata(), ECHO_INITIAL[0]),
        f"{prefix}trailing": metadata_value(await call.trailing_metadata(), ECHO_TRAILING[0]),
    }


async def custom_metadata(session: Session) -> dict[str, Any]:
    request = messages_pb2.SimpleRequest(
        response_size=LARGE_REQUEST["response_size"], payload=zeros(LARGE_REQUEST["payload_size"])
    )
    unary = session.test.UnaryCall(request, metadata=ECHO_METADATA, timeout=session.timeout_s)
    await finish_unary(unary)
    observed = {**await status_of(unary, "unary_"), **await echoed_metadata(unary, "unary_")}

    duplex = session.test.FullDuplexCall(metadata=ECHO_METADATA, timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        await duplex.write(output_request(LARGE_REQUEST["response_size"], LARGE_REQUEST["payload_size"]))
        await duplex.done_writing()
        await drain(duplex, observed)

    observed.update(await streaming(duplex, body, "full_duplex_"))
    observed.update(await echoed_metadata(duplex, "full_duplex_"))
    return observed


def echo_status(message: str) -> messages_pb2.EchoStatus:
    return messages_pb2.EchoStatus(code=UNKNOWN_CODE, message=message)


async def status_code_and_message(session: Session) -> dict[str, Any]:
    unary = session.test.UnaryCall(
        messages_pb2.SimpleRequest(response_status=echo_status(STATUS_MESSAGE)), timeout=session.timeout_s
    )
    await finish_unary(unary)
    observed = await status_of(unary, "unary_")

    duplex = session.test.FullDuplexCall(timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        await duplex.write(output_request(response_status=echo_status(STATUS_MESSAGE)))
        await duplex.done_writing()
        await drain(duplex, observed)

    observed.update(await streaming(duplex, body, "full_duplex_"))
    return observed


async def special_status_message(session: Session) -> dict[str, Any]:
    call = session.test.UnaryCall(
        messages_pb2.SimpleRequest(response_status=echo_status(SPECIAL_STATUS_MESSAGE)),
        timeout=session.timeout_s,
    )
    await finish_unary(call)
    return await status_of(call)


async def unimplemented_method(session: Session) -> dict[str, Any]:
    call = session.test.UnimplementedCall(empty_pb2.Empty(), timeout=session.timeout_s)
    await finish_unary(call)
    return await status_of(call)


async def unimplemented_service(session: Session) -> dict[str, Any]:
    call = session.unimplemented.UnimplementedCall(empty_pb2.Empty(), timeout=session.timeout_s)
    await finish_unary(call)
    return await status_of(call)


async def cancel_when_still_open(call: Any, grace_s: float, observed: dict[str, Any]) -> None:
    """Give the server ``grace_s`` to (wrongly) end the call, then cancel it."""
    await asyncio.sleep(grace_s)
    observed["ended_by_server_before_cancel"] = call.done()
    call.cancel()


async def cancel_after_begin(session: Session) -> dict[str, Any]:
    call = session.test.StreamingInputCall(timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        await call.wait_for_connection()
        await cancel_when_still_open(call, float(session.params["grace_s"]), observed)

    return await streaming(call, body)


async def cancel_after_first_response(session: Session) -> dict[str, Any]:
    call = session.test.FullDuplexCall(timeout=session.timeout_s)

    async def body(observed: dict[str, Any]) -> None:
        observed["first_response_size"] = None
        await call.write(output_request(31415, 27182))
        response = await call.read()
        if response is grpc.aio.EOF:
            return
        observed["first_response_size"] = len(response.payload.body)
        await cancel_when_still_open(call, float(session.params["grace_s"]), observed)

    return await streaming(call, body)


async def timeout_on_sleeping_server(session: Session) -> dict[str, Any]:
    deadline_s = float(session.params["deadline_s"])
    call = session.test.FullDuplexCall(timeout=deadline_s)

    async def body(observed: dict[str, Any]) -> None:
        observed["responses"] = 0
        await call.write(output_request(payload_size=27182))
        observed["responses"] = len(await drain(call, observed))

    return {**await streaming(call, body), "deadline_s": deadline_s}


# The grace a server gets to (wrongly) end a stream before the client cancels.
CANCEL_GRACE = {"grace_s": 0.25}

CASES: tuple[Case, ...] = (
    Case(
        "empty_unary",
        "GRPC-INTR-001",
        "EmptyCall with an empty request succeeds with an empty response",
        empty_unary,
        {"code": "OK", "response": True},
        "Zero-length messages are legal gRPC messages; a server or proxy that mishandles them breaks "
        "health checks and methods without arguments.",
    ),
    Case(
        "large_unary",
        "GRPC-INTR-002",
        "UnaryCall answers 314159 zero bytes to a 271828-byte request",
        large_unary,
        {"code": "OK", "payload_size": 314159, "payload_zeros": True},
        "Messages of a few hundred kilobytes span many HTTP/2 frames and flow-control windows; a server "
        "or proxy that truncates or reframes them corrupts real documents.",
        params={"timeout_s": 10.0},
    ),
    Case(
        "client_streaming",
        "GRPC-INTR-003",
        "StreamingInputCall aggregates 4 streamed payloads to 74922 bytes",
        client_streaming,
        {"code": "OK", "aggregated_payload_size": 74922},
        "An upload sent as several messages must arrive whole and in order.",
        params={"timeout_s": 10.0},
    ),
    Case(
        "server_streaming",
        "GRPC-INTR-004",
        "StreamingOutputCall streams 4 responses of 31415, 9, 2653, 58979 bytes",
        server_streaming,
        {"code": "OK", "payload_sizes": list(SERVER_STREAM_SIZES)},
        "A streamed download must deliver every message, in order, with its full size.",
        params={"timeout_s": 10.0},
    ),
    Case(
        "ping_pong",
        "GRPC-INTR-005",
        "FullDuplexCall answers each of 4 requests in turn with the requested size",
        ping_pong,
        {"code": "OK", "payload_sizes": [size for size, _ in PING_PONG]},
        "A bidirectional stream must answer each message as it arrives; a server or proxy that buffers "
        "until the end stalls interactive clients.",
        params={"timeout_s": 10.0},
    ),
    Case(
        "empty_stream",
        "GRPC-INTR-006",
        "FullDuplexCall with no requests ends OK with no responses",
        empty_stream,
        {"code": "OK", "responses": 0},
        "A stream without messages in either direction must still end OK; clients open and close "
        "sessions that way.",
    ),
    Case(
        "custom_metadata",
        "GRPC-INTR-007",
        "x-grpc-test-echo-initial and x-grpc-test-echo-trailing-bin are echoed on unary and duplex calls",
        custom_metadata,
        {
            "unary_code": "OK",
            "unary_initial": ECHO_INITIAL[1],
            "unary_trailing": ECHO_TRAILING[1].hex(),
            "full_duplex_code": "OK",
            "full_duplex_initial": ECHO_INITIAL[1],
            "full_duplex_trailing": ECHO_TRAILING[1].hex(),
        },
        "Clients carry request ids, tokens and trace context in ASCII and binary (-bin) metadata and "
        "read results from headers and trailers; a server or proxy that drops them breaks tracing and "
        "authentication.",
        params={"timeout_s": 10.0},
    ),
    Case(
        "status_code_and_message",
        "GRPC-INTR-008",
        "A requested status code and message come back unchanged on unary and duplex calls",
        status_code_and_message,
        {
            "unary_code": "UNKNOWN",
            "unary_details": STATUS_MESSAGE,
            "full_duplex_code": "UNKNOWN",
            "full_duplex_details": STATUS_MESSAGE,
        },
        "Errors reach a client only as a status code and message; both must survive unary and "
        "streaming calls unchanged.",
    ),
    Case(
        "special_status_message",
        "GRPC-INTR-009",
        "A status message with whitespace and non-ASCII Unicode comes back unchanged",
        special_status_message,
        {"code": "UNKNOWN", "details": SPECIAL_STATUS_MESSAGE},
        "Status messages travel as percent-encoded UTF-8; a server that trims or folds them garbles "
        "error text in every language but plain English.",
    ),
    Case(
        "unimplemented_method",
        "GRPC-INTR-010",
        "TestService/UnimplementedCall answers UNIMPLEMENTED",
        unimplemented_method,
        {"code": "UNIMPLEMENTED"},
        "Clients fall back or report cleanly on UNIMPLEMENTED; any other answer to an unknown method "
        "misleads them.",
    ),
    Case(
        "unimplemented_service",
        "GRPC-INTR-011",
        "grpc.testing.UnimplementedService answers UNIMPLEMENTED",
        unimplemented_service,
        {"code": "UNIMPLEMENTED"},
        "Clients discover which services a server offers by calling them; an unknown service must "
        "answer UNIMPLEMENTED, not succeed or fail otherwise.",
    ),
    Case(
        "cancel_after_begin",
        "GRPC-INTR-012",
        "A client-streaming call cancelled before any request ends CANCELLED, not ended by the server",
        cancel_after_begin,
        {"code": "CANCELLED", "ended_by_server_before_cancel": False},
        "Only the client may end an upload it has not finished; a server that ends an idle upload "
        "early breaks slow clients. The case mostly tests clients, hence info.",
        severity="info",
        params=CANCEL_GRACE,
    ),
    Case(
        "cancel_after_first_response",
        "GRPC-INTR-013",
        "A duplex call cancelled after its first response ends CANCELLED, not ended by the server",
        cancel_after_first_response,
        {"code": "CANCELLED", "first_response_size": 31415, "ended_by_server_before_cancel": False},
        "A server must keep a duplex stream open while the client may still send; ending it after "
        "the first answer breaks conversational clients. The case mostly tests clients, hence info.",
        severity="info",
        params=CANCEL_GRACE,
    ),
    Case(
        "timeout_on_sleeping_server",
        "GRPC-INTR-014",
        "A duplex call left open past its deadline ends DEADLINE_EXCEEDED, the server keeping it open",
        timeout_on_sleeping_server,
        {"code": "DEADLINE_EXCEEDED", "responses": 0},
        "A server must keep a stream open until the client ends it or its deadline passes. The spec's "
        "1 ms deadline expires before any server can answer, so it only tests the client; the probe "
        "waits deadline_s (0.5 s) instead, which lets a server that ends the stream early be seen. "
        "The case mostly tests clients, hence info.",
        severity="info",
        params={"deadline_s": 0.5},
    ),
)
CASES_BY_NAME = {case.name: case for case in CASES}
DEFAULT_TIMEOUT_S = 5.0


def case_params(case: Case) -> dict[str, Any]:
    """The check's default parameters: ``required`` (see the package doc) and the case's timeout."""
    return {"required": False, "timeout_s": DEFAULT_TIMEOUT_S, **case.params}
