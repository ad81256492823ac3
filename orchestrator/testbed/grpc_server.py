"""Configurable gRPC test servers on loopback: the process serving the specs, and how to start it.

A ``GrpcServerSpec`` (``grpc_spec.py``) names one situation an agency
endpoint is found in: fully conformant (health, reflection, the SPBE
``ServiceInfo`` identity contract, ``grpc.testing.TestService``), health
missing or ``NOT_SERVING``, reflection missing, a wrong identity, a bad
certificate, a slow server. One process hosts any number of specs, and each
spec may listen on many ports, so the nationwide testbed can put thousands of
endpoints on a few processes:

    specs = [GrpcServerSpec("ok"), GrpcServerSpec("sick", health="not_serving")]
    servers = start_grpc_servers(specs, workdir)
    servers.target("sick")          # a probes.model.Target for it
    servers.stop()                  # by pid

A spec may also have ``listeners``: addresses on any host, each one an
endpoint of its own, whose ``ServiceInfo`` answers with that endpoint's
agency and application and whose declared services are served, healthy and
reflected there. The national testbed (``fleet.py``) serves thousands of
endpoints from one spec per behaviour this way.

The servers run in their own process with their own event loop: a probe's
event loop must never be the server's, and grpcio's asyncio machinery is
per-process state. ``serve(specs)`` is the coroutine that process runs.

    python -m orchestrator.testbed.grpc_server SPECS.json
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection as reflection_v1alpha
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha_pb2
from grpc_reflection.v1alpha import reflection_pb2_grpc as v1alpha_pb2_grpc

from orchestrator.testbed.grpc_spec import (
    FAULT_HANDLERS,
    HEALTH_MODES,
    HEALTH_SERVICE,
    REFLECTION_SERVICES,
    SERVICE_INFO,
    TEST_SERVICE,
    WRONG,
    GrpcServerSpec,
    Listener,
)
from orchestrator.testbed.process import ServerProcess, free_ports, spawn
from probes.model import Target
from protos.grpc.reflection.v1 import reflection_pb2 as v1_pb2
from protos.grpc.reflection.v1 import reflection_pb2_grpc as v1_pb2_grpc
from protos.spbe.interop.v1 import service_info_pb2, service_info_pb2_grpc

# -- the services ------------------------------------------------------------


class ListingHealthServicer(HealthServicer):
    """The reference async health servicer, plus ``List`` when asked to have it."""

    def __init__(self, with_list: bool) -> None:
        super().__init__()
        self._with_list = with_list

    async def List(  # gRPC method name
        self,
        request: health_pb2.HealthListRequest,
        context: grpc.aio.ServicerContext[health_pb2.HealthListRequest, health_pb2.HealthListResponse],
    ) -> health_pb2.HealthListResponse:
        if not self._with_list:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        statuses = {
            name: health_pb2.HealthCheckResponse(status=status)
            for name, status in self._server_status.items()
        }
        return health_pb2.HealthListResponse(statuses=statuses)


class ServiceInfoServicer(service_info_pb2_grpc.ServiceInfoServicer):
    def __init__(self, response: service_info_pb2.DescribeResponse) -> None:
        self._response = response

    async def Describe(  # gRPC method name
        self,
        request: service_info_pb2.DescribeRequest,
        context: grpc.aio.ServicerContext[
            service_info_pb2.DescribeRequest, service_info_pb2.DescribeResponse
        ],
    ) -> service_info_pb2.DescribeResponse:
        return self._response


class ReflectionV1Servicer(v1_pb2_grpc.ServerReflectionServicer):
    """Reflection v1, answered by the reference v1alpha servicer.

    The two APIs have the same messages field for field, so each request is
    re-read as v1alpha and each answer re-read as v1.
    """

    def __init__(self, service_names: Sequence[str]) -> None:
        self._v1alpha = reflection_v1alpha.aio.ReflectionServicer(service_names)

    async def ServerReflectionInfo(  # gRPC method name
        self,
        request_iterator: AsyncIterator[v1_pb2.ServerReflectionRequest],
        context: grpc.aio.ServicerContext[v1_pb2.ServerReflectionRequest, v1_pb2.ServerReflectionResponse],
    ) -> AsyncIterator[v1_pb2.ServerReflectionResponse]:
        async def as_v1alpha() -> AsyncIterator[v1alpha_pb2.ServerReflectionRequest]:
            async for request in request_iterator:
                yield v1alpha_pb2.ServerReflectionRequest.FromString(request.SerializeToString())

        async for response in self._v1alpha.ServerReflectionInfo(as_v1alpha(), context):
            yield v1_pb2.ServerReflectionResponse.FromString(response.SerializeToString())


class CatchAllHandler(grpc.GenericRpcHandler):
    """Answers any method nobody else serves with an empty OK: a misrouting gateway."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[bytes, bytes]:
        async def answer(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return b""

        return grpc.unary_unary_rpc_method_handler(answer)


DECLARED_METHOD = "Ping"
# Services this module serves with real descriptors (imported lazily): never made up.
OWN_SERVICES = frozenset({HEALTH_SERVICE, SERVICE_INFO, TEST_SERVICE, *REFLECTION_SERVICES.values()})


def describe_declared_service(service: str) -> bool:
    """Put a descriptor for ``service`` in the default pool unless it has one; True if it was made up.

    An inventory's declared services (``spbe.aset.v1.AsetService``) have no
    generated code here; a file with one ``Ping`` method of empty messages
    lets reflection resolve them like real ones.
    """
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(service)
        return False
    except KeyError:
        pass
    package, _, name = service.rpartition(".")
    prefix = f".{package}." if package else "."
    file = descriptor_pb2.FileDescriptorProto(
        name=f"spbe_testbed/{service.replace('.', '/')}.proto", package=package, syntax="proto3"
    )
    file.message_type.add(name=f"{name}PingRequest")
    file.message_type.add(name=f"{name}PingResponse")
    file.service.add(name=name).method.add(
        name=DECLARED_METHOD,
        input_type=f"{prefix}{name}PingRequest",
        output_type=f"{prefix}{name}PingResponse",
    )
    pool.AddSerializedFile(file.SerializeToString())
    return True


class DeclaredServicesHandler(grpc.GenericRpcHandler):
    """Serves ``Ping`` of each made-up declared service with an empty message."""

    def __init__(self, services: Sequence[str]) -> None:
        self._paths = {f"/{service}/{DECLARED_METHOD}" for service in services}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        if handler_call_details.method not in self._paths:
            return None

        async def ping(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return b""

        return grpc.unary_unary_rpc_method_handler(ping)


class MisbehaviourInterceptor(grpc.aio.ServerInterceptor):
    """A pause before every call, and faults replacing the handlers of some methods."""

    def __init__(self, delay_s: float, faults: dict[str, str]) -> None:
        self._delay_s = delay_s
        self._faults = faults

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if self._delay_s > 0:
            await asyncio.sleep(self._delay_s)
        fault = self._faults.get(handler_call_details.method)
        if fault is not None:
            return FAULT_HANDLERS[fault]
        return await continuation(handler_call_details)


# -- building and running ----------------------------------------------------


async def build_server(spec: GrpcServerSpec) -> grpc.aio.Server:
    """A server with the spec's services, listening on ``spec.ports`` (not started)."""
    misbehaving = spec.latency_s > 0 or spec.faults
    interceptors = [MisbehaviourInterceptor(spec.latency_s, dict(spec.faults))] if misbehaving else []
    server = grpc.aio.server(interceptors=interceptors)
    served: list[str] = []

    identity = spec.described_identity
    if identity is not None:
        service_info_pb2_grpc.add_ServiceInfoServicer_to_server(
            ServiceInfoServicer(
                service_info_pb2.DescribeResponse(
                    agency_code=identity[0],
                    application_id=identity[1],
                    service_version=spec.service_version,
                    contact=spec.contact,
                    declared_services=list(spec.application_services),
                )
            ),
            server,
        )
        served.append(SERVICE_INFO)
    if spec.test_service:
        # Written alongside this module; imported here so a server without
        # TestService does not need it.
        from orchestrator.testbed.interop_server import add_test_service
        from protos.grpc.testing import test_pb2  # noqa: F401 - puts TestService's descriptor in the pool

        add_test_service(server, frozenset(spec.broken_cases))
        served.append(TEST_SERVICE)

    status = HEALTH_MODES[spec.health]
    if status is not None:
        health = ListingHealthServicer(with_list=spec.health_list)
        for name in ("", *spec.application_services):
            await health.set(name, status)
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        served.append(HEALTH_SERVICE)

    served += [REFLECTION_SERVICES[api] for api in spec.reflection] + list(spec.unresolvable)
    if "v1alpha" in spec.reflection:
        reflection_v1alpha.enable_server_reflection(served, server)
    if "v1" in spec.reflection:
        v1_pb2_grpc.add_ServerReflectionServicer_to_server(ReflectionV1Servicer(served), server)

    if spec.catch_all:
        server.add_generic_rpc_handlers((CatchAllHandler(),))  # consulted after every real service

    credentials = None
    if spec.tls is not None:
        credentials = grpc.ssl_server_credentials([(spec.tls.key_pem, spec.tls.cert_pem)])
    for port in spec.ports:
        address = f"[{spec.host}]:{port}" if ":" in spec.host else f"{spec.host}:{port}"
        bound = (
            server.add_secure_port(address, credentials)
            if credentials is not None
            else server.add_insecure_port(address)
        )
        if bound == 0:
            raise RuntimeError(f"{spec.name}: cannot listen on {address}")
    return server


class HandlerRecorder:
    """Stands in for a server while services register: their handlers can then go to many servers.

    Only the generic handlers are kept; they serve every method, and
    registering methods per server would double what a server costs.
    """

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict) -> None:
        pass


def _reflection_handlers(apis: Sequence[str], names: list[str]) -> list[grpc.GenericRpcHandler]:
    recorder = HandlerRecorder()
    if "v1alpha" in apis:
        servicer = reflection_v1alpha.aio.ReflectionServicer(names)
        v1alpha_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, recorder)
    if "v1" in apis:
        v1_pb2_grpc.add_ServerReflectionServicer_to_server(ReflectionV1Servicer(names), recorder)
    return recorder.handlers


