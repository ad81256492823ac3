"""A grpc.testing.TestService that behaves like the official interop servers, or breaks chosen cases.

    add_test_service(server)                               # conformant
    add_test_service(server, frozenset({"large_unary"}))   # one case broken

Standalone, for tests and demos (loopback only unless --host says otherwise):

    python -m orchestrator.testbed.interop_server --port 50051 [--broken large_unary,custom_metadata]
        [--tls-cert server.pem --tls-key server.key]

Behaviour follows the "Server" part of grpc/grpc doc/interop-test-descriptions.md:
payloads are zero bytes of the requested size, ``response_status`` is echoed
as the call status, ``x-grpc-test-echo-initial`` is echoed in the initial
metadata and ``x-grpc-test-echo-trailing-bin`` in the trailers,
``interval_us`` is a pause before each streamed response. Request and
response compression flags are not honoured (grpcio does not expose the
per-message compressed bit to a handler); no case probed here needs them.

Every non-OK status ends the call through ``context.abort``: a status
without a response message, as the official servers answer. A unary handler
that sets a code and still returns a message sends both, and grpc-go's
interop client, which calls UnimplementedCall with no reply message to fill,
fails on the unexpected message (cross-checked in tests/interop/test_grpc_go.py).

Each fault in ``FAULTS`` breaks one interop case and, by construction, none
of the others: it is keyed on what only that case does (a stream with no
requests, a request asking for no responses, an idle stream).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from protos.grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"

# How long a broken server waits on an idle stream before (wrongly) ending it.
# Far longer than a client needs to answer on loopback, far shorter than the
# grace the probe gives a server before it cancels.
IDLE_GIVE_UP_S = 0.1

FAULTS: dict[str, str] = {
    "empty_unary": "EmptyCall fails with INTERNAL",
    "large_unary": "UnaryCall answers one byte short of response_size",
    "client_streaming": "StreamingInputCall leaves the last request out of the aggregated size",
    "server_streaming": "StreamingOutputCall drops its last response",
    "ping_pong": "FullDuplexCall answers the second and later requests one byte too large",
    "empty_stream": "FullDuplexCall sends one empty response to a stream without requests",
    "custom_metadata": "echo metadata is dropped",
    "status_code_and_message": "FullDuplexCall ignores response_status and ends OK",
    "special_status_message": "status messages are trimmed and folded to ASCII",
    "unimplemented_method": "UnimplementedCall answers OK",
    "unimplemented_service": "grpc.testing.UnimplementedService is served and answers OK",
    "cancel_after_begin": f"StreamingInputCall ends OK when no request arrives within {IDLE_GIVE_UP_S} s",
    "cancel_after_first_response": (
        f"FullDuplexCall ends OK when no further request arrives within {IDLE_GIVE_UP_S} s of a response"
    ),
    "timeout_on_sleeping_server": "FullDuplexCall ends OK on a request that asks for no responses",
}


STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}


def zeros(size: int) -> messages_pb2.Payload:
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(max(size, 0)))


class TestService(test_pb2_grpc.TestServiceServicer):
    def __init__(self, broken: frozenset[str] = frozenset()) -> None:
        unknown = set(broken) - FAULTS.keys()
        if unknown:
            raise ValueError(f"unknown interop case(s) to break: {', '.join(sorted(unknown))}")
        self.broken = frozenset(broken)

    # -- what every method does ------------------------------------------------

    async def _echo_metadata(
        self, context: grpc.aio.ServicerContext, initial: tuple[tuple[str, str | bytes], ...] = ()
    ) -> None:
        """Echo the x-grpc-test-echo-* metadata, sending ``initial`` along with it."""
        received = dict(context.invocation_metadata() or ())
        if "custom_metadata" in self.broken:
            received = {}
        if ECHO_INITIAL_KEY in received:
            initial += ((ECHO_INITIAL_KEY, received[ECHO_INITIAL_KEY]),)
        if initial:
            await context.send_initial_metadata(initial)
        if ECHO_TRAILING_KEY in received:
            context.set_trailing_metadata(((ECHO_TRAILING_KEY, received[ECHO_TRAILING_KEY]),))

    async def _echo_status(self, status: messages_pb2.EchoStatus, context: grpc.aio.ServicerContext) -> None:
        """End the call with the requested status, if one was requested."""
        if status.code == 0:
            return
        message = status.message
        if "special_status_message" in self.broken:
            message = message.strip().encode("ascii", "replace").decode("ascii")
        await context.abort(STATUS_CODES.get(status.code, grpc.StatusCode.UNKNOWN), message)

    async def _require_supported(self, response_type: int, context: grpc.aio.ServicerContext) -> None:
        if response_type != messages_pb2.COMPRESSABLE:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"unsupported response_type {response_type}"
            )

    # -- the methods -----------------------------------------------------------

    async def EmptyCall(self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._echo_metadata(context)
        if "empty_unary" in self.broken:
            await context.abort(grpc.StatusCode.INTERNAL, "broken on purpose: empty_unary")
        return empty_pb2.Empty()

    async def UnaryCall(
        self, request: messages_pb2.SimpleRequest, context: grpc.aio.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        await self._echo_metadata(context)
        await self._echo_status(request.response_status, context)
        await self._require_supported(request.response_type, context)
        size = request.response_size - (1 if "large_unary" in self.broken else 0)
        return messages_pb2.SimpleResponse(payload=zeros(size))

    async def CacheableUnaryCall(
        self, request: messages_pb2.SimpleRequest, context: grpc.aio.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        await self._echo_metadata(context, initial=(("cache-control", "max-age=60, public"),))
        stamp = str(asyncio.get_running_loop().time()).encode()
        return messages_pb2.SimpleResponse(payload=messages_pb2.Payload(body=stamp))

    async def StreamingOutputCall(
        self, request: messages_pb2.StreamingOutputCallRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        await self._echo_metadata(context)
        await self._echo_status(request.response_status, context)
        await self._require_supported(request.response_type, context)
        parameters = list(request.response_parameters)
        if "server_streaming" in self.broken:
            parameters = parameters[:-1]
        for parameter in parameters:
            await asyncio.sleep(parameter.interval_us / 1e6)
            yield messages_pb2.StreamingOutputCallResponse(payload=zeros(parameter.size))

    async def StreamingInputCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingInputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> messages_pb2.StreamingInputCallResponse:
        await self._echo_metadata(context)
        sizes = []
        requests = aiter(request_iterator)
        if "cancel_after_begin" in self.broken:
            try:
                first = await asyncio.wait_for(anext(requests), IDLE_GIVE_UP_S)
            except (TimeoutError, StopAsyncIteration):
                return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=0)
            sizes.append(len(first.payload.body))
        async for request in requests:
            sizes.append(len(request.payload.body))
        if "client_streaming" in self.broken:
            sizes = sizes[:-1]
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=sum(sizes))

    async def FullDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        await self._echo_metadata(context)
        requests = aiter(request_iterator)
        seen = answered = 0
        while True:
            try:
                if "cancel_after_first_response" in self.broken and answered:
                    request = await asyncio.wait_for(anext(requests), IDLE_GIVE_UP_S)
                else:
                    request = await anext(requests)
            except (StopAsyncIteration, TimeoutError):
                break
            seen += 1
            if "status_code_and_message" not in self.broken:
                await self._echo_status(request.response_status, context)
            await self._require_supported(request.response_type, context)
            if "timeout_on_sleeping_server" in self.broken and not request.response_parameters:
                return
            extra = 1 if "ping_pong" in self.broken and seen > 1 else 0
            for parameter in request.response_parameters:
                await asyncio.sleep(parameter.interval_us / 1e6)
                yield messages_pb2.StreamingOutputCallResponse(payload=zeros(parameter.size + extra))
                answered += 1
        if seen == 0 and "empty_stream" in self.broken:
            yield messages_pb2.StreamingOutputCallResponse()

    async def HalfDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        await self._echo_metadata(context)
        buffered = [request async for request in request_iterator]
        for request in buffered:
            await self._echo_status(request.response_status, context)
            for parameter in request.response_parameters:
                await asyncio.sleep(parameter.interval_us / 1e6)
                yield messages_pb2.StreamingOutputCallResponse(payload=zeros(parameter.size))

    async def UnimplementedCall(
        self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        if "unimplemented_method" not in self.broken:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "UnimplementedCall is not implemented")
        return empty_pb2.Empty()


class AnsweringUnimplementedService(test_pb2_grpc.UnimplementedServiceServicer):
    """What a broken server registers where no service should be."""

    async def UnimplementedCall(
        self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        return empty_pb2.Empty()


def add_test_service(server: grpc.aio.Server, broken: frozenset[str] = frozenset()) -> None:
    """Register grpc.testing.TestService on ``server``, breaking the named cases."""
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(broken), server)
    if "unimplemented_service" in broken:
        test_pb2_grpc.add_UnimplementedServiceServicer_to_server(AnsweringUnimplementedService(), server)


def server_credentials(cert_path: Path, key_path: Path) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials([(key_path.read_bytes(), cert_path.read_bytes())])


async def serve(
    host: str, port: int, broken: frozenset[str], credentials: grpc.ServerCredentials | None = None
) -> None:
    server = grpc.aio.server()
    add_test_service(server, broken)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if credentials is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, credentials)
    if bound == 0:
        raise SystemExit(f"cannot listen on {address}")
    await server.start()
    security = "plaintext" if credentials is None else "TLS"
    faults = ", ".join(sorted(broken)) or "none"
    print(f"interop server on {address} ({security}), broken: {faults}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop(grace=0.5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broken", default="", help=f"comma-separated cases to break: {', '.join(FAULTS)}")
    parser.add_argument("--tls-cert", type=Path, help="serve TLS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, help="the private key (PEM) of --tls-cert")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    args.broken = frozenset(name.strip() for name in args.broken.split(",") if name.strip())
    unknown = args.broken - FAULTS.keys()
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    credentials = None if args.tls_cert is None else server_credentials(args.tls_cert, args.tls_key)
    asyncio.run(serve(args.host, args.port, args.broken, credentials))


if __name__ == "__main__":
    main()
