"""The reports in headless Chromium: they render, log nothing, fetch nothing, and their script works.

One browser for the module; each test opens its own tab, so the clicks of
one test never change what another sees.
"""

from __future__ import annotations

import json

import pytest

from orchestrator.reports.i18n import MESSAGES, Translator
from tests.reports_html.builders import PAYLOAD
from tests.reports_html.chromium import Page
from tests.reports_html.conftest import AGENCY, build, column, row_attribute, texts

SECTIONS = {
    "national": (
        "section.summary",
        "section.fixes",
        "section.trend",
        "section.provinces",
        "section.categories",
        "section.attention",
        "section.top_findings",
        "section.checks",
        "section.certificates",
        "section.changes",
        "section.waivers",
        "section.agencies",
        "section.metadata",
    ),
    "agency": (
        "section.fixes",
        "section.summary",
        "section.trend",
        "section.changes",
        "section.findings",
        "section.applications",
        "section.endpoints",
        "section.certificates",
        "section.waivers",
        "section.metadata",
    ),
}
VIEWS = [(view, lang) for view in ("national", "agency") for lang in ("id", "en")]


def click_header(page: Page, table: str, label: str) -> None:
    page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} thead button.sort'))"
        f".find(b => b.textContent.trim() === {json.dumps(label)}).click()"
    )


@pytest.mark.parametrize("key", VIEWS)
def test_report_renders_with_its_headings_and_no_error_or_request(open_page, reports, key):
    view, lang = key
    page = open_page(reports[key])
    assert page.evaluate("document.documentElement.lang") == lang
    assert texts(page, "h1") == [MESSAGES["report.title"][lang]]
    assert texts(page, "main h2") == [MESSAGES[k][lang] for k in SECTIONS[view]]
    assert page.evaluate("document.title").startswith(MESSAGES["report.title"][lang] + " · ")
    assert page.problems() == []
    assert page.requests == [reports[key].as_uri()]  # the file itself, nothing else
    assert page.evaluate("document.querySelector('form.filters').hidden") is False  # our script ran


@pytest.mark.parametrize("key", VIEWS)
def test_hostile_server_text_stays_text(open_page, reports, key):
    page = open_page(reports[key])
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert "PWNED" not in page.evaluate("document.title").replace(PAYLOAD, "")
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.scripts.length") == 1
    assert page.evaluate("document.getElementById('injected')") is None
    assert PAYLOAD in page.evaluate("document.body.textContent")


def test_national_view_content(open_page, reports, small):
    model = build(small, agency=None, lang="id")
    page = open_page(reports[("national", "id")])
    # One bar per province, best compliance first; the legend names every predicate.
    bars = texts(page, "#provinces svg.chart g > text:first-of-type")
    assert len(bars) == len(model["provinces"]) == 3
    by_compliance = sorted(model["provinces"], key=lambda p: -p["score"]["compliance"])
    assert bars == [p["name"] for p in by_compliance]
    assert texts(page, "#provinces .legend li")[:5] == ["Memuaskan", "Sangat Baik", "Baik", "Cukup", "Kurang"]
    assert len(texts(page, "#categories svg.chart g")) == len(model["categories"])
    # Attention: lowest index first, the unmeasured count noted.
    attention = [row.split(" (")[0] for row in column(page, "attention-table", 0, text=True)]
    measured = [a for a in model["agencies"] if a["score"]["index"] is not None]
    assert attention == [a["name"] for a in sorted(measured, key=lambda a: a["score"]["index"])]
    # Certificates: one expired (-3 days), one soon (12 days), one fine; each in its own column class.
    assert column(page, "certificates-soon", 0) == ["grpcs://127.0.0.1:50473"]
    assert column(page, "certificates-expired", 0) == ["grpcs://127.0.0.1:50474"]
    assert column(page, "certificates-expired", 4) == ["-3"]
    classes = page.evaluate(
        "Array.from(document.querySelectorAll('#certificate-timeline rect[class^=cert-]'))"
        ".map(r => r.getAttribute('class'))"
    )
    assert sorted(classes) == ["cert-expired", "cert-ok", "cert-soon"]
    # Changes against the previous sweep: one regression, one fix.
    changes = page.evaluate("document.getElementById('changes').textContent")
    assert "SSH-KEX-001" in changes and "SSH-BANNER-001" in changes
    # Waivers: applied and expired, with who approved them.
    waivers = page.evaluate("document.getElementById('waivers').textContent")
    assert "W-2026-001" in waivers and "W-2025-009" in waivers and "Kepala Diskominfo" in waivers
    # Expiring within 30 days: listed on their own too.
    assert column(page, "waivers-expiring", 0) == ["W-2026-014"]
    # The national page lists no individual findings beyond the top ones.
    assert page.evaluate("document.getElementById('findings-table')") is None


