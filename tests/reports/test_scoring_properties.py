"""Properties of the capped score over random result sets (hypothesis, derandomized: same examples every run).

A random "fleet" is a few endpoints, each with a set of results (check id ->
status, severity) and a place in the hierarchy (province, agency,
application). Every group is scored as the reports and metrics score it:
``Tally.score`` per endpoint, ``aggregate`` of endpoint scores per group.

The oracles here are written from the issue, not from the code: the cap of
an endpoint is the top of the band its worst open fail allows.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.reports.whatif import WhatIf, group_index, index_if_fixed
from orchestrator.scoring import PREDICATES, Score, Tally, aggregate

# Derandomized and bounded: part of `make test`, a few seconds, the same examples on every run.
PROPERTIES = settings(derandomize=True, max_examples=300, deadline=None, database=None)

STATUSES = ("pass", "fail", "warn", "error", "skip", "waived")
SEVERITIES = ("critical", "high", "medium", "low", "info")
# From the issue: a critical fail caps the index in Kurang, high in Cukup, medium in Baik, low in
# Sangat Baik; "in X" is at most the top of X's band on the two-decimal scale.
CAP_TOP = {"critical": 1.79, "high": 2.59, "medium": 3.49, "low": 4.19}
PREDICATE_RANK = {predicate.id: len(PREDICATES) - position for position, predicate in enumerate(PREDICATES)}
CHECK_IDS = tuple(f"X-{n:03d}" for n in range(12))

Results = dict[str, tuple[str, str]]  # check id -> (status, severity)

results_strategy = st.dictionaries(
    st.sampled_from(CHECK_IDS),
    st.tuples(st.sampled_from(STATUSES), st.sampled_from(SEVERITIES)),
    min_size=1,
    max_size=len(CHECK_IDS),
)
placement = st.tuples(
    st.sampled_from(("31", "32")), st.sampled_from(("A", "B", "C")), st.sampled_from(("p", "q"))
)
fleets = st.lists(st.tuples(placement, results_strategy), min_size=1, max_size=8)


def endpoint_score(results: Results) -> Score:
    tally = Tally()
    for check_id, (status, severity) in results.items():
        tally.add(status, severity, check_id=check_id)
    return tally.score()


def group_scores(fleet: list) -> dict[tuple, Score | None]:
    """Every group's score: each endpoint, application, agency, province and the nation."""
    members: dict[tuple, list[Score]] = {}
    for position, ((province, agency, app), results) in enumerate(fleet):
        score = endpoint_score(results)
        for key in (
            ("endpoint", position),
            ("application", agency, app),
            ("agency", agency),
            ("province", province),
            ("nation",),
        ):
            members.setdefault(key, []).append(score)
    return {key: scores[0] if key[0] == "endpoint" else aggregate(scores) for key, scores in members.items()}


def worst_open_fail(results: Results) -> str | None:
    fails = [severity for status, severity in results.values() if status == "fail" and severity in CAP_TOP]
    return max(fails, key=SEVERITIES[::-1].index) if fails else None


def with_result(fleet: list, position: int, check_id: str, value: tuple[str, str]) -> list:
    changed = [(place, dict(results)) for place, results in fleet]
    changed[position][1][check_id] = value
    return changed


def never_rises(before: dict, after: dict) -> None:
    for key, old in before.items():
        new = after[key]
        if old.index is None:
            continue  # from "not measured" anything is news, not a rise
        assert new.index is not None and new.index <= old.index, (key, old.index, new.index)


def never_falls(before: dict, after: dict) -> None:
    for key, old in before.items():
        new = after[key]
        if old.index is None:
            assert new.index is None, key
            continue
        assert new.index is not None and new.index >= old.index, (key, old.index, new.index)


