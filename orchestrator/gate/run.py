"""A gate run: every target probed concurrently in this process, waivers applied, one verdict.

No Ray: a gate is a handful of targets in a CI job and must answer in
seconds. At most ``per_host`` probes press on one host at a time (the
sweep's ``HostLimiter``) and ``concurrency`` in all. A waiver turns a fail or
warn inside its scope into ``waived`` (which fails no gate); an expired one
waives nothing and is listed in ``GateRun.waivers.report()``. The exit code
is ``orchestrator.outcome``'s, taken over all targets (the worst wins).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.engine.limits import HostLimiter
from orchestrator.expectations import explain_missing
from orchestrator.gate.inputs import GateTarget
from orchestrator.outcome import exit_code, explain, worst
from orchestrator.profiles import Profile
from orchestrator.waivers import Waiver, WaiverRow, Waivers
from probes.model import CheckResult, ProbeReport, Severity, Status
from probes.runner import CheckSettings, ProbeOptions, run_probe

DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class WaivedResult:
    """The waiver that covered a result, and the status the result had before it."""

    waiver: Waiver
    original_status: Status


@dataclass
class TargetOutcome:
    """What the gate learned about one target; ``report`` holds the statuses after waivers."""

    planned: GateTarget
    report: ProbeReport
    waived: dict[str, WaivedResult] = field(default_factory=dict)  # check id -> how it was waived

    def exit_code(self, fail_on: Severity) -> int:
        return exit_code(self.report, fail_on)


@dataclass
class GateRun:
    profile: Profile
    fail_on: Severity
    started_at: datetime
    duration_s: float
    outcomes: list[TargetOutcome]
    waivers: Waivers | None = None

    @property
    def exit_code(self) -> int:
        return worst(outcome.exit_code(self.fail_on) for outcome in self.outcomes)

    @property
    def results(self) -> list[CheckResult]:
        return [result for outcome in self.outcomes for result in outcome.report.results]

    def explanation(self) -> str:
        """The exit code in words, over all targets."""
        unreachable = [o.report for o in self.outcomes if o.report.unreachable]
        where = ""
        if unreachable:
            where = unreachable[0].unreachable or ""
            if len(self.outcomes) > 1:
                where = f"{len(unreachable)} of {len(self.outcomes)} targets, e.g. {unreachable[0].target}: {where}"
        return explain(self.exit_code, self.results, self.fail_on, where)


def apply_waivers(planned: GateTarget, report: ProbeReport, waivers: Waivers | None) -> TargetOutcome:
    outcome = TargetOutcome(planned, report)
    if waivers is None:
        return outcome
    meta = planned.meta
    results = []
    for result in report.results:
        row = WaiverRow(
            result.status, result.check_id, meta.endpoint_id, meta.url, meta.agency, meta.application
        )
        status, waiver = waivers.apply(row)
        if waiver is not None:
            outcome.waived[result.check_id] = WaivedResult(waiver, result.status)
            result = dataclasses.replace(result, status=status)
        results.append(result)
    outcome.report = dataclasses.replace(report, results=results)
    return outcome


async def probe_all(
    targets: Sequence[GateTarget],
    profile: Profile,
    *,
    per_host: int = 2,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[ProbeReport]:
    """One probe report per target, in the order of ``targets``."""
    hosts = HostLimiter(per_host)
    slots = asyncio.Semaphore(concurrency)
    reports = (probe_one(planned, profile.selection, profile.options, slots, hosts) for planned in targets)
    return list(await asyncio.gather(*reports))


async def probe_one(
    planned: GateTarget,
    selection: dict[str, CheckSettings],
    options: ProbeOptions,
    slots: asyncio.Semaphore,
    hosts: HostLimiter,
) -> ProbeReport:
    """One target's report, once a slot and its host allow (the service's ``/probe`` shares the limits)."""
    async with slots, hosts.hold(planned.target.host):
        report = await run_probe(planned.target, selection, options)
    explain_missing(report, planned.source)
    return report


def run_gate(
    targets: Sequence[GateTarget],
    profile: Profile,
    fail_on: Severity,
    *,
    waivers: Waivers | None = None,
    per_host: int = 2,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> GateRun:
    """Probe every target and judge them together (call from outside any event loop)."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    reports = asyncio.run(probe_all(targets, profile, per_host=per_host, concurrency=concurrency))
    if waivers is not None:
        waivers.reset()
    outcomes = [
        apply_waivers(planned, report, waivers) for planned, report in zip(targets, reports, strict=True)
    ]
    return GateRun(profile, fail_on, started_at, time.perf_counter() - started, outcomes, waivers)
