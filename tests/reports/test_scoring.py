"""The scoring formula, its aggregation and the SPBE predicate bands."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestrator.scoring import PREDICATES, Tally, aggregate, index_for, predicate_for, score
from probes.model import CheckResult, Severity, Status


def r(status: str, severity: str) -> SimpleNamespace:
    return SimpleNamespace(status=status, severity=severity)


def test_weights_and_half_credit_for_warn() -> None:
    s = score([r("pass", "critical"), r("fail", "high"), r("warn", "medium"), r("pass", "low"), r("pass", "info")])
    assert s.possible == 10 + 5 + 3 + 1 + 0
    assert s.earned == 10 + 0 + 1.5 + 1
    assert s.compliance == pytest.approx(12.5 / 19)
    assert s.confidence == 1.0
    assert s.counts == {"pass": 3, "fail": 1, "warn": 1, "error": 0, "skip": 0, "waived": 0}


def test_waived_earns_full_weight_and_skip_counts_nowhere() -> None:
    s = score([r("waived", "high"), r("fail", "high"), r("skip", "critical")])
    assert (s.earned, s.possible, s.error_weight) == (5, 10, 0)
    assert s.compliance == 0.5
    assert s.index == 3.0


def test_errors_lower_confidence_not_compliance() -> None:
    s = score([r("pass", "high"), r("fail", "medium"), r("error", "critical")])
    assert s.compliance == pytest.approx(5 / 8)
    assert s.error_weight == 10
    assert s.confidence == pytest.approx(8 / 18)


def test_unreachable_endpoint_is_not_measured_not_zero() -> None:
    s = score([r("error", "high"), r("error", "critical"), r("error", "low")])
    assert s.compliance is None
    assert s.index is None and s.predicate is None and s.level is None
    assert s.confidence == 0.0
    assert not s.measured


def test_zero_weight_errors_still_mean_nothing_was_determined() -> None:
    s = score([r("error", "info")])
    assert s.compliance is None and s.confidence == 0.0


def test_only_skips_is_not_measured_with_full_confidence() -> None:
    s = score([r("skip", "high")])
    assert s.compliance is None and s.confidence == 1.0


def test_accepts_probe_results_with_enums() -> None:
    results = [
        CheckResult("SSH-KEX-001", Status.PASS, Severity.HIGH),
        CheckResult("SSH-KEX-002", Status.WARN, Severity.LOW),
    ]
    s = score(results)
    assert (s.earned, s.possible) == (5.5, 6)


def test_aggregation_sums_instead_of_averaging_ratios() -> None:
    small = score([r("fail", "low")])  # 0 / 1
    big = score([r("pass", "critical")] * 9 + [r("fail", "critical")])  # 90 / 100
    unreachable = score([r("error", "high")] * 4)
    total = aggregate([small, big, unreachable])
    assert (total.earned, total.possible, total.error_weight) == (90, 101, 20)
    assert total.compliance == pytest.approx(90 / 101)  # not (0 + 0.9) / 2
    assert total.confidence == pytest.approx(101 / 121)
    assert total.counts["error"] == 4 and total.counts["pass"] == 9


def test_tally_merge_equals_scoring_everything_at_once() -> None:
    rows = [r("pass", "high"), r("warn", "critical"), r("error", "medium"), r("fail", "low"), r("waived", "info")]
    parts = Tally(), Tally()
    for i, row in enumerate(rows):
        parts[i % 2].add(row.status, row.severity)
    assert aggregate(parts) == score(rows)


@pytest.mark.parametrize(
    "compliance, index, predicate, level",
    [
        (1.0, 5.0, "memuaskan", 5),
        (0.8, 4.2, "memuaskan", 5),  # 4.2 exactly is Memuaskan
        (0.7975, 4.19, "sangat_baik", 4),
        (0.625, 3.5, "sangat_baik", 4),  # 3.5 exactly
        (0.6225, 3.49, "baik", 3),
        (0.4, 2.6, "baik", 3),  # 2.6 exactly
        (0.3975, 2.59, "cukup", 2),
        (0.2, 1.8, "cukup", 2),  # 1.8 exactly
        (0.1975, 1.79, "kurang", 1),
        (0.0, 1.0, "kurang", 1),
    ],
)
def test_index_and_predicate_bands(compliance: float, index: float, predicate: str, level: int) -> None:
    assert index_for(compliance) == index
    found = predicate_for(index)
    assert (found.id, found.level) == (predicate, level)


def test_boundaries_reached_through_real_results() -> None:
    # 4 of 5 critical results pass: compliance 0.8, index exactly 4.2.
    s = score([r("pass", "critical")] * 4 + [r("fail", "critical")])
    assert (s.index, s.predicate.id, s.level) == (4.2, "memuaskan", 5)
    # 1 of 5: compliance 0.2, index exactly 1.8.
    s = score([r("pass", "low")] + [r("fail", "low")] * 4)
    assert (s.index, s.predicate.id, s.level) == (1.8, "cukup", 2)


def test_predicate_labels_in_both_languages() -> None:
    labels = {p.id: (p.label("id"), p.label("en")) for p in PREDICATES}
    assert labels == {
        "memuaskan": ("Memuaskan", "Satisfactory"),
        "sangat_baik": ("Sangat Baik", "Very good"),
        "baik": ("Baik", "Good"),
        "cukup": ("Cukup", "Fair"),
        "kurang": ("Kurang", "Poor"),
    }
    d = score([r("pass", "high")]).to_dict("en")
    assert d["predicate"] == {"id": "memuaskan", "label": "Satisfactory"}
    assert d["index"] == 5.0 and d["compliance"] == 1.0


def test_worked_example_of_the_docs() -> None:
    s = score([r("fail", "high"), r("fail", "low"), r("warn", "medium"), r("pass", "critical"),
               r("pass", "high"), r("error", "medium")])
    assert (s.earned, s.possible, s.error_weight) == (16.5, 24, 3)
    assert s.compliance == 0.6875 and s.index == 3.75 and (s.predicate.id, s.level) == ("sangat_baik", 4)
    assert round(s.confidence, 3) == 0.889