@PROPERTIES
@given(results_strategy)
def test_an_endpoint_index_never_exceeds_its_cap(results: Results) -> None:
    score = endpoint_score(results)
    worst = worst_open_fail(results)
    if score.index is None:
        return
    uncapped = score.cap.uncapped_index if score.cap else score.index
    if worst is None:
        assert score.cap is None
    else:
        assert score.index <= CAP_TOP[worst]
        assert PREDICATE_RANK[score.predicate.id] <= PREDICATE_RANK[predicate_of(CAP_TOP[worst])]
        # Capped exactly: the lower of the pass rate's index and the cap, and a reason iff it bit.
        assert score.index == min(uncapped, CAP_TOP[worst])
        assert (score.cap is not None) == (uncapped > CAP_TOP[worst])
        if score.cap is not None:
            assert score.cap.main.severity == worst
            assert results[score.cap.main.check_id] == ("fail", worst)


def predicate_of(index: float) -> str:
    return next(p.id for p in PREDICATES if index >= p.min_index)


@PROPERTIES
@given(fleets)
def test_no_group_is_rated_above_what_its_endpoints_earned(fleet: list) -> None:
    scores = group_scores(fleet)
    for key, group in scores.items():
        if key[0] == "endpoint" or group.index is None:
            continue
        members = [endpoint_score(results) for place, results in fleet if _in_group(key, place)]
        measured = [m for m in members if m.index is not None]
        assert measured, key
        assert group.index <= max(m.index for m in measured)
        assert PREDICATE_RANK[group.predicate.id] <= max(PREDICATE_RANK[m.predicate.id] for m in measured)
        # Capped endpoints only: the group stays within the loosest of their caps.
        tops = [CAP_TOP[w] for w in (worst_open_fail(r) for p, r in fleet if _in_group(key, p)) if w]
        if len(tops) == len(members):
            assert group.index <= max(tops)


def _in_group(key: tuple, place: tuple) -> bool:
    province, agency, app = place
    return {
        "nation": (),
        "province": (province,),
        "agency": (agency,),
        "application": (agency, app),
    }[key[0]] == key[1:]


@PROPERTIES
@given(fleets, st.data())
def test_turning_any_result_into_a_fail_never_raises_any_score(fleet: list, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(fleet) - 1))
    results = fleet[position][1]
    check_id = data.draw(st.sampled_from(sorted(results)))
    severity = results[check_id][1]
    after = with_result(fleet, position, check_id, ("fail", severity))
    never_rises(group_scores(fleet), group_scores(after))


@PROPERTIES
@given(results_strategy, st.sampled_from(SEVERITIES), st.sampled_from(("Y-001", "Y-002")))
def test_adding_a_fail_to_an_endpoint_never_raises_it(results: Results, severity: str, check_id: str) -> None:
    before = endpoint_score(results)
    after = endpoint_score({**results, check_id: ("fail", severity)})
    if before.index is not None:
        assert after.index is not None and after.index <= before.index


@PROPERTIES
@given(fleets, st.data())
def test_waiving_a_finding_never_lowers_any_score(fleet: list, data: st.DataObject) -> None:
    waivable = [
        (position, check_id)
        for position, (_, results) in enumerate(fleet)
        for check_id, (status, _) in results.items()
        if status in ("fail", "warn")
    ]
    if not waivable:
        return
    position, check_id = data.draw(st.sampled_from(waivable))
    severity = fleet[position][1][check_id][1]
    after = with_result(fleet, position, check_id, ("waived", severity))
    never_falls(group_scores(fleet), group_scores(after))


@PROPERTIES
@given(st.lists(st.sampled_from(SEVERITIES), min_size=1, max_size=10), fleets)
def test_an_endpoint_with_only_errors_is_not_measured(severities: list[str], fleet: list) -> None:
    only_errors = {f"E-{n:03d}": ("error", severity) for n, severity in enumerate(severities)}
    score = endpoint_score(only_errors)
    assert (score.index, score.predicate, score.level, score.compliance, score.cap) == (None,) * 5
    assert score.confidence == 0.0
    assert aggregate([score, score]).index is None  # a group of such endpoints is not measured either
    # Beside measured endpoints it changes no index (only the confidence).
    others = [endpoint_score(results) for _, results in fleet]
    assert aggregate(others + [score]).index == aggregate(others).index