def test_agency_view_lists_every_finding_with_evidence_remediation_and_waiver(open_page, reports, small):
    model = build(small, agency=AGENCY, lang="en")
    page = open_page(reports[("agency", "en")])
    findings = list(model["findings"])
    assert len(column(page, "findings-table", 0)) == len(findings) == 7
    assert sorted(row_attribute(page, "findings-table", "data-status")) == sorted(
        f["status"] for f in findings
    )
    first = page.evaluate("document.querySelector('#findings-table > tbody > tr').textContent")
    assert "Observed" in first and "Expected" in first and "Renew the certificate" in first
    # Each waived finding: which waiver, who approved it, until when.
    waived = page.evaluate(
        "Array.from(document.querySelectorAll('#findings-table > tbody > tr[data-status=waived]'))"
        ".map(r => r.cells[6].textContent)"
    )
    assert len(waived) == 2
    vendor = next(cell for cell in waived if "W-2026-001" in cell)
    assert "Kepala Diskominfo" in vendor and "31 Mar 2027" in vendor
    assert "Vendor appliance " + PAYLOAD in vendor
    gateway = next(cell for cell in waived if "W-2026-014" in cell)
    assert "Sekretaris Diskominfo" in gateway and "20 Nov 2026" in gateway
    assert len(column(page, "endpoints-table", 0)) == len(model["endpoints"]) == 3


def test_sorting_by_a_header_click(open_page, reports):
    page = open_page(reports[("agency", "en")])
    click_header(page, "findings-table", "Severity")
    ranks = [int(v) for v in column(page, "findings-table", 1)]
    assert ranks == sorted(ranks) and ranks[0] < ranks[-1]
    assert (
        page.evaluate("document.querySelectorAll('#findings-table th')[1].getAttribute('aria-sort')")
        == "ascending"
    )
    click_header(page, "findings-table", "Severity")
    assert [int(v) for v in column(page, "findings-table", 1)] == sorted(ranks, reverse=True)
    assert (
        page.evaluate("document.querySelectorAll('#findings-table th')[1].getAttribute('aria-sort')")
        == "descending"
    )
    # Text columns sort as text.
    click_header(page, "findings-table", "Check")
    checks = column(page, "findings-table", 2, text=True)
    assert checks == sorted(checks, key=str.lower)


def test_numeric_sort_keeps_unscored_rows_last(open_page, reports):
    page = open_page(reports[("national", "en")])
    click_header(page, "agencies-table", "Index")
    values = column(page, "agencies-table", 4)
    numbers = [float(v) for v in values if v]
    assert numbers == sorted(numbers) and len(numbers) >= 2
    assert all(v == "" for v in values[len(numbers) :])  # not determinable: last
    click_header(page, "agencies-table", "Index")
    values = column(page, "agencies-table", 4)
    assert [float(v) for v in values if v] == sorted(numbers, reverse=True)
    assert all(v == "" for v in values[len(numbers) :])


