"""Diff semantics between two sweeps."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.store.read import classify_change
from probes.model import Status

from .conftest import endpoint, report

P, F, W, E, S, V = Status.PASS, Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP, Status.WAIVED

# Every ordered pair of distinct statuses and what a diff calls it.
EXPECTED_CLASS = {
    (P, F): "regression", (P, W): "regression", (P, E): "regression",
    (S, F): "regression", (S, W): "regression", (S, E): "regression",
    (V, F): "regression", (V, W): "regression", (V, E): "regression",
    (W, F): "regression",
    (F, P): "fix", (F, S): "fix", (F, V): "fix",
    (W, P): "fix", (W, S): "fix", (W, V): "fix",
    (E, P): "fix", (E, S): "fix", (E, V): "fix",
    (F, W): "fix",
    (P, S): "changed", (S, P): "changed", (P, V): "changed", (V, P): "changed",
    (S, V): "changed", (V, S): "changed",
    (E, F): "changed", (F, E): "changed", (E, W): "changed", (W, E): "changed",
}  # fmt: skip


def test_expected_class_table_covers_every_status_change():
    assert set(EXPECTED_CLASS) == {(a, b) for a, b in itertools.permutations(Status, 2)}


@pytest.mark.parametrize(("before", "after"), sorted(EXPECTED_CLASS, key=lambda p: (p[0].value, p[1].value)))
def test_classify_change(before, after):
    assert classify_change(before, after) == EXPECTED_CLASS[(before, after)]


def test_diff_sorts_changes_and_endpoints(store, make_sweep):
    kept = [endpoint(i) for i in range(1, 5)]
    gone, new = endpoint(8), endpoint(9)
    unfinished = endpoint(7)  # in both sweeps but never finished in the newer one

    a = make_sweep(kept + [gone, unfinished])
    store.record_many(
        a,
        [
            (
                kept[0].endpoint_id,
                report(kept[0].url, {"SSH-KEX-001": P, "SSH-KEX-002": F, "TLS-CERT-003": E}),
            ),
            (kept[1].endpoint_id, report(kept[1].url, {"SSH-KEX-001": W, "SSH-KEX-002": P})),
            (kept[2].endpoint_id, report(kept[2].url, {"SSH-KEX-001": P, "SSH-KEX-002": P})),
            (kept[3].endpoint_id, report(kept[3].url, {"SSH-KEX-001": F})),
            (gone.endpoint_id, report(gone.url, {"SSH-KEX-001": F})),
            (unfinished.endpoint_id, report(unfinished.url, {"SSH-KEX-001": P})),
        ],
    )
    store.set_state(a, "complete")

    b = make_sweep(kept + [new, unfinished])
    store.record_many(
        b,
        [
            (
                kept[0].endpoint_id,
                report(kept[0].url, {"SSH-KEX-001": F, "SSH-KEX-002": P, "TLS-CERT-003": W}),
            ),
            (kept[1].endpoint_id, report(kept[1].url, {"SSH-KEX-001": F, "SSH-KEX-002": V})),
            (kept[2].endpoint_id, report(kept[2].url, {"SSH-KEX-001": P, "SSH-KEX-002": P})),  # unchanged
            # SSH-KEX-001 dropped by the profile, SSH-KEX-002 added.
            (kept[3].endpoint_id, report(kept[3].url, {"SSH-KEX-002": F})),
            (new.endpoint_id, report(new.url, {"SSH-KEX-001": F})),
        ],
    )

    # A unique prefix of a's id: two sweeps of one second differ only in their random suffix.
    prefix = next(a[:n] for n in range(17, len(a) + 1) if not b.startswith(a[:n]))
    diff = store.diff(prefix, b)

    assert (diff.a, diff.b) == (a, b)
    assert [(e.endpoint_id, e.check_id, e.before, e.after) for e in diff.regressions] == [
        (kept[0].endpoint_id, "SSH-KEX-001", P, F),
        (kept[1].endpoint_id, "SSH-KEX-001", W, F),
    ]
    assert [(e.endpoint_id, e.check_id, e.before, e.after) for e in diff.fixes] == [
        (kept[0].endpoint_id, "SSH-KEX-002", F, P),
    ]
    assert [(e.endpoint_id, e.check_id, e.before, e.after) for e in diff.changed] == [
        (kept[0].endpoint_id, "TLS-CERT-003", E, W),
        (kept[1].endpoint_id, "SSH-KEX-002", P, V),
        (kept[3].endpoint_id, "SSH-KEX-001", F, None),
        (kept[3].endpoint_id, "SSH-KEX-002", None, F),
    ]
    assert diff.new_endpoints == [new.endpoint_id]
    assert diff.gone_endpoints == [gone.endpoint_id]
    regression = diff.regressions[0]
    assert (regression.agency, regression.province, regression.reason) == (
        "kemenkes",
        "DKI Jakarta",
        "SSH-KEX-001 is fail",
    )
    assert regression.to_dict()["before"] == "pass" and regression.to_dict()["after"] == "fail"


def test_diff_of_a_sweep_with_itself_is_empty(store, make_sweep):
    ep = endpoint(1)
    a = make_sweep([ep])
    store.record(a, ep.endpoint_id, report(ep.url, {"SSH-KEX-001": F}))
    diff = store.diff(a, a)
    assert (diff.regressions, diff.fixes, diff.changed, diff.new_endpoints, diff.gone_endpoints) == (
        [],
        [],
        [],
        [],
        [],
    )
