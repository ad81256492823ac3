"""Which process serves which endpoint of a testbed fleet: the behaviour tables and the pure plan.

Each endpoint's ``testbed=<behaviour>`` tag (``orchestrator.inventory.synthetic``)
picks its server; untagged endpoints get the conformant gRPC server or an
sshd with OpenSSH's defaults.

gRPC: a handful of ``orchestrator.testbed.grpc_server`` processes, at most
``GRPC_LISTENERS_PER_PROCESS`` endpoints each (one FD per listener plus the
probes' connections, far below the 20,000 FDs a process may hold here). A
process hosts one spec per behaviour; each of a spec's ``Listener`` s is one
endpoint, with that endpoint's identity and declared services, served by a
small server of its own that shares the spec's handlers (grpcio does not
tell a handler which address was dialled). So ``ServiceInfo.Describe``
answers with the agency and application of the endpoint the client dialled
(``wrong-identity`` endpoints excepted), and the declared services are
served, healthy and reflected. ``grpc.testing.TestService`` (the interop
cases' surface) is served only where declared.

grpcs: a ``testbed-tls=<problem>`` tag (``TLS_PROBLEMS``) picks the
certificate an endpoint gets (expired, expiring, wrong name, self-signed,
RSA-1024), or, for ``tls1.0``, puts nginx in front: grpcio's BoringSSL
server cannot accept TLS 1.0, Debian's OpenSSL 3 can at ``@SECLEVEL=0``. The
gRPC listener then serves plaintext on ``port + LEGACY_BACKEND_OFFSET`` of
the same host, and nginx terminates TLS 1.0-1.3 on the endpoint's address
with ``grpc_pass`` to it, as an old terminator in front of an application.

SSH: OpenSSH listens on at most 16 sockets per sshd (``MAX_LISTEN_SOCKS``; a
17th ``ListenAddress`` is fatal) and Dropbear on at most 10 ``-p`` (an 11th
is silently ignored), so endpoints are grouped per behaviour into as many
processes as that takes.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.inventory import EndpointRef
from orchestrator.testbed import netns, sshd
from orchestrator.testbed.grpc_spec import TEST_SERVICE, WRONG, GrpcServerSpec, Listener
from orchestrator.testbed.pki import Issued

GRPC_LISTENERS_PER_PROCESS = 4_000
SLOW_LATENCY_S = 0.6  # over GRPC-LAT-001's default 500 ms threshold, under the probe's 5 s read timeout
TAG = "testbed"
DEFAULT_BEHAVIOUR = {"grpc": "conformant", "ssh": "default"}
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")

# gRPC behaviour -> GrpcServerSpec fields. ``latency_s`` here adds to the fleet's latency.
GRPC_BEHAVIOURS: dict[str, dict[str, Any]] = {
    "conformant": {},
    "no-reflection": {"reflection": ()},
    "no-health": {"health": "absent"},
    "not-serving": {"health": "not_serving"},
    "wrong-identity": {"identity": WRONG},
    "slow": {"latency_s": SLOW_LATENCY_S},
}


@dataclass(frozen=True)
class SshFlavour:
    server: str  # "openssh" or "dropbear"
    profile: str | None  # sshd.SSHD_PROFILES key (OpenSSH only)
    keys: tuple[tuple[str, int | None], ...]  # (type, bits) of the host keys


SSH_BEHAVIOURS: dict[str, SshFlavour] = {
    # Debian's install generates RSA, ECDSA and Ed25519 host keys.
    "default": SshFlavour("openssh", "default", (("ed25519", None), ("ecdsa", None), ("rsa", 3072))),
    "hardened": SshFlavour("openssh", "hardened", (("ed25519", None), ("rsa", 3072))),
    "legacy": SshFlavour("openssh", "legacy", (("ed25519", None), ("rsa", 2048), ("dsa", None))),
    "password": SshFlavour("openssh", "password", (("ed25519", None), ("rsa", 3072))),
    "dropbear": SshFlavour("dropbear", None, (("ed25519", None), ("rsa", 2048))),
}
KNOWN_BEHAVIOURS: dict[str, Mapping[str, object]] = {"grpc": GRPC_BEHAVIOURS, "ssh": SSH_BEHAVIOURS}

TLS_TAG = "testbed-tls"
VALID_TLS = "valid"
LEGACY_BACKEND_OFFSET = 10_000  # 20000-20024 -> 30000-30024: still below the ephemeral range


@dataclass(frozen=True)
class TlsProblem:
    """The certificate a grpcs endpoint gets, and whether an old terminator (nginx) serves its TLS."""

    not_before_days: int = -1
    not_after_days: int = 90
    wrong_name: bool = False
    self_signed: bool = False
    key: str = "ec256"  # a pki.KEY_FACTORIES name; BoringSSL serves RSA-1024 without complaint
    legacy_terminator: bool = False
    grpc_refused: bool = (
        False  # grpcio's verifying client refuses the connection: the gRPC checks end as errors
    )


# testbed-tls=<problem> -> how the testbed makes it; the verdict each one
# must produce is asserted in tests/testbed/test_tls_problems.py.
TLS_PROBLEMS: dict[str, TlsProblem] = {
    VALID_TLS: TlsProblem(),
    "expired": TlsProblem(not_before_days=-400, not_after_days=-5, grpc_refused=True),
    "expiring": TlsProblem(not_after_days=12),  # TLS-CERT-004 warns under 30 days
    "wrong-name": TlsProblem(wrong_name=True, grpc_refused=True),
    "self-signed": TlsProblem(self_signed=True, grpc_refused=True),
    "weak-key": TlsProblem(key="rsa1024"),
    "tls1.0": TlsProblem(legacy_terminator=True),
}
WRONG_NAME = "aplikasi-lain.testbed.localhost"  # what a wrong-name certificate names instead


class FleetError(RuntimeError):
    """The testbed cannot serve this inventory, or cannot start or clean up its servers."""


def behaviour_of(ref: EndpointRef) -> str:
    return ref.tag_value(TAG) or DEFAULT_BEHAVIOUR[ref.protocol]


def tls_problem_of(ref: EndpointRef) -> str:
    return ref.tag_value(TLS_TAG) or VALID_TLS


def behind_terminator(ref: EndpointRef) -> bool:
    return ref.scheme == "grpcs" and TLS_PROBLEMS[tls_problem_of(ref)].legacy_terminator


def grpc_address(ref: EndpointRef) -> tuple[str, int]:
    """Where the gRPC server listens for ``ref``: its own address, or the terminator's backend."""
    return (ref.host, ref.port + LEGACY_BACKEND_OFFSET) if behind_terminator(ref) else (ref.host, ref.port)


