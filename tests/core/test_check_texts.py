"""Every registered check speaks every language of the reports, and says how much work its fix is."""

from __future__ import annotations

from probes import registry
from probes.model import EFFORTS, LANGUAGES


def test_every_check_has_a_text_in_every_language_and_an_effort():
    assert registry.missing_texts() == []


def test_texts_are_whole_and_efforts_known():
    for check_id in registry.checks():
        assert registry.effort(check_id) in EFFORTS, check_id
        for language in LANGUAGES:
            text = registry.check_text(check_id, language)
            assert all(part.strip() for part in (text.title, text.rationale, text.remediation)), (
                check_id,
                language,
            )
