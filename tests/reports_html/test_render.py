"""The rendered HTML as text: escaping, the Content-Security-Policy, scope, languages, chart geometry."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from orchestrator import scoring
from orchestrator.reports import charts
from orchestrator.reports import html as html_report
from orchestrator.reports.html import render
from orchestrator.reports.i18n import MESSAGES
from tests.reports_html.builders import PAYLOAD
from tests.reports_html.conftest import AGENCY, build


class _Tags(HTMLParser):
    """The elements a browser's parser would create, and any event-handler attributes on them."""

    def __init__(self, page: str):
        super().__init__()
        self.names: Counter = Counter()
        self.handlers: list[tuple[str, str]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names[tag] += 1
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]


VIEWS = [(view, lang) for view in ("national", "agency") for lang in ("id", "en")]


@pytest.fixture(scope="module")
def pages(reports) -> dict[tuple[str, str], str]:
    return {key: path.read_text(encoding="utf-8") for key, path in reports.items()}


@pytest.mark.parametrize("key", VIEWS)
def test_server_text_is_escaped_everywhere(pages, key):
    page = pages[key]
    assert PAYLOAD not in page
    assert page.count("<script") == 1  # ours, at the end of the body
    tags = _Tags(page)
    assert tags.names["script"] == 1
    assert tags.names["img"] == 0 and tags.names["b"] == 0
    assert tags.handlers == []  # no on*= attribute on any element
    # The payload is there, as text.
    assert "&lt;script&gt;document.title=&#34;PWNED&#34;" in page


