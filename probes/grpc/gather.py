"""gRPC endpoint gatherer: health, reflection, UNIMPLEMENTED behaviour, SPBE identity, latency.

One channel per target (``probes.grpc.channel.open_channel``), and only the
calls the selected checks need. When the channel cannot connect, a raw TCP
connection tells "nothing listening" (``Unreachable``) from "something
listening that is not gRPC" (per-fact errors with gRPC's own reason); a
channel that connects needs no such second connection. Every
call goes out as raw bytes and is parsed here, so a garbled answer becomes a
``WireError`` rather than a client-library failure, and every call has a
deadline. A server that answers with a status (``UNIMPLEMENTED``,
``NOT_FOUND``, ``UNAVAILABLE`` …), or a proxy in front of it that answers
with an HTTP status (502 from nginx when the backend is down), has answered:
that is an observation a check judges. A call that gets no answer
(deadline, connection lost) leaves its fact undetermined, so the checks
reading it are ``error``. ``probes.grpc.channel.answered`` tells the two
apart.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2 as reflection_v1alpha_pb2

from probes import net
from probes.errors import Undetermined, WireError, describe_error
from probes.facts import Facts, ProbeContext, Reason
from probes.grpc.channel import Refusal, clip, probe_channel, refusal, status_answer, unary
from probes.grpc.facts import (
    DESCRIPTORS,
    EXPECTED,
    HEALTH_LIST,
    HEALTH_OVERALL,
    HEALTH_SERVICES,
    HEALTH_WATCH,
    IDENTITY,
    LATENCY,
    REFLECTION,
    REFLECTION_APIS_PREFERRED,
    SUMMARY_SERVICES,
    TRANSPORT,
    UNKNOWN_METHOD,
    UNKNOWN_SERVICE,
    outcome_text,
)
from probes.messages import Message, render
from protos.grpc.reflection.v1 import reflection_pb2 as reflection_v1_pb2
from protos.spbe.interop.v1 import service_info_pb2

OWN_FACTS = (
    EXPECTED,
    TRANSPORT,
    HEALTH_OVERALL,
    HEALTH_SERVICES,
    HEALTH_WATCH,
    HEALTH_LIST,
    LATENCY,
    REFLECTION,
    DESCRIPTORS,
    UNKNOWN_METHOD,
    UNKNOWN_SERVICE,
    IDENTITY,
)

HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
HEALTH_WATCH_PATH = "/grpc.health.v1.Health/Watch"
HEALTH_LIST_PATH = "/grpc.health.v1.Health/List"
DESCRIBE_PATH = "/spbe.interop.v1.ServiceInfo/Describe"
# Made-up names: no real server has them, so the only right answer is UNIMPLEMENTED.
UNKNOWN_METHOD_NAME = "SpbeInteropProbeNoSuchMethod"
UNKNOWN_SERVICE_PATH = "/spbe.interop.probe.v0.NoSuchService/NoSuchMethod"
FALLBACK_REAL_SERVICE = "grpc.health.v1.Health"

# Reflection method and messages per API; their messages are identical on the wire.
REFLECTION_APIS: dict[str, tuple[str, Any]] = {
    "v1": ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", reflection_v1_pb2),
    "v1alpha": ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", reflection_v1alpha_pb2),
}

# How grpcio (BoringSSL) words a failed TLS connection, most specific first, and what it
# means (a phrase of probes.messages).
TLS_FAILURES = (
    ("certificate has expired", "grpc.tls.expired"),
    ("Hostname Verification Check failed", "grpc.tls.name_mismatch"),
    ("CERTIFICATE_VERIFY_FAILED", "grpc.tls.unverified"),
    ("WRONG_VERSION_NUMBER", "grpc.tls.not_tls"),
    ("Tls handshake failed", "grpc.tls.handshake_failed"),
)
CONNECT_FAILURE_PREFIX = "failed to connect to all addresses; last error: "

STATUS_NAMES = {status.value[0]: status.name for status in grpc.StatusCode}

LATENCY_SAMPLES = 3
MAX_DECLARED_SERVICES = 64  # inventory entries probed per endpoint
MAX_LISTED_SERVICES = 1000  # reflection / Health.List entries kept
MAX_RESOLVED_SERVICES = 32  # file_containing_symbol requests per probe
MAX_DESCRIPTOR_BYTES = 1024 * 1024  # total descriptor bytes read per probe

Parsed = TypeVar("Parsed", bound=ProtoMessage)


def _parse(message_class: type[Parsed], data: bytes, what: str) -> Parsed:
    try:
        return message_class.FromString(data)
    except DecodeError as exc:
        raise WireError(f"{what}: answer is not a valid {message_class.DESCRIPTOR.full_name}") from exc


async def _connect(channel: grpc.aio.Channel, timeout_s: float) -> None:
    """Wait until the channel is READY; raise with gRPC's reason when it fails."""
    state = channel.get_state(try_to_connect=True)
    try:
        async with asyncio.timeout(timeout_s):
            while state not in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE):
                await channel.wait_for_state_change(state)
                state = channel.get_state(try_to_connect=True)
    except TimeoutError:
        raise Undetermined(message=Message("grpc.handshake_timeout", {"seconds": timeout_s})) from None
    if state == grpc.ChannelConnectivity.READY:
        return
    # The channel does not say why it failed; a call that does not wait for
    # readiness fails at once with the transport's reason.
    check: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(HEALTH_CHECK_PATH)
    try:
        await check(b"", timeout=timeout_s, wait_for_ready=False)
    except grpc.aio.AioRpcError as exc:
        details = (exc.details() or exc.code().name).removeprefix(CONNECT_FAILURE_PREFIX)
        failed = Message("grpc.connection_failed_detail", {"detail": clip(details)})
        raise Undetermined(message=failed) from None
    raise Undetermined(message=Message("grpc.connection_failed"))