@dataclass(frozen=True)
class GrpcGroup:
    """The gRPC endpoints one server process serves."""

    name: str
    namespace: str | None
    endpoints: tuple[EndpointRef, ...]


@dataclass(frozen=True)
class TerminatorGroup:
    """The grpcs endpoints one nginx terminates TLS for (``grpc_address`` is each one's backend)."""

    name: str
    namespace: str | None
    endpoints: tuple[EndpointRef, ...]


@dataclass(frozen=True)
class SshGroup:
    """The addresses one sshd or dropbear process listens on, all with one behaviour."""

    name: str
    behaviour: str
    namespace: str | None
    addresses: tuple[tuple[str, int], ...]

    @property
    def flavour(self) -> SshFlavour:
        return SSH_BEHAVIOURS[self.behaviour]


@dataclass(frozen=True)
class FleetPlan:
    grpc: tuple[GrpcGroup, ...]
    ssh: tuple[SshGroup, ...]
    terminators: tuple[TerminatorGroup, ...] = ()

    def behaviours(self) -> dict[str, dict[str, int]]:
        """Endpoints per protocol and behaviour."""
        counts: dict[str, dict[str, int]] = {"grpc": {}, "ssh": {}}
        for group in self.grpc:
            for ref in group.endpoints:
                tls = f" (grpcs, {tls_problem_of(ref)})" if ref.scheme == "grpcs" else ""
                key = behaviour_of(ref) + tls
                counts["grpc"][key] = counts["grpc"].get(key, 0) + 1
        for ssh_group in self.ssh:
            behaviour = ssh_group.behaviour
            counts["ssh"][behaviour] = counts["ssh"].get(behaviour, 0) + len(ssh_group.addresses)
        return counts


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_endpoints(endpoints: Iterable[EndpointRef], use_netns: bool) -> None:
    """Refuse what the testbed must not serve: hosts outside loopback (or the netns range), unknown tags."""
    problems = []
    for ref in endpoints:
        behaviour = behaviour_of(ref)
        if behaviour not in KNOWN_BEHAVIOURS[ref.protocol]:
            known = ", ".join(KNOWN_BEHAVIOURS[ref.protocol])
            problems.append(f"{ref.url}: unknown {ref.protocol} behaviour {behaviour!r} (known: {known})")
        tls_problem = ref.tag_value(TLS_TAG)
        if tls_problem is not None and (ref.scheme != "grpcs" or tls_problem not in TLS_PROBLEMS):
            known = ", ".join(TLS_PROBLEMS)
            problems.append(f"{ref.url}: {TLS_TAG}={tls_problem} needs a grpcs endpoint and one of: {known}")
        elif tls_problem is not None and behind_terminator(ref) and ref.port + LEGACY_BACKEND_OFFSET > 65_535:
            problems.append(
                f"{ref.url}: no backend port {ref.port} + {LEGACY_BACKEND_OFFSET} for the terminator"
            )
        try:
            address = ipaddress.ip_address(ref.host)
        except ValueError:
            address = None
        allowed = netns.NETWORK if use_netns else LOOPBACK
        if not isinstance(address, ipaddress.IPv4Address) or address not in allowed:
            where = "the namespace range" if use_netns else "loopback"
            problems.append(f"{ref.url}: the testbed serves only IPv4 addresses in {allowed} ({where})")
    if problems:
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        shown = "\n  ".join(problems[:20]) + more
        raise FleetError(f"cannot serve this inventory:\n  {shown}")


