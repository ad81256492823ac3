"""The interop checks: one per row of ``CASES``, comparing what was observed with what the case expects."""

from __future__ import annotations

from typing import Any

from probes import registry
from probes.errors import NotApplicable
from probes.facts import Facts
from probes.grpc.facts import INTEROP_SERVED
from probes.grpc.interop.cases import CASES, SPEC, Case, case_params
from probes.messages import Message, render
from probes.model import Status, Verdict

check = registry.family("grpc")

NOT_SERVED_MESSAGE = Message("interop.not_served")
NOT_SERVED = render(NOT_SERVED_MESSAGE, "en")


def judge(expected: dict[str, Any], observed: dict[str, Any]) -> Verdict:
    """Pass when every expected key was observed with its expected value."""
    mismatched = [key for key, value in expected.items() if observed.get(key) != value]
    if not mismatched:
        evidence = registry.evidence(observed, expected)
        return Verdict.of(Status.PASS, evidence, "interop.passed")
    reason = "; ".join(
        f"{key}: observed {observed.get(key)!r}, expected {expected[key]!r}" for key in mismatched
    )
    return Verdict(Status.FAIL, reason, registry.evidence(observed, expected, mismatched=mismatched))


def not_served(params: dict[str, Any]) -> Verdict:
    """An endpoint without the TestService: skip, unless the profile requires it."""
    if params.get("required", False):
        return Verdict(
            Status.FAIL,
            evidence=registry.evidence("EmptyCall answered UNIMPLEMENTED", "grpc.testing.TestService served"),
            message=NOT_SERVED_MESSAGE,
        )
    raise NotApplicable(message=NOT_SERVED_MESSAGE)


def evaluate(case: Case, facts: Facts, params: dict[str, Any]) -> Verdict:
    if not facts[INTEROP_SERVED]:
        return not_served(params)
    return judge(case.expected, facts[case.fact])


def _case_meta(case: Case) -> dict[str, Any]:
    return dict(
        id=case.check_id,
        title=f"gRPC interop {case.name}: {case.summary}",
        category="interop",
        severity=case.severity,
        rationale=(
            f"{case.why} {case.name} is one of the interop cases every official gRPC implementation "
            "is tested with, so a server that fails it breaks clients written in other languages."
        ),
        remediation=(
            f"Run the gRPC interop client's {case.name} case against the server, fix the handler of "
            "grpc.testing.TestService (or the proxy in front of it) until it passes."
        ),
        references=(f"{SPEC}#{case.name}",),
        facts=(INTEROP_SERVED, case.fact),
        params=case_params(case),
    )


registry.table(CASES, check=check, meta=_case_meta, evaluate=evaluate)
