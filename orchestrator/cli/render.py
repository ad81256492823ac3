"""Terminal and JSON renderings of a single-target check.

Strings that came from a server (banners, reasons quoting it) are printed
as plain text, never interpreted as Rich markup.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.outcome import exit_code, exit_explanation, status_counts
from orchestrator.profiles import Profile
from probes import registry
from probes.model import ProbeReport, Severity, Status

STATUS_STYLES = {
    Status.PASS: "green",
    Status.FAIL: "bold red",
    Status.WARN: "yellow",
    Status.ERROR: "magenta",
    Status.SKIP: "dim",
    Status.WAIVED: "cyan",
}


def print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(
    console: Console, report: ProbeReport, profile: Profile, fail_on: Severity, verbose: bool = False
) -> None:
    """Findings first; ``skip`` rows folded into one line per reason unless ``verbose``.

    The table shows each check's one-sentence reason; the structured evidence
    (observed, expected) is in the JSON report.
    """
    checks = registry.checks()
    console.print(
        Text.assemble(
            ("target ", "bold"),
            report.target,
            ("  profile ", "bold"),
            profile.name,
            ("  fail-on ", "bold"),
            fail_on.value,
            ("  took ", "bold"),
            f"{report.duration_s:.2f} s",
        )
    )
    if report.unreachable:
        console.print(Text(f"unreachable: {report.unreachable}", style="bold magenta"))
    table = Table(header_style="bold")
    for column in ("status", "check", "severity"):
        table.add_column(column, no_wrap=True)
    table.add_column("title", ratio=2, overflow="fold")
    table.add_column("reason", ratio=3, overflow="fold")
    order = {
        Status.FAIL: 0,
        Status.ERROR: 1,
        Status.WARN: 2,
        Status.PASS: 3,
        Status.SKIP: 4,
        Status.WAIVED: 5,
    }
    skipped: dict[str, list[str]] = {}
    for result in sorted(report.results, key=lambda r: (order[r.status], -r.severity.rank, r.check_id)):
        if result.status is Status.SKIP and not verbose:
            skipped.setdefault(result.reason, []).append(result.check_id)
            continue
        table.add_row(
            Text(result.status.value, style=STATUS_STYLES[result.status]),
            Text(result.check_id),
            Text(result.severity.value),
            Text(checks[result.check_id].title),
            Text(result.reason),
        )
    console.print(table)
    for reason, check_ids in skipped.items():
        console.print(Text(f"skipped {len(check_ids)} ({reason}): {', '.join(check_ids)}", style="dim"))
    counts = status_counts(report.results)
    summary = "  ".join(f"{name} {count}" for name, count in counts.items() if count)
    code = exit_code(report, fail_on)
    # One line, never folded: CI logs and scripts read the verdict from it.
    verdict = f"{summary}  →  exit {code} ({exit_explanation(report, fail_on)})"
    console.print(Text(verdict, style="bold"), soft_wrap=True)