def _tls_failure(reason: str) -> str | None:
    """What a failed connection says about TLS, when it says anything: a key of probes.messages."""
    for marker, meaning in TLS_FAILURES:
        if marker in reason:
            return meaning
    return None


def tls_refused(meaning: Message, reason: str) -> Message:
    """Why a gRPC fact could not be gathered over a TLS connection that failed: what it means, then
    grpcio's own words (the part after its generic prefix)."""
    detail = reason.partition(CONNECT_FAILURE_PREFIX)[2] or reason
    return Message("grpc.tls_refused", {"failure": meaning, "detail": clip(detail)})


def tls_refusal(reason: str, uses_tls: bool) -> Message | None:
    """``tls_refused`` when grpcio's ``reason`` for a failed call is a failed TLS connection."""
    failure = _tls_failure(reason) if uses_tls else None
    return tls_refused(Message(failure), reason) if failure else None


# -- phases ------------------------------------------------------------------


def _serving_status(data: bytes, what: str) -> dict[str, str]:
    response = _parse(health_pb2.HealthCheckResponse, data, what)
    return {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}


async def _health_check(channel: grpc.aio.Channel, service: str, timeout_s: float) -> dict[str, str]:
    request = health_pb2.HealthCheckRequest(service=service).SerializeToString()
    answer = await unary(channel, HEALTH_CHECK_PATH, request, timeout_s)
    if isinstance(answer, Refusal):
        return answer.to_dict()
    return _serving_status(answer, f"Health.Check({service!r})")


async def _overall_health_and_latency(ctx: ProbeContext, channel: grpc.aio.Channel) -> None:
    """Check(""): its answer, and when the latency is wanted its round-trip time over a few calls."""
    timed = ctx.wants(LATENCY)
    async with ctx.facts.collecting(HEALTH_OVERALL, *([LATENCY] if timed else [])):
        samples_ms: list[float] = []
        outcome: dict[str, str] = {}
        for _ in range(LATENCY_SAMPLES if timed else 1):
            started = time.perf_counter()
            outcome = await _health_check(channel, "", ctx.read_timeout_s)
            samples_ms.append(round((time.perf_counter() - started) * 1000, 3))
        ctx.facts.set(HEALTH_OVERALL, outcome)
        if not timed:
            return
        ctx.facts.set(
            LATENCY,
            {
                "samples_ms": samples_ms,
                "median_ms": round(statistics.median(samples_ms), 3),
                "answer": outcome.get("status") or outcome.get("code"),
            },
        )


async def _declared_health(ctx: ProbeContext, channel: grpc.aio.Channel, services: tuple[str, ...]) -> None:
    async def one(service: str) -> dict[str, str]:
        try:
            return await _health_check(channel, service, ctx.read_timeout_s)
        except Exception as exc:  # noqa: BLE001 - one service's failure is its own reason
            return {"error": describe_error(exc)}

    async with ctx.facts.collecting(HEALTH_SERVICES):
        outcomes = await asyncio.gather(*(one(service) for service in services))
        ctx.facts.set(HEALTH_SERVICES, dict(zip(services, outcomes, strict=True)))


