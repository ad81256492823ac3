"""One grpc.aio channel per probe, never shared with another probe, and what its calls' statuses mean.

grpcio shares one TCP connection between channels to the same address
unless ``grpc.use_local_subchannel_pool`` is set; a probe must own its
connection so per-host limits and timings mean what they say. Within a
probe the gRPC gatherer and the interop gatherer share it
(``probe_channel``): one connection and one TLS handshake per target, where
two cost the server and the sweep twice.

A call that ends with a status has either been answered (by the server, or
a proxy in front of it) or lost (our deadline, a dropped connection):
``answered`` tells the two apart, for the endpoint gatherer and the interop
cases alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from probes.errors import Undetermined
from probes.facts import ProbeContext
from probes.messages import Message
from probes.model import Target

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a response larger than this is a broken server
MAX_TEXT = 256  # characters kept of any string a server sends

# Status codes grpcio only ever makes up itself: our deadline, our cancel.
# The fact is undetermined.
NO_ANSWER_CODES = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})

# Codes that are the server's answer, except when grpcio made them up because
# no answer came; its details then carry one of these markers (grpcio 1.85's
# own wording). Anything else is an answer: the server's grpc-status and
# grpc-message, or an HTTP status a server or a proxy in front of it sent
# ("Received http2 header with status: 502" is nginx saying the backend is
# down), which is how grpc_health_probe and blackbox_exporter count it too.
# A marker matching a server's own message errs towards ``error``, never
# towards a verdict.
LOST_CALL_MARKERS: dict[grpc.StatusCode, tuple[str, ...]] = {
    grpc.StatusCode.UNAVAILABLE: (
        "Socket closed",  # the peer closed the TCP connection under the call
        "Stream removed",  # the transport went away before the answer
        "Connection reset",  # TCP reset (also "recvmsg:Connection reset by peer")
        "Broken pipe",
        "Connection refused",
        "failed to connect",  # no transport at all ("failed to connect to all addresses")
        "GOAWAY",  # the server closed the connection before taking the call
        "RST_STREAM",  # the stream was refused, the request never processed
        "Transport closed",
        "Endpoint closing",
        "keepalive watchdog timeout",
        "Cancelling all calls",
        "recvmsg:",
        "sendmsg:",
    ),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (
        "larger than max",  # our own cap on an answer's size: a broken server, not an answer
    ),
}


def channel_options(target: Target) -> list[tuple[str, object]]:
    options: list[tuple[str, object]] = [
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 0),  # a probe observes the server; it does not paper over failures
        ("grpc.max_metadata_size", 64 * 1024),
    ]
    if target.uses_tls and target.server_name:
        options += [
            ("grpc.ssl_target_name_override", target.server_name),
            ("grpc.default_authority", target.server_name),
        ]
    return options


def open_channel(target: Target) -> grpc.aio.Channel:
    """A fresh channel to ``target``; the caller closes it (``await channel.close()``).

    For ``grpcs`` the CA bundle is ``target.ca_file`` (the system store when
    unset).
    """
    address = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    if not target.uses_tls:
        return grpc.aio.insecure_channel(address, options=channel_options(target))
    root = None
    if target.ca_file:
        with open(target.ca_file, "rb") as bundle:
            root = bundle.read(1024 * 1024)
    credentials = grpc.ssl_channel_credentials(root_certificates=root)
    return grpc.aio.secure_channel(address, credentials, options=channel_options(target))


CHANNEL = "grpc.channel"  # the probe's channel, under this name in ``ProbeContext.shared``


def probe_channel(ctx: ProbeContext) -> grpc.aio.Channel:
    """The probe's channel to its target: opened by the first gatherer that asks; the runner closes it.

    Raises ``OSError`` when the CA bundle cannot be read.
    """
    return ctx.shared(CHANNEL, lambda: open_channel(ctx.target))


def clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True)
class Refusal:
    """The server answered with a non-OK status."""

    code: str
    details: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "details": self.details}


def answered(code: grpc.StatusCode, details: str) -> bool:
    """Whether a non-OK status is the server's (or a proxy's) answer, not a lost call."""
    if code in NO_ANSWER_CODES:
        return False
    return not any(marker in details for marker in LOST_CALL_MARKERS.get(code, ()))


def status_answer(what: str, code: grpc.StatusCode, details: str | None) -> Refusal:
    """The status as an answer; raise ``Undetermined`` when there was no answer."""
    details = details or ""
    if answered(code, details):
        return Refusal(code.name, clip(details))
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        raise Undetermined(message=Message("grpc.no_answer", {"call": what}))
    raise Undetermined(f"{what}: {code.name}" + (f": {clip(details)}" if details else ""))


def refusal(what: str, exc: grpc.aio.AioRpcError) -> Refusal:
    return status_answer(what, exc.code(), exc.details())


async def unary(channel: grpc.aio.Channel, path: str, request: bytes, timeout_s: float) -> bytes | Refusal:
    try:
        # Raw bytes both ways: the caller parses the answer.
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
        return await call(request, timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        return refusal(path, exc)
