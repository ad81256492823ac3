"""The probe gathers only what the selected checks read; the server spec survives its trip to the process."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.process import free_port
from probes import registry
from probes.facts import Facts, ProbeContext
from probes.grpc import gather as grpc_probe
from probes.model import Target
from probes.runner import CheckSettings, ProbeOptions, run_probe
from tests.grpc.conftest import UNHURRIED, registered


def run_only(target: Target, *check_ids: str):
    checks = registry.checks()
    selection = {
        check_id: CheckSettings(
            checks[check_id].severity, checks[check_id].params | UNHURRIED.get(check_id, {})
        )
        for check_id in check_ids
    }
    return asyncio.run(run_probe(target, selection, ProbeOptions(connect_timeout_s=5, read_timeout_s=5)))


def test_one_check_gathers_one_phase(plain_servers):
    report = run_only(registered(plain_servers, "conformant"), "GRPC-LAT-001")
    assert [(r.check_id, r.status.value) for r in report.results] == [("GRPC-LAT-001", "pass")]
    assert set(report.facts["grpc"]) == {"connection", "health", "health_latency_ms"}


def test_identity_alone(plain_servers):
    report = run_only(registered(plain_servers, "wrong_identity"), "GRPC-IDEN-002")
    assert [(r.check_id, r.status.value) for r in report.results] == [("GRPC-IDEN-002", "fail")]
    assert set(report.facts["grpc"]) == {"connection", "identity"}


def test_no_connection_when_none_of_its_facts_is_wanted():
    # A closed port: any connection attempt would raise Unreachable.
    target = Target("grpc", "127.0.0.1", free_port())
    context = ProbeContext(target=target, facts=Facts(), wanted=frozenset({"grpc.interop.someone_else"}))
    asyncio.run(grpc_probe.gather(context))
    assert context.facts.summary == {}


def test_spec_round_trips_through_json(tls_servers):
    spec = dataclasses.replace(
        tls_servers.specs["tls"],
        identity=("32", "sipd"),
        broken_cases=frozenset({"large_unary"}),
        faults=(("/grpc.health.v1.Health/Watch", "stall"),),
        unresolvable=("sikd.v1.Arsip",),
    )
    assert GrpcServerSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    "fields",
    [{"health": "sometimes"}, {"reflection": ("v2",)}, {"faults": (("/a/b", "explode"),)}],
)
def test_spec_rejects_unknown_behaviours(fields):
    with pytest.raises(ValueError, match=r"must be one of|unknown"):
        GrpcServerSpec("bad", **fields)