def plan_fleet(
    endpoints: Sequence[EndpointRef],
    namespace_of: Callable[[str], str | None] = lambda host: None,
    grpc_per_process: int = GRPC_LISTENERS_PER_PROCESS,
) -> FleetPlan:
    """Which process serves which endpoint: gRPC in chunks, SSH per behaviour in chunks of its server's cap.

    In namespace mode a process lives in one namespace, so grouping starts by namespace.
    """
    grpc_by_ns: dict[str | None, list[EndpointRef]] = defaultdict(list)
    ssh_by_ns: dict[tuple[str | None, str], list[tuple[str, int]]] = defaultdict(list)
    for ref in endpoints:
        namespace = namespace_of(ref.host)
        if ref.protocol == "grpc":
            grpc_by_ns[namespace].append(ref)
        else:
            ssh_by_ns[(namespace, behaviour_of(ref))].append((ref.host, ref.port))
    grpc_groups: list[GrpcGroup] = []
    terminators: list[TerminatorGroup] = []
    for namespace, refs in grpc_by_ns.items():
        for chunk in _chunks(refs, grpc_per_process):
            grpc_groups.append(GrpcGroup(f"grpc-{len(grpc_groups)}", namespace, tuple(chunk)))
        legacy = tuple(ref for ref in refs if behind_terminator(ref))
        if legacy:  # one nginx per namespace serves them all: a few listeners each are cheap
            terminators.append(TerminatorGroup(f"nginx-{len(terminators)}", namespace, legacy))
    ssh_groups: list[SshGroup] = []
    for (namespace, behaviour), addresses in ssh_by_ns.items():
        flavour = SSH_BEHAVIOURS[behaviour]
        cap = sshd.OPENSSH_MAX_LISTEN if flavour.server == "openssh" else sshd.DROPBEAR_MAX_PORTS
        for chunk in _chunks(addresses, cap):
            kind = "sshd" if flavour.server == "openssh" else "dropbear"
            name = f"{kind}-{len(ssh_groups)}-{behaviour}"
            ssh_groups.append(SshGroup(name, behaviour, namespace, tuple(chunk)))
    return FleetPlan(tuple(grpc_groups), tuple(ssh_groups), tuple(terminators))


def certificate_key(ref: EndpointRef) -> tuple[str, str]:
    """Endpoints sharing a server name and a TLS problem share a certificate."""
    return ref.server_name or ref.host, tls_problem_of(ref)


def grpc_specs(
    group: GrpcGroup, latency_s: float, certificates: dict[tuple[str, str], Issued]
) -> list[GrpcServerSpec]:
    """One spec per behaviour in the group, listening on each endpoint's address as that endpoint.

    ``grpc.testing.TestService`` is served where the inventory declares it
    (a spec each for the endpoints with and without it): an interop pass costs
    both sides several times a probe without one, and real agency servers do
    not serve it unasked.
    """
    by_kind: dict[tuple[str, bool], list[Listener]] = defaultdict(list)
    for ref in group.endpoints:
        tls = (
            certificates[certificate_key(ref)]
            if ref.scheme == "grpcs" and not behind_terminator(ref)
            else None
        )
        host, port = grpc_address(ref)
        listener = Listener(
            host, port, identity=(ref.agency, ref.application), services=ref.services, tls=tls
        )
        by_kind[behaviour_of(ref), TEST_SERVICE in ref.services].append(listener)
    specs = []
    for (behaviour, test_service), listeners in by_kind.items():
        fields = dict(GRPC_BEHAVIOURS[behaviour])
        fields["latency_s"] = latency_s + fields.get("latency_s", 0.0)
        name = f"{behaviour}+interop" if test_service else behaviour
        specs.append(GrpcServerSpec(name, listeners=tuple(listeners), test_service=test_service, **fields))
    return specs
