"""Test hosts with addresses of their own: network namespaces behind a private bridge.

Layout (``run`` is the fleet's run id, every name starts with ``spbe-``)::

    spbe-<run>-hub       a bridge br0; one veth end per host (v0, v1, …) and one for the probe (vp)
    spbe-<run>-h<i>      one per test host: eth0 = <its inventory address>/16, lo
    spbe-<run>-probe     eth0 = PROBE_ADDRESS/16: where probes run (``ip netns exec``)

Every link is created directly inside our namespaces (``ip -n <ns> link add …
peer … netns <ns>``), so the root namespace never gets an interface, an
address or a route. Addresses come from ``NETWORK`` (10.250.0.0/16), used
only inside these namespaces, none of which has a default route: a packet
for 10.250.x.y can only reach the bridge. The root namespace, by contrast,
has a default route on this machine, so nothing may dial these addresses
from there; ``exec_argv(topology.probe, argv)`` runs a probe inside.

Kept small on purpose (``MAX_HOSTS``): this demonstrates hosts with their own
addresses, while the national testbed lives on loopback aliases.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.testbed.ledger import IP, NAMESPACE_PREFIX

NETWORK = ipaddress.IPv4Network("10.250.0.0/16")
PROBE_ADDRESS = "10.250.255.254"
MAX_HOSTS = 32
BRIDGE = "br0"


class NetnsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Topology:
    run_id: str
    hub: str
    probe: str
    hosts: dict[str, str]  # address -> namespace

    @property
    def namespaces(self) -> list[str]:
        """Every namespace, in creation order."""
        return [self.hub, *self.hosts.values(), self.probe]

    def namespace_of(self, address: str) -> str:
        return self.hosts[address]


def plan(run_id: str, addresses: Sequence[str]) -> Topology:
    """Names for the hub, one namespace per address and the probe's; checks the addresses."""
    distinct = list(dict.fromkeys(addresses))
    if len(distinct) > MAX_HOSTS:
        raise NetnsError(f"{len(distinct)} hosts: namespace mode is for a few hosts (at most {MAX_HOSTS})")
    for address in distinct:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise NetnsError(f"{address!r} is not an IP address: namespace hosts need one") from None
        if (
            ip not in NETWORK
            or str(ip) == PROBE_ADDRESS
            or ip in (NETWORK.network_address, NETWORK.broadcast_address)
        ):
            raise NetnsError(
                f"{address} is not a host address of {NETWORK} (the range used only inside "
                f"the testbed's namespaces; {PROBE_ADDRESS} is the probe's)"
            )
    prefix = f"{NAMESPACE_PREFIX}{run_id}-"
    hosts = {address: f"{prefix}h{i}" for i, address in enumerate(distinct)}
    return Topology(run_id, prefix + "hub", prefix + "probe", hosts)


def exec_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside ``namespace`` (``ip netns exec`` execs it: the pid stays the same)."""
    return [IP, "netns", "exec", namespace, *argv]


def _ip(*args: str) -> None:
    result = subprocess.run([IP, *args], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")


def _attach(topology: Topology, index: str, namespace: str, address: str) -> None:
    """A veth pair: v<index> on the hub's bridge, eth0 with ``address`` in ``namespace``."""
    hub_end = f"v{index}"
    _ip(
        "-n", topology.hub, "link", "add", hub_end, "type", "veth", "peer", "name", "eth0", "netns", namespace
    )
    _ip("-n", topology.hub, "link", "set", hub_end, "master", BRIDGE, "up")
    _ip("-n", namespace, "addr", "add", f"{address}/{NETWORK.prefixlen}", "dev", "eth0")
    _ip("-n", namespace, "link", "set", "eth0", "up")
    _ip("-n", namespace, "link", "set", "lo", "up")


def create(topology: Topology, record: Callable[[str], None]) -> None:
    """Create every namespace and link; ``record(name)`` runs before each namespace exists."""
    record(topology.hub)
    _ip("netns", "add", topology.hub)
    _ip("-n", topology.hub, "link", "set", "lo", "up")
    _ip("-n", topology.hub, "link", "add", BRIDGE, "type", "bridge")
    _ip("-n", topology.hub, "link", "set", BRIDGE, "up")
    for i, (address, namespace) in enumerate(topology.hosts.items()):
        record(namespace)
        _ip("netns", "add", namespace)
        _attach(topology, str(i), namespace, address)
    record(topology.probe)
    _ip("netns", "add", topology.probe)
    _attach(topology, "p", topology.probe, PROBE_ADDRESS)


def routes(namespace: str | None = None) -> list[str]:
    """``ip -4 route`` of a namespace (the root namespace when None), one route per line."""
    argv = [IP, "-4", "route"] if namespace is None else [IP, "-n", namespace, "-4", "route"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def relocate(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of an inventory document whose hosts are moved into ``NETWORK``, in order of appearance.

    Host ``i`` becomes ``10.250.<i // 250>.<i % 250 + 1>``; ports, tags and
    everything else stay. Lets a small synthetic slice run in namespace mode.
    """
    mapping: dict[str, str] = {}
    applications = []
    for app in document["applications"]:
        endpoints = []
        for ep in app["endpoints"]:
            scheme, rest = ep["url"].split("://", 1)
            host, port = rest.rsplit(":", 1)
            if host not in mapping:
                i = len(mapping)
                mapping[host] = str(NETWORK.network_address + (i // 250) * 256 + i % 250 + 1)
            endpoints.append({**ep, "url": f"{scheme}://{mapping[host]}:{port}"})
        applications.append({**app, "endpoints": endpoints})
    scope = {**document["scope"], "networks": [str(NETWORK)]}
    return {**document, "scope": scope, "applications": applications}
