"""Every check text of a report in the report's language: JSON, CSV, SARIF and Markdown, id and en.

An Indonesian report carries the Indonesian title and remediation of a check
and none of the English check titles; an English one the reverse. Reasons
with a template are rendered in the language, their values verbatim; a
reason without one is shown as stored.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from orchestrator.reports.build import build_report
from orchestrator.reports.model import LABELS, LANGS
from orchestrator.store import Store
from probes import registry
from probes.messages import Message, render
from probes.model import LANGUAGES
from tests.reports.conftest import render as render_report
from tests.reports.fleets import F, P, W, record_sweep
from tests.reports.support import Built

FORMATS = ("json", "csv", "sarif", "md")
OTHER = {"id": "en", "en": "id"}
KEX_OFFERED = Message(
    "ssh.offered", {"what": Message("ssh.what.weak_kex"), "names": ["diffie-hellman-group1-sha1"]}
)
FLEET = {"ssh://10.7.0.1:22": ("A", {"SSH-KEX-001": F, "SSH-MAC-001": W, "SSH-BANNER-001": P})}


def titles(lang: str) -> set[str]:
    """Every registered check's title in ``lang`` that differs from its title in the other language."""
    return {
        registry.check_text(c, lang).title
        for c in registry.checks()
        if registry.check_text(c, lang).title != registry.check_text(c, OTHER[lang]).title
    }


@pytest.fixture
def fleet_store(tmp_path: Path):
    with Store(tmp_path / "results.db") as store:
        sweep_id = record_sweep(store, FLEET, messages={("ssh://10.7.0.1:22", "SSH-KEX-001"): KEX_OFFERED})
        yield store, sweep_id


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_check_texts_are_in_the_reports_language(store: Store, built: Built, fmt: str, lang: str) -> None:
    text = render_report(build_report(store, built.current, lang=lang), fmt)
    kex = registry.check_text("SSH-KEX-001", lang)
    assert kex.title in text
    assert registry.check_text("SSH-KEX-001", OTHER[lang]).title not in text
    # The remediation of a top finding (Markdown escapes its `*`, `_` and backticks: take a plain one).
    remediation = registry.check_text("TLS-PROTO-002", lang).remediation
    assert remediation in text
    assert registry.check_text("TLS-PROTO-002", OTHER[lang]).remediation not in text
    # No title of the other language, of any check.
    assert [title for title in titles(OTHER[lang]) if title in text] == []


def test_json_checks_findings_and_fixes_carry_the_language(store: Store, built: Built) -> None:
    for lang in ("id", "en"):
        report = build_report(store, built.current, lang=lang)
        for check in report["checks"]:
            text = registry.check_text(check["id"], lang)
            assert (check["title"], check["rationale"], check["remediation"]) == (
                text.title,
                text.rationale,
                text.remediation,
            )
            assert check["effort"] == registry.effort(check["id"])
        for finding in [*report["findings"], *report["top_findings"]]:
            text = registry.check_text(finding["check_id"], lang)
            assert (finding["title"], finding["remediation"]) == (text.title, text.remediation)
        for fix in report["fixes"]:
            assert fix["remediation"] == registry.check_text(fix["checks"][0]["id"], lang).remediation
            assert all(c["title"] == registry.check_text(c["id"], lang).title for c in fix["checks"])


@pytest.mark.parametrize("lang", ["id", "en"])
def test_reasons_with_a_template_are_rendered_in_the_language(fleet_store, lang: str) -> None:
    store, sweep_id = fleet_store
    report = build_report(store, sweep_id, lang=lang)
    wanted = render(KEX_OFFERED, lang)
    assert "diffie-hellman-group1-sha1" in wanted and wanted != render(KEX_OFFERED, OTHER[lang])
    kex = next(f for f in report["findings"] if f["check_id"] == "SSH-KEX-001")
    assert kex["reason"] == wanted and kex["message"] == KEX_OFFERED.to_dict()
    mac = next(f for f in report["findings"] if f["check_id"] == "SSH-MAC-001")
    assert (mac["reason"], mac["message"]) == ("SSH-MAC-001 warn", None)  # no template: as stored
    assert report["top_findings"][0]["reason"] == wanted

    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"), newline="")))
    assert next(r for r in rows if r["check_id"] == "SSH-KEX-001")["reason"] == wanted
    results = json.loads(render_report(report, "sarif"))["runs"][0]["results"]
    assert next(r for r in results if r["ruleId"] == "SSH-KEX-001")["message"]["text"] == wanted
    assert wanted in render_report(report, "md")
    assert render(KEX_OFFERED, OTHER[lang]) not in "".join(render_report(report, f) for f in FORMATS)


def test_sarif_rules_and_run_language(store: Store, built: Built) -> None:
    for lang, label in (("id", "Perbaikan"), ("en", "Remediation")):
        run = json.loads(render_report(build_report(store, built.current, lang=lang), "sarif"))["runs"][0]
        assert run["language"] == lang
        rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "SSH-KEX-001")
        text = registry.check_text("SSH-KEX-001", lang)
        assert rule["shortDescription"]["text"] == text.title
        assert rule["fullDescription"]["text"] == text.rationale
        assert rule["help"]["text"].startswith(f"{label}: {text.remediation}")


def test_markdown_agency_opens_with_its_fix_list(store: Store, built: Built) -> None:
    for lang, heading, after in (
        ("id", "### Yang harus diperbaiki", "Indeks setelahnya"),
        ("en", "### What to fix first", "Index after"),
    ):
        report = build_report(store, built.current, agency="32.73", lang=lang)
        text = render_report(report, "md")
        assert text.split("\n### ", 1)[1].startswith(heading[4:])  # the first section
        section = text.split(heading, 1)[1].split("\n### ", 1)[0]
        assert f"| {after} |" in section
        table = next(block for block in section.split("\n\n") if block.startswith("| # |"))
        rows = table.splitlines()[2:]
        assert len(rows) == len(report["fixes"])
        for row, fix in zip(rows, report["fixes"], strict=True):
            assert f"`{fix['checks'][0]['id']}`" in row and f"{fix['index_after']:.2f}" in row
            assert f"| {fix['cumulative_index_after']:.2f} |" in row


def test_markdown_national_fix_list_counts_agencies_moving_up(store: Store, built: Built) -> None:
    report = build_report(store, built.current, lang="en")
    text = render_report(report, "md")
    section = text.split("### What to fix first", 1)[1].split("\n### ", 1)[0]
    assert "| Agencies moving up |" in section
    first = report["fixes"][0]
    row = next(line for line in section.splitlines() if line.startswith("| 1 |"))
    assert f"| {first['agencies_up']} | {first['index_after']:.2f}" in row
    assert text.index("### What to fix first") < text.index("### Top findings")
    # The top findings carry their remediation.
    top = text.split("### Top findings", 1)[1].split("\n### ", 1)[0]
    assert "| Remediation |" in top and registry.check_text("TLS-PROTO-002", "en").remediation in top


def test_every_language_of_the_check_texts_has_report_labels() -> None:
    assert LANGS == LANGUAGES and set(LABELS) == set(LANGUAGES)
