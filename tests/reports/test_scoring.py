"""The scoring formula, its aggregation and the SPBE predicate bands."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestrator.scoring import (
    CAP_MAX_INDEX,
    CAPS,
    PREDICATES,
    GroupTally,
    Tally,
    aggregate,
    index_for,
    predicate_for,
    score,
)
from probes.model import CheckResult, Severity, Status


def r(status: str, severity: str, check_id: str | None = None) -> SimpleNamespace:
    if check_id is None:
        return SimpleNamespace(status=status, severity=severity)
    return SimpleNamespace(status=status, severity=severity, check_id=check_id)


def test_weights_and_half_credit_for_warn() -> None:
    s = score(
        [r("pass", "critical"), r("fail", "high"), r("warn", "medium"), r("pass", "low"), r("pass", "info")]
    )
    assert s.possible == 10 + 5 + 3 + 1 + 0
    assert s.earned == 10 + 0 + 1.5 + 1
    assert s.compliance == pytest.approx(12.5 / 19)
    assert s.confidence == 1.0
    assert s.counts == {"pass": 3, "fail": 1, "warn": 1, "error": 0, "skip": 0, "waived": 0}


def test_waived_earns_full_weight_and_skip_counts_nowhere() -> None:
    s = score([r("waived", "high"), r("fail", "high"), r("skip", "critical")])
    assert (s.earned, s.possible, s.error_weight) == (5, 10, 0)
    assert s.compliance == 0.5
    # Issue 7: 3.00 uncapped, but the open high fail holds it in Cukup; the waived one caps nothing.
    assert s.index == 2.59 and s.cap.uncapped_index == 3.0 and s.cap.main.severity == "high"
    # The skipped check still weighs in a group: the weight is every selected check's.
    assert s.weight == 5 + 5 + 10


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


def test_aggregation_sums_compliance_and_weighs_capped_indices() -> None:
    small = score([r("fail", "low")])  # 0 / 1: index 1.00, weight 1
    big = score([r("pass", "critical")] * 9 + [r("fail", "critical")])  # 90 / 100: 4.60 capped to 1.79
    unreachable = score([r("error", "high")] * 4)  # not measured: no part in the index
    total = aggregate([small, big, unreachable])
    assert (total.earned, total.possible, total.error_weight) == (90, 101, 20)
    assert total.compliance == pytest.approx(90 / 101)  # not (0 + 0.9) / 2
    assert total.confidence == pytest.approx(101 / 121)
    assert total.counts["error"] == 4 and total.counts["pass"] == 9
    # Issue 7: the index is the weighted mean of the capped endpoint indices, not 1 + 4 x compliance.
    assert (big.index, big.cap.uncapped_index) == (1.79, 4.6)
    assert total.weight == 101 and total.index == round((1 * 1.0 + 100 * 1.79) / 101, 2) == 1.78
    assert total.cap.endpoints == 1 and total.cap.uncapped_index == round((1 + 460) / 101, 2)


def test_tally_merge_equals_scoring_everything_at_once() -> None:
    # Issue 7: aggregate() now treats each member as an endpoint; parts of one endpoint are merged.
    rows = [
        r("pass", "high"),
        r("warn", "critical"),
        r("error", "medium"),
        r("fail", "low", "B-1"),
        r("waived", "info"),
        r("fail", "low", "A-1"),
    ] + [r("pass", "critical")] * 4
    parts = Tally(), Tally()
    for i, row in enumerate(rows):
        parts[i % 2].add(row.status, row.severity, check_id=getattr(row, "check_id", None))
    parts[0].merge(parts[1])
    assert parts[0].score() == score(rows)
    assert score(rows).cap.main.check_id == "A-1"  # of equal severity, the lowest check id


def test_group_tallies_merge_like_one_group() -> None:
    endpoints = [
        score([r("pass", "high"), r("fail", "medium", "M-1")]),
        score([r("pass", "critical")]),
        score([r("error", "low")]),
        score([r("warn", "low"), r("fail", "high", "H-1")]),
    ]
    halves = GroupTally(), GroupTally()
    for i, endpoint in enumerate(endpoints):
        halves[i % 2].add(endpoint)
    halves[0].merge(halves[1])
    assert halves[0].score() == aggregate(endpoints)


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
    # 3 of 5 critical results pass and 2 warn: compliance 0.8, index exactly 4.2. (Before issue 7
    # this was 4 passes and a critical fail, which now caps the index at 1.79.)
    s = score([r("pass", "critical")] * 3 + [r("warn", "critical")] * 2)
    assert (s.index, s.predicate.id, s.level, s.cap) == (4.2, "memuaskan", 5, None)
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
    s = score(
        [
            r("fail", "high", "SSH-KEX-001"),
            r("fail", "low", "SSH-KEX-002"),
            r("warn", "medium", "SSH-MAC-001"),
            r("pass", "critical", "SSH-HKEY-003"),
            r("pass", "high", "SSH-BANNER-001"),
            r("error", "medium", "SSH-CONF-002"),
        ]
    )
    assert (s.earned, s.possible, s.error_weight, s.weight) == (16.5, 24, 3, 27)
    assert s.compliance == 0.6875 and round(s.confidence, 3) == 0.889
    # Issue 7: 3.75 (Sangat Baik) uncapped; the open high fail holds it in Cukup.
    assert s.index == 2.59 and (s.predicate.id, s.level) == ("cukup", 2)
    assert s.cap.to_dict("en") == {
        "check": "SSH-KEX-001",
        "severity": "high",
        "status": "fail",
        "endpoints": 1,
        "uncapped_index": 3.75,
        "predicate": {"id": "cukup", "label": "Fair"},
        "max_index": 2.59,
        "reasons": [{"check": "SSH-KEX-001", "severity": "high", "status": "fail", "endpoints": 1}],
    }
    # The docs' group: this endpoint and a clean one (weight 20, index 5.00) of the same agency.
    clean = score(
        [
            r("pass", "critical", "TLS-CERT-003"),
            r("pass", "high", "TLS-PROTO-001"),
            r("pass", "high", "TLS-PROTO-002"),
            r("skip", "medium", "TLS-ALPN-001"),
        ]
    )
    assert (clean.index, clean.weight) == (5.0, 23)
    agency = aggregate([s, clean])
    assert agency.index == round((27 * 2.59 + 23 * 5.0) / 50, 2) == 3.70
    assert agency.predicate.id == "sangat_baik" and agency.cap.uncapped_index == 4.33
    assert agency.compliance == pytest.approx((16.5 + 20) / (24 + 20))


@pytest.mark.parametrize(
    "severity, predicate, top",
    [
        ("critical", "kurang", 1.79),
        ("high", "cukup", 2.59),
        ("medium", "baik", 3.49),
        ("low", "sangat_baik", 4.19),
    ],
)
def test_caps_table_holds_a_perfect_endpoint_in_its_band(severity: str, predicate: str, top: float) -> None:
    assert CAPS[severity] == predicate and CAP_MAX_INDEX[severity] == top
    # Hundreds of passes and one open fail: the fail decides the band.
    s = score([r("pass", "critical")] * 300 + [r("fail", severity, "X-001")])
    assert s.index == top and s.predicate.id == predicate and s.cap.main.check_id == "X-001"
    assert s.cap.uncapped_index > top
    # Below the cap already: the cap changes nothing and is not reported.
    low = score([r("fail", "critical")] * 3 + [r("fail", severity, "X-001")])
    assert low.index == 1.0 and low.cap is None


def test_info_fails_warnings_and_waived_fails_cap_nothing() -> None:
    for rows in ([r("fail", "info")], [r("warn", "critical")], [r("waived", "critical")]):
        s = score([r("pass", "critical")] * 20 + rows)
        assert s.cap is None and s.predicate.id == "memuaskan"


def test_the_worst_open_fail_caps_not_the_first() -> None:
    s = score(
        [r("fail", "low", "A-1"), r("fail", "critical", "Z-9"), r("fail", "medium", "B-1")]
        + [r("pass", "critical")] * 50
    )
    assert (s.index, s.cap.main.check_id, s.cap.main.severity) == (1.79, "Z-9", "critical")


def test_checks_and_categories_are_uncapped_pass_rates() -> None:
    tally = Tally()
    for row in [r("pass", "high")] * 9 + [r("fail", "high", "SSH-KEX-001")]:
        tally.add(row.status, row.severity, check_id=getattr(row, "check_id", None))
    assert tally.pass_rate().index == 4.6 and tally.pass_rate().cap is None
    assert tally.score().index == 2.59
