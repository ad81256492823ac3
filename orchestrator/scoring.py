"""Compliance scoring: severity-weighted pass rates, capped by the worst open finding,
mapped onto the SPBE index.

The formula (also in docs/reports.md, with a worked example):

* Each result weighs by its severity: critical 10, high 5, medium 3, low 1,
  info 0 (``SEVERITY_WEIGHTS``).
* ``earned   = Σ w(pass) + Σ w(waived) + ½ · Σ w(warn)``
* ``possible = Σ w over pass, waived, warn and fail``
* ``compliance = earned / possible`` (None when ``possible`` is 0).
* ``skip`` counts nowhere in compliance. ``error`` (undetermined) is kept
  out of compliance, but lowers the confidence in it:
  ``confidence = possible / (possible + Σ w(error))`` (1.0 without errors).
  An unreachable endpoint (every check an error) therefore has compliance
  None and confidence 0: it is shown as "not measured", never as 0 %.
* An endpoint's uncapped index is ``1 + 4 · compliance`` (1.00–5.00), to two
  decimals. Its **cap** is its worst open finding: a ``fail`` (after waivers,
  at the severity the profile gave the result) holds the index in the band
  ``CAPS`` names — critical in Kurang, high in Cukup, medium in Baik, low in
  Sangat Baik — that is at most the band's top (``CAP_MAX_INDEX``: 1.79,
  2.59, 3.49, 4.19). ``index = min(uncapped index, cap)``: as in SSL Labs'
  rating guide, many easy passes never hide one serious failure.
* Groups (application, agency, province, nation) average the capped indices
  of their measured endpoints, each weighted by the severity weight of every
  check the profile selected for it, whatever the result (``weight``). The
  weight depends on no status, so a fail or a waiver moves a group only
  through its endpoint's index: turning any result into a fail never raises
  a group, waiving one never lowers it, and a group is never rated above its
  best endpoint. Its compliance and confidence stay sums over its results.
* Check and category scores are pass rates across endpoints, not a
  server's rating: ``Tally.pass_rate`` (no cap).
* Indices are published to two decimals (half up) and classified on that
  value with the predicate bands agencies know from the SPBE evaluation
  (``PREDICATES``): Memuaskan ≥ 4.2, Sangat Baik 3.5–<4.2, Baik 2.6–<3.5,
  Cukup 1.8–<2.6, Kurang < 1.8. The maturity level is the band: Kurang 1 …
  Memuaskan 5.

``score`` and ``Tally`` take anything with ``.status`` and ``.severity``
(``probes.model.CheckResult``, ``orchestrator.store.ResultRow``), as enums
or their string values, and ``.check_id`` when present (the cap's reason).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Protocol

from probes.model import Severity, Status

SEVERITY_WEIGHTS: dict[str, int] = {
    Severity.CRITICAL.value: 10,
    Severity.HIGH.value: 5,
    Severity.MEDIUM.value: 3,
    Severity.LOW.value: 1,
    Severity.INFO.value: 0,
}
SEVERITY_RANK: dict[str, int] = {severity.value: severity.rank for severity in Severity}

# Share of a result's weight each status earns; statuses absent here are not
# "possible" (skip) or go to the error weight (error).
EARNED_SHARE: dict[str, float] = {
    Status.PASS.value: 1.0,
    Status.WAIVED.value: 1.0,
    Status.WARN.value: 0.5,
    Status.FAIL.value: 0.0,
}

STATUSES: tuple[str, ...] = tuple(status.value for status in Status)

# The status of an open finding that caps an index (a waived fail is not open;
# a warning is a recommendation, not a failure).
CAPPING_STATUS = Status.FAIL.value

# Worst open finding's severity -> the best predicate the endpoint can still have.
# Info fails cap nothing.
CAPS: dict[str, str] = {
    Severity.CRITICAL.value: "kurang",
    Severity.HIGH.value: "cukup",
    Severity.MEDIUM.value: "baik",
    Severity.LOW.value: "sangat_baik",
}

# How many capping checks a group's cap lists (most capped endpoints first).
CAP_REASONS = 5


@dataclass(frozen=True)
class Predicate:
    """One band of the SPBE index: ``index >= min_index`` (the highest band that fits)."""

    id: str
    min_index: float
    level: int
    labels: dict[str, str]

    def label(self, lang: str = "id") -> str:
        return self.labels.get(lang, self.labels["id"])


# Best first. Bands as used in the SPBE evaluation (PermenPANRB 59/2020 practice).
PREDICATES: tuple[Predicate, ...] = (
    Predicate("memuaskan", 4.2, 5, {"id": "Memuaskan", "en": "Satisfactory"}),
    Predicate("sangat_baik", 3.5, 4, {"id": "Sangat Baik", "en": "Very good"}),
    Predicate("baik", 2.6, 3, {"id": "Baik", "en": "Good"}),
    Predicate("cukup", 1.8, 2, {"id": "Cukup", "en": "Fair"}),
    Predicate("kurang", float("-inf"), 1, {"id": "Kurang", "en": "Poor"}),
)
PREDICATES_BY_ID: dict[str, Predicate] = {predicate.id: predicate for predicate in PREDICATES}
MAX_INDEX = 5.0


def round2(value: float) -> float:
    """Half-up to two decimals (``round`` would use the binary float's digits)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def band_top(predicate: Predicate) -> float:
    """The highest published (two-decimal) index inside a band: just below the band above it."""
    position = PREDICATES.index(predicate)
    if position == 0:
        return MAX_INDEX
    return round2(PREDICATES[position - 1].min_index - 0.01)


# Severity of the worst open fail -> the highest index the endpoint may publish.
CAP_MAX_INDEX: dict[str, float] = {
    severity: band_top(PREDICATES_BY_ID[predicate]) for severity, predicate in CAPS.items()
}


def index_for(compliance: float | None) -> float | None:
    """The SPBE-style index 1.00–5.00 for a compliance ratio, to two decimals (uncapped)."""
    return None if compliance is None else round2(1.0 + 4.0 * compliance)


def predicate_for(index: float | None) -> Predicate | None:
    if index is None:
        return None
    for predicate in PREDICATES:
        if index >= predicate.min_index:
            return predicate
    raise AssertionError("the last band has no lower bound")


def predicate_dict(index: float | None, lang: str) -> dict[str, str] | None:
    """``{id, label}`` of the band an index falls in (None when not measured), as a score's ``predicate``."""
    predicate = predicate_for(index)
    return None if predicate is None else {"id": predicate.id, "label": predicate.label(lang)}


class Scorable(Protocol):
    status: Any
    severity: Any


@dataclass(frozen=True, slots=True)
class CapReason:
    """A check whose open fail caps endpoints, and how many endpoints it caps."""

    check_id: str | None
    severity: str
    endpoints: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check_id,
            "severity": self.severity,
            "status": CAPPING_STATUS,
            "endpoints": self.endpoints,
        }