def test_the_oracle_helpers_agree_with_the_issue() -> None:
    # Guard the test's own helpers: a critical fail beside 50 passes is Kurang at 1.79.
    results = {"X-000": ("fail", "critical"), **{f"P-{n}": ("pass", "high") for n in range(50)}}
    assert worst_open_fail(results) == "critical" and endpoint_score(results).index == 1.79
    assert predicate_of(1.79) == "kurang" and predicate_of(4.19) == "sangat_baik"
    assert _in_group(("agency", "A"), ("31", "A", "p")) and not _in_group(("agency", "B"), ("31", "A", "p"))
    assert _in_group(("nation",), ("32", "C", "q")) and _in_group(("application", "C", "q"), ("32", "C", "q"))


def test_the_counterexample_hypothesis_found_for_a_status_dependent_weight() -> None:
    # Weighted by `possible` (or by the non-skipped checks), this application went from 1.53 to 1.59
    # when B's undetermined (or skipped) critical check became a critical fail: B stays held at 1.79
    # but weighs more. Weighted by every selected check, nothing moves.
    a = {"X-000": ("fail", "critical")}
    for before in ("error", "skip"):
        b = {"X-000": (before, "critical"), "X-001": ("pass", "critical"), "X-002": ("fail", "critical")}
        fleet = [(("31", "A", "p"), a), (("31", "A", "p"), b)]
        after = with_result(fleet, 1, "X-000", ("fail", "critical"))
        application = ("application", "A", "p")
        old, new = group_scores(fleet)[application], group_scores(after)[application]
        assert endpoint_score(b).index == endpoint_score(after[1][1]).index == 1.79
        assert old.index == new.index == round((10 * 1.0 + 30 * 1.79) / 40, 2) == 1.59


@PROPERTIES
@given(results_strategy, st.data())
def test_index_if_fixed_is_the_index_of_the_fixed_results(results: Results, data: st.DataObject) -> None:
    # The fix list's what-if: the endpoint re-scored with the fixed fail/warn results passing.
    open_checks = sorted(c for c, (status, _) in results.items() if status in ("fail", "warn"))
    fixed = set(data.draw(st.lists(st.sampled_from(open_checks), unique=True))) if open_checks else set()
    after = {
        c: ("pass", severity) if c in fixed else (status, severity)
        for c, (status, severity) in results.items()
    }
    still_failing = [
        (severity, c) for c, (status, severity) in results.items() if status == "fail" and c not in fixed
    ]
    index = index_if_fixed(endpoint_score(results), [results[c] for c in sorted(fixed)], still_failing)
    assert index == endpoint_score(after).index
    if endpoint_score(results).index is not None:
        assert index >= endpoint_score(results).index  # fixing never lowers


@PROPERTIES
@given(fleets, st.data())
def test_what_if_index_is_the_group_tally_index(fleet: list, data: st.DataObject) -> None:
    scores = [endpoint_score(results) for _, results in fleet]
    group = WhatIf((s.weight, s.index) for s in scores)
    assert group.index() == aggregate(scores).index == group_index((s.weight, s.index) for s in scores)
    # Some measured endpoints re-scored: the same float as a GroupTally over the new scores.
    measured = [p for p, s in enumerate(scores) if s.index is not None]
    if not measured:
        return
    chosen = data.draw(st.lists(st.sampled_from(measured), unique=True))
    replacements = {
        p: endpoint_score({c: ("pass", sev) for c, (_, sev) in fleet[p][1].items()}) for p in chosen
    }
    changed = [replacements.get(p, s) for p, s in enumerate(scores)]
    assert group.index({p: s.index for p, s in replacements.items()}) == aggregate(changed).index
