"""The JSON documents of ``check`` and ``gate``, and the finding-shaped rows the other formats read.

``check_document`` (``spbe-interop/check/v1``) is one target;
``gate_document`` (``spbe-interop/gate/v1``) holds one entry per target in
``targets``, each the same shape as a check document's target part. Their
JSON Schemas are ``orchestrator/reports/schema/check-v1.schema.json`` and
``gate-v1.schema.json`` (``SCHEMA_FILES``). ``findings_of`` yields every
result as the sweep report's finding-shaped dict, so JUnit and SARIF render
a gate with the same code as a sweep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestrator import tool_version
from orchestrator.gate.run import GateRun, TargetOutcome
from orchestrator.outcome import EXIT_CODES, findings, status_counts, undetermined
from orchestrator.reports.model import OWNER_FIELDS, TOOL_NAME, finding_dict, waivers_dict
from probes import registry
from probes.model import CheckResult, Severity

CHECK_SCHEMA = "spbe-interop/check/v1"
GATE_SCHEMA = "spbe-interop/gate/v1"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "reports" / "schema"
SCHEMA_FILES = {
    CHECK_SCHEMA: SCHEMA_DIR / "check-v1.schema.json",
    GATE_SCHEMA: SCHEMA_DIR / "gate-v1.schema.json",
}


def findings_of(outcome: TargetOutcome) -> Iterator[dict[str, Any]]:
    """Every result of one target as a finding-shaped dict (``orchestrator.reports.model.finding_dict``)."""
    checks = registry.checks()
    meta = outcome.planned.meta
    for result in outcome.report.results:
        waived = outcome.waived.get(result.check_id)
        original = result if waived is None else dataclasses.replace(result, status=waived.original_status)
        yield finding_dict(
            meta,
            original,
            result.status,
            None if waived is None else waived.waiver,
            checks.get(result.check_id),
        )


def _tally(results: list[CheckResult], fail_on: Severity) -> dict[str, Any]:
    return {
        "summary": status_counts(results),
        "findings": len(findings(results, fail_on)),
        # Checks at or above fail_on that ended ``error``: exit 4 when there is no finding.
        "undetermined": len(undetermined(results, fail_on)),
    }


def target_dict(outcome: TargetOutcome, fail_on: Severity) -> dict[str, Any]:
    """One target's part of a check or gate document."""
    report = outcome.report
    meta = outcome.planned.meta
    keep = (
        "check_id",
        "title",
        "category",
        "status",
        "severity",
        "reason",
        "evidence",
        "remediation",
        "duration_s",
        "waiver",
    )
    return {
        "target": report.target,
        **{name: getattr(meta, name) for name in OWNER_FIELDS},
        "exit_code": outcome.exit_code(fail_on),
        "duration_s": round(report.duration_s, 3),
        "unreachable": report.unreachable,
        **_tally(report.results, fail_on),
        "results": [
            {**{key: finding[key] for key in keep}, "duration_s": round(finding["duration_s"], 6)}
            for finding in findings_of(outcome)
        ],
        "facts": report.facts,
    }


def _head(run: GateRun, schema: str) -> dict[str, Any]:
    return {
        "schema": schema,
        "tool": {"name": TOOL_NAME, "version": tool_version()},
        "profile": {"name": run.profile.name, "digest": run.profile.digest},
        "fail_on": run.fail_on.value,
        "started_at": run.started_at.isoformat(timespec="seconds"),
    }


def check_document(run: GateRun) -> dict[str, Any]:
    """The JSON of ``interop check``: one target."""
    (outcome,) = run.outcomes
    return {
        **_head(run, CHECK_SCHEMA),
        **target_dict(outcome, run.fail_on),
        "waivers": waivers_dict(run.waivers),
    }


def gate_document(run: GateRun) -> dict[str, Any]:
    """The JSON of ``interop gate``: the verdict over all targets, then each target."""
    code = run.exit_code
    return {
        **_head(run, GATE_SCHEMA),
        "exit_code": code,
        "verdict": EXIT_CODES[code][0],
        "explanation": run.explanation(),
        "duration_s": round(run.duration_s, 3),
        "targets_total": len(run.outcomes),
        "targets_by_exit_code": {
            str(code): sum(1 for o in run.outcomes if o.exit_code(run.fail_on) == code) for code in EXIT_CODES
        },
        **_tally(run.results, run.fail_on),
        "waivers": waivers_dict(run.waivers),
        "targets": [target_dict(outcome, run.fail_on) for outcome in run.outcomes],
    }
