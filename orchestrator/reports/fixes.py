"""The fix list of a report, "Yang harus diperbaiki": open findings grouped by remediation, each with
the index the scope would reach once that fix alone is done.

A fix is one remediation text: the checks whose (English) remediation is the
same share one. Its open findings (fail and warn after waivers; an error is
not known to be a failure, so it is no fix) are counted as passes, each
endpoint they touch is re-scored with the same ``Tally`` (its worst fail left
still caps it: ``whatif.index_if_fixed``), and the scope's index is the same
weighted mean ``GroupTally`` takes (``whatif.WhatIf``, same sums in the
same order). In the national scope each fix also counts the agencies whose
predicate rises when it is done everywhere.

Cost: one re-scored endpoint per (fix, endpoint) pair, twice (the fix alone,
then down the list), and per fix one pass over the scope's and the touched
agencies' lists of weighted indices (``whatif.WhatIf``). Memory: per endpoint
the few open findings the builder kept; per fix the positions of its
endpoints; the what-if indices of one fix at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.reports.whatif import WhatIf, index_if_fixed
from orchestrator.scoring import CAPPING_STATUS, SEVERITY_RANK, Score, predicate_dict, predicate_for, round2
from probes import registry
from probes.model import EFFORTS, Check

FIX_ENDPOINTS_LIMIT = 1_000  # endpoint ids listed per fix (endpoint_count is always complete)
_EFFORT_RANK = {effort: rank for rank, effort in enumerate(EFFORTS)}
_SEVERITY_BY_RANK = {rank: severity for severity, rank in SEVERITY_RANK.items()}

# One open finding of an endpoint: (check id, status, severity), as plain strings.
OpenFinding = tuple[str, str, str]


class ScopedEndpoint(Protocol):
    """What the fix list needs of an endpoint of the report's scope."""

    meta: EndpointMeta
    score: Score
    open: tuple[OpenFinding, ...]


def fix_ids(checks: Mapping[str, Check]) -> dict[str, str]:
    """Check id -> its fix's id: the lowest check id sharing its (English) remediation, lower case."""
    by_text: dict[str, list[str]] = {}
    for check_id, check in checks.items():
        by_text.setdefault(check.remediation, []).append(check_id)
    return {check_id: min(ids).lower() for ids in by_text.values() for check_id in ids}


@cache
def fix_of_check() -> dict[str, str]:
    """``fix_ids`` of every registered check."""
    return fix_ids(registry.checks())


@dataclass(slots=True)
class _Fix:
    id: str
    checks: set[str] = field(default_factory=set)
    positions: array = field(default_factory=lambda: array("l"))  # endpoint positions, ascending
    findings: int = 0
    worst: int = -1  # severity rank of its worst open finding

    def add(self, position: int, check_id: str, severity: str) -> None:
        self.checks.add(check_id)
        if not self.positions or self.positions[-1] != position:
            self.positions.append(position)
        self.findings += 1
        self.worst = max(self.worst, SEVERITY_RANK[severity])


def fix_list(
    endpoints: Sequence[ScopedEndpoint], scope_index: float | None, lang: str, *, national: bool
) -> list[dict[str, Any]]:
    """The ``fixes`` section (see ``orchestrator.reports.model``) for the endpoints of a scope, in report order.

    ``scope_index`` is the scope's index now; ``national`` adds ``agencies_up``
    and orders by it.
    """
    fixes = _gather(endpoints)
    scope = WhatIf((e.score.weight, e.score.index) for e in endpoints)
    agencies = _Agencies(endpoints) if national else None
    entries = []
    for fix in fixes.values():
        after = {position: _after(endpoints[position], fix.checks) for position in fix.positions}
        agencies_up = agencies.up(after) if agencies is not None else None
        entries.append((_entry(fix, endpoints, scope.index(after), scope_index, agencies_up, lang), fix))
    if national:
        entries.sort(
            key=lambda e: (
                -e[0]["agencies_up"],
                -SEVERITY_RANK[e[0]["severity"]],
                -e[0]["endpoint_count"],
                e[0]["id"],
            )
        )
    else:
        entries.sort(key=lambda e: (-SEVERITY_RANK[e[0]["severity"]], -e[0]["endpoint_count"], e[0]["id"]))
    # Down the list: the index once this fix and every one above it are done.
    done: set[str] = set()
    cumulative: dict[int, float | None] = {}
    for entry, fix in entries:
        done |= fix.checks
        cumulative.update((p, _after(endpoints[p], done)) for p in fix.positions)
        entry["cumulative_index_after"] = scope.index(cumulative)
    return [entry for entry, _ in entries]