async def _watch(ctx: ProbeContext, channel: grpc.aio.Channel) -> None:
    async with ctx.facts.collecting(HEALTH_WATCH):
        request = health_pb2.HealthCheckRequest(service="").SerializeToString()
        watch: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(HEALTH_WATCH_PATH)
        call = watch(request, timeout=ctx.read_timeout_s)
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as exc:
            ctx.facts.set(HEALTH_WATCH, refusal("Health.Watch", exc).to_dict())
            return
        finally:
            call.cancel()
        if first is grpc.aio.EOF:
            ctx.facts.set(HEALTH_WATCH, {"code": "OK", "details": "stream ended before the first message"})
        else:
            # No deserializer: grpcio hands over the answer's bytes.
            ctx.facts.set(HEALTH_WATCH, _serving_status(cast(bytes, first), "Health.Watch"))


async def _list(ctx: ProbeContext, channel: grpc.aio.Channel) -> None:
    async with ctx.facts.collecting(HEALTH_LIST):
        request = health_pb2.HealthListRequest().SerializeToString()
        answer = await unary(channel, HEALTH_LIST_PATH, request, ctx.read_timeout_s)
        if isinstance(answer, Refusal):
            ctx.facts.set(HEALTH_LIST, answer.to_dict())
            return
        response = _parse(health_pb2.HealthListResponse, answer, "Health.List")
        statuses = {
            clip(name): health_pb2.HealthCheckResponse.ServingStatus.Name(entry.status)
            for name, entry in sorted(response.statuses.items())[:MAX_LISTED_SERVICES]
        }
        ctx.facts.set(HEALTH_LIST, {"statuses": statuses, "count": len(response.statuses)})


class _ReflectionStream:
    """One ServerReflectionInfo stream: a request, then its answer, in turn."""

    def __init__(self, channel: grpc.aio.Channel, path: str, messages: Any, ctx: ProbeContext) -> None:
        self._messages = messages
        self._read_timeout_s = ctx.read_timeout_s
        # The whole stream gets a few read timeouts; each answer gets one.
        info: grpc.aio.StreamStreamMultiCallable[bytes, bytes] = channel.stream_stream(path)
        self._call = info(timeout=ctx.read_timeout_s * 4)

    async def ask(self, what: str, **request: Any) -> Any:
        message = self._messages.ServerReflectionRequest(**request).SerializeToString()
        try:
            await asyncio.wait_for(self._call.write(message), self._read_timeout_s)
            answer = await asyncio.wait_for(self._call.read(), self._read_timeout_s)
        except asyncio.InvalidStateError:
            # The server already ended the stream: its status says why.
            code, details = await self._call.code(), await self._call.details()
            if code == grpc.StatusCode.OK:
                raise WireError(f"reflection stream ended before {what}") from None
            return status_answer(f"reflection {what}", code, details)
        except grpc.aio.AioRpcError as exc:
            return refusal(f"reflection {what}", exc)
        if answer is grpc.aio.EOF:
            raise WireError(f"reflection stream ended without answering {what}")
        # No deserializer: grpcio hands over the answer's bytes.
        return _parse(self._messages.ServerReflectionResponse, cast(bytes, answer), f"reflection {what}")

    def close(self) -> None:
        self._call.cancel()


def _defines_service(files: list[descriptor_pb2.FileDescriptorProto], symbol: str) -> str | None:
    """The name of the file that defines service ``symbol``, if one does."""
    for file in files:
        prefix = f"{file.package}." if file.package else ""
        if any(prefix + service.name == symbol for service in file.service):
            return file.name
    return None


async def _resolve(stream: _ReflectionStream, symbols: list[str]) -> dict[str, Any]:
    resolved: dict[str, dict[str, Any]] = {}
    budget = MAX_DESCRIPTOR_BYTES
    unchecked: list[str] = []
    for index, symbol in enumerate(symbols):
        if budget <= 0 or index >= MAX_RESOLVED_SERVICES:
            unchecked = symbols[index:]
            break
        answer = await stream.ask(f"file_containing_symbol({symbol})", file_containing_symbol=symbol)
        if isinstance(answer, Refusal):
            resolved[symbol] = {"resolved": False, "reason": f"stream failed with {answer.code}"}
            unchecked = symbols[index + 1 :]
            break
        kind = answer.WhichOneof("message_response")
        if kind == "error_response":
            error = answer.error_response
            code = STATUS_NAMES.get(error.error_code, f"status {error.error_code}")
            message = clip(error.error_message)
            resolved[symbol] = {"resolved": False, "reason": f"{code}: {message}" if message else code}
            continue
        if kind != "file_descriptor_response":
            resolved[symbol] = {"resolved": False, "reason": f"unexpected answer {kind or 'empty'}"}
            continue
        blobs = list(answer.file_descriptor_response.file_descriptor_proto)
        size = sum(len(blob) for blob in blobs)
        budget -= size
        files = []
        for blob in blobs:
            try:
                files.append(descriptor_pb2.FileDescriptorProto.FromString(blob))
            except DecodeError:
                files = []
                break
        defining = _defines_service(files, symbol)
        resolved[symbol] = (
            {"resolved": True, "file": clip(defining), "files": len(files), "bytes": size}
            if defining
            else {"resolved": False, "reason": "the descriptors returned do not define this service"}
        )
    return {"services": resolved, "unchecked": unchecked}


