"""Run one probe against one target: gather facts, evaluate the selected checks.

This is the single entry point the CLI, the CI gate and the sweep engines
call. It never raises for anything a server does: every selected check comes
back with a status, and a target that refuses the very first connection is
marked ``unreachable``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from probes import registry
from probes.errors import MissingExpectation, NotApplicable, Undetermined, Unreachable, explain_error
from probes.facts import Facts, ProbeContext
from probes.messages import Message, render
from probes.model import MISSING_EXPECTATION, CheckResult, ProbeReport, Severity, Status, Target


@dataclass(frozen=True)
class CheckSettings:
    """A check as a profile selects it: effective severity and parameters."""

    severity: Severity
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeOptions:
    deadline_s: float = 30.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 5.0


def default_selection() -> dict[str, CheckSettings]:
    """Every registered check with its own severity and default parameters."""
    return {
        check_id: CheckSettings(meta.severity, dict(meta.params))
        for check_id, meta in registry.checks().items()
    }


def applicable(target: Target, selection: dict[str, CheckSettings]) -> dict[str, CheckSettings]:
    """The part of a selection that concerns this target's scheme."""
    scheme = registry.SCHEMES[target.scheme]
    concerned = {*scheme.families, *scheme.skips}
    return {
        check_id: settings
        for check_id, settings in selection.items()
        if registry.get_check(check_id).protocol in concerned
    }


async def run_probe(
    target: Target,
    selection: dict[str, CheckSettings] | None = None,
    options: ProbeOptions = ProbeOptions(),
) -> ProbeReport:
    selected = applicable(target, default_selection() if selection is None else selection)
    # Only the selected checks' descriptions: this runs for every probe of a sweep.
    all_checks = {check_id: registry.get_check(check_id) for check_id in selected}
    scheme = registry.SCHEMES[target.scheme]
    skipped_families = scheme.skips
    params = {check_id: settings.params for check_id, settings in selected.items()}

    facts = Facts()
    unreachable: str | None = None
    failure: Message | None = None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(options.deadline_s):
            for family in scheme.families:
                wanted = frozenset(
                    fact
                    for check_id in selected
                    if all_checks[check_id].protocol == family
                    for fact in all_checks[check_id].facts
                )
                if not wanted:
                    continue
                context = ProbeContext(
                    target=target,
                    facts=facts,
                    wanted=wanted,
                    params=params,
                    connect_timeout_s=options.connect_timeout_s,
                    read_timeout_s=options.read_timeout_s,
                )
                try:
                    for gather in registry.gatherers(family):
                        try:
                            await gather(context)
                        except Unreachable:
                            raise  # the whole target, not one gatherer's facts
                        except Exception as exc:  # noqa: BLE001 - one gatherer's failure must not stop the others
                            if failure is None:
                                failure = Message("probe.failed", {"error": explain_error(exc)})
                                facts.missing_reason = failure
                finally:
                    await context.close()
    except Unreachable as exc:
        unreachable = str(exc)
        facts.missing_reason = Message("probe.unreachable", {"error": exc.message or unreachable})
    except TimeoutError:
        facts.missing_reason = Message("probe.deadline", {"deadline": options.deadline_s})

    results = []
    for check_id, settings in selected.items():
        meta = all_checks[check_id]
        if meta.protocol in skipped_families:
            skip = skipped_families[meta.protocol]
            reason = render(skip, "en")
            results.append(CheckResult(check_id, Status.SKIP, settings.severity, reason, message=skip))
            continue
        results.append(_evaluate(check_id, settings, facts))
    return ProbeReport(
        target=target.url,
        results=results,
        duration_s=time.perf_counter() - started,
        unreachable=unreachable,
        facts=facts.summary,
    )


def _evaluate(check_id: str, settings: CheckSettings, facts: Facts) -> CheckResult:
    meta = registry.get_check(check_id)
    gathered_s = sum(facts.durations.get(name, 0.0) for name in meta.facts)
    started = time.perf_counter()
    message: Message | None = None
    try:
        verdict = registry.evaluator(check_id)(facts, settings.params)
        status, reason, evidence, message = verdict.status, verdict.reason, verdict.evidence, verdict.message
    except MissingExpectation as exc:
        # Named, so whoever made the target can say where that expectation is given.
        status, reason, evidence = Status.SKIP, str(exc), {MISSING_EXPECTATION: exc.expectation}
    except (NotApplicable, Undetermined) as exc:
        status = Status.SKIP if isinstance(exc, NotApplicable) else Status.ERROR
        reason, evidence, message = str(exc), {}, exc.message
    except Exception as exc:  # noqa: BLE001 - an evaluator bug is an error result, not a crash
        message = Message("probe.check_failed", {"error": explain_error(exc)})
        status, reason, evidence = Status.ERROR, render(message, "en"), {}
    return CheckResult(
        check_id=check_id,
        status=status,
        severity=settings.severity,
        reason=reason,
        evidence=evidence,
        duration_s=gathered_s + time.perf_counter() - started,
        message=message,
    )
