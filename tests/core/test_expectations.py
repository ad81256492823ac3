"""Skips for a missing expectation: neutral and named in a probe, explained per source by the orchestrator."""

from __future__ import annotations

import asyncio

import pytest

from orchestrator.expectations import (
    COMMAND_LINE,
    GATE_COMMAND_LINE,
    INVENTORY,
    PYTEST,
    WHERE_GIVEN,
    explain_missing,
)
from probes.errors import MissingExpectation
from probes.facts import Facts
from probes.model import EXPECTATIONS, MISSING_EXPECTATION, CheckResult, ProbeReport, Severity, Status, Target
from probes.runner import CheckSettings, run_probe


def test_every_source_says_where_every_expectation_is_given():
    assert set(WHERE_GIVEN) == {COMMAND_LINE, GATE_COMMAND_LINE, PYTEST, INVENTORY}
    for source, hints in WHERE_GIVEN.items():
        assert hints.keys() == EXPECTATIONS.keys(), source
    assert all("the inventory" in hint for hint in WHERE_GIVEN[INVENTORY].values())
    for source in (COMMAND_LINE, GATE_COMMAND_LINE, PYTEST):  # no inventory was given: options name the way
        assert all("the inventory" not in hint and "--" in hint for hint in WHERE_GIVEN[source].values())
    assert all("--interop-" in hint for hint in WHERE_GIVEN[PYTEST].values())


def test_a_missing_expectation_fact_skips_with_its_neutral_reason_every_time():
    facts = Facts()
    facts.missing_expectation("ssh.pins", "pins")
    for _ in range(2):
        with pytest.raises(MissingExpectation) as caught:
            facts["ssh.pins"]
        assert (caught.value.expectation, str(caught.value)) == ("pins", "no host key pinned")
    with pytest.raises(ValueError, match="unknown expectation"):
        MissingExpectation("colour")


def _probe_without_pins(port: int) -> ProbeReport:
    selection = {
        "SSH-HKEY-003": CheckSettings(Severity.CRITICAL, {"unpinned_extra_keys": "warn"}),
        "SSH-CONF-001": CheckSettings(Severity.HIGH, {}),
    }
    return asyncio.run(run_probe(Target("ssh", "127.0.0.1", port), selection))


def test_the_probe_is_neutral_and_each_source_names_its_own_place(hardened_sshd):
    report = _probe_without_pins(hardened_sshd.port)
    by_id = {r.check_id: r for r in report.results}
    assert (by_id["SSH-HKEY-003"].status, by_id["SSH-HKEY-003"].reason) == (Status.SKIP, "no host key pinned")
    assert by_id["SSH-HKEY-003"].evidence == {MISSING_EXPECTATION: "pins"}
    assert by_id["SSH-CONF-001"].evidence == {MISSING_EXPECTATION: "credentials"}

    explain_missing(report, COMMAND_LINE)
    explain_missing(report, COMMAND_LINE)  # twice: the same sentence, not one appended to the other
    assert by_id["SSH-HKEY-003"].reason == "no host key pinned: give --pin or --known-hosts"
    assert by_id["SSH-CONF-001"].reason == (
        "no credentials configured: give --user with --key or --password-env"
    )

    explain_missing(report, INVENTORY)
    assert by_id["SSH-HKEY-003"].reason == (
        "no host key pinned: the inventory gives no pins: for this endpoint"
    )


def test_other_results_are_left_alone():
    others = [
        CheckResult(
            "GRPC-HLTH-004", Status.SKIP, Severity.LOW, "Health.List is not implemented (it is optional)"
        ),
        # A failed check whose evidence happens to carry the key is not a skip for a missing expectation.
        CheckResult(
            "SSH-HKEY-003",
            Status.FAIL,
            Severity.CRITICAL,
            "no offered host key matches a pin",
            {MISSING_EXPECTATION: "pins"},
        ),
    ]
    report = ProbeReport("ssh://127.0.0.1:22", [*others], 0.0)
    before = [result.reason for result in report.results]
    explain_missing(report, COMMAND_LINE)
    assert [result.reason for result in report.results] == before
