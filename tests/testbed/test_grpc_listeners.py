"""GrpcServerSpec listeners: many endpoints, one spec, each answering as itself."""

from __future__ import annotations

from pathlib import Path

from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec, Listener
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.process import free_port
from probes.model import Target
from tests.testbed.conftest import probe_all, result, statuses


def test_a_spec_with_listeners_survives_its_json_round_trip(tmp_path: Path):
    issued = TestCA(tmp_path).issue("a.testbed.localhost", dns_names=("a.testbed.localhost",))
    spec = GrpcServerSpec(
        "conformant",
        latency_s=0.2,
        listeners=(
            Listener("127.1.0.1", 20000, ("32.73", "bdg-1"), ("spbe.aset.v1.AsetService",), issued),
            Listener("127.1.1.1", 20000),
        ),
    )

    again = GrpcServerSpec.from_dict(spec.to_dict())

    assert again == spec
    assert spec.listener_services == ("spbe.aset.v1.AsetService",)


def test_each_listener_answers_with_its_own_identity_and_services(tmp_path: Path):
    port = free_port("127.250.9.1")
    declared = ("spbe.aset.v1.AsetService",)
    spec = GrpcServerSpec(
        "conformant",
        listeners=(
            Listener("127.250.9.1", port, ("32.73", "bdg-aset"), declared),
            Listener("127.250.9.2", port, ("KEMENKES", "kes-1"), ("grpc.testing.TestService",)),
        ),
    )
    targets = [
        Target("grpc", "127.250.9.1", port, services=declared, agency="32.73", application="bdg-aset"),
        Target(
            "grpc",
            "127.250.9.2",
            port,
            services=("grpc.testing.TestService",),
            agency="KEMENKES",
            application="kes-1",
        ),
    ]
    checks = ["GRPC-IDEN-002", "GRPC-IDEN-003", "GRPC-HLTH-002", "GRPC-REFL-002", "GRPC-REFL-003"]

    with start_grpc_servers([spec], tmp_path):
        reports = probe_all(targets, checks)

    assert [statuses(r) for r in reports] == [dict.fromkeys(checks, "pass")] * 2
    listed = [result(r, "GRPC-REFL-002").evidence["observed"] for r in reports]
    assert "spbe.aset.v1.AsetService" in listed[0] and "spbe.aset.v1.AsetService" not in listed[1]
    described = [result(r, "GRPC-IDEN-002").evidence["observed"]["application_id"] for r in reports]
    assert described == ["bdg-aset", "kes-1"]
