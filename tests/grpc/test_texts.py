"""The Bahasa Indonesia texts and efforts of the gRPC and TLS checks: complete, translated, names kept.

Technical names in an English text (backticked spans, dotted protocol names,
snake_case identifiers, upper-case status and algorithm names, numbers,
quoted strings) must appear unchanged in the Indonesian text of that field.
"""

from __future__ import annotations

import re

import pytest

from probes import registry
from probes.grpc import texts as grpc_texts
from probes.grpc.interop.cases import CASES
from probes.model import EFFORTS
from probes.tls import texts as tls_texts

FAMILIES = ("grpc", "tls")
CATALOGUES = {"grpc": grpc_texts, "tls": tls_texts}
FIELDS = ("title", "rationale", "remediation")

# What stays verbatim in a translation, each with an example it finds.
TECHNICAL_NAMES = {
    "backticked": re.compile(r"`[^`]+`"),  # `sshd_config`
    "dotted": re.compile(r"\b[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+"),  # grpc.health.v1.Health
    "snake_case": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),  # timeout_on_sleeping_server
    "upper_case": re.compile(r"\b[A-Z][A-Z0-9_]*[A-Z0-9]\b"),  # NOT_SERVING, ALPN, MD5
    "number": re.compile(r"\b\d+(?:\.\d+)*\b"),  # 1.2, 314159
    "quoted": re.compile(r'"[^"]*"'),  # "h2", ""
}


def family_checks() -> dict[str, str]:
    """Check id -> family, for every registered gRPC and TLS check."""
    return {
        check_id: meta.protocol for check_id, meta in registry.checks().items() if meta.protocol in FAMILIES
    }


def technical_names(text: str) -> set[str]:
    return {found for pattern in TECHNICAL_NAMES.values() for found in pattern.findall(text)}


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            'Register grpc.health.v1.Health and set `""` to SERVING.',
            {"grpc.health.v1.Health", '`""`', '""', "SERVING"},
        ),
        (
            'Run the large_unary case; see RFC 8996 and TLS 1.2 ("h2").',
            {"large_unary", "RFC", "8996", "TLS", "1.2", '"h2"'},
        ),
        (
            "List services in DescribeResponse.declared_services. Done.",
            {"DescribeResponse.declared_services", "declared_services"},
        ),
    ],
)
def test_technical_names_are_found(text, expected):
    assert technical_names(text) == expected


def test_every_check_has_an_indonesian_text_and_an_effort():
    checks = family_checks()
    assert {"grpc", "tls"} <= set(checks.values())
    assert [missing for missing in registry.missing_texts() if missing.split("/")[0] in checks] == []
    assert {
        check_id: registry.effort(check_id) for check_id in checks if registry.effort(check_id) not in EFFORTS
    } == {}


def test_catalogues_name_only_registered_checks_of_their_family():
    checks = family_checks()
    stale = {}
    for family, catalogue in CATALOGUES.items():
        own = {check_id for check_id, of in checks.items() if of == family}
        stale[family] = sorted({*catalogue.TEXTS["id"], *catalogue.EFFORT} - own)
    assert stale == {"grpc": [], "tls": []}
    assert set(grpc_texts.INTEROP_CASES_ID) == {case.name for case in CASES}


@pytest.mark.parametrize("check_id", sorted(family_checks()))
def test_indonesian_text_is_a_translation_that_keeps_technical_names(check_id):
    english, indonesian = registry.check_text(check_id, "en"), registry.check_text(check_id, "id")
    for field in FIELDS:
        source, translated = getattr(english, field), getattr(indonesian, field)
        assert translated.strip(), f"{check_id}.{field} is empty in Indonesian"
        assert translated != source, f"{check_id}.{field} is not translated"
        lost = sorted(name for name in technical_names(source) if name not in translated)
        assert lost == [], f"{check_id}.{field}: Indonesian lacks {lost}"