class _Agencies:
    """Each agency's index now and what-if (national scope): how many rise a predicate with a fix."""

    def __init__(self, endpoints: Sequence[ScopedEndpoint]):
        positions: dict[str | None, list[int]] = {}
        for position, endpoint in enumerate(endpoints):
            positions.setdefault(endpoint.meta.agency, []).append(position)
        # global position -> (agency, its position within the agency), in the order the agency adds them
        self.where = {p: (code, local) for code, ps in positions.items() for local, p in enumerate(ps)}
        self.groups = {
            code: WhatIf((endpoints[p].score.weight, endpoints[p].score.index) for p in ps)
            for code, ps in positions.items()
        }
        self.levels = {code: _level(group.index()) for code, group in self.groups.items()}

    def up(self, after: Mapping[int, float | None]) -> int:
        by_agency: dict[str | None, dict[int, float | None]] = {}
        for position, index in after.items():
            code, local = self.where[position]
            by_agency.setdefault(code, {})[local] = index
        return sum(
            _level(self.groups[code].index(replaced)) > self.levels[code]
            for code, replaced in by_agency.items()
        )


def _gather(endpoints: Sequence[ScopedEndpoint]) -> dict[str, _Fix]:
    """Each fix with the endpoints and open findings it clears (unregistered checks have no remediation)."""
    fix_of = fix_of_check()
    fixes: dict[str, _Fix] = {}
    for position, endpoint in enumerate(endpoints):
        for check_id, _status, severity in endpoint.open:
            fix_id = fix_of.get(check_id)
            if fix_id is None:
                continue
            fix = fixes.get(fix_id)
            if fix is None:
                fix = fixes[fix_id] = _Fix(fix_id)
            fix.add(position, check_id, severity)
    return fixes


def _after(endpoint: ScopedEndpoint, fixed_checks: set[str]) -> float | None:
    """The endpoint's (capped) index once the open findings of ``fixed_checks`` pass."""
    fixed, still_failing = [], []
    for check_id, status, severity in endpoint.open:
        if check_id in fixed_checks:
            fixed.append((status, severity))
        elif status == CAPPING_STATUS:
            still_failing.append((severity, check_id))
    return index_if_fixed(endpoint.score, fixed, still_failing)


def _level(index: float | None) -> int:
    predicate = predicate_for(index)
    return 0 if predicate is None else predicate.level


def _entry(
    fix: _Fix,
    endpoints: Sequence[ScopedEndpoint],
    index_after: float | None,
    scope_index: float | None,
    agencies_up: int | None,
    lang: str,
) -> dict[str, Any]:
    checks = sorted(fix.checks)
    endpoint_ids = sorted(endpoints[p].meta.endpoint_id for p in fix.positions)
    return {
        "id": fix.id,
        "remediation": registry.check_text(checks[0], lang).remediation,
        "effort": max((registry.effort(c) for c in checks), key=_EFFORT_RANK.__getitem__),
        "severity": _SEVERITY_BY_RANK[fix.worst],
        "checks": [{"id": c, "title": registry.check_text(c, lang).title} for c in checks],
        "endpoints": endpoint_ids[:FIX_ENDPOINTS_LIMIT],
        "endpoint_count": len(endpoint_ids),
        "findings": fix.findings,
        "index_after": index_after,
        "predicate_after": predicate_dict(index_after, lang),
        "index_gain": None
        if index_after is None or scope_index is None
        else round2(index_after - scope_index),
        "agencies_up": agencies_up,
        "cumulative_index_after": None,  # set once the list is in order
    }
