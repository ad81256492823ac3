"""The report model built from a small store: scores by hand, names, certificates, changes, streaming."""

from __future__ import annotations

import json
from datetime import date

import pytest

from orchestrator.reports import build as build_module
from orchestrator.reports import changes as changes_module
from orchestrator.reports.build import build_report
from orchestrator.reports.model import ReportError, iter_results
from orchestrator.store import Store, UnknownSweep
from orchestrator.waivers import load_waivers
from tests.reports.support import CURRENT, HOSTILE, Built


def by(items, key: str) -> dict:
    return {item[key]: item for item in items}


def test_national_scores_are_summed_from_results(national) -> None:
    agencies = by(national["agencies"], "code")
    bandung = agencies["32.73"]["score"]
    # ssh://…:2273: BANNER high P 5, KEX-001 high F 0/5, KEX-002 low F 0/1, ENC-001 high F 0/5,
    # MAC-001 medium W 1.5/3, HKEY-003 critical P 10  -> 16.5 / 29
    # grpcs://…:50473: PROTO-001 P 5, PROTO-002 F 0/5, CERT-003 P 10, CERT-004 W 1.5/3, ALPN F 0/3,
    # HLTH-001 P 5, REFL-001 P 3, IDEN-001 P 5, INTR-012 skip  -> 29.5 / 39
    assert (bandung["earned"], bandung["possible"], bandung["error_weight"]) == (46.0, 68.0, 0.0)
    assert bandung["compliance"] == round(46 / 68, 4)
    # Issue 7: the index is no longer 1 + 4 x compliance (3.71). Each endpoint is capped by its worst
    # open fail -- both have a high one (SSH-ENC-001 and SSH-KEX-001; TLS-PROTO-002), so both are held
    # in Cukup at 2.59 -- and the agency averages the capped indices weighted by every selected
    # check's weight (29 and 39): (29 * 2.59 + 39 * 2.59) / 68 = 2.59.
    assert bandung["index"] == 2.59 and bandung["predicate"] == {"id": "cukup", "label": "Cukup"}
    assert bandung["level"] == 2 and bandung["weight"] == 68.0
    assert bandung["cap"]["endpoints"] == 2 and bandung["cap"]["uncapped_index"] == 3.71
    assert [(r["check"], r["severity"]) for r in bandung["cap"]["reasons"]] == [
        ("SSH-ENC-001", "high"),
        ("TLS-PROTO-002", "high"),
    ]
    assert agencies["32.73"]["name"] == "Kota Bandung"
    assert agencies["32.73"]["province_name"] == "Jawa Barat"
    assert agencies["32.73"]["findings"] == 7  # 5 fail + 2 warn
    # The nation is the sum of its agencies, not an average of their ratios.
    earned = sum(a["score"]["earned"] for a in agencies.values())
    possible = sum(a["score"]["possible"] for a in agencies.values())
    assert (national["score"]["earned"], national["score"]["possible"]) == (earned, possible)
    assert national["score"]["compliance"] == round(earned / possible, 4)
    total = sum(len(statuses) for statuses in CURRENT.values())
    assert sum(national["score"]["counts"].values()) == total == national["sweep"]["totals"]["results"]


def test_unreachable_endpoint_is_not_measured(national) -> None:
    endpoint = by(national["endpoints"], "id")["ssh://127.0.0.1:2224"]
    assert endpoint["unreachable"] == "connection refused"
    assert endpoint["score"]["compliance"] is None and endpoint["score"]["confidence"] == 0.0
    assert endpoint["score"]["predicate"] is None
    application = by(national["applications"], "id")["kemenkes-sisdmk"]
    assert application["score"]["compliance"] is None and application["unreachable"] == 1
    # The agency is still measured by its other application, with less confidence.
    kemenkes = by(national["agencies"], "code")["KEMENKES"]["score"]
    assert kemenkes["compliance"] is not None and kemenkes["confidence"] < 1


def test_provinces_and_labels(store: Store, built: Built) -> None:
    report = build_report(store, built.current, lang="en")
    provinces = by(report["provinces"], "code")
    assert {code: p["name"] for code, p in provinces.items()} == {"31": "DKI Jakarta", "32": "Jawa Barat"}
    assert provinces["32"]["agencies"] == 2 and provinces["32"]["endpoints"] == 3
    assert report["labels"]["status"]["waived"] == "Waived"
    # Capped endpoint indices 3.49 (39), 2.59 (29, 13, 29, 39), the unreachable one left out:
    # 421.01 / 149 = 2.83 (was 3.99 "Very good" as a sum of earned over possible, before issue 7).
    assert report["score"]["index"] == 2.83 and report["score"]["predicate"]["label"] == "Good"


