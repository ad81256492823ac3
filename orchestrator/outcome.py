"""What a probe report means for a gate: findings, what is undetermined, and the exit code.

Exit codes (the contract of ``check`` and ``gate``) are the table ``EXIT_CODES``.
A finding is a ``fail`` result whose severity is at or above ``--fail-on``;
``warn`` is reported but never fails a gate. An ``error`` at or above the
threshold is *undetermined*: the gate could not look, so it cannot say
"conformant" (exit 4), but it has not found anything either. Exit 0 is a
claim that every selected check at or above the threshold was determined
(pass, warn, skip for a stated reason, waived) and none failed.

When several codes apply (one target with findings and errors, or a gate over
many targets) the most important one wins: ``worst``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from probes.model import CheckResult, ProbeReport, Severity, Status

# What ``check``, ``gate`` and the pytest plugin fail on when not told otherwise.
DEFAULT_FAIL_ON = Severity.HIGH

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_UNDETERMINED = 4

# code -> (word, what it means): the only source of the help and doc text.
EXIT_CODES: dict[int, tuple[str, str]] = {
    EXIT_OK: ("conformant", "every selected check at or above --fail-on was determined and none failed"),
    EXIT_FINDINGS: ("findings", "a check failed at or above --fail-on"),
    EXIT_USAGE: ("usage", "usage or configuration error; nothing was probed"),
    EXIT_UNREACHABLE: ("unreachable", "nothing accepted the connection"),
    EXIT_UNDETERMINED: (
        "undetermined",
        "no finding, but a check at or above --fail-on could not be determined",
    ),
}

# Most important first. A usage error means nothing was probed and an
# unreachable target means nothing could be; a finding is a definite answer
# and outranks what could not be determined; 0 only when nothing else applies.
PRECEDENCE = (EXIT_USAGE, EXIT_UNREACHABLE, EXIT_FINDINGS, EXIT_UNDETERMINED, EXIT_OK)


def worst(codes: Iterable[int]) -> int:
    """The code that wins by ``PRECEDENCE`` (``EXIT_OK`` when there is none)."""
    return min(codes, key=PRECEDENCE.index, default=EXIT_OK)


def _at_or_above(result: CheckResult, fail_on: Severity) -> bool:
    return result.severity.rank >= fail_on.rank


def findings(results: list[CheckResult], fail_on: Severity) -> list[CheckResult]:
    return [r for r in results if r.status is Status.FAIL and _at_or_above(r, fail_on)]


def undetermined(results: list[CheckResult], fail_on: Severity) -> list[CheckResult]:
    """Checks at or above the threshold that ended ``error``: the gate could not look."""
    return [r for r in results if r.status is Status.ERROR and _at_or_above(r, fail_on)]


def exit_code(report: ProbeReport, fail_on: Severity) -> int:
    applicable = {
        EXIT_UNREACHABLE: report.unreachable is not None,
        EXIT_FINDINGS: bool(findings(report.results, fail_on)),
        EXIT_UNDETERMINED: bool(undetermined(report.results, fail_on)),
    }
    return worst(code for code, applies in applicable.items() if applies)


def exit_explanation(report: ProbeReport, fail_on: Severity) -> str:
    """The exit code in words, as the last line of the table says it."""
    return explain(exit_code(report, fail_on), report.results, fail_on, report.unreachable)


def explain(code: int, results: list[CheckResult], fail_on: Severity, unreachable: str | None = None) -> str:
    """Exit ``code`` in words, for ``results`` (of one target or many)."""
    word = EXIT_CODES[code][0]
    if code == EXIT_FINDINGS:
        count = len(findings(results, fail_on))
        unknown = len(undetermined(results, fail_on))
        also = f"; {unknown} more could not be determined" if unknown else ""
        return f"{word}: {_checks(count)} failed at or above {fail_on.value}{also}"
    if code == EXIT_UNDETERMINED:
        count = len(undetermined(results, fail_on))
        return f"{word}: {_checks(count)} at or above {fail_on.value} could not be determined"
    if code == EXIT_UNREACHABLE:
        return f"{word}: {unreachable}"
    return word


def _checks(count: int) -> str:
    return f"{count} check" if count == 1 else f"{count} checks"


def status_counts(results: list[CheckResult]) -> dict[str, int]:
    counts = Counter(r.status.value for r in results)
    return {status.value: counts.get(status.value, 0) for status in Status}
