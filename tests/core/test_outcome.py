"""The exit-code contract as data (precedence, findings, undetermined) and the docs that list it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.outcome import (
    EXIT_CODES,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNDETERMINED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    PRECEDENCE,
    exit_code,
    exit_explanation,
    undetermined,
    worst,
)
from probes.model import CheckResult, ProbeReport, Severity, Status


def report(*results: tuple[Status, Severity], unreachable: str | None = None) -> ProbeReport:
    return ProbeReport(
        target="ssh://127.0.0.1:22",
        results=[CheckResult(f"X-{i:03d}", status, severity) for i, (status, severity) in enumerate(results)],
        duration_s=0.0,
        unreachable=unreachable,
    )


def test_precedence_is_usage_unreachable_findings_undetermined_ok():
    assert PRECEDENCE == (2, 3, 1, 4, 0)
    assert set(PRECEDENCE) == set(EXIT_CODES)
    assert worst([0, 4, 1]) == 1
    assert worst([4, 0]) == 4
    assert worst([1, 3]) == 3
    assert worst([3, 2, 1]) == 2
    assert worst([]) == EXIT_OK


@given(st.lists(st.sampled_from(PRECEDENCE)), st.lists(st.sampled_from(PRECEDENCE)))
def test_worst_combines_like_a_gate_over_many_targets(left, right):
    # Order and grouping do not matter: worst over all == worst of the worsts.
    assert worst(left + right) == worst([worst(left), worst(right)]) == worst(reversed(right + left))
    assert worst(left) in left or (not left and worst(left) == EXIT_OK)


def test_errors_at_or_above_the_threshold_are_undetermined():
    every_check_errored = report((Status.ERROR, Severity.HIGH), (Status.SKIP, Severity.HIGH))
    assert exit_code(every_check_errored, Severity.HIGH) == EXIT_UNDETERMINED
    assert exit_explanation(every_check_errored, Severity.HIGH) == (
        "undetermined: 1 check at or above high could not be determined"
    )
    # Below the threshold an error does not stop a green: the gate asked nothing of it.
    assert exit_code(every_check_errored, Severity.CRITICAL) == EXIT_OK


def test_a_finding_outranks_what_could_not_be_determined():
    mixed = report(
        (Status.FAIL, Severity.HIGH), (Status.ERROR, Severity.CRITICAL), (Status.ERROR, Severity.HIGH)
    )
    assert exit_code(mixed, Severity.HIGH) == EXIT_FINDINGS
    assert exit_explanation(mixed, Severity.HIGH) == (
        "findings: 1 check failed at or above high; 2 more could not be determined"
    )
    assert exit_code(mixed, Severity.CRITICAL) == EXIT_UNDETERMINED


def test_unreachable_outranks_everything_a_probe_can_find():
    nothing_answered = report((Status.ERROR, Severity.HIGH), unreachable="127.0.0.1:1: connection refused")
    assert exit_code(nothing_answered, Severity.HIGH) == EXIT_UNREACHABLE
    assert exit_explanation(nothing_answered, Severity.HIGH) == "unreachable: 127.0.0.1:1: connection refused"
    assert EXIT_USAGE not in {exit_code(nothing_answered, severity) for severity in Severity}


def test_determined_statuses_make_a_green():
    determined = report(
        (Status.PASS, Severity.CRITICAL),
        (Status.WARN, Severity.HIGH),
        (Status.SKIP, Severity.HIGH),
        (Status.WAIVED, Severity.CRITICAL),
        (Status.FAIL, Severity.MEDIUM),
    )
    assert exit_code(determined, Severity.HIGH) == EXIT_OK
    assert exit_explanation(determined, Severity.HIGH) == "conformant"


statuses = st.sampled_from(list(Status))
severities = st.sampled_from(list(Severity))


@given(st.lists(st.tuples(statuses, severities)), severities)
def test_exit_0_only_when_everything_at_or_above_the_threshold_was_determined(results, fail_on):
    probed = report(*results)
    at_or_above = [status for status, severity in results if severity.rank >= fail_on.rank]
    code = exit_code(probed, fail_on)
    assert (code == EXIT_OK) == (Status.FAIL not in at_or_above and Status.ERROR not in at_or_above)
    assert (code == EXIT_FINDINGS) == (Status.FAIL in at_or_above)
    assert (code == EXIT_UNDETERMINED) == (Status.FAIL not in at_or_above and Status.ERROR in at_or_above)
    assert len(undetermined(probed.results, fail_on)) == at_or_above.count(Status.ERROR)


def test_the_docs_list_every_exit_code():
    root = Path(__file__).resolve().parents[2]
    ci, readme = (root / "docs" / "ci.md").read_text(), (root / "README.md").read_text()
    for code in EXIT_CODES:
        assert f"\n| {code} | " in ci, code
        assert f"**{code}**" in readme, code
    assert "undetermined" in ci and "undetermined" in readme