async def _reflection(ctx: ProbeContext, channel: grpc.aio.Channel, declared: tuple[str, ...]) -> None:
    async with ctx.facts.collecting(REFLECTION, DESCRIPTORS):
        attempts: dict[str, dict[str, str]] = {}
        for api in REFLECTION_APIS_PREFERRED:
            path, messages = REFLECTION_APIS[api]
            stream = _ReflectionStream(channel, path, messages, ctx)
            try:
                answer = await stream.ask("list_services", list_services="")
                if isinstance(answer, Refusal):
                    attempts[api] = answer.to_dict()
                    continue
                if answer.WhichOneof("message_response") != "list_services_response":
                    attempts[api] = {"code": "INVALID_ANSWER", "details": "no list_services_response"}
                    continue
                names = [service.name for service in answer.list_services_response.service]
                listed = sorted({clip(name) for name in names[:MAX_LISTED_SERVICES]})
                ctx.facts.set(
                    REFLECTION, {"api": api, "services": listed, "count": len(names), "attempts": attempts}
                )
                if ctx.wants(DESCRIPTORS):
                    symbols = list(dict.fromkeys([*declared, *listed]))
                    ctx.facts.set(DESCRIPTORS, await _resolve(stream, symbols))
                return
            finally:
                stream.close()
        ctx.facts.set(REFLECTION, {"api": None, "services": [], "count": 0, "attempts": attempts})
        ctx.facts.not_applicable(DESCRIPTORS, "the server offers no reflection to resolve descriptors with")


async def _unimplemented(ctx: ProbeContext, channel: grpc.aio.Channel, fact: str, path: str) -> None:
    async with ctx.facts.collecting(fact):
        answer = await unary(channel, path, b"", ctx.read_timeout_s)
        observed = answer.to_dict() if isinstance(answer, Refusal) else {"code": "OK", "details": ""}
        ctx.facts.set(fact, {**observed, "path": path})


async def _identity(ctx: ProbeContext, channel: grpc.aio.Channel) -> None:
    async with ctx.facts.collecting(IDENTITY):
        request = service_info_pb2.DescribeRequest().SerializeToString()
        answer = await unary(channel, DESCRIBE_PATH, request, ctx.read_timeout_s)
        if isinstance(answer, Refusal):
            ctx.facts.set(IDENTITY, {"implemented": False, **answer.to_dict()})
            return
        response = _parse(service_info_pb2.DescribeResponse, answer, "ServiceInfo.Describe")
        ctx.facts.set(
            IDENTITY,
            {
                "implemented": True,
                "agency_code": clip(response.agency_code),
                "application_id": clip(response.application_id),
                "service_version": clip(response.service_version),
                "contact": clip(response.contact),
                "declared_services": [clip(s) for s in response.declared_services[:MAX_LISTED_SERVICES]],
            },
        )


def _known_once_listening(ctx: ProbeContext, declared: tuple[str, ...]) -> dict[str, Any]:
    """The facts known without a gRPC answer, once something listens; the target's gRPC summary."""
    target = ctx.target
    ctx.facts.set(
        EXPECTED, {"services": list(declared), "agency": target.agency, "application": target.application}
    )
    if not target.uses_tls:
        ctx.facts.set(TRANSPORT, {"scheme": target.scheme, "tls": False})
    if not declared:
        # Known before any gRPC answer: a failed connection does not make it undetermined.
        ctx.facts.missing_expectation(HEALTH_SERVICES, "services")
    summary: dict[str, Any] = ctx.facts.summary.setdefault("grpc", {})
    return summary


async def confirm_listening(ctx: ProbeContext) -> None:
    """A channel or call got no answer: nothing listening is ``Unreachable`` (raised); anything
    listening is the gRPC layer's business, and the caller reports its reason."""
    _, writer = await net.open_connection(ctx.target.host, ctx.target.port, ctx.connect_timeout_s)
    net.close(writer)


