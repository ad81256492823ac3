"""A national-size sweep (620 agencies, 33,000 endpoints, ~59,000 findings): the pages stay bounded.

The national page aggregates and caps every list with a line saying how many
rows are not shown; the page of the largest agency caps its findings and
endpoints the same way. Both still render cleanly in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.reports.build import build_report
from orchestrator.reports.html import LIMITS, render
from orchestrator.reports.i18n import Translator
from orchestrator.store import Store
from tests.reports_html import builders

NO_NAMES = {"agencies": {}, "applications": {}}


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("national")
    store_path, sweep_id = builders.national_store(directory)
    with Store(store_path) as store:
        model = build_report(store, sweep_id, lang="id", inventory_names=NO_NAMES, now=builders.NOW)
        national_page = render(model)  # findings stream from the store: render while it is open
        agency_model = build_report(
            store, sweep_id, agency=builders.BIG_AGENCY, lang="en", inventory_names=NO_NAMES, now=builders.NOW
        )
        agency_page = render(agency_model)
    national_path = directory / "national.html"
    national_path.write_text(national_page, encoding="utf-8")
    agency_path = directory / "agency.html"
    agency_path.write_text(agency_page, encoding="utf-8")
    return model, national_path, agency_model, agency_path


def _rows(page: str, table_id: str) -> int:
    """The table's own rows (a finding's evidence table inside a cell is not one of them)."""
    body = page.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.sub(r'<table class="evidence">.*?</table>', "", body, flags=re.DOTALL).count("<tr")


def test_national_page_aggregates_and_caps(national):
    model, path, _, _ = national
    page = path.read_text(encoding="utf-8")
    assert model["sweep"]["totals"]["endpoints"] == 33_000 and len(model["findings"]) > 50_000
    assert len(page) < 1_000_000
    assert 'id="findings-table"' not in page and 'id="endpoints-table"' not in page
    assert _rows(page, "agencies-table") == len(model["agencies"]) == 620
    assert _rows(page, "attention-table") == LIMITS["attention"]
    assert _rows(page, "top-findings-table") == len(model["top_findings"])
    # Every province gets a bar.
    assert page.split('id="provinces"', 1)[1].split("</svg>", 1)[0].count("<rect") == 38
    # Capped certificate lists say how many rows they leave out.
    t = Translator("id")
    soon = sum(0 <= c["days_left"] < 30 for c in model["certificates"])
    expired = sum(c["days_left"] < 0 for c in model["certificates"])
    assert soon > LIMITS["certificates"] and expired > LIMITS["certificates"]
    assert _rows(page, "certificates-soon") == _rows(page, "certificates-expired") == LIMITS["certificates"]
    for hidden in (soon - LIMITS["certificates"], expired - LIMITS["certificates"]):
        assert t("list.more", count=t.number(hidden)) in page
    assert t("list.more_agencies", count=t.number(620 - LIMITS["attention"])) in page


def test_largest_agency_page_caps_findings_and_endpoints(national):
    _, _, model, path = national
    page = path.read_text(encoding="utf-8")
    total = len(model["findings"])
    assert total > LIMITS["findings"] and len(model["endpoints"]) > LIMITS["endpoints"]
    assert _rows(page, "findings-table") == LIMITS["findings"]
    assert _rows(page, "endpoints-table") == LIMITS["endpoints"]
    t = Translator("en")
    assert t("list.more", count=t.number(total - LIMITS["findings"])) in page
    assert t("list.more", count=t.number(len(model["endpoints"]) - LIMITS["endpoints"])) in page
    assert len(page) < 3_500_000, len(page)
    # The rows kept are the most urgent: no warning is shown while a failure is left out.
    statuses = [f["status"] for f in model["findings"]]
    assert statuses.count("fail") > LIMITS["findings"]
    assert 'data-status="warn"' not in page


@pytest.mark.parametrize("which", [1, 3])
def test_large_pages_render_cleanly_in_chromium(browser, national, which):
    path: Path = national[which]
    page = browser.open(path.as_uri())
    try:
        assert page.problems() == []
        assert page.requests == [path.as_uri()]
        assert page.evaluate("document.querySelectorAll('main h2').length") >= 8
    finally:
        page.close()
