"""The trend (index over the last sweeps) and the per-endpoint changes since the previous sweep."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orchestrator.reports import changes as changes_module
from orchestrator.reports import trend as trend_module
from orchestrator.reports.build import build_report
from orchestrator.store import Store, SweepState
from orchestrator.waivers import load_waivers
from tests.reports.fleets import E, F, P, S, W, later, record_sweep

CHECKS = ("SSH-BANNER-001", "SSH-KEX-001", "SSH-KEX-002", "SSH-ENC-001", "SSH-MAC-001")


def fleet(a1: tuple, a2: tuple, b1: tuple) -> dict:
    return {
        "ssh://10.5.0.1:22": ("A", dict(zip(CHECKS, a1, strict=True))),
        "ssh://10.5.0.2:22": ("A", dict(zip(CHECKS, a2, strict=True))),
        "ssh://10.5.0.9:22": ("B", dict(zip(CHECKS, b1, strict=True))),
    }


# Three sweeps of agency A getting better while B gets worse.
WEEK_1 = fleet((F, F, F, F, W), (P, F, P, P, P), (P, P, P, P, P))
WEEK_2 = fleet((P, F, F, P, W), (P, P, P, P, P), (P, P, W, P, P))
WEEK_3 = fleet((P, P, W, P, P), (P, P, P, P, P), (P, F, P, P, P))


@pytest.fixture
def history(tmp_path: Path):
    """Three complete sweeps, plus sweeps the trend leaves out: another profile, an interrupted one,
    another inventory."""
    path = tmp_path / "results.db"
    with Store(path) as store:
        week_1 = record_sweep(store, WEEK_1, started_at=later(0))
        week_2 = record_sweep(store, WEEK_2, started_at=later(7))
        record_sweep(store, WEEK_1, started_at=later(8), profile="other-profile")
        record_sweep(store, WEEK_1, started_at=later(9), state=SweepState.INTERRUPTED)
        record_sweep(store, WEEK_1, started_at=later(10), inventory_name="another")
        week_3 = record_sweep(store, WEEK_3, started_at=later(14))
    with Store(path, create=False) as store:
        yield store, (week_1, week_2, week_3)


@pytest.mark.parametrize("agency", [None, "A"])
def test_trend_is_each_sweeps_own_index_oldest_first(history, agency) -> None:
    store, sweeps = history
    report = build_report(store, sweeps[2], agency=agency, lang="en")
    own = [build_report(store, sweep_id, agency=agency, lang="en")["score"] for sweep_id in sweeps]
    assert [(p["sweep"], p["index"], p["predicate"]) for p in report["trend"]] == [
        (sweep_id, score["index"], score["predicate"]) for sweep_id, score in zip(sweeps, own, strict=True)
    ]
    assert report["trend"][-1]["index"] == report["score"]["index"]
    assert [p["started_at"] for p in report["trend"]] == sorted(p["started_at"] for p in report["trend"])
    if agency == "A":  # A fixed its fails week after week
        indices = [p["index"] for p in report["trend"]]
        assert indices == sorted(indices) and indices[0] < indices[-1]


def test_trend_of_an_older_sweep_stops_there_and_is_bounded(history, monkeypatch) -> None:
    store, sweeps = history
    assert [p["sweep"] for p in build_report(store, sweeps[1])["trend"]] == list(sweeps[:2])
    assert [p["sweep"] for p in build_report(store, sweeps[0])["trend"]] == [sweeps[0]]
    monkeypatch.setattr(trend_module, "TREND_SWEEPS", 2)
    assert [p["sweep"] for p in build_report(store, sweeps[2])["trend"]] == list(sweeps[1:])


def test_trend_applies_the_reports_waivers_to_every_sweep(history, tmp_path: Path) -> None:
    store, sweeps = history
    waivers_path = tmp_path / "waivers.yaml"
    waivers_path.write_text(
        "waivers:\n  - id: W-A\n    check: SSH-KEX-00*\n    agency: A\n    justification: Appliance.\n"
        "    approver: Kepala Dinas A\n    expires: 2099-01-31\n",
        encoding="utf-8",
    )

    def waivers():
        return load_waivers(waivers_path, as_of=date(2099, 1, 1))

    report = build_report(store, sweeps[2], agency="A", waivers=waivers())
    own = [
        build_report(store, sweep_id, agency="A", waivers=waivers())["score"]["index"] for sweep_id in sweeps
    ]
    assert [p["index"] for p in report["trend"]] == own
    assert own != [build_report(store, s, agency="A")["score"]["index"] for s in sweeps]  # the waiver matters
    # The trend reads the waivers without counting: the report's counts are its own sweep's.
    assert report["waivers"]["applied"][0]["results"] == 1  # KEX-002's warning on 10.5.0.1 this week
    assert sum(f["status"] == "waived" for f in report["findings"]) == 1


def test_changes_by_endpoint_new_fixed_still_open(tmp_path: Path) -> None:
    with Store(tmp_path / "results.db") as store:
        sweeps = [
            record_sweep(store, week, started_at=later(7 * n)) for n, week in enumerate((WEEK_2, WEEK_3))
        ]
        check_changes_of_week_3(store, sweeps)


def check_changes_of_week_3(store: Store, sweeps: list[str]) -> None:
    changes = build_report(store, sweeps[1])["changes"]
    assert changes["previous_sweep"] == sweeps[0]
    assert changes["by_endpoint"] == [
        # KEX-001 fail -> pass and MAC-001 warn -> pass fixed; KEX-002 fail -> warn still open.
        {
            "endpoint": "ssh://10.5.0.1:22",
            "new": [],
            "fixed": ["SSH-KEX-001", "SSH-MAC-001"],
            "still_open": ["SSH-KEX-002"],
        },
        # 10.5.0.2 passes both times: not listed. B: KEX-001 newly fails, KEX-002's warning is fixed.
        {"endpoint": "ssh://10.5.0.9:22", "new": ["SSH-KEX-001"], "fixed": ["SSH-KEX-002"], "still_open": []},
    ]
    assert changes["by_endpoint_counts"] == {"endpoints": 2, "new": 1, "fixed": 3, "still_open": 1}
    agency = build_report(store, sweeps[1], agency="A")["changes"]
    assert [e["endpoint"] for e in agency["by_endpoint"]] == ["ssh://10.5.0.1:22"]
    assert agency["by_endpoint_counts"] == {"endpoints": 1, "new": 0, "fixed": 2, "still_open": 1}


def test_changes_by_endpoint_edge_cases_and_bound(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "results.db"
    before = {"ssh://10.6.0.1:22": ("A", dict(zip(CHECKS, (F, F, W, P, F), strict=True)))}
    after = {
        # BANNER fail -> skip is fixed (not applicable now); KEX-001 fail -> error is not known to be
        # fixed; KEX-002 warn -> fail stays open; ENC-001 pass -> warn is new; MAC-001 dropped.
        "ssh://10.6.0.1:22": ("A", dict(zip(CHECKS[:4], (S, E, F, W), strict=True))),
        "ssh://10.6.0.2:22": (
            "A",
            dict(zip(CHECKS, (P, F, W, P, P), strict=True)),
        ),  # a new endpoint: all open is new
        "ssh://10.6.0.3:22": ("A", dict(zip(CHECKS, (F, P, P, P, P), strict=True))),
    }
    with Store(path) as store:
        record_sweep(store, before, started_at=later(0))
        current = record_sweep(store, after, started_at=later(7))
        changes = build_report(store, current)["changes"]
        assert changes["by_endpoint"] == [
            {
                "endpoint": "ssh://10.6.0.1:22",
                "new": ["SSH-ENC-001"],
                "fixed": ["SSH-BANNER-001"],
                "still_open": ["SSH-KEX-002"],
            },
            {
                "endpoint": "ssh://10.6.0.2:22",
                "new": ["SSH-KEX-001", "SSH-KEX-002"],
                "fixed": [],
                "still_open": [],
            },
            {"endpoint": "ssh://10.6.0.3:22", "new": ["SSH-BANNER-001"], "fixed": [], "still_open": []},
        ]
        monkeypatch.setattr(changes_module, "CHANGES_LIMIT", 1)
        bounded = build_report(store, current)["changes"]
        assert len(bounded["by_endpoint"]) == 1
        assert bounded["by_endpoint_counts"] == {"endpoints": 3, "new": 4, "fixed": 1, "still_open": 1}
