"""The reports as their readers meet them, in headless Chromium: what to fix first, in their language.

The agency view opens with the fix list and its first screen says what to
change and what the index will be; the Indonesian report carries no English
check title; every finding reads as a sentence with an observed/expected
table and its raw JSON one click away; the trend, the changes per endpoint
and the expiring waivers are there; and the agency report prints to PDF
pages (Chromium's ``--print-to-pdf``, then poppler's ``pdftoppm``).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from orchestrator.reports.i18n import MESSAGES, Translator
from probes import registry
from tests.reports_html.chromium import Page, print_to_pdf
from tests.reports_html.conftest import AGENCY, build, column, texts

VIEWS = [(view, lang) for view in ("national", "agency") for lang in ("id", "en")]
FIRST_SCREEN = (1280, 800)  # a laptop's browser window
# Checks whose title reads the same in Bahasa Indonesia and English (technical names only). They
# cannot tell the languages apart, so the "no English title" test leaves them out, by name.
IDENTICAL_TITLES: dict[str, str] = {}


def page_text(page: Page) -> str:
    """Everything the page says: its title and its body's text, collapsed details included, no script."""
    return page.evaluate(
        "(() => { const body = document.body.cloneNode(true);"
        " body.querySelectorAll('script').forEach(s => s.remove());"
        " return document.title + '\\n' + body.textContent; })()"
    )


def plain(text: str) -> str:
    """A check text as the page shows it: backticks mark ``<code>`` and are not printed."""
    return text.replace("`", "")


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# -- the language -------------------------------------------------------------


def test_titles_that_read_the_same_in_both_languages_are_listed():
    same = {
        check_id: registry.check_text(check_id, "en").title
        for check_id in registry.checks()
        if registry.check_text(check_id, "en").title == registry.check_text(check_id, "id").title
    }
    assert same == IDENTICAL_TITLES


@pytest.mark.parametrize("view", ["national", "agency"])
def test_the_indonesian_report_has_no_english_check_title(open_page, reports, small, view):
    english = {
        check_id: registry.check_text(check_id, "en").title
        for check_id in registry.checks()
        if check_id not in IDENTICAL_TITLES
    }
    model = build(small, agency=AGENCY if view == "agency" else None, lang="id")
    if view == "national":
        shown = {check["id"] for check in model["checks"]}
    else:
        shown = {finding["check_id"] for finding in model["findings"]}
    assert len(shown) >= 5
    indonesian_text = page_text(open_page(reports[(view, "id")]))
    assert {c: title for c, title in english.items() if title in indonesian_text} == {}
    # The checks the page is about are named, in Indonesian; the English page names them in English.
    for check_id in shown:
        assert registry.check_text(check_id, "id").title in indonesian_text, check_id
    english_text = page_text(open_page(reports[(view, "en")]))
    assert {c for c in shown if english[c] in english_text} == shown


