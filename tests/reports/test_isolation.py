"""An agency's report holds its own data and nothing of any other agency, in every format."""

from __future__ import annotations

import json
from datetime import date

import pytest

from orchestrator.reports import FORMATS
from orchestrator.reports.build import build_report
from orchestrator.store import Store
from orchestrator.waivers import load_waivers
from tests.reports.conftest import render
from tests.reports.support import ENDPOINTS, Built

AGENCY = "32.73"
# Everything that identifies the other agencies: codes, names, applications, endpoints,
# their province (31 has only KEMENKES), their waivers and the words of their justifications.
FOREIGN = [
    "KEMENKES",
    "Kementerian Kesehatan",
    "kemenkes",
    "Provinsi Jawa Barat",
    "jabar-sapawarga",
    "Sapawarga",
    "SATUSEHAT",
    "SISDMK",
    "DKI Jakarta",
    "W-KES-CERT",
    "W-JABAR-REFL",
    "W-NOTHING",
    "Pusdatin",
    "Diskominfo Jawa Barat",
] + [url.split("://")[1] for url, (agency, *_rest) in ENDPOINTS.items() if agency != AGENCY]
OWN = ["32-73-simpeg", "127.0.0.1:2273", "127.0.0.1:50473", "W-BDG-KEX"]


@pytest.fixture(scope="module")
def scoped_reports(built: Built, waivers_file) -> dict[str, str]:
    waivers = load_waivers(waivers_file, as_of=date(2025, 6, 1))
    with Store(built.store_path, create=False) as store:
        outputs = {}
        for lang in ("id", "en"):
            report = build_report(store, built.current, agency=AGENCY, waivers=waivers, lang=lang)
            for fmt in FORMATS:
                outputs[f"{fmt}-{lang}"] = render(report, fmt)
    return outputs


def test_no_other_agency_appears_in_any_format(scoped_reports: dict[str, str]) -> None:
    leaks = {
        name: [word for word in FOREIGN if word.lower() in text.lower()]
        for name, text in scoped_reports.items()
    }
    assert {name: words for name, words in leaks.items() if words} == {}


def test_own_data_is_there(scoped_reports: dict[str, str]) -> None:
    for name, text in scoped_reports.items():
        if name.startswith(("junit", "sarif", "csv", "json", "html")):
            assert all(word in text for word in OWN[:3]), name


def test_json_agency_fields_hold_only_the_agency(scoped_reports: dict[str, str]) -> None:
    document = json.loads(scoped_reports["json-id"])
    seen = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "agency" and isinstance(value, str):
                    seen.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    assert seen == {AGENCY}
    assert document["scope"] == {"agency": AGENCY, "agency_name": "Kota Bandung"}
    assert [a["code"] for a in document["agencies"]] == [AGENCY]
    assert document["provinces"] == []
    assert document["sweep"]["totals"]["endpoints"] == 2
    assert document["score"] == document["agencies"][0]["score"]
    assert [w["id"] for w in document["waivers"]["applied"]] == ["W-BDG-KEX"]
    assert document["waivers"]["expired"] == [] and document["waivers"]["unmatched"] == []
    # The changes show the agency's own fix, not the other agencies' regressions.
    assert document["changes"]["regressions"] == []
    assert [c["check_id"] for c in document["changes"]["fixes"]] == ["SSH-HKEY-003"]