def test_filtering_by_status_severity_and_text(open_page, reports, small):
    findings = list(build(small, agency=AGENCY, lang="en")["findings"])
    page = open_page(reports[("agency", "en")])

    def choose(name: str, value: str) -> None:
        page.evaluate(
            f"(() => {{ const s = document.querySelector('form.filters [name={name}]');"
            f" s.value = {json.dumps(value)};"
            " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )

    def shown() -> int:
        return int(page.evaluate("document.querySelector('form.filters output').textContent"))

    choose("status", "fail")
    statuses = row_attribute(page, "findings-table", "data-status")
    assert statuses == ["fail"] * sum(f["status"] == "fail" for f in findings) and shown() == len(statuses)
    choose("severity", "high")
    expected = sum(f["status"] == "fail" and f["severity"] == "high" for f in findings)
    assert (
        row_attribute(page, "findings-table", "data-severity") == ["high"] * expected and shown() == expected
    )
    choose("status", "")
    choose("severity", "")
    page.evaluate(
        "(() => { const q = document.querySelector('form.filters [name=q]'); q.value = 'alpn';"
        " q.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )
    checks = column(page, "findings-table", 2, text=True)
    assert len(checks) == 1 and checks[0].startswith("TLS-ALPN-001") and shown() == 1
    page.evaluate(
        "(() => { const q = document.querySelector('form.filters [name=q]'); q.value = '';"
        " q.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )
    assert shown() == len(findings)


def test_screenshots_are_real_pictures(open_page, reports, tmp_path_factory):
    directory = tmp_path_factory.mktemp("screenshots")
    for key in (("national", "id"), ("agency", "en")):
        page = open_page(reports[key])
        picture = page.screenshot(directory / f"{key[0]}-{key[1]}.png").read_bytes()
        assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 50_000
        element = page.screenshot(
            directory / f"{key[0]}-{key[1]}-certs.png", selector="#certificates"
        ).read_bytes()
        assert element.startswith(b"\x89PNG") and len(element) > 5_000


def test_csp_stops_markup_that_escaped_escaping(open_page, reports, tmp_path):
    """Defence in depth: if a template bug ever let markup through, the policy still blocks it."""
    page_text = reports[("national", "en")].read_text(encoding="utf-8")
    injected = '<script>window.__pwned = 9</script><img src="http://127.0.0.1:9/leak.png">'
    path = tmp_path / "injected.html"
    path.write_text(page_text.replace("<body>", "<body>" + injected, 1), encoding="utf-8")
    page = open_page(path)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.blocked == [("http://127.0.0.1:9/leak.png", "csp")]
    problems = page.problems()
    assert len(problems) == 2 and all("Content Security Policy" in p for p in problems)
    # the report's own script ran
    assert page.evaluate("document.querySelector('form.filters').hidden") is False


@pytest.mark.parametrize("key", VIEWS)
def test_every_capped_index_says_why_beside_it(open_page, reports, small, key):
    view, lang = key
    model = build(small, agency=AGENCY if view == "agency" else None, lang=lang)
    t = Translator(lang)
    page = open_page(reports[key])
    # The summary card: the reason and the uncapped index under the capped one.
    card = page.evaluate("document.querySelector('#summary .card').textContent")
    assert model["score"]["cap"] is not None
    assert t.cap(model["score"]["cap"]) in card
    assert t("cap.uncapped", index=t.number(model["score"]["cap"]["uncapped_index"], 2)) in card
    # Every row of a scored table: the cap's reason in the index cell, nothing where no cap bit.
    tables = {
        "national": (("agencies-table", "agencies", 4), ("provinces-table", "provinces", 2)),
        "agency": (("endpoints-table", "endpoints", 3), ("applications-table", "applications", 1)),
    }[view]
    capped = 0
    for table, section, index_column in tables:
        cells = column(page, table, index_column, text=True)
        firsts = column(page, table, 0, text=True)
        rows = sorted(model[section], key=lambda row: column_order(firsts, row, section))
        assert len(cells) == len(rows)
        for cell, row in zip(cells, rows, strict=True):
            reason = t.cap(row["score"]["cap"])
            if reason:
                assert reason in cell, (cell, reason)
            else:
                assert "capped" not in cell and "dibatasi" not in cell, cell
            capped += bool(reason)
    assert capped >= 2
    heights = page.evaluate(
        "Array.from(document.querySelectorAll('.cap')).map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) > 0  # rendered, not hidden


def column_order(firsts: list[str], row: dict, section: str) -> int:
    """Where the row of the model is in the table (by its identifying text in the first cells ``firsts``)."""
    key = {"agencies": "code", "provinces": "code", "endpoints": "url", "applications": "id"}[section]
    ident = str(row[key])
    return next(i for i, text in enumerate(firsts) if text == ident or text.endswith(f"({ident})"))
