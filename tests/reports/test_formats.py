"""Each format's structure: JSON Schema, JUnit, SARIF 2.1.0, Markdown and CSV."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date

import jsonschema
import pytest

from orchestrator.reports import json_report
from orchestrator.reports.build import build_report
from orchestrator.reports.csv_report import COLUMNS
from orchestrator.reports.sarif import artifact_uri
from orchestrator.store import Store
from orchestrator.waivers import load_waivers
from tests.reports.conftest import render
from tests.reports.support import Built

VALIDATOR = jsonschema.Draft202012Validator(json_report.schema(), format_checker=jsonschema.FormatChecker())


@pytest.fixture(params=["national", "agency", "waivers-en"])
def report(request, store: Store, built: Built, waivers_file):
    if request.param == "national":
        return build_report(store, built.current)
    if request.param == "agency":
        return build_report(store, built.current, agency="KEMENKES")
    waivers = load_waivers(waivers_file, as_of=date(2025, 6, 1))
    return build_report(store, built.current, waivers=waivers, lang="en")


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_report.schema())


def test_json_report_validates_and_round_trips(report) -> None:
    document = json.loads(render(report, "json"))
    errors = [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert errors == []
    assert document == json.loads(json.dumps(report, default=list))
    # 1.1: scores carry weight and cap (issue 7); 1.2: fixes, trend (issue 10)
    assert document["schema_version"] == "1.2"
    # The machine-readable cap: every capped endpoint names its worst open fail and its band.
    capped = [e["score"] for e in document["endpoints"] if e["score"]["cap"]]
    assert capped and all(s["index"] == s["cap"]["max_index"] < s["cap"]["uncapped_index"] for s in capped)
    assert all(s["cap"]["predicate"]["id"] == s["predicate"]["id"] for s in capped)
    assert document["score"]["cap"]["endpoints"] == sum(1 for _ in capped)
    assert all(c["score"]["cap"] is None for c in document["checks"])  # pass rates, not ratings


def test_schema_rejects_a_broken_report(report) -> None:
    document = json.loads(render(report, "json"))
    document["score"]["index"] = 7
    document["score"]["cap"]["status"] = "warn"  # only a fail caps
    del document["findings"][0]["check_id"]
    assert len(list(VALIDATOR.iter_errors(document))) == 3


def test_junit_structure_and_counts(report) -> None:
    root = ET.fromstring(render(report, "junit"))
    counts = report["score"]["counts"]
    assert root.tag == "testsuites"
    cases = root.findall("testsuite/testcase")
    assert len(cases) == sum(counts.values()) == int(root.get("tests"))
    assert len(root.findall("testsuite/testcase/failure")) == counts["fail"] == int(root.get("failures"))
    assert len(root.findall("testsuite/testcase/error")) == counts["error"] == int(root.get("errors"))
    skipped = counts["skip"] + counts["waived"]
    assert len(root.findall("testsuite/testcase/skipped")) == skipped == int(root.get("skipped"))
    endpoints = {e["id"]: e for e in report["endpoints"]}
    for suite in root.findall("testsuite"):
        endpoint = endpoints[suite.get("name")]
        assert (
            int(suite.get("tests"))
            == len(suite.findall("testcase"))
            == sum(endpoint["score"]["counts"].values())
        )
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        agency = suite.find("properties/property[@name='agency']").get("value")
        assert agency == endpoint["agency"]
        for case in suite.findall("testcase"):
            assert case.get("classname") == f"{endpoint['agency']}.{endpoint['application']}"
            check_id = case.get("name").split(" ", 1)[0]
            assert check_id in {c["id"] for c in report["checks"]}


def test_junit_waived_is_skipped_with_the_waiver(store: Store, built: Built, waivers_file) -> None:
    # English: test case names carry the check title in the report's language (issue 10).
    report = build_report(
        store, built.current, lang="en", waivers=load_waivers(waivers_file, as_of=date(2025, 6, 1))
    )
    root = ET.fromstring(render(report, "junit"))
    suite = root.find("testsuite[@name='ssh://127.0.0.1:2273']")
    case = suite.find("testcase[@name='SSH-KEX-001 No weak key-exchange methods offered']")
    message = case.find("skipped").get("message")
    assert "W-BDG-KEX" in message and "2099-12-31" in message and "Kepala Diskominfo Kota Bandung" in message
    warn = suite.find("testcase[@name='SSH-MAC-001 No weak message authentication codes offered']")
    assert next(iter(warn)).tag == "system-out" and warn.find("system-out").text.startswith("WARNING: ")


def test_sarif_structure(report) -> None:
    log = json.loads(render(report, "sarif"))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids)) == len(report["checks"])
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
        assert (
            float(rule["properties"]["security-severity"]) >= 0 and "security" in rule["properties"]["tags"]
        )
    assert len(run["results"]) == len(report["findings"])
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note", "none")
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == artifact_uri(
            result["properties"]["url"]
        )
        assert result["properties"]["url"].split("://")[0] in ("ssh", "grpc", "grpcs")
        if result["properties"]["status"] == "error":
            assert (result["kind"], result["level"]) == ("review", "none")


def test_sarif_levels_and_suppressions(store: Store, built: Built, waivers_file) -> None:
    report = build_report(store, built.current, waivers=load_waivers(waivers_file, as_of=date(2025, 6, 1)))
    results = json.loads(render(report, "sarif"))["runs"][0]["results"]
    found = {(r["properties"]["url"], r["ruleId"]): r for r in results}
    assert found[("ssh://127.0.0.1:2273", "SSH-ENC-001")]["level"] == "error"  # high fail
    assert found[("grpcs://127.0.0.1:50473", "TLS-ALPN-001")]["level"] == "warning"  # medium fail
    assert found[("ssh://127.0.0.1:2222", "SSH-KEX-002")]["level"] == "note"  # low warn
    waived = found[("ssh://127.0.0.1:2273", "SSH-KEX-001")]
    assert waived["level"] == "error"  # still visible at its level, but suppressed
    [suppression] = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"].startswith("Legacy appliance")
    assert suppression["properties"]["waiver"] == "W-BDG-KEX"
    assert "suppressions" not in found[("ssh://127.0.0.1:2273", "SSH-ENC-001")]


def test_csv_one_row_per_finding(report) -> None:
    rows = list(csv.reader(io.StringIO(render(report, "csv"), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) - 1 == len(report["findings"])
    assert all(len(row) == len(COLUMNS) for row in rows)
    findings = {(f["endpoint"], f["check_id"]): f for f in report["findings"]}
    for row in rows[1:]:
        values = dict(zip(COLUMNS, row, strict=True))
        finding = findings[(values["endpoint"], values["check_id"])]
        assert values["status"] == finding["status"] and values["severity"] == finding["severity"]
        assert values["sweep_id"] == report["sweep"]["id"]
        if finding["waiver"]:
            assert values["waiver_id"] == finding["waiver"]["id"]


def test_csv_neutralises_formulas(store: Store, built: Built) -> None:
    from orchestrator.reports.csv_report import row

    cells = dict(
        zip(
            COLUMNS,
            row(
                "s",
                {
                    "endpoint": "ssh://h:22",
                    "reason": '=HYPERLINK("http://x")',
                    "evidence": {"observed": 1},
                    "title": "+1",
                    "check_id": "-X",
                },
            ),
            strict=True,
        )
    )
    assert (
        cells["reason"] == '\'=HYPERLINK("http://x")'
        and cells["title"] == "'+1"
        and cells["check_id"] == "'-X"
    )
    assert cells["evidence"] == '{"observed": 1}'


def test_markdown_summary(store: Store, built: Built, waivers_file) -> None:
    report = build_report(store, built.current, waivers=load_waivers(waivers_file, as_of=date(2099, 12, 15)))
    text = render(report, "md")
    assert text.startswith("## Laporan kepatuhan interoperabilitas SPBE\n")
    # Issue 7: a Cap column next to the index says why the index is capped.
    cap = report["score"]["cap"]
    assert cap["endpoints"] == 5 and cap["check"] == "GRPC-IDEN-001"  # every measured endpoint
    assert (
        f"| {report['score']['index']:.2f} | dibatasi: GRPC-IDEN-001 gagal (keparahan tinggi); 5 endpoint"
        f" dibatasi | {report['score']['predicate']['label']} |"
    ) in text
    assert "### Temuan utama" in text and "`SSH-KEX-001`" in text
    # W-BDG-KEX expires 2099-12-31, 16 days after this report date: listed as expiring.
    assert "| Berakhir dalam 30 hari | `W-BDG-KEX` | `SSH-KEX-00*` | 2099-12-31 | 16 |" in text
    assert "### Perubahan sejak sweep" in text
    english = render(build_report(store, built.current, lang="en"), "md")
    assert (
        english.startswith("## SPBE interoperability compliance report\n") and "### Top findings" in english
    )
    assert "| Index | Cap | Predicate |" in english
    assert "| capped: SSH-ENC-001 high fail; 2 endpoints capped |" in english
    # Every table row has as many cells as its header.
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if lines:
            widths = {line.replace("\\|", "").count("|") for line in lines}
            assert len(widths) == 1, block
