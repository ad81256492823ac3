"""Hosts with addresses of their own: the testbed in network namespaces, probed from inside."""

from __future__ import annotations

from pathlib import Path

from orchestrator.processes import alive as _alive
from orchestrator.testbed import netns
from orchestrator.testbed.fleet import start_fleet
from orchestrator.testbed.ledger import existing_namespaces
from tests.testbed.conftest import probe_inside

# Two hosts with the same ports: only their addresses tell them apart.
TWO_HOSTS = """\
version: 1
scope: {networks: [10.250.0.0/16]}
agencies:
  - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}
  - {code: KEMENKES, name: Kementerian Kesehatan, level: pusat, province: "31"}
applications:
  - id: bdg-sikd
    name: SIKD Kota Bandung
    agency: "32.73"
    endpoints:
      - url: grpc://10.250.0.1:20000
        services: [spbe.persuratan.v1.PersuratanService]
        tags: [testbed=conformant]
      - {url: "ssh://10.250.0.1:10000", tags: [testbed=hardened]}
  - id: kes-satusehat
    name: SatuSehat
    agency: KEMENKES
    endpoints:
      - url: grpc://10.250.0.2:20000
        services: [spbe.kesehatan.v1.KesehatanService]
        tags: [testbed=conformant]
      - {url: "ssh://10.250.0.2:10000", tags: [testbed=legacy]}
"""


def test_hosts_in_their_own_namespaces_answer_on_their_own_addresses(tmp_path: Path, key_dir: Path):
    inventory = tmp_path / "two-hosts.yaml"
    inventory.write_text(TWO_HOSTS)
    root_routes_before = netns.routes()

    with start_fleet(inventory, tmp_path / "work", key_dir=key_dir, use_netns=True) as fleet:
        topology = fleet.topology
        refs = fleet.endpoints()
        assert set(topology.namespaces) <= existing_namespaces()
        # Each server runs in its host's namespace.
        for process in fleet.processes:
            assert process.namespace == topology.namespace_of(process.addresses[0][0])

        # The declared services have no generated code: the servers make their descriptors up.
        grpc_checks = ["GRPC-IDEN-002", "GRPC-IDEN-003", "GRPC-HLTH-002", "GRPC-REFL-002", "GRPC-REFL-003"]
        got = probe_inside(fleet, refs, [*grpc_checks, "SSH-KEX-001"])

        assert got == {
            "grpc://10.250.0.1:20000": dict.fromkeys(grpc_checks, "pass"),
            "grpc://10.250.0.2:20000": dict.fromkeys(grpc_checks, "pass"),
            "ssh://10.250.0.1:10000": {"SSH-KEX-001": "pass"},
            "ssh://10.250.0.2:10000": {"SSH-KEX-001": "fail"},
        }
        # The addresses exist only inside: the root namespace got no route, the namespaces have no way out.
        assert netns.routes() == root_routes_before
        assert not [line for line in netns.routes() if line.startswith("10.250.")]
        assert netns.routes(topology.probe) == [
            "10.250.0.0/16 dev eth0 proto kernel scope link src 10.250.255.254"
        ]
        for namespace in topology.hosts.values():
            assert not [line for line in netns.routes(namespace) if line.startswith("default")]
        pids = [process.pid for process in fleet.processes]

    assert not set(topology.namespaces) & existing_namespaces()
    assert not [pid for pid in pids if _alive(pid)]
