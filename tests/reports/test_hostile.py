"""Hostile server text (markup, quotes, newlines, NUL, ESC, bidi override, surrogates) in every format."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from orchestrator.reports import FORMATS
from orchestrator.reports.build import build_report
from orchestrator.reports.text import xml_safe
from orchestrator.store import Store
from tests.reports.conftest import render
from tests.reports.support import HOSTILE, Built

ENDPOINT = "ssh://127.0.0.1:2273"
RAW_CONTROLS = ("\x00", "\x1b", "\u202e")


@pytest.fixture
def hostile_report(store: Store, built: Built):
    # A careless decoder can hand us lone surrogates; inventory names are one way in.
    names = {"agencies": {"32.73": "Kota \udcff Bandung <b>"}, "applications": {}}
    report = build_report(store, built.current, inventory_names=names)
    report["findings"][0]["reason"] += " \ud800"
    return report


def test_json_round_trips_the_exact_text(store: Store, built: Built) -> None:
    document = json.loads(render(build_report(store, built.current), "json"))
    hostile = [f for f in document["findings"] if f["endpoint"] == ENDPOINT and f["status"] == "fail"]
    assert hostile and all(f["reason"] == "server said: " + HOSTILE for f in hostile)
    assert all(f["evidence"]["observed"] == HOSTILE for f in hostile)
    endpoint = next(e for e in document["endpoints"] if e["id"] == ENDPOINT)
    assert endpoint["facts"]["ssh"]["banner"] == "SSH-2.0-" + HOSTILE


def test_junit_escapes_and_stays_well_formed(store: Store, built: Built) -> None:
    text = render(build_report(store, built.current), "junit")
    assert "<script>" not in text and not any(c in text for c in RAW_CONTROLS)
    root = ET.fromstring(text)
    failure = root.find(f"testsuite[@name='{ENDPOINT}']/testcase/failure")
    message = failure.get("message")
    assert message.startswith(
        "server said: <script>alert(1)</script> \"quoted\" 'single' & ]]> \n second line"
    )
    assert "\\x00\\x1b[31m \\u202e end \U0001f600" in message
    assert "<script>alert(1)</script>" in failure.text


def test_sarif_carries_the_text_as_data(store: Store, built: Built) -> None:
    results = json.loads(render(build_report(store, built.current), "sarif"))["runs"][0]["results"]
    messages = [
        r["message"]["text"]
        for r in results
        if r["properties"]["url"] == ENDPOINT and r["properties"]["status"] == "fail"
    ]
    assert messages and all(m == "server said: " + HOSTILE for m in messages)


def test_csv_keeps_one_cell_per_field(store: Store, built: Built) -> None:
    report = build_report(store, built.current)
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"), newline="")))
    assert len(rows) == len(report["findings"])
    hostile = [row for row in rows if row["endpoint"] == ENDPOINT and row["status"] == "fail"]
    assert hostile
    for row in hostile:
        assert row["reason"].startswith("server said: <script>alert(1)</script> \"quoted\" 'single'")
        assert "\n second line \\x00\\x1b[31m \\u202e end" in row["reason"]
        assert '"expected": "<none>"' in row["evidence"] and "\\u0000" in row["evidence"]
        assert not any(c in text for text in (row["reason"], row["evidence"]) for c in RAW_CONTROLS)


def test_markdown_neither_breaks_tables_nor_injects_markup(store: Store, built: Built) -> None:
    text = render(build_report(store, built.current), "md")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert not any(c in text for c in RAW_CONTROLS)
    rows = [line for line in text.splitlines() if "server said" in line]
    assert rows
    header_cells = 6  # severity, status, check, endpoint, reason, remediation (issue 10)
    for line in rows:
        assert line.replace("\\|", "").count("|") == header_cells + 1


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "html"])
def test_lone_surrogates_become_replacement_characters(hostile_report, fmt: str) -> None:
    text = render(hostile_report, fmt)
    encoded = text.encode("utf-8")  # would raise on a lone surrogate
    assert encoded.decode("utf-8") == text
    if fmt in ("json", "md", "csv", "sarif"):
        assert "\ufffd" in text


def test_xml_safe_escapes_what_xml_cannot_hold() -> None:
    assert xml_safe("a\x00b\x1bc\ud800d\ufffee\tf\ng") == "a\\x00b\\x1bc\ufffdd\\ufffee\tf\ng"
