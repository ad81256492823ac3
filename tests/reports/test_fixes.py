"""The fix list ("Yang harus diperbaiki"): grouping, order, and the index after each fix.

The oracle for every index is the real thing: the same fleet recorded again
with the fix's open results passing, and its report built by the real code.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from orchestrator.reports import fixes as fixes_module
from orchestrator.reports import json_report, write_report
from orchestrator.reports.build import build_report
from orchestrator.reports.fixes import fix_ids
from orchestrator.store import Store
from orchestrator.waivers import load_waivers
from probes import registry
from probes.model import EFFORTS, Check, Severity
from tests.reports.fleets import E, F, P, S, W, fixed, one_sweep_store

SSH = ("SSH-BANNER-001", "SSH-KEX-001", "SSH-KEX-002", "SSH-ENC-001", "SSH-MAC-001", "SSH-HKEY-003")
VALIDATOR = jsonschema.Draft202012Validator(json_report.schema(), format_checker=jsonschema.FormatChecker())


def ssh(**statuses) -> dict:
    """Every SSH check passing but those given (keyword: the check id with _ for -)."""
    return {c: statuses.get(c.replace("-", "_"), P) for c in SSH}


# Agency A: one endpoint held in Cukup by a single high fail; the others pass.
CAPPED_BY_ONE = {
    "ssh://10.1.0.1:22": ("A", ssh(SSH_KEX_001=F)),
    "ssh://10.1.0.2:22": ("A", ssh()),
}
# Three agencies. KEX-001 (high) fails on 3 endpoints, ENC-001 (high) on 1 of A's and 1 of C's;
# MAC-001 warns; an error is not a fix.
NATION = {
    "ssh://10.2.0.1:22": ("A", ssh(SSH_KEX_001=F, SSH_ENC_001=F)),
    "ssh://10.2.0.2:22": ("A", ssh(SSH_KEX_001=F)),
    "ssh://10.2.0.3:22": ("A", ssh(SSH_MAC_001=W)),
    "ssh://10.2.0.4:22": ("B", ssh(SSH_KEX_001=F, SSH_KEX_002=W)),
    "ssh://10.2.0.5:22": ("B", ssh()),
    "ssh://10.2.0.6:22": ("C", ssh(SSH_ENC_001=F, SSH_HKEY_003=E, SSH_BANNER_001=S)),
    "ssh://10.2.0.7:22": ("C", ssh(SSH_MAC_001=W)),
}


def report_of(tmp_path: Path, fleet, **options) -> tuple[dict, dict]:
    """The report of a one-sweep store of ``fleet``, and its JSON document (validated by the schema)."""
    directory = tmp_path / f"store{len(list(tmp_path.glob('store*')))}"
    directory.mkdir()
    path, sweep_id = one_sweep_store(directory, fleet)
    with Store(path, create=False) as store:
        report = build_report(store, sweep_id, **options)
        out = io.StringIO()
        write_report(report, "json", out)
    document = json.loads(out.getvalue())
    assert [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(document)] == []
    return report, document


def predicate_levels(report) -> dict:
    return {a["code"]: a["score"]["level"] for a in report["agencies"]}


def test_fixing_the_one_high_fail_lifts_the_cap(tmp_path: Path) -> None:
    report, _ = report_of(tmp_path, CAPPED_BY_ONE, agency="A")
    assert report["score"]["cap"]["check"] == "SSH-KEX-001" and report["score"]["index"] < 5
    [fix] = report["fixes"]
    assert fix["id"] == "ssh-kex-001" and fix["checks"][0]["id"] == "SSH-KEX-001"
    assert (fix["severity"], fix["endpoints"], fix["endpoint_count"], fix["findings"]) == (
        "high",
        ["ssh://10.1.0.1:22"],
        1,
        1,
    )
    assert fix["effort"] == registry.effort("SSH-KEX-001") and fix["effort"] in EFFORTS
    # The real report once the fix is done: the cap is gone, every endpoint at 5.00.
    after, _ = report_of(tmp_path, fixed(CAPPED_BY_ONE, ["SSH-KEX-001"]), agency="A")
    assert after["score"]["cap"] is None and after["score"]["index"] == 5.0
    assert fix["index_after"] == after["score"]["index"] == fix["cumulative_index_after"]
    assert fix["predicate_after"] == {"id": "memuaskan", "label": "Memuaskan"}
    assert fix["index_gain"] == round(5.0 - report["score"]["index"], 2) > 0
    assert fix["agencies_up"] is None  # an agency's report says nothing of the others


@pytest.mark.parametrize("agency", [None, "A", "C"])
def test_every_index_after_is_the_real_score_of_the_fixed_fleet(tmp_path: Path, agency) -> None:
    report, document = report_of(tmp_path, NATION, agency=agency)
    assert document["fixes"] == report["fixes"]
    done: set[str] = set()
    for fix in report["fixes"]:
        checks = [c["id"] for c in fix["checks"]]
        done |= set(checks)
        alone, _ = report_of(tmp_path, fixed(NATION, checks), agency=agency)
        together, _ = report_of(tmp_path, fixed(NATION, done), agency=agency)
        assert fix["index_after"] == alone["score"]["index"], fix["id"]
        assert fix["predicate_after"] == alone["score"]["predicate"]
        assert fix["cumulative_index_after"] == together["score"]["index"], fix["id"]
        assert fix["index_gain"] == round(alone["score"]["index"] - report["score"]["index"], 2)
        if agency is None:
            now, then = predicate_levels(report), predicate_levels(alone)
            assert fix["agencies_up"] == sum(then[code] > now[code] for code in now), fix["id"]
    assert report["fixes"][-1]["cumulative_index_after"] == 5.0  # every open finding fixed


def test_agency_order_severity_then_endpoints_then_id(tmp_path: Path) -> None:
    report, _ = report_of(tmp_path, NATION, agency="A")
    # KEX-001 (high, 2 endpoints) before ENC-001 (high, 1) although "ssh-enc" sorts first; medium last.
    assert [(f["id"], f["severity"], f["endpoint_count"]) for f in report["fixes"]] == [
        ("ssh-kex-001", "high", 2),
        ("ssh-enc-001", "high", 1),
        ("ssh-mac-001", "medium", 1),
    ]


def test_a_fix_on_three_endpoints_ranks_above_one_on_one(tmp_path: Path) -> None:
    fleet = {
        **{f"ssh://10.3.0.{n}:22": ("A", ssh(SSH_KEX_001=F)) for n in (1, 2, 3)},
        "ssh://10.3.0.4:22": ("A", ssh(SSH_ENC_001=F)),
    }
    report, _ = report_of(tmp_path, fleet, agency="A")
    assert [(f["id"], f["endpoint_count"]) for f in report["fixes"]] == [
        ("ssh-kex-001", 3),
        ("ssh-enc-001", 1),
    ]


def test_national_list_counts_agencies_moving_up_and_ranks_by_it(tmp_path: Path) -> None:
    report, _ = report_of(tmp_path, NATION)
    fixes = report["fixes"]
    keys = [(-f["agencies_up"], -Severity(f["severity"]).rank, -f["endpoint_count"], f["id"]) for f in fixes]
    assert keys == sorted(keys)
    by_id = {f["id"]: f for f in fixes}
    # KEX-001 everywhere lifts B (its only capped endpoint) and A (10.2.0.2 uncapped, although ENC-001
    # still caps 10.2.0.1) a predicate each: it heads the list; ENC-001 lifts C only.
    assert [(f["id"], f["agencies_up"]) for f in fixes[:2]] == [("ssh-kex-001", 2), ("ssh-enc-001", 1)]
    assert by_id["ssh-kex-001"]["endpoints"] == [
        "ssh://10.2.0.1:22",
        "ssh://10.2.0.2:22",
        "ssh://10.2.0.4:22",
    ]
    # Open findings only: the error (HKEY-003) and the skip are no fixes; warnings are.
    assert "ssh-hkey-003" not in by_id and "ssh-banner-001" not in by_id
    assert by_id["ssh-mac-001"]["findings"] == 2 and by_id["ssh-kex-002"]["severity"] == "low"


def test_waived_findings_are_not_fixes(tmp_path: Path) -> None:
    waivers_path = tmp_path / "waivers.yaml"
    waivers_path.write_text(
        "waivers:\n  - id: W-B\n    check: SSH-KEX-001\n    agency: B\n    justification: Appliance.\n"
        "    approver: Kepala Dinas B\n    expires: 2099-01-31\n",
        encoding="utf-8",
    )
    waivers = load_waivers(waivers_path, as_of=date(2099, 1, 10))
    report, document = report_of(tmp_path, NATION, waivers=waivers)
    kex = next(f for f in report["fixes"] if f["id"] == "ssh-kex-001")
    assert kex["endpoints"] == ["ssh://10.2.0.1:22", "ssh://10.2.0.2:22"] and kex["findings"] == 2
    # The waived finding shows who approved it and until when; the waiver expires within 30 days.
    waived = [f for f in report["findings"] if f["status"] == "waived"]
    assert [(f["endpoint"], f["waiver"]["approver"], f["waiver"]["expires"]) for f in waived] == [
        ("ssh://10.2.0.4:22", "Kepala Dinas B", "2099-01-31")
    ]
    assert [(w["id"], w["days_left"]) for w in document["waivers"]["expiring"]] == [("W-B", 21)]


def test_checks_sharing_a_remediation_make_one_fix(tmp_path: Path, monkeypatch) -> None:
    def check(check_id: str, remediation: str) -> Check:
        return Check(check_id, "t", "ssh", "key-exchange", Severity.HIGH, "r", remediation)

    assert fix_ids(
        {"X-002": check("X-002", "same"), "X-001": check("X-001", "same"), "X-003": check("X-003", "other")}
    ) == {"X-001": "x-001", "X-002": "x-001", "X-003": "x-003"}
    # In a report: KEX-001 and KEX-002 grouped (as if their remediation were one text).
    grouping = {**fixes_module.fix_of_check(), "SSH-KEX-002": "ssh-kex-001"}
    monkeypatch.setattr(fixes_module, "fix_of_check", lambda: grouping)
    report, _ = report_of(tmp_path, NATION, agency="B")
    [kex, *_] = [f for f in report["fixes"] if f["id"] == "ssh-kex-001"]
    assert [c["id"] for c in kex["checks"]] == ["SSH-KEX-001", "SSH-KEX-002"]
    assert (kex["severity"], kex["findings"], kex["endpoint_count"]) == ("high", 2, 1)
    assert kex["checks"][1]["title"] == registry.check_text("SSH-KEX-002", "id").title
    together, _ = report_of(tmp_path, fixed(NATION, ["SSH-KEX-001", "SSH-KEX-002"]), agency="B")
    assert kex["index_after"] == together["score"]["index"]


def test_endpoint_list_is_bounded_and_the_count_complete(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fixes_module, "FIX_ENDPOINTS_LIMIT", 2)
    report, _ = report_of(tmp_path, NATION)
    kex = next(f for f in report["fixes"] if f["id"] == "ssh-kex-001")
    assert kex["endpoints"] == ["ssh://10.2.0.1:22", "ssh://10.2.0.2:22"] and kex["endpoint_count"] == 3


def test_no_open_finding_no_fix(tmp_path: Path) -> None:
    report, _ = report_of(tmp_path, {"ssh://10.4.0.1:22": ("A", ssh(SSH_HKEY_003=E))})
    assert report["fixes"] == []
