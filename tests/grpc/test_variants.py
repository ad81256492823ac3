"""Exact verdicts of every gRPC check against each plaintext server variant."""

from __future__ import annotations

import dataclasses

import pytest

from tests.grpc.conftest import DECLARED, own_check_ids, probe, registered, statuses

PASS_ALL_BUT_PLAINTEXT = dict.fromkeys(own_check_ids(), "pass") | {"GRPC-TLS-001": "fail"}

# server variant, target fields differing from the registered default, verdicts differing from "all pass".
CASES = [
    ("conformant", {}, {}),
    ("v1alpha_only", {}, {"GRPC-REFL-004": "warn"}),
    (
        "no_health",
        {},
        {"GRPC-HLTH-001": "fail", "GRPC-HLTH-002": "fail", "GRPC-HLTH-003": "fail", "GRPC-HLTH-004": "skip"},
    ),
    (
        "not_serving",
        {},
        {"GRPC-HLTH-001": "fail", "GRPC-HLTH-002": "fail", "GRPC-HLTH-003": "fail", "GRPC-HLTH-004": "fail"},
    ),
    ("no_list", {}, {"GRPC-HLTH-004": "skip"}),
    (
        "no_reflection",
        {},
        {"GRPC-REFL-001": "fail", "GRPC-REFL-002": "skip", "GRPC-REFL-003": "skip", "GRPC-REFL-004": "skip"},
    ),
    ("wrong_identity", {}, {"GRPC-IDEN-002": "fail"}),
    # Agency right, application wrong: still a misregistration.
    ("conformant", {"application": "simpeg"}, {"GRPC-IDEN-002": "fail"}),
    # The inventory's spelling may differ in case and spaces.
    ("conformant", {"agency": " 32.73 ", "application": "SIKD"}, {}),
    ("no_identity", {}, {"GRPC-IDEN-001": "fail", "GRPC-IDEN-002": "fail", "GRPC-IDEN-003": "skip"}),
    ("incomplete_identity", {}, {"GRPC-IDEN-001": "warn"}),
    ("unresolvable", {}, {"GRPC-REFL-003": "fail"}),
    ("catch_all", {}, {"GRPC-UNIM-001": "fail", "GRPC-UNIM-002": "fail"}),
    # Nothing in the inventory to compare with: the comparisons do not apply.
    ("conformant", {"agency": None, "application": None}, {"GRPC-IDEN-002": "skip"}),
    (
        "conformant",
        {"services": ()},
        {"GRPC-HLTH-002": "skip", "GRPC-REFL-002": "skip", "GRPC-IDEN-003": "skip"},
    ),
    (
        "no_identity",
        {"agency": None, "application": None, "services": ()},
        {
            "GRPC-IDEN-001": "fail",
            "GRPC-IDEN-002": "skip",
            "GRPC-HLTH-002": "skip",
            "GRPC-REFL-002": "skip",
            "GRPC-IDEN-003": "skip",
        },
    ),
    # The inventory declares a service this endpoint does not serve.
    (
        "conformant",
        {"services": (*DECLARED, "sikd.v1.Surat")},
        {
            "GRPC-HLTH-002": "fail",
            "GRPC-HLTH-004": "fail",
            "GRPC-REFL-002": "fail",
            "GRPC-REFL-003": "fail",
            "GRPC-IDEN-003": "warn",
        },
    ),
]


@pytest.mark.parametrize(
    ("server", "fields", "expected"), CASES, ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)]
)
def test_verdicts(plain_servers, server, fields, expected):
    report = probe(registered(plain_servers, server, **fields))
    assert report.unreachable is None
    assert statuses(report) == PASS_ALL_BUT_PLAINTEXT | expected


def test_slow_server_warns_above_the_latency_threshold(plain_servers):
    target = registered(plain_servers, "slow")
    report = probe(target, params={"GRPC-LAT-001": {"threshold_ms": 50}})
    assert statuses(report) == PASS_ALL_BUT_PLAINTEXT | {"GRPC-LAT-001": "warn"}
    latency = next(r for r in report.results if r.check_id == "GRPC-LAT-001")
    # The server pauses 100 ms before every answer: each sample includes it.
    assert min(latency.evidence["samples_ms"]) >= 100
    assert latency.evidence["expected"] == "<= 50 ms"


def test_reasons_name_what_was_observed(plain_servers):
    report = probe(registered(plain_servers, "wrong_identity"))
    identity = next(r for r in report.results if r.check_id == "GRPC-IDEN-002")
    assert identity.evidence == {
        "observed": {"agency_code": "00.00", "application_id": "aplikasi-lain"},
        "expected": {"agency_code": "32.73", "application_id": "sikd"},
    }
    report = probe(registered(plain_servers, "no_health"))
    health = next(r for r in report.results if r.check_id == "GRPC-HLTH-001")
    assert "UNIMPLEMENTED" in health.reason and health.evidence["observed"] == "UNIMPLEMENTED"
    report = probe(registered(plain_servers, "catch_all"))
    unknown = next(r for r in report.results if r.check_id == "GRPC-UNIM-002")
    assert unknown.evidence["observed"] == "OK"


def test_summary_holds_what_was_observed(plain_servers):
    report = probe(registered(plain_servers, "conformant"))
    summary = report.facts["grpc"]
    assert summary["connection"] == "ready"
    assert summary["health"] == {"": "SERVING", "grpc.testing.TestService": "SERVING"}
    assert summary["reflection"]["api"] == "v1"
    assert summary["reflection"]["services"] == [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.testing.TestService",
        "spbe.interop.v1.ServiceInfo",
    ]
    assert summary["identity"] == {
        "agency_code": "32.73",
        "application_id": "sikd",
        "service_version": "1.0.0",
        "contact": "mailto:sre@example.go.id",
        "declared_services": ["spbe.interop.v1.ServiceInfo", "grpc.testing.TestService"],
    }
    assert summary["health_latency_ms"] > 0


def test_every_port_of_a_multi_port_server_answers(plain_servers):
    spec = plain_servers.specs["multi_port"]
    assert len(set(spec.ports)) == 3
    for port in spec.ports:
        report = probe(dataclasses.replace(registered(plain_servers, "multi_port"), port=port))
        assert statuses(report) == PASS_ALL_BUT_PLAINTEXT
