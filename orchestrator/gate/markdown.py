"""The gate's Markdown: a CI job summary (``$GITHUB_STEP_SUMMARY``) that says what failed and how to fix it.

The verdict first (exit code and why), a row per target, then what blocks
the gate (fail and error at or above ``--fail-on``) with each check's
remediation once, what is below the threshold, what was waived and which
waivers expired. Server text goes through the sweep summary's ``cell``:
one line, clipped, no markup or HTML can get through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from orchestrator.gate.document import findings_of
from orchestrator.gate.run import GateRun, TargetOutcome
from orchestrator.outcome import EXIT_CODES, EXIT_OK, status_counts
from orchestrator.reports.markdown import cell
from probes.model import Severity, Status

VERDICT_MARKS = {EXIT_OK: "✅"}  # every other exit code: ❌
COUNTED = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP, Status.WAIVED)
NOTED = frozenset({Status.FAIL.value, Status.WARN.value, Status.ERROR.value})
ROW_LIMIT = 100  # findings listed per section; the JSON, JUnit and SARIF files hold them all


def _table(out: TextIO, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    header = list(header)
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "---|" * len(header) + "\n")
    for row in rows:
        out.write("| " + " | ".join(cell(value) for value in row) + " |\n")
    out.write("\n")


def _findings_section(out: TextIO, title: str, rows: list[dict[str, Any]], *, fixes: bool) -> None:
    if not rows:
        return
    out.write(f"### {title} ({len(rows)})\n\n")
    _table(
        out,
        ("Target", "Check", "Severity", "Status", "Reason"),
        (
            (f["url"], f"{f['check_id']} {f['title']}", f["severity"], f["status"], f["reason"])
            for f in rows[:ROW_LIMIT]
        ),
    )
    if len(rows) > ROW_LIMIT:
        out.write(f"… and {len(rows) - ROW_LIMIT} more (see the JSON, JUnit or SARIF file).\n\n")
    if fixes:
        out.write("**How to fix**\n\n")
        remedies: dict[str, dict[str, Any]] = {}
        for finding in rows:
            remedies.setdefault(finding["check_id"], finding)
        for check_id, finding in remedies.items():
            out.write(
                f"- **{check_id}** {cell(finding['title'], None)}: {cell(finding['remediation'], None)}\n"
            )
        out.write("\n")


def _target_row(outcome: TargetOutcome, fail_on: Severity) -> tuple[Any, ...]:
    code = outcome.exit_code(fail_on)
    counts = status_counts(outcome.report.results)
    verdict = f"{EXIT_CODES[code][0]} (exit {code})"
    return (outcome.report.target, verdict, *(counts[status.value] for status in COUNTED))


def write_markdown(run: GateRun, out: TextIO) -> None:
    code = run.exit_code
    fail_on = run.fail_on
    out.write(
        f"## {VERDICT_MARKS.get(code, '❌')} spbe-interop gate: {EXIT_CODES[code][0]} (exit {code})\n\n"
    )
    out.write(f"{cell(run.explanation(), None)}.\n\n")
    out.write(
        f"Profile `{run.profile.name}` ({run.profile.digest}), fail on **{fail_on.value}** and above, "
        f"{len(run.outcomes)} target{'' if len(run.outcomes) == 1 else 's'}, {run.duration_s:.1f} s.\n\n"
    )
    _table(
        out,
        ("Target", "Verdict", *(status.value for status in COUNTED)),
        (_target_row(outcome, fail_on) for outcome in run.outcomes),
    )
    unreachable = [o.report for o in run.outcomes if o.report.unreachable]
    if unreachable:
        out.write("### Unreachable\n\n")
        _table(out, ("Target", "Reason"), ((r.target, r.unreachable) for r in unreachable))

    rows = [f for outcome in run.outcomes for f in findings_of(outcome)]
    rows.sort(key=lambda f: (-Severity(f["severity"]).rank, f["check_id"], f["url"]))

    def blocking(finding: dict[str, Any], status: Status) -> bool:
        return finding["status"] == status.value and Severity(finding["severity"]).rank >= fail_on.rank

    failed = [f for f in rows if blocking(f, Status.FAIL)]
    unknown = [f for f in rows if blocking(f, Status.ERROR)]
    below = [
        f
        for f in rows
        if f["status"] in NOTED and not (blocking(f, Status.FAIL) or blocking(f, Status.ERROR))
    ]
    _findings_section(out, "Failed: blocks the gate", failed, fixes=True)
    _findings_section(out, "Could not be determined: blocks the gate", unknown, fixes=False)
    _findings_section(out, f"Below {fail_on.value}, or warnings: do not block", below, fixes=True)
    waived = [f for f in rows if f["status"] == Status.WAIVED.value]
    if waived:
        out.write(f"### Waived ({len(waived)})\n\n")
        _table(
            out,
            ("Target", "Check", "Waiver", "Expires", "Justification"),
            (
                (
                    f["url"],
                    f["check_id"],
                    f["waiver"]["id"],
                    f["waiver"]["expires"],
                    f["waiver"]["justification"],
                )
                for f in waived[:ROW_LIMIT]
            ),
        )
    if run.waivers is not None:
        expired = run.waivers.report()["expired"]
        if expired:
            out.write(f"### Expired waivers: they waive nothing ({len(expired)})\n\n")
            _table(
                out,
                ("Waiver", "Check", "Expired", "Results it would cover"),
                ((w["id"], w["check"], w["expires"], w["results"]) for w in expired),
            )
