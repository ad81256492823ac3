"""What a probe report means for a gate: findings and the exit code.

Exit codes (the contract of ``check`` and ``gate``): 0 no finding at or
above the threshold, 1 findings, 2 usage or configuration error (raised
before anything runs), 3 target unreachable. A finding is a ``fail`` result
whose severity is at or above ``--fail-on``; ``warn`` is reported but never
fails a gate, and ``error`` is shown as undetermined, never as a pass.
"""

from __future__ import annotations

from collections import Counter

from probes.model import CheckResult, ProbeReport, Severity, Status

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def findings(results: list[CheckResult], fail_on: Severity) -> list[CheckResult]:
    return [r for r in results if r.status is Status.FAIL and r.severity.rank >= fail_on.rank]


def exit_code(report: ProbeReport, fail_on: Severity) -> int:
    if report.unreachable:
        return EXIT_UNREACHABLE
    return EXIT_FINDINGS if findings(report.results, fail_on) else EXIT_OK


def status_counts(results: list[CheckResult]) -> dict[str, int]:
    counts = Counter(r.status.value for r in results)
    return {status.value: counts.get(status.value, 0) for status in Status}