def _summarise(facts: Facts) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if facts.has(HEALTH_OVERALL):
        health = {"": outcome_text(facts.get(HEALTH_OVERALL))}
        for service, outcome in (facts.get(HEALTH_SERVICES) or {}).items():
            health[service] = outcome_text(outcome)
        summary["health"] = health
    if facts.has(HEALTH_WATCH):
        summary["health_watch"] = outcome_text(facts.get(HEALTH_WATCH))
    if facts.has(HEALTH_LIST):
        health_list = facts.get(HEALTH_LIST)
        summary["health_list"] = health_list.get("count", health_list.get("code"))
    if facts.has(LATENCY):
        summary["health_latency_ms"] = facts.get(LATENCY)["median_ms"]
    if facts.has(REFLECTION):
        reflection = facts.get(REFLECTION)
        summary["reflection"] = {
            "api": reflection["api"],
            "services": reflection["services"][:SUMMARY_SERVICES],
            "service_count": reflection["count"],
        }
    if facts.has(IDENTITY):
        identity = facts.get(IDENTITY)
        summary["identity"] = (
            {
                **{key: value for key, value in identity.items() if key != "implemented"},
                "declared_services": identity["declared_services"][:SUMMARY_SERVICES],
            }
            if identity["implemented"]
            else None
        )
    return summary


async def gather(ctx: ProbeContext) -> None:
    wanted = [name for name in OWN_FACTS if ctx.wants(name)]
    if not wanted:
        return  # only the interop gatherer's facts are wanted
    target = ctx.target
    declared = tuple(target.services[:MAX_DECLARED_SERVICES])
    try:
        channel = probe_channel(ctx)
    except OSError as exc:
        await confirm_listening(ctx)
        summary = _known_once_listening(ctx, declared)
        reason: Reason = f"cannot read CA bundle {target.ca_file}: {describe_error(exc)}"
        for name in wanted:
            ctx.facts.fail(name, reason)
        summary["connection"] = reason
        return
    try:
        try:
            await _connect(channel, ctx.connect_timeout_s)
        except Undetermined as exc:
            await confirm_listening(ctx)
            summary = _known_once_listening(ctx, declared)
            failure = _tls_failure(str(exc)) if target.uses_tls else None
            reason = exc.message or str(exc)
            if failure:
                meaning = Message(failure)  # the check's reason; the English text is its evidence
                transport = {"scheme": target.scheme, "tls": False, "failure": render(meaning, "en")}
                ctx.facts.set(TRANSPORT, {**transport, "meaning": meaning})
                reason = tls_refused(meaning, str(exc))  # what it means first, then grpcio's words
            for name in wanted:
                ctx.facts.fail(name, reason)
            summary["connection"] = str(exc)
            return
        summary = _known_once_listening(ctx, declared)
        summary["connection"] = "ready"
        if target.uses_tls:
            ctx.facts.set(TRANSPORT, {"scheme": target.scheme, "tls": True})

        # Latency first and alone, so nothing else shares the connection while it is timed.
        if ctx.wants(HEALTH_OVERALL, LATENCY):
            await _overall_health_and_latency(ctx, channel)

        phases = []
        if ctx.wants(HEALTH_SERVICES) and declared:
            phases.append(_declared_health(ctx, channel, declared))
        if ctx.wants(HEALTH_WATCH):
            phases.append(_watch(ctx, channel))
        if ctx.wants(HEALTH_LIST):
            phases.append(_list(ctx, channel))
        if ctx.wants(REFLECTION, DESCRIPTORS):
            phases.append(_reflection(ctx, channel, declared))
        if ctx.wants(UNKNOWN_METHOD):
            real = declared[0] if declared else FALLBACK_REAL_SERVICE
            phases.append(_unimplemented(ctx, channel, UNKNOWN_METHOD, f"/{real}/{UNKNOWN_METHOD_NAME}"))
        if ctx.wants(UNKNOWN_SERVICE):
            phases.append(_unimplemented(ctx, channel, UNKNOWN_SERVICE, UNKNOWN_SERVICE_PATH))
        if ctx.wants(IDENTITY):
            phases.append(_identity(ctx, channel))
        await asyncio.gather(*phases)
    finally:
        if "grpc" in ctx.facts.summary:  # not when the target turned out unreachable
            ctx.facts.summary["grpc"].update(_summarise(ctx.facts))