@pytest.mark.parametrize("key", VIEWS)
def test_csp_allows_only_the_inline_script_and_no_fetch(pages, key):
    page = pages[key]
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:"
    assert directives["form-action"] == "'none'" and directives["base-uri"] == "'none'"
    script = re.search(r"<script>(.*)</script>", page, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"
    # Nothing points outside the file: links are fragments, the icon is data.
    for value in re.findall(r'(?:src|href|action)="([^"]*)"', page):
        assert value.startswith("#") or value == "data:,", value
    assert "@import" not in page and "url(" not in page


def test_agency_view_shows_no_other_agency(pages):
    for lang in ("id", "en"):
        page = pages[("agency", lang)]
        for other in (
            "KEMENKES",
            "Kementerian Kesehatan",
            "127.0.0.1:2222",
            "localhost:50052",
            "Aceh Selatan",
        ):
            assert other not in page, other
        assert "127.0.0.1:2273" in page


def test_language_of_the_page_and_its_headings(pages):
    assert '<html lang="id">' in pages[("national", "id")]
    assert '<html lang="en">' in pages[("agency", "en")]
    for key, message in (("section.provinces", "national"), ("section.findings", "agency")):
        assert MESSAGES[key]["id"] in pages[(message, "id")]
        assert MESSAGES[key]["en"] in pages[(message, "en")]
        assert MESSAGES[key]["en"] not in pages[(message, "id")]


def test_a_sweep_that_is_not_complete_says_so(small):
    model = build(small, agency=None, lang="id")
    model["sweep"] = {**model["sweep"], "state": "interrupted"}
    page = render(model)
    assert 'class="banner"' in page and "terputus" in page
    assert 'class="banner"' not in render(build(small, agency=None, lang="id"))


def test_evidence_that_is_huge_is_cut(small):
    """The readable table and the raw JSON are both bounded, each saying how much it left out."""
    model = build(small, agency=AGENCY, lang="en")
    findings = list(model["findings"])
    evidence = {"observed": "A" * 50_000, "expected": ["B"] * 100}
    findings[0] = {**findings[0], "evidence": evidence}
    model["findings"] = findings
    page = render(model)
    cell = html_report.EVIDENCE_CELL_CHARS
    assert "A" * cell + f"… (+{50_000 - cell})" in page  # the table cell
    # A list: comma-separated, cut.
    assert ", ".join(["B"] * html_report.EVIDENCE_LIST_ITEMS) + ", … (+75)" in page
    raw = json.dumps(evidence, ensure_ascii=False, indent=2)
    kept = raw[: html_report.EVIDENCE_MAX_CHARS]
    # The raw JSON, escaped.
    assert escape(kept + f"\n… (+{len(raw) - html_report.EVIDENCE_MAX_CHARS})") in page
    assert "A" * (kept.count("A") + 1) not in page


# -- chart geometry ----------------------------------------------------------


def test_timeline_columns_split_at_expiry_and_at_thirty_days():
    timeline = charts.expiry_timeline([-1000, -1, 0, 29, 30, 31, 365, 10_000, None])
    assert timeline.total == 8
    by_first_day = {column.first_day: column for column in timeline.columns}
    assert by_first_day[-90].open_start and by_first_day[-90].count == 1  # -1000 piled into the first column
    assert by_first_day[-5].css_class == "cert-expired" and by_first_day[-5].count == 1
    assert by_first_day[0].css_class == "cert-soon" and by_first_day[0].count == 1
    assert by_first_day[25].css_class == "cert-soon" and by_first_day[25].count == 1
    assert by_first_day[30].css_class == "cert-ok" and by_first_day[30].count == 2
    last = max(timeline.columns, key=lambda c: c.first_day)
    assert last.open_end and last.count == 1
    assert sum(column.count for column in timeline.columns) == 8
    assert timeline.plot_left < timeline.today_x < timeline.soon_x


def test_timeline_without_certificates_is_empty():
    timeline = charts.expiry_timeline([])
    assert timeline.total == 0 and timeline.columns == []


def test_bar_widths_follow_the_value_and_none_is_no_bar():
    chart = charts.bar_chart(
        [
            ("a", 1.0, "", "p-memuaskan"),
            ("b", 0.25, "", "p-kurang"),
            ("c", None, "", "p-none"),
            ("d", 7, "", ""),
        ],
        bar_area=400,
    )
    assert [bar.width for bar in chart.bars] == [400.0, 100.0, 0.0, 400.0]
    assert chart.bars[2].value is None
    assert [bar.y for bar in chart.bars] == sorted(bar.y for bar in chart.bars)


def test_a_model_rendered_twice_is_the_same_page(small):
    model = build(small, agency=AGENCY, lang="id")
    assert render(model) == render(build(small, agency=AGENCY, lang="id"))


def test_trend_line_sits_on_the_whole_scale_and_breaks_where_a_sweep_measured_nothing():
    chart = charts.trend_line(
        [
            ("a", 1.0, "kurang"),
            ("b", 5.0, "memuaskan"),
            ("c", None, None),
            ("d", 3.0, "baik"),
            ("e", 3.5, None),
        ]
    )
    top, bottom = chart.plot_top, chart.plot_top + chart.plot_height
    ys = [point.y for point in chart.points]
    assert ys[0] == bottom and ys[1] == top and ys[2] is None and ys[3] == (top + bottom) / 2
    xs = [point.x for point in chart.points]
    assert xs == sorted(xs) and xs[0] == chart.plot_left and xs[-1] == chart.plot_left + chart.plot_width
    assert len(chart.segments) == 2  # a-b, then d-e: no line through the unmeasured sweep
    assert chart.segments[0].startswith("M ") and " L " in chart.segments[1]
    assert [p.css_class for p in chart.points] == ["p-kurang", "p-memuaskan", "p-none", "p-baik", "p-none"]
    # The predicate bands tile the plot, best on top, split at 4.2, 3.5, 2.6 and 1.8.
    assert [band.predicate_id for band in chart.bands] == [p.id for p in scoring.PREDICATES]
    assert chart.bands[0].y == top and round(sum(band.height for band in chart.bands), 1) == chart.plot_height
    bottoms = [round(band.y + band.height, 1) for band in chart.bands[:-1]]
    assert bottoms == [band.y for band in chart.bands[1:]]
    single = charts.trend_line([("only", 2.5, "cukup")])
    assert single.points[0].x == single.plot_left + single.plot_width / 2


def test_evidence_table_reads_lists_as_values_and_dicts_as_rows_within_bounds():
    table = html_report.evidence_table(
        {
            "observed": ["curve25519-sha256", "diffie-hellman-group1-sha1"],
            "expected": {"not_offered": ["a", "b"], "min": 2},
            "findings": [{"x": 1}],
        }
    )
    assert [(r.side, r.span, r.key, r.text) for r in table] == [
        ("evidence.observed", 1, None, "curve25519-sha256, diffie-hellman-group1-sha1"),
        ("evidence.expected", 2, "not_offered", "a, b"),
        (None, 2, "min", "2"),
    ]
    # Scalars, nesting, empties.
    table = html_report.evidence_table(
        {"observed": {"ok": True, "none": None, "deep": {"a": [1]}}, "expected": []}
    )
    assert [(r.key, r.text) for r in table] == [
        ("ok", "true"),
        ("none", "—"),
        ("deep", '{"a": [1]}'),
        (None, "—"),
    ]
    assert html_report.evidence_table("just text") == html_report.evidence_table(None) == []
    assert html_report.evidence_table({"detail": 1}) == []  # nothing observed or expected: only the raw JSON
    # A big dict: at most EVIDENCE_ROWS rows, the last one saying how many keys are left out.
    many = html_report.evidence_table({"observed": {f"k{i:02d}": i for i in range(40)}})
    assert len(many) == html_report.EVIDENCE_ROWS and (many[-1].key, many[-1].text) == (None, "… (+29)")
    assert all(row.span == html_report.EVIDENCE_ROWS for row in many)


def test_check_texts_mark_backticked_names_as_code_and_escape_everything_else():
    code_spans = html_report.code_spans
    assert code_spans("Set `KexAlgorithms <x>` & reload") == (
        "Set <code>KexAlgorithms &lt;x&gt;</code> &amp; reload"
    )
    assert code_spans("a `b` c `d`") == "a <code>b</code> c <code>d</code>"
    assert code_spans("odd ` <b>") == "odd ` &lt;b&gt;"  # unbalanced: all text
    assert code_spans(None) == ""
