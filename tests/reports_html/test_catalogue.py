"""The message catalogue: complete in both languages, and every key the templates use exists."""

from __future__ import annotations

import inspect
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.reports import html
from orchestrator.reports.i18n import LANGUAGES, MESSAGES, Translator, normalise_language
from orchestrator.scoring import PREDICATES
from probes import registry
from probes.model import EFFORTS, Severity, Status

# Keys built at run time from data values: ``t.optional(prefix, value)``.
DYNAMIC_PREFIXES = ("status.", "severity.", "predicate.", "category.", "level.", "state.", "effort.")
KEY_LITERAL = re.compile(r"""["']([a-z_]+\.[a-z_]+)["']""")


def _referenced_keys() -> set[str]:
    sources = [p.read_text(encoding="utf-8") for p in html.TEMPLATES.glob("*.j2")]
    sources.append(Path(html.__file__).read_text(encoding="utf-8"))
    sources.append(inspect.getsource(Translator))  # its helpers (``cap``) use keys too
    keys = set()
    for source in sources:
        keys.update(k for k in KEY_LITERAL.findall(source) if not k.endswith(".j2"))
    # ``t("col." ~ key)`` for the waiver scope columns.
    keys.update(f"col.{field}" for field in ("agency", "application", "endpoint"))
    return keys


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders():
    for key, entry in MESSAGES.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        assert _placeholders(entry["id"]) == _placeholders(entry["en"]), key


def test_every_key_the_templates_use_exists_and_every_message_is_used():
    referenced = _referenced_keys()
    catalogue_like = {k for k in referenced if k.split(".")[0] in {m.split(".")[0] for m in MESSAGES}}
    assert catalogue_like - set(MESSAGES) == set()
    unused = {k for k in MESSAGES if k not in referenced and not k.startswith(DYNAMIC_PREFIXES)}
    assert unused == set()


def test_the_vocabularies_of_the_data_are_all_translated():
    for status in Status:
        assert f"status.{status.value}" in MESSAGES
    for severity in Severity:
        assert f"severity.{severity.value}" in MESSAGES
    for predicate in PREDICATES:
        assert f"predicate.{predicate.id}" in MESSAGES
    for check in registry.checks().values():
        assert f"category.{check.category}" in MESSAGES, check.id
    for level in ("pusat", "provinsi", "kabupaten", "kota"):
        assert f"level.{level}" in MESSAGES
    for state in ("running", "interrupted", "complete", "failed"):
        assert f"state.{state}" in MESSAGES
    for effort in EFFORTS:
        assert f"effort.{effort}" in MESSAGES


def test_an_unknown_key_is_an_error_not_a_blank():
    with pytest.raises(KeyError):
        Translator("id")("no.such_key")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("id", "id"), ("en", "en"), ("en-GB", "en"), ("EN", "en"), (None, "id"), ("fr", "id")],
)
def test_language_falls_back_to_bahasa_indonesia(lang, expected):
    assert normalise_language(lang) == expected


def test_numbers_percentages_and_dates_follow_the_language():
    indonesian, english = Translator("id"), Translator("en")
    assert indonesian.number(1234567.891, 2) == "1.234.567,89"
    assert english.number(1234567.891, 2) == "1,234,567.89"
    assert indonesian.number(3.5, 2) == "3,50"
    assert indonesian.percent(0.6745, 1) == "67,5%"
    assert english.percent(0.6745) == "67%"
    assert indonesian.percent(None) == "—"
    moment = datetime(2026, 8, 17, 10, 5, tzinfo=UTC)
    assert indonesian.date(moment) == "17 Agu 2026"
    assert english.date(moment) == "17 Aug 2026"
    assert english.date("2026-05-01T07:30:00+00:00", with_time=True) == "1 May 2026 07:30 UTC"
    assert indonesian.date("2027-03-31") == "31 Mar 2027"
    assert indonesian.date("not a date") == "not a date"


def test_optional_words_fall_back_to_the_value_itself():
    t = Translator("id")
    assert t.optional("status", "fail") == "gagal"
    assert t.optional("category", "brand-new-category") == "brand-new-category"
    assert t.optional("level", None) == "tidak diketahui"
