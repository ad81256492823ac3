"""Compliance scoring: severity-weighted pass rates mapped onto the SPBE index.

The formula (also in docs/reports.md):

* Each result weighs by its severity: critical 10, high 5, medium 3, low 1,
  info 0 (``SEVERITY_WEIGHTS``).
* ``earned   = Σ w(pass) + Σ w(waived) + ½ · Σ w(warn)``
* ``possible = Σ w over pass, waived, warn and fail``
* ``compliance = earned / possible`` (None when ``possible`` is 0).
* ``skip`` counts nowhere. ``error`` (undetermined) is kept out of
  compliance, but lowers the confidence in it:
  ``confidence = possible / (possible + Σ w(error))`` (1.0 without errors).
  An unreachable endpoint (every check an error) therefore has compliance
  None and confidence 0: it is shown as "not measured", never as 0 %.
* Groups (endpoint, application, agency, province, nation) are scored by
  summing ``earned``, ``possible`` and the error weight of their members,
  never by averaging ratios, so a big agency weighs what its results weigh.
* SPBE-style index ``= 1 + 4 · compliance`` (1.00–5.00), published to two
  decimals and classified on that two-decimal value with the predicate bands
  agencies know from the SPBE evaluation (``PREDICATES``): Memuaskan ≥ 4.2,
  Sangat Baik 3.5–<4.2, Baik 2.6–<3.5, Cukup 1.8–<2.6, Kurang < 1.8. The
  maturity level is the band: Kurang 1 … Memuaskan 5.

``score`` and ``Tally`` take anything with ``.status`` and ``.severity``
(``probes.model.CheckResult``, ``orchestrator.store.ResultRow``), as enums
or their string values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from probes.model import Severity, Status

SEVERITY_WEIGHTS: dict[str, int] = {
    Severity.CRITICAL.value: 10,
    Severity.HIGH.value: 5,
    Severity.MEDIUM.value: 3,
    Severity.LOW.value: 1,
    Severity.INFO.value: 0,
}

# Share of a result's weight each status earns; statuses absent here are not
# "possible" (skip) or go to the error weight (error).
EARNED_SHARE: dict[str, float] = {
    Status.PASS.value: 1.0,
    Status.WAIVED.value: 1.0,
    Status.WARN.value: 0.5,
    Status.FAIL.value: 0.0,
}

STATUSES: tuple[str, ...] = tuple(status.value for status in Status)


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


def round2(value: float) -> float:
    """Half-up to two decimals (``round`` would use the binary float's digits)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def index_for(compliance: float | None) -> float | None:
    """The SPBE-style index 1.00–5.00 for a compliance ratio, to two decimals."""
    return None if compliance is None else round2(1.0 + 4.0 * compliance)


def predicate_for(index: float | None) -> Predicate | None:
    if index is None:
        return None
    for predicate in PREDICATES:
        if index >= predicate.min_index:
            return predicate
    raise AssertionError("the last band has no lower bound")


class Scorable(Protocol):
    status: Any
    severity: Any


@dataclass(frozen=True)
class Score:
    """The score of a set of results; see the module docstring for the formula."""

    earned: float
    possible: float
    error_weight: float
    counts: dict[str, int]
    compliance: float | None
    confidence: float
    index: float | None
    predicate: Predicate | None
    level: int | None

    @classmethod
    def from_sums(
        cls, earned: float, possible: float, error_weight: float, counts: dict[str, int]
    ) -> "Score":
        compliance = earned / possible if possible > 0 else None
        if possible + error_weight > 0:
            confidence = possible / (possible + error_weight)
        else:
            # Nothing weighed: full confidence unless every result was an error
            # of a zero-weight check (then nothing at all was determined).
            confidence = 0.0 if counts.get("error", 0) and not _determined(counts) else 1.0
        index = index_for(compliance)
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
        )

    @property
    def measured(self) -> bool:
        return self.compliance is not None

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
        }


def _determined(counts: dict[str, int]) -> bool:
    return any(counts.get(status, 0) for status in EARNED_SHARE)


class Tally:
    """A running sum of results, mergeable: the building block of every group score."""

    __slots__ = ("earned", "possible", "error_weight", "counts")

    def __init__(self) -> None:
        self.earned = 0.0
        self.possible = 0.0
        self.error_weight = 0.0
        self.counts: dict[str, int] = dict.fromkeys(STATUSES, 0)

    def add(self, status: Any, severity: Any, count: int = 1) -> None:
        """Count ``count`` results of one status and severity (enums or their string values)."""
        status = status.value if isinstance(status, Status) else status
        weight = count * SEVERITY_WEIGHTS[severity.value if isinstance(severity, Severity) else severity]
        self.counts[status] += count
        share = EARNED_SHARE.get(status)
        if share is not None:
            self.possible += weight
            self.earned += share * weight
        elif status == "error":
            self.error_weight += weight

    def merge(self, other: "Tally | Score") -> None:
        self.earned += other.earned
        self.possible += other.possible
        self.error_weight += other.error_weight
        for status, count in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + count

    def score(self) -> Score:
        return Score.from_sums(self.earned, self.possible, self.error_weight, dict(self.counts))


def score(results: Iterable[Scorable]) -> Score:
    """Score a set of results (anything with ``.status`` and ``.severity``)."""
    tally = Tally()
    for result in results:
        tally.add(result.status, result.severity)
    return tally.score()


def aggregate(scores: Iterable[Score | Tally]) -> Score:
    """Score of a group from its members' scores: sums, not an average of ratios."""
    tally = Tally()
    for member in scores:
        tally.merge(member)
    return tally.score()