@dataclass(frozen=True, slots=True)
class Cap:
    """Why an index is lower than the weighted pass rate alone would make it.

    An endpoint's cap names its worst open finding and the band it is held in
    (``predicate``, top ``max_index``). A group's cap counts the endpoints
    whose index a cap lowered and lists the capping checks, most endpoints
    first (``reasons[0]`` is the main one); ``predicate`` and ``max_index``
    are None for a group.
    """

    reasons: tuple[CapReason, ...]
    endpoints: int
    uncapped_index: float
    predicate: Predicate | None = None
    max_index: float | None = None

    @property
    def main(self) -> CapReason:
        return self.reasons[0]

    def to_dict(self, lang: str = "id") -> dict[str, Any]:
        return {
            **self.main.to_dict(),  # the main reason's check, severity and status
            "endpoints": self.endpoints,
            "uncapped_index": self.uncapped_index,
            "predicate": None
            if self.predicate is None
            else {"id": self.predicate.id, "label": self.predicate.label(lang)},
            "max_index": self.max_index,
            "reasons": [reason.to_dict() for reason in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Score:
    """The score of an endpoint, a group or a check; see the module docstring for the formula.

    ``weight`` is what the score weighs in a group: for an endpoint the
    severity weight of all its results, for a group the sum over its measured
    endpoints. ``cap`` is None unless a cap lowered the index.
    """

    earned: float
    possible: float
    error_weight: float
    counts: dict[str, int]
    compliance: float | None
    confidence: float
    index: float | None
    predicate: Predicate | None
    level: int | None
    weight: float = 0.0
    cap: Cap | None = None

    @classmethod
    def build(
        cls,
        earned: float,
        possible: float,
        error_weight: float,
        counts: dict[str, int],
        index: float | None,
        weight: float = 0.0,
        cap: Cap | None = None,
    ) -> Score:
        compliance = earned / possible if possible > 0 else None
        if possible + error_weight > 0:
            confidence = possible / (possible + error_weight)
        else:
            # Nothing weighed: full confidence unless every result was an error
            # of a zero-weight check (then nothing at all was determined).
            confidence = 0.0 if counts.get("error", 0) and not _determined(counts) else 1.0
        predicate = predicate_for(index)
        return cls(
            earned=earned,
            possible=possible,
            error_weight=error_weight,
            counts=counts,
            compliance=compliance,
            confidence=confidence,
            index=index,
            predicate=predicate,
            level=predicate.level if predicate else None,
            weight=weight,
            cap=cap,
        )

    @property
    def measured(self) -> bool:
        return self.index is not None

    @property
    def uncapped_index(self) -> float | None:
        return self.cap.uncapped_index if self.cap is not None else self.index

    def to_dict(self, lang: str = "id") -> dict[str, Any]:
        return {
            "earned": self.earned,
            "possible": self.possible,
            "error_weight": self.error_weight,
            "counts": dict(self.counts),
            "compliance": None if self.compliance is None else round(self.compliance, 4),
            "confidence": round(self.confidence, 4),
            "index": self.index,
            "predicate": None
            if self.predicate is None
            else {"id": self.predicate.id, "label": self.predicate.label(lang)},
            "level": self.level,
            "weight": self.weight,
            "cap": None if self.cap is None else self.cap.to_dict(lang),
        }


def _determined(counts: dict[str, int]) -> bool:
    return any(counts.get(status, 0) for status in EARNED_SHARE)


def _add_sums(total: Tally | GroupTally, part: Tally | GroupTally | Score) -> None:
    """Add ``part``'s earned, possible and error weight and its status counts to ``total``."""
    total.earned += part.earned
    total.possible += part.possible
    total.error_weight += part.error_weight
    for status, count in part.counts.items():
        total.counts[status] = total.counts.get(status, 0) + count


@lru_cache(maxsize=4096)
def _one_reason(check_id: str | None, severity: str) -> tuple[CapReason, ...]:
    """An endpoint's cap reason; shared, as a national sweep has ~33k endpoints and few capping checks."""
    return (CapReason(check_id, severity),)


class Tally:
    """A running sum of one endpoint's results (or of one check's, across endpoints).

    ``score()`` rates the results as one endpoint (capped by the worst open
    fail); ``pass_rate()`` is the uncapped rate a check or category has
    across endpoints.
    """

    __slots__ = ("earned", "possible", "error_weight", "weight", "counts", "worst")

    def __init__(self) -> None:
        self.earned = 0.0
        self.possible = 0.0
        self.error_weight = 0.0
        self.weight = 0.0  # every result's severity weight, whatever its status
        self.counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.worst: tuple[int, str, str | None] | None = None  # (rank, severity, check id)

    def add(self, status: Any, severity: Any, count: int = 1, check_id: str | None = None) -> None:
        """Count ``count`` results of one status and severity (enums or their string values)."""
        # Called once per result row of a national sweep: plain strings take the short path.
        if type(status) is not str:
            status = status.value
        if type(severity) is not str:
            severity = severity.value
        weight = count * SEVERITY_WEIGHTS[severity]
        self.counts[status] += count
        self.weight += weight
        share = EARNED_SHARE.get(status)
        if share is not None:
            self.possible += weight
            self.earned += share * weight
            if status == CAPPING_STATUS:
                self.open_fail(severity, check_id)
        elif status == "error":
            self.error_weight += weight

    def open_fail(self, severity: Any, check_id: str | None) -> None:
        """Note an open fail (``add`` does it; readers that count in bulk call it per fail).

        The worst one caps the score: the highest severity, then the lowest
        check id (a fail counted without its check id comes last).
        """
        if type(severity) is not str:
            severity = severity.value
        if severity not in CAPS:
            return
        candidate = (-SEVERITY_RANK[severity], check_id is None, check_id or "")
        worst = self.worst
        if worst is None or candidate < (-worst[0], worst[2] is None, worst[2] or ""):
            self.worst = (SEVERITY_RANK[severity], severity, check_id)

    @classmethod
    def of(cls, endpoint: Score) -> Tally:
        """A tally holding an endpoint score's sums and counts, with no open fail noted.

        For "what if" scores: ``resolve`` what a fix clears, note each fail
        still open (``open_fail``), then ``score()`` as usual.
        """
        tally = cls()
        tally.earned, tally.possible = endpoint.earned, endpoint.possible
        tally.error_weight, tally.weight = endpoint.error_weight, endpoint.weight
        tally.counts.update(endpoint.counts)
        return tally

    def resolve(self, status: Any, severity: Any, count: int = 1) -> None:
        """Count ``count`` results of ``status`` (fail or warn) as passes: what fixing them makes of them.

        The weight is already possible; only what it earns changes. Sums stay
        exact (every weight and share is a multiple of ½).
        """
        if type(status) is not str:  # what-if scores of a national sweep: plain strings take the short path
            status = status.value
        if type(severity) is not str:
            severity = severity.value
        self.counts[status] -= count
        self.counts[Status.PASS.value] += count
        self.earned += (1.0 - EARNED_SHARE[status]) * count * SEVERITY_WEIGHTS[severity]

    def merge(self, other: Tally) -> None:
        """Add another part of the same results (the same endpoint, the same check)."""
        _add_sums(self, other)
        self.weight += other.weight
        if other.worst is not None:
            self.open_fail(other.worst[1], other.worst[2])

    def score(self) -> Score:
        """These results rated as one endpoint: the index capped by the worst open fail."""
        uncapped = index_for(self.earned / self.possible) if self.possible > 0 else None
        index, cap = self._capped(uncapped), None
        if index != uncapped and uncapped is not None and self.worst is not None:  # capped: both are set
            _, severity, check_id = self.worst
            cap = Cap(_one_reason(check_id, severity), 1, uncapped, PREDICATES_BY_ID[CAPS[severity]], index)
        return Score.build(
            self.earned, self.possible, self.error_weight, dict(self.counts), index, self.weight, cap
        )

    def index(self) -> float | None:
        """The index ``score()`` gives, alone (what-if scores of many endpoints)."""
        return self._capped(index_for(self.earned / self.possible) if self.possible > 0 else None)

    def _capped(self, uncapped: float | None) -> float | None:
        """The uncapped index held at the top of the band the worst open fail allows."""
        if uncapped is None or self.worst is None:
            return uncapped
        return min(uncapped, CAP_MAX_INDEX[self.worst[1]])

    def pass_rate(self) -> Score:
        """The uncapped rate of a check or category across endpoints (index = 1 + 4 · compliance)."""
        uncapped = index_for(self.earned / self.possible) if self.possible > 0 else None
        return Score.build(
            self.earned, self.possible, self.error_weight, dict(self.counts), uncapped, self.weight
        )


class GroupTally:
    """A running aggregate of endpoint scores: an application, agency, province or the nation."""

    __slots__ = (
        "earned",
        "possible",
        "error_weight",
        "counts",
        "weight",
        "weighted_index",
        "weighted_uncapped",
        "capped",
        "reasons",
    )

    def __init__(self) -> None:
        self.earned = 0.0
        self.possible = 0.0
        self.error_weight = 0.0
        self.counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.weight = 0.0  # of the measured endpoints
        self.weighted_index = 0.0
        self.weighted_uncapped = 0.0
        self.capped = 0  # endpoints whose index a cap lowered
        self.reasons: dict[tuple[str | None, str], int] = {}

    def add(self, endpoint: Score) -> None:
        """Add one endpoint's score (``Tally.score()``)."""
        _add_sums(self, endpoint)
        index = endpoint.index
        if index is None:
            return  # not measured: it lowers the group's confidence, not its index
        self.weight += endpoint.weight
        self.weighted_index += endpoint.weight * index
        uncapped = index if endpoint.cap is None else endpoint.cap.uncapped_index
        self.weighted_uncapped += endpoint.weight * uncapped
        if endpoint.cap is not None:
            self.capped += endpoint.cap.endpoints
            for reason in endpoint.cap.reasons:
                key = (reason.check_id, reason.severity)
                self.reasons[key] = self.reasons.get(key, 0) + reason.endpoints

    def merge(self, other: GroupTally) -> None:
        """Add a disjoint group of endpoints."""
        _add_sums(self, other)
        self.weight += other.weight
        self.weighted_index += other.weighted_index
        self.weighted_uncapped += other.weighted_uncapped
        self.capped += other.capped
        for key, count in other.reasons.items():
            self.reasons[key] = self.reasons.get(key, 0) + count

    def score(self) -> Score:
        index = cap = None
        if self.weight > 0:
            index = round2(self.weighted_index / self.weight)
            if self.capped:
                ranked = sorted(
                    self.reasons.items(),
                    key=lambda item: (-item[1], -SEVERITY_RANK[item[0][1]], item[0][0] or ""),
                )
                reasons = tuple(
                    CapReason(check, severity, count) for (check, severity), count in ranked[:CAP_REASONS]
                )
                cap = Cap(reasons, self.capped, round2(self.weighted_uncapped / self.weight))
        return Score.build(
            self.earned, self.possible, self.error_weight, dict(self.counts), index, self.weight, cap
        )


def score(results: Iterable[Scorable]) -> Score:
    """Score a set of results as one endpoint (anything with ``.status`` and ``.severity``)."""
    tally = Tally()
    for result in results:
        tally.add(result.status, result.severity, check_id=getattr(result, "check_id", None))
    return tally.score()


def aggregate(endpoints: Iterable[Score | Tally]) -> Score:
    """Score of a group from its endpoints' scores (or tallies): the weighted mean of capped indices."""
    group = GroupTally()
    for endpoint in endpoints:
        group.add(endpoint.score() if isinstance(endpoint, Tally) else endpoint)
    return group.score()