# -- what to fix first ----------------------------------------------------------


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_agency_view_opens_with_what_to_fix_and_the_index_after(open_page, reports, small, lang):
    model = build(small, agency=AGENCY, lang=lang)
    t = Translator(lang)
    fixes = model["fixes"]
    assert len(fixes) >= 3
    page = open_page(reports[("agency", lang)])
    # DOM order: the fix list is the first section, right after the header.
    sections = page.evaluate("Array.from(document.querySelectorAll('main > section')).map(s => s.id)")
    assert sections[0] == "fixes"
    heading = page.evaluate("document.querySelector('main > section h2').textContent")
    assert heading == MESSAGES["section.fixes"][lang]
    # One entry per fix in the model's order: its change, effort, checks, endpoints and the index after.
    entries = page.evaluate(
        "Array.from(document.querySelectorAll('#fixes li.fix')).map(li => ({id: li.id,"
        " change: li.querySelector('.fix-change').textContent,"
        " head: li.querySelector('.fix-head').textContent,"
        " after: li.querySelector('.fix-after').textContent, text: li.textContent}))"
    )
    assert [e["id"] for e in entries] == [f"fix-{fix['id']}" for fix in fixes]
    for entry, fix in zip(entries, fixes, strict=True):
        assert entry["change"] == plain(fix["remediation"])
        assert t.optional("effort", fix["effort"]) in entry["head"]
        assert (
            t("fix.after", index=t.number(fix["index_after"], 2), predicate=fix["predicate_after"]["label"])
            in entry["after"]
        )
        for check in fix["checks"]:
            assert check["id"] in entry["text"] and check["title"] in entry["text"]
        for endpoint in fix["endpoints"]:
            assert endpoint in entry["text"]
    # The sshd_config keyword of an SSH fix is marked as code.
    codes = texts(page, "#fixes li.fix .fix-change code")
    assert "KexAlgorithms" in codes
    # The first screen says what to fix and what the index will be.
    width, height = FIRST_SCREEN
    page.send(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    page.evaluate("window.scrollTo(0, 0)")
    bottoms = page.evaluate(
        "['#fixes .fix-now', '#fixes li.fix:first-child .fix-change', '#fixes li.fix:first-child .fix-after']"
        ".map(s => document.querySelector(s).getBoundingClientRect().bottom)"
    )
    assert max(bottoms) <= height, bottoms
    now = texts(page, "#fixes .fix-now")[0]
    score = model["score"]
    assert t("fix.now", index=t.number(score["index"], 2), predicate=score["predicate"]["label"]) in now
    after_all = fixes[-1]["cumulative_index_after"]
    assert t.number(after_all, 2) in now and MESSAGES["fix.after_all"][lang].split(":")[0] in now


def test_the_national_view_lists_the_fixes_that_move_agencies_up(open_page, reports, small):
    model = build(small, agency=None, lang="en")
    t = Translator("en")
    page = open_page(reports[("national", "en")])
    entries = texts(page, "#fixes li.fix")
    assert len(entries) == len(model["fixes"]) >= 3
    for entry, fix in zip(entries, model["fixes"], strict=True):
        assert plain(fix["remediation"]) in entry
        assert t("fix.agencies_up", count=t.number(fix["agencies_up"])) in entry
    assert any(fix["agencies_up"] for fix in model["fixes"])


def test_every_top_finding_carries_its_remediation(open_page, reports, small):
    for lang in ("id", "en"):
        model = build(small, agency=None, lang=lang)
        page = open_page(reports[("national", lang)])
        remediations = column(page, "top-findings-table", 6, text=True)
        assert len(remediations) == len(model["top_findings"]) >= 5
        # Rows are in the model's order (most severe first) until someone sorts them.
        assert remediations == [plain(f["remediation"]) for f in model["top_findings"]]


# -- findings: a sentence, a table, the raw JSON ----------------------------------


def _expected_rows(evidence: dict, t: Translator) -> list[list[str]]:
    """The observed/expected table of the fixture's evidence shapes (a word, or a small dict)."""
    rows = []
    for side in ("observed", "expected"):
        value = evidence[side]
        label = t(f"evidence.{side}")
        if isinstance(value, dict):
            items = [f"{key}: {item}" for key, item in value.items()]
            rows.append([label, items[0]])
            rows += [[item] for item in items[1:]]
        else:
            rows.append([label, str(value)])
    return rows


def test_every_finding_reads_as_a_sentence_with_a_table_and_its_raw_json(open_page, reports, small):
    model = build(small, agency=AGENCY, lang="en")
    t = Translator("en")
    page = open_page(reports[("agency", "en")])
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('#findings-table > tbody > tr')).map(r => ({"
        " check: r.cells[2].querySelector('code').textContent,"
        " endpoint: r.cells[3].querySelector('.url').textContent,"
        " reason: r.querySelector('p.reason').textContent,"
        " rows: Array.from(r.querySelectorAll('table.evidence tr'))"
        "   .map(tr => Array.from(tr.cells).map(c => c.textContent)),"
        " raw: r.querySelector('details.raw pre').textContent,"
        " rawOpen: r.querySelector('details.raw').open,"
        " rawShown: r.querySelector('details.raw pre').checkVisibility()}))"
    )
    by_key = {(f["check_id"], f["url"]): f for f in model["findings"]}
    assert len(shown) == len(by_key) == 7
    for row in shown:
        finding = by_key[(row["check"], row["endpoint"])]
        assert row["reason"] == finding["reason"]
        assert row["rows"] == _expected_rows(finding["evidence"], t)
        assert json.loads(row["raw"]) == finding["evidence"]
        assert row["rawOpen"] is False and row["rawShown"] is False  # one click away, not in the way
    # The click opens it.
    page.evaluate("document.querySelector('#findings-table details.raw summary').click()")
    assert page.evaluate("document.querySelector('#findings-table details.raw pre').checkVisibility()")


# -- progress: trend and changes per endpoint -----------------------------------------


@pytest.mark.parametrize("key", VIEWS)
def test_the_trend_is_a_line_over_the_last_sweeps(open_page, reports, small, key):
    view, lang = key
    model = build(small, agency=AGENCY if view == "agency" else None, lang=lang)
    t = Translator(lang)
    trend = model["trend"]
    assert len(trend) == 2 and trend[-1]["index"] == model["score"]["index"]
    page = open_page(reports[key])
    points = page.evaluate(
        "Array.from(document.querySelectorAll('#trend-chart circle'))"
        ".map(c => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy')), c.textContent])"
    )
    assert len(points) == len(trend)
    assert [x for x, _, _ in points] == sorted(x for x, _, _ in points)  # oldest first, left to right
    for (_, _, tooltip), point in zip(points, trend, strict=True):
        assert tooltip == f"{t.date(point['started_at'])}: {t.number(point['index'], 2)}"
    # Higher index, higher on the chart (smaller y).
    (_, y0, _), (_, y1, _) = points
    assert (y0 > y1) == (trend[0]["index"] < trend[1]["index"])
    assert page.evaluate("document.querySelectorAll('#trend-chart path.line').length") == 1
    bands = page.evaluate("document.querySelectorAll('#trend-chart rect.band').length")
    assert bands == 5  # the predicate bands behind the line
    assert column(page, "trend-table", 1) == [p["sweep"] for p in trend]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_changes_since_the_previous_sweep_per_endpoint(open_page, reports, small, lang):
    model = build(small, agency=AGENCY, lang=lang)
    by_endpoint = model["changes"]["by_endpoint"]
    assert any(entry["fixed"] for entry in by_endpoint) and any(entry["still_open"] for entry in by_endpoint)
    page = open_page(reports[("agency", lang)])
    none = MESSAGES["common.none"][lang]

    def listed(ids: list[str]) -> str:
        return ", ".join(ids) if ids else none

    rows = [column(page, "changes-by-endpoint", i, text=True) for i in range(4)]
    assert [list(row) for row in zip(*rows, strict=True)] == [
        [
            entry["endpoint"],
            listed(entry["new"]),
            listed(entry["fixed"]),
            listed(entry["still_open"]),
        ]
        for entry in by_endpoint
    ]


# -- waivers ---------------------------------------------------------------------


@pytest.mark.parametrize("key", VIEWS)
def test_waivers_expiring_within_30_days_are_listed_on_their_own(open_page, reports, small, key):
    view, lang = key
    model = build(small, agency=AGENCY if view == "agency" else None, lang=lang)
    t = Translator(lang)
    expiring = model["waivers"]["expiring"]
    assert [w["id"] for w in expiring] == ["W-2026-014"]
    page = open_page(reports[key])
    assert column(page, "waivers-expiring", 0) == ["W-2026-014"]
    row = texts(page, "#waivers-expiring > tbody > tr")[0]
    assert "Sekretaris Diskominfo" in row and t.date("2026-11-20") in row
    assert t("cert.days", days=t.number(expiring[0]["days_left"])) in row
    # Not expiring soon: only in the list of applied waivers.
    assert "W-2026-001" not in texts(page, "#waivers-expiring")[0]
    assert "W-2026-001" in " ".join(column(page, "waivers-applied", 0))


# -- pictures and paper ------------------------------------------------------------


@pytest.mark.parametrize("key", VIEWS)
def test_a_screenshot_of_each_report(open_page, reports, tmp_path, key):
    view, lang = key
    page = open_page(reports[key])
    picture = page.screenshot(tmp_path / f"{view}-{lang}.png").read_bytes()
    width, height = png_size(picture)
    assert width == 1280 and height > FIRST_SCREEN[1]
    assert len(picture) > 50_000
    assert page.problems() == []


def test_print_stylesheet_drops_controls_and_keeps_entries_whole(open_page, reports):
    page = open_page(reports[("agency", "id")])
    page.send("Emulation.setEmulatedMedia", media="print")
    style = page.evaluate(
        "(() => { const s = (q, p) => getComputedStyle(document.querySelector(q)).getPropertyValue(p);"
        " return {nav: s('nav.toc', 'display'), filters: s('form.filters', 'display'),"
        " raw: s('details.raw', 'display'), fix: s('li.fix', 'break-inside'),"
        " row: s('#findings-table tr', 'break-inside'),"
        " header: s('header.report', 'background-color'), thead: s('#findings-table thead', 'display'),"
        " badge: s('.badge', 'print-color-adjust')}; })()"
    )
    assert style == {
        "nav": "none",
        "filters": "none",
        "raw": "none",
        "fix": "avoid",
        "row": "avoid",
        "header": "rgba(0, 0, 0, 0)",
        "thead": "table-header-group",
        "badge": "exact",
    }


def _pgm_ink(path: Path) -> float:
    """The share of a grey PGM page's pixels that are not (nearly) white."""
    data = path.read_bytes()
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert match, path
    width, height = int(match.group(1)), int(match.group(2))
    pixels = data[match.end() : match.end() + width * height]
    assert len(pixels) == width * height
    return sum(1 for value in pixels if value < 200) / len(pixels)


def test_the_agency_report_prints_to_pdf_pages(reports, tmp_path):
    assert shutil.which("pdftoppm") and shutil.which("pdftotext"), "Debian poppler-utils (`make system`)"
    pdf = print_to_pdf(reports[("agency", "id")], tmp_path / "agency.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    prefix = str(tmp_path / "page")
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), prefix], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) >= 1
    inks = [_pgm_ink(page) for page in pages]
    assert min(inks) > 0.002, inks  # no blank page, the last one included
    first = subprocess.run(
        ["pdftotext", "-l", "1", "-layout", str(pdf), "-"],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    assert "Yang harus diperbaiki" in first and "Indeks setelah perbaikan" in first
    everything = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, timeout=60, capture_output=True, text=True
    ).stdout
    for hidden in ("report.skip_nav", "filter.showing", "evidence.raw", "chart.data_table"):
        assert MESSAGES[hidden]["id"] not in everything, hidden