def _describe(spec: GrpcServerSpec, listener: Listener) -> service_info_pb2.DescribeResponse:
    identity = spec.described_identity
    if listener.identity is not None and spec.identity != WRONG:
        identity = listener.identity
    assert identity is not None
    return service_info_pb2.DescribeResponse(
        agency_code=identity[0],
        application_id=identity[1],
        service_version=spec.service_version,
        contact=spec.contact,
        declared_services=list(dict.fromkeys((*listener.services, *spec.application_services))),
    )


async def build_listener_servers(spec: GrpcServerSpec) -> list[grpc.aio.Server]:
    """One server per listener, answering as that listener's endpoint (not started).

    A server shared by many addresses cannot tell which one a call came to:
    grpcio shows a handler neither the local address nor ``:authority``. A
    server per address is cheap when the servers share their handlers (about
    0.4 ms and 13 KB each, measured; 1 ms and 50 KB when every server
    registers its own): TestService, health and declared services are built
    once per spec, reflection once per set of listed services, ServiceInfo
    once per listener.
    """
    misbehaving = spec.latency_s > 0 or spec.faults
    interceptors = [MisbehaviourInterceptor(spec.latency_s, dict(spec.faults))] if misbehaving else []
    shared = HandlerRecorder()
    served: list[str] = [SERVICE_INFO] if spec.identity is not None else []
    if spec.test_service:
        from orchestrator.testbed.interop_server import add_test_service
        from protos.grpc.testing import test_pb2  # noqa: F401 - puts TestService's descriptor in the pool

        add_test_service(shared, frozenset(spec.broken_cases))  # type: ignore[arg-type]
        served.append(TEST_SERVICE)
    declared = spec.listener_services
    made_up = [name for name in declared if name not in OWN_SERVICES and describe_declared_service(name)]
    if made_up:
        shared.add_generic_rpc_handlers((DeclaredServicesHandler(made_up),))
    status = HEALTH_MODES[spec.health]
    if status is not None:
        health = ListingHealthServicer(with_list=spec.health_list)
        for name in ("", *spec.application_services, *declared):
            await health.set(name, status)
        health_pb2_grpc.add_HealthServicer_to_server(health, shared)
        served.append(HEALTH_SERVICE)
    served += [REFLECTION_SERVICES[api] for api in spec.reflection] + list(spec.unresolvable)
    last = [CatchAllHandler()] if spec.catch_all else []  # consulted after every real service

    reflections: dict[tuple[str, ...], list[grpc.GenericRpcHandler]] = {}
    credentials: dict[Path, grpc.ServerCredentials] = {}
    servers = []
    for listener in spec.listeners:
        own = HandlerRecorder()
        if spec.identity is not None:
            servicer = ServiceInfoServicer(_describe(spec, listener))
            service_info_pb2_grpc.add_ServiceInfoServicer_to_server(servicer, own)
        extra = tuple(name for name in listener.services if name not in served)
        if extra not in reflections:
            reflections[extra] = _reflection_handlers(spec.reflection, [*served, *extra])
        server = grpc.aio.server(interceptors=interceptors)
        server.add_generic_rpc_handlers((*own.handlers, *shared.handlers, *reflections[extra], *last))
        tls = listener.tls or spec.tls
        if tls is None:
            bound = server.add_insecure_port(listener.address)
        else:
            if tls.cert_path not in credentials:
                credentials[tls.cert_path] = grpc.ssl_server_credentials([(tls.key_pem, tls.cert_pem)])
            bound = server.add_secure_port(listener.address, credentials[tls.cert_path])
        if bound == 0:
            raise RuntimeError(f"{spec.name}: cannot listen on {listener.address}")
        servers.append(server)
    return servers