def test_checks_categories_and_endpoint_facts(national) -> None:
    checks = by(national["checks"], "id")
    kex = checks["SSH-KEX-001"]
    assert kex["severity"] == "high" and kex["category"] == "key-exchange"
    assert (
        kex["counts"]["fail"] == 2 and kex["counts"]["error"] == 1 and kex["rationale"] and kex["remediation"]
    )
    categories = by(national["categories"], "category")
    assert categories["key-exchange"]["counts"]["fail"] == 3
    facts = by(national["endpoints"], "id")["grpcs://127.0.0.1:50443"]["facts"]
    assert facts["tls"]["subject"] == "CN=api.kemenkes.go.id" and facts["grpc"]["health"] == "SERVING"
    ssh = by(national["endpoints"], "id")["ssh://127.0.0.1:2273"]["facts"]["ssh"]
    assert ssh["banner"] == "SSH-2.0-" + HOSTILE and "kex" not in ssh  # a small subset only


def test_certificates_soonest_first(national) -> None:
    assert [(c["endpoint"], c["days_left"]) for c in national["certificates"]] == [
        ("grpcs://127.0.0.1:50473", 20),
        ("grpcs://127.0.0.1:50443", 200),
    ]


def test_findings_and_top_findings(national) -> None:
    findings = list(national["findings"])
    assert {f["status"] for f in findings} == {"fail", "warn", "error"}
    assert len(findings) == sum(
        1 for s in CURRENT.values() for v in s.values() if v.value in ("fail", "warn", "error")
    )
    top = national["top_findings"]
    counts = national["score"]["counts"]
    assert len(top) == counts["fail"] + counts["warn"] == 12  # all of them: fewer than TOP_FINDINGS
    assert (top[0]["severity"], top[0]["status"]) == ("high", "fail")
    ranks = [
        ({"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}[f["severity"]], f["status"] == "fail")
        for f in top
    ]
    assert ranks == sorted(ranks, reverse=True)
    assert all(f["status"] in ("fail", "warn") for f in top)


def test_changes_against_previous_complete_sweep(national, built: Built) -> None:
    changes = national["changes"]
    assert changes["previous_sweep"] == built.previous
    assert {(c["endpoint_id"], c["check_id"]) for c in changes["regressions"]} == {
        ("ssh://127.0.0.1:2222", "SSH-KEX-001"),
        ("grpc://localhost:50052", "GRPC-IDEN-001"),
    }
    assert [(c["endpoint_id"], c["before"], c["after"]) for c in changes["fixes"]] == [
        ("ssh://127.0.0.1:2273", "fail", "pass")
    ]


def test_first_sweep_has_no_changes(store: Store, built: Built) -> None:
    assert build_report(store, built.previous)["changes"] is None


def test_waivers_change_scores_and_findings(store: Store, built: Built, waivers_file) -> None:
    waivers = load_waivers(waivers_file, as_of=date(2025, 6, 1))
    report = build_report(store, built.current, waivers=waivers)
    bandung = by(report["agencies"], "code")["32.73"]["score"]
    # KEX-001 (high, 5) and KEX-002 (low, 1) on :2273 are waived: they earn their weight.
    assert (bandung["earned"], bandung["possible"]) == (52.0, 68.0)
    assert bandung["counts"]["waived"] == 2 and bandung["counts"]["fail"] == 3
    waived = [f for f in report["findings"] if f["status"] == "waived"]
    assert {(f["check_id"], f["waiver"]["id"], f["waiver"]["original_status"]) for f in waived} == {
        ("SSH-KEX-001", "W-BDG-KEX", "fail"),
        ("SSH-KEX-002", "W-BDG-KEX", "fail"),
    }
    assert [w["id"] for w in report["waivers"]["applied"]] == ["W-BDG-KEX"]
    assert [(w["id"], w["results"]) for w in report["waivers"]["expired"]] == [("W-KES-CERT", 1)]
    assert {w["id"] for w in report["waivers"]["unmatched"]} == {"W-JABAR-REFL", "W-NOTHING"}
    # The same Waivers object gives the same report twice (counts restart).
    again = build_report(store, built.current, waivers=waivers)
    assert again["waivers"] == report["waivers"]


def test_endpoint_caps_name_the_worst_open_fail_and_a_waiver_lifts_them(
    store: Store, built: Built, tmp_path
) -> None:
    report = build_report(store, built.current, lang="en")
    endpoint = by(report["endpoints"], "id")["ssh://127.0.0.1:2222"]["score"]
    # BANNER high P, KEX-001 high F, KEX-002 low W, ENC-001 high P, MAC-001 medium P, HKEY-003 critical P:
    # 23.5 / 29 -> 4.24 (Memuaskan) uncapped, held in Cukup by the open high fail.
    assert endpoint["cap"] == {
        "check": "SSH-KEX-001",
        "severity": "high",
        "status": "fail",
        "endpoints": 1,
        "uncapped_index": 4.24,
        "predicate": {"id": "cukup", "label": "Fair"},
        "max_index": 2.59,
        "reasons": [{"check": "SSH-KEX-001", "severity": "high", "status": "fail", "endpoints": 1}],
    }
    assert (endpoint["index"], endpoint["predicate"]["id"], endpoint["weight"]) == (2.59, "cukup", 29.0)
    kemenkes = by(report["agencies"], "code")["KEMENKES"]["score"]
    # Waive that fail: nothing open is left on the endpoint, the cap goes, every group above it rises.
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n  - id: W-KEX\n    check: SSH-KEX-001\n    endpoint: ssh://127.0.0.1:2222\n"
        "    justification: Accepted until the upgrade.\n    approver: Pusdatin\n"
        "    expires: 2099-01-01\n",
        encoding="utf-8",
    )
    waived = build_report(store, built.current, lang="en", waivers=load_waivers(path, as_of=date(2026, 1, 1)))
    lifted = by(waived["endpoints"], "id")["ssh://127.0.0.1:2222"]["score"]
    # 28.5 / 29 (the low warning stays): 4.93, no cap.
    assert (lifted["index"], lifted["predicate"]["id"], lifted["cap"]) == (4.93, "memuaskan", None)
    after = by(waived["agencies"], "code")["KEMENKES"]["score"]
    assert after["index"] > kemenkes["index"]
    assert after["cap"]["endpoints"] == kemenkes["cap"]["endpoints"] - 1
    assert waived["score"]["index"] > report["score"]["index"]


def test_names_fall_back_to_codes_without_the_inventory(store: Store, built: Built, tmp_path) -> None:
    report = build_report(store, built.current, inventory_names={})
    assert by(report["agencies"], "code")["32.73"]["name"] == "32.73"
    named = build_report(
        store,
        built.current,
        inventory_names={"agencies": {"32.73": "Kota Kembang"}, "applications": {"32-73-simpeg": "SIMPEG"}},
    )
    assert by(named["agencies"], "code")["32.73"]["name"] == "Kota Kembang"
    assert by(named["applications"], "id")["32-73-simpeg"]["name"] == "SIMPEG"


def test_large_finding_lists_stream_from_the_store(store: Store, built: Built, monkeypatch) -> None:
    in_memory = build_report(store, built.current)
    assert isinstance(in_memory["findings"], list)
    monkeypatch.setattr(build_module, "FINDINGS_IN_MEMORY", 3)
    streamed = build_report(store, built.current)
    assert not isinstance(streamed["findings"], list)
    assert len(streamed["findings"]) == len(in_memory["findings"])
    assert list(streamed["findings"]) == in_memory["findings"]
    assert streamed["findings"][2] == in_memory["findings"][2]
    assert streamed["findings"][-1] == in_memory["findings"][-1]
    assert streamed["findings"][1:4] == in_memory["findings"][1:4]
    assert json.dumps(streamed, default=list) == json.dumps(in_memory, default=list)


def test_every_result_is_available_for_junit(national) -> None:
    results = list(iter_results(national))
    assert len(results) == national["sweep"]["totals"]["results"]
    assert sum(r["status"] == "pass" for r in results) == national["score"]["counts"]["pass"]


def test_a_report_read_back_from_json_has_no_results_to_list(national) -> None:
    """A plain mapping (a JSON report read back) is refused with the reason, not an AttributeError."""
    with pytest.raises(ReportError, match="not built from a store"):
        list(iter_results(json.loads(json.dumps(national, default=list))))


def test_bad_requests(store: Store, built: Built) -> None:
    with pytest.raises(ReportError, match="has no endpoints"):
        build_report(store, built.current, agency="99.99")
    with pytest.raises(ReportError, match="language"):
        build_report(store, built.current, lang="fr")
    with pytest.raises(UnknownSweep):
        build_report(store, "19990101")


def test_change_lists_are_capped_but_counted(store: Store, built: Built, monkeypatch) -> None:
    monkeypatch.setattr(changes_module, "CHANGES_LIMIT", 1)
    changes = build_report(store, built.current)["changes"]
    assert changes["counts"] == {
        "regressions": 2,
        "fixes": 1,
        "changed": 0,
        "new_endpoints": 0,
        "gone_endpoints": 0,
    }
    assert [(c["endpoint_id"], c["check_id"]) for c in changes["regressions"]] == [
        ("grpc://localhost:50052", "GRPC-IDEN-001")
    ]
