"""Where a user gives what a check compares a server with, per source of the target.

A probe that lacks an expectation (no pinned host key, no declared services
...) skips the check with a neutral reason and names the expectation in the
evidence (``probes.model.MISSING_EXPECTATION``); probes do not know whether
a command line or an inventory made the target. ``explain_missing`` adds
where that expectation is given, so ``check``/``gate`` say "give --pin or
--known-hosts" and a sweep names the inventory's field.
"""

from __future__ import annotations

from probes.model import EXPECTATIONS, MISSING_EXPECTATION, ProbeReport, Status

COMMAND_LINE = "command line"  # interop check, where --agency/--application give the identity
GATE_COMMAND_LINE = "gate command line"  # interop gate: there --agency chooses inventory endpoints
PYTEST = "pytest plugin"  # pytest --interop-target: check's options, spelt --interop-*
INVENTORY = "inventory"

# source -> expectation -> where it is given. Every source names every
# expectation of probes.model.EXPECTATIONS, the one map of their names
# (tests/core/test_expectations.py holds that).
WHERE_GIVEN: dict[str, dict[str, str]] = {
    COMMAND_LINE: {
        "pins": "give --pin or --known-hosts",
        "services": "give --service",
        "identity": "give --agency and --application",
        "credentials": "give --user with --key or --password-env",
    },
    GATE_COMMAND_LINE: {
        "pins": "give --pin or --known-hosts",
        "services": "give --service",
        "identity": "list the endpoint in an --inventory, under its agency and application",
        "credentials": "give --user with --key or --password-env",
    },
    INVENTORY: {
        "pins": "the inventory gives no pins: for this endpoint",
        "services": "the inventory gives no services: for this endpoint",
        "identity": "the inventory gives no agency: or application id for this endpoint",
        "credentials": "the inventory gives no credentials: for this endpoint",
    },
}

WHERE_GIVEN[PYTEST] = {
    name: hint.replace("--", "--interop-") for name, hint in WHERE_GIVEN[COMMAND_LINE].items()
}


def explain_missing(report: ProbeReport, source: str) -> None:
    """Rewrite, in place, each skip for a missing expectation to say where ``source`` gives it."""
    hints = WHERE_GIVEN[source]
    for result in report.results:
        expectation = result.evidence.get(MISSING_EXPECTATION)
        if result.status is Status.SKIP and expectation in hints:
            result.reason = f"{EXPECTATIONS[expectation]}: {hints[expectation]}"