async def serve(specs: Sequence[GrpcServerSpec], stop: asyncio.Event | None = None) -> None:
    """Run every spec until ``stop`` is set (or SIGTERM/SIGINT in the main thread)."""
    stop = stop or asyncio.Event()
    servers = [await build_server(spec) for spec in specs if spec.ports or not spec.listeners]
    for spec in specs:
        servers += await build_listener_servers(spec)
    for server in servers:
        await server.start()
    print(f"serving {len(servers)} gRPC server(s)", flush=True)
    try:
        await stop.wait()
    finally:
        await asyncio.gather(*(server.stop(grace=0) for server in servers))


# -- the process -------------------------------------------------------------


@dataclass
class RunningGrpcServers:
    """The process hosting some specs, with the ports each one got."""

    process: ServerProcess
    specs: dict[str, GrpcServerSpec] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def port(self, name: str) -> int:
        return self.specs[name].ports[0]

    def target(self, name: str, scheme: str | None = None, **fields: Any) -> Target:
        """A Target for spec ``name``: grpcs when it has TLS, with its CA bundle."""
        spec = self.specs[name]
        tls = spec.tls is not None if scheme is None else scheme == "grpcs"
        defaults: dict[str, Any] = {
            "scheme": "grpcs" if tls else "grpc",
            "host": spec.host,
            "port": spec.ports[0],
        }
        if tls and spec.tls is not None:
            defaults["ca_file"] = str(spec.tls.ca_path)
        return Target(**{**defaults, **fields})

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> RunningGrpcServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _place(specs: Sequence[GrpcServerSpec]) -> list[GrpcServerSpec]:
    """Give every spec without an address a free port of its host, distinct
    from each other and from the ports other specs already name."""
    taken = {(spec.host, port) for spec in specs for port in spec.ports}
    taken |= {(listener.host, listener.port) for spec in specs for listener in spec.listeners}
    unplaced = [spec for spec in specs if not (spec.ports or spec.listeners)]
    spare: dict[str, list[int]] = {}
    for host in {spec.host for spec in unplaced}:
        wanted = sum(spec.host == host for spec in unplaced)
        reserve = sum(taken_host == host for taken_host, _ in taken)
        spare[host] = [port for port in free_ports(wanted + reserve, host) if (host, port) not in taken]
    return [
        spec if spec.ports or spec.listeners else replace(spec, ports=(spare[spec.host].pop(),))
        for spec in specs
    ]


def start_grpc_servers(
    specs: Sequence[GrpcServerSpec], workdir: Path, name: str = "grpc-servers", timeout_s: float = 20.0
) -> RunningGrpcServers:
    """Start one process serving every spec; return once every port answers."""
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError("spec names must be unique within one process")
    placed = _place(specs)
    workdir.mkdir(parents=True, exist_ok=True)
    spec_file = workdir / f"{name}.json"
    spec_file.write_text(json.dumps([spec.to_dict() for spec in placed]))
    addresses = [(spec.host, port) for spec in placed for port in spec.ports]
    addresses += [(listener.host, listener.port) for spec in placed for listener in spec.listeners]
    argv = [sys.executable, "-m", "orchestrator.testbed.grpc_server", str(spec_file)]
    process = spawn(name, argv, *addresses[0], workdir, timeout_s, also=addresses[1:])
    return RunningGrpcServers(process, {spec.name: spec for spec in placed})


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m orchestrator.testbed.grpc_server SPECS.json", file=sys.stderr)
        return 2
    specs = [GrpcServerSpec.from_dict(item) for item in json.loads(Path(argv[0]).read_text())]

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(specs, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
