"""What a gRPC test server is, as data: the spec, its listeners, the health and fault tables.

A spec names one situation an agency endpoint is found in (``grpc_server.py``
is the process that serves specs). Specs travel to that process as JSON
(``to_dict``/``from_dict``); their names are checked against the tables here:
``HEALTH_MODES``, ``REFLECTION_SERVICES``, ``FAULT_HANDLERS``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from orchestrator.testbed.pki import Issued

HEALTH_SERVICE = "grpc.health.v1.Health"
SERVICE_INFO = "spbe.interop.v1.ServiceInfo"
TEST_SERVICE = "grpc.testing.TestService"
REFLECTION_SERVICES = {
    "v1": "grpc.reflection.v1.ServerReflection",
    "v1alpha": "grpc.reflection.v1alpha.ServerReflection",
}

# What a misregistered endpoint says about itself: some other agency's app.
WRONG = "wrong"
WRONG_IDENTITY = ("00.00", "aplikasi-lain")

STALL_S = 300.0  # how long a stalled call holds at most when nobody cancels it
GARBAGE = b"\xff\xff\xff\xff"  # field 31 with wire type 7: no protobuf message parses it

HEALTH_MODES = {
    "serving": health_pb2.HealthCheckResponse.SERVING,
    "not_serving": health_pb2.HealthCheckResponse.NOT_SERVING,
    "absent": None,
}


@dataclass(frozen=True)
class Listener:
    """One more address a spec listens on, as an endpoint of its own.

    ``identity`` is what ServiceInfo answers there (the spec's when None;
    a ``WRONG`` spec answers ``WRONG_IDENTITY`` everywhere); ``services`` are
    the endpoint's declared services: also served, healthy and reflected;
    ``tls`` its certificate (the spec's when None).
    """

    host: str
    port: int
    identity: tuple[str, str] | None = None
    services: tuple[str, ...] = ()
    tls: Issued | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "identity": self.identity,
            "services": list(self.services),
            "tls": _issued_to_paths(self.tls),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], issued: dict[tuple[str, ...], Issued]) -> Listener:
        """``issued`` caches certificates read already: thousands of listeners share a few."""
        tls = data.get("tls")
        if tls is not None:
            key = (tls["cert_path"], tls["key_path"], tls["ca_path"])
            if key not in issued:
                issued[key] = _issued_from_paths(*key)
            tls = issued[key]
        identity = data.get("identity")
        return cls(
            data["host"],
            data["port"],
            tuple(identity) if identity else None,
            tuple(data.get("services", ())),
            tls,
        )


@dataclass(frozen=True)
class GrpcServerSpec:
    """One kind of server. Every field has the conformant value by default.

    ``identity``: ``(agency_code, application_id)``, ``WRONG`` (answers as
    ``WRONG_IDENTITY``) or ``None`` (no ServiceInfo: UNIMPLEMENTED).
    ``services``: what Describe declares and health reports on; empty means
    the application services actually registered (ServiceInfo, TestService).
    ``reflection``: which reflection APIs to serve, ``()`` for none.
    ``health_list``: whether ``Health.List`` is implemented.
    ``unresolvable``: names reflection lists without a descriptor behind
    them (a service whose generated module the server never imported).
    ``catch_all``: a fallback handler answers OK to every unknown method
    and service instead of UNIMPLEMENTED.
    ``faults``: ``(method path, fault)`` pairs, a fault from
    ``FAULT_HANDLERS``: ``stall`` never answers (until the caller gives up),
    ``garble`` answers bytes that are no protobuf message.
    ``latency_s``: a pause before every call is handled (so before each
    unary response), for latency-bound benchmarks.
    ``ports``: empty means one free port, chosen when the process starts
    (unless there are ``listeners``).
    ``listeners``: more addresses, each an endpoint with its own identity and
    declared services (see ``Listener``).
    """

    name: str = "conformant"
    health: str = "serving"
    health_list: bool = True
    reflection: tuple[str, ...] = ("v1", "v1alpha")
    unresolvable: tuple[str, ...] = ()
    identity: tuple[str, str] | str | None = ("32.73", "sikd")
    service_version: str = "1.0.0"
    contact: str = "mailto:sre@example.go.id"
    services: tuple[str, ...] = ()
    test_service: bool = True
    catch_all: bool = False
    broken_cases: frozenset[str] = frozenset()
    tls: Issued | None = None
    latency_s: float = 0.0
    faults: tuple[tuple[str, str], ...] = ()
    ports: tuple[int, ...] = ()
    host: str = "127.0.0.1"
    listeners: tuple[Listener, ...] = ()

    def __post_init__(self) -> None:
        if self.health not in HEALTH_MODES:
            raise ValueError(f"health must be one of {sorted(HEALTH_MODES)}, not {self.health!r}")
        unknown = set(self.reflection) - REFLECTION_SERVICES.keys()
        if unknown:
            raise ValueError(f"unknown reflection API(s): {sorted(unknown)}")
        unknown = {fault for _, fault in self.faults} - FAULT_HANDLERS.keys()
        if unknown:
            raise ValueError(f"unknown fault(s): {sorted(unknown)}; one of {sorted(FAULT_HANDLERS)}")

    @property
    def application_services(self) -> tuple[str, ...]:
        registered = ((SERVICE_INFO,) if self.identity is not None else ()) + (
            (TEST_SERVICE,) if self.test_service else ()
        )
        return self.services or registered

    @property
    def listener_services(self) -> tuple[str, ...]:
        """Every service some listener declares, once each."""
        return tuple(dict.fromkeys(name for listener in self.listeners for name in listener.services))

    @property
    def described_identity(self) -> tuple[str, str] | None:
        if self.identity == WRONG:
            return WRONG_IDENTITY
        return self.identity  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, listeners=()))
        data["listeners"] = [listener.to_dict() for listener in self.listeners]
        data["broken_cases"] = sorted(self.broken_cases)
        data["tls"] = (
            None
            if self.tls is None
            else {
                "cert_path": str(self.tls.cert_path),
                "key_path": str(self.tls.key_path),
                "ca_path": str(self.tls.ca_path),
            }
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GrpcServerSpec:
        data = dict(data)
        tls = data.pop("tls", None)
        identity = data.pop("identity", None)
        issued: dict[tuple[str, ...], Issued] = {}
        return cls(
            **{
                **data,
                "identity": tuple(identity) if isinstance(identity, list) else identity,
                "reflection": tuple(data.get("reflection", ())),
                "services": tuple(data.get("services", ())),
                "unresolvable": tuple(data.get("unresolvable", ())),
                "broken_cases": frozenset(data.get("broken_cases", ())),
                "ports": tuple(data.get("ports", ())),
                "faults": tuple(tuple(pair) for pair in data.get("faults", ())),
                "tls": None if tls is None else _issued_from_paths(**tls),
                "listeners": tuple(Listener.from_dict(item, issued) for item in data.get("listeners", ())),
            }
        )


def _issued_to_paths(issued: Issued | None) -> dict[str, str] | None:
    if issued is None:
        return None
    return {
        "cert_path": str(issued.cert_path),
        "key_path": str(issued.key_path),
        "ca_path": str(issued.ca_path),
    }


def _issued_from_paths(cert_path: str, key_path: str, ca_path: str) -> Issued:
    paths = Path(cert_path), Path(key_path), Path(ca_path)
    return Issued(*paths, *(path.read_bytes() for path in paths))


# -- faults ------------------------------------------------------------------


async def _stall(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    await asyncio.sleep(STALL_S)  # cancelled when the caller's deadline passes
    yield b""


async def _garble(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    async for _ in requests:
        yield GARBAGE


# Method faults. A stream-stream handler on raw bytes answers any of the four
# call types the way the client sees it, so one handler per fault suffices.
FAULT_HANDLERS: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
    "stall": grpc.stream_stream_rpc_method_handler(_stall),
    "garble": grpc.stream_stream_rpc_method_handler(_garble),
}
