"""The Bahasa Indonesia texts of the ssh checks: complete, translated, technical names left as they are."""

from __future__ import annotations

import re

import pytest

from probes import registry
from probes.model import EFFORTS, CheckText
from probes.ssh import policy, texts

SSH_CHECKS = sorted(check_id for check_id, meta in registry.checks().items() if meta.protocol == "ssh")
FIELDS = ("title", "rationale", "remediation")

_BACKTICKED = re.compile(r"`([^`]+)`")
# A quoted setting or command ('PermitRootLogin no'); an apostrophe inside or after a word is no quote.
_QUOTED = re.compile(r"(?<!\w)'([^']+)'(?!\w)")
_EDGE_PUNCTUATION = ",.;:()`'"


def _english(check_id: str) -> CheckText:
    return registry.check_text(check_id, "en")


def _indonesian(check_id: str) -> CheckText:
    return registry.check_text(check_id, "id")


def _words(text: str) -> list[str]:
    return [word.strip(_EDGE_PUNCTUATION) for word in text.split()]


def _algorithm_names() -> set[str]:
    """Every algorithm name the policy tables know (globs too, as they are written in texts)."""
    names = {name for table in policy.POLICY.values() for name in table.rules}
    return names | set(policy.PQ_HYBRID_KEX)


def technical_names(text: str, field: str) -> set[str]:
    """What a translation must carry over verbatim from an English ``field``.

    Backticked and quoted spans, and words with a digit or one of ``@ * _ / §`` (algorithm names,
    versions, RFC sections, paths, key sizes). In a remediation, also hyphenated words
    (``ssh-rsa``, ``systemd-timesyncd``): there they are names of things to type, not prose.
    """
    names = set(_BACKTICKED.findall(text)) | set(_QUOTED.findall(text))
    for word in _words(text):
        if any(c.isdigit() or c in "@*_/§" for c in word) or (
            field == "remediation" and "-" in word.strip("-")
        ):
            names.add(word)
    names |= {name for name in _algorithm_names() if name in _words(text)}
    return {name for name in names if name}


def test_the_ssh_family_registers_the_checks_this_file_expects():
    # A renamed family or an empty registry would make every test below pass vacuously.
    assert len(SSH_CHECKS) >= 17
    assert {"SSH-KEX-001", "SSH-CONF-001", "SSH-TIME-001"} <= set(SSH_CHECKS)


@pytest.mark.parametrize("check_id", SSH_CHECKS)
def test_every_ssh_check_has_an_indonesian_text_and_an_effort(check_id):
    assert isinstance(_indonesian(check_id), CheckText)
    assert registry.effort(check_id) in EFFORTS


def test_the_catalogue_names_exactly_the_registered_ssh_checks():
    assert sorted(texts.TEXTS["id"]) == SSH_CHECKS
    assert sorted(texts.EFFORT) == SSH_CHECKS
    assert set(texts.EFFORT.values()) <= set(EFFORTS)


@pytest.mark.parametrize("check_id", SSH_CHECKS)
def test_no_indonesian_field_is_empty_or_the_english(check_id):
    english, indonesian = _english(check_id), _indonesian(check_id)
    for field in FIELDS:
        text = getattr(indonesian, field)
        assert text.strip(), (check_id, field)
        assert text != getattr(english, field), (check_id, field)


@pytest.mark.parametrize("check_id", SSH_CHECKS)
def test_technical_names_appear_unchanged_in_the_indonesian(check_id):
    english, indonesian = _english(check_id), _indonesian(check_id)
    for field in FIELDS:
        translated = getattr(indonesian, field)
        names = technical_names(getattr(english, field), field)
        lost = sorted(name for name in names if name not in translated)
        assert not lost, (check_id, field, lost)


def test_the_extraction_finds_what_the_remediations_name():
    # The checker must see backticks, quotes and bare algorithm names, or the test above proves nothing.
    kex = technical_names(_english("SSH-KEX-001").remediation, "remediation")
    assert {"KexAlgorithms", "curve25519-sha256", "sntrup761x25519-sha512/mlkem768x25519-sha256"} <= kex
    assert "ssh-rsa" in technical_names(_english("SSH-HKEY-001").remediation, "remediation")
    assert "PermitRootLogin no" in technical_names(_english("SSH-CONF-001").remediation, "remediation")
    assert "timedatectl" in technical_names(_english("SSH-TIME-001").remediation, "remediation")
    clock = technical_names(_english("SSH-TIME-001").remediation, "remediation")
    assert not any("s or" in name for name in clock)  # "the agency's or ..." is no quote
