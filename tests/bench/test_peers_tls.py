"""The TLS section of bench/peers.py still works end to end: real grpcs servers, real sslyze, agreement explained."""

from __future__ import annotations

from tests.bench.smoke import assert_each_side_ran_once, smoke_section

FACT_ROWS = (
    "TLS 1.0 accepted",
    "TLS 1.1 accepted",
    "TLS 1.3 accepted",
    "certificate not_after",
    "certificate key (type, bits)",
)


def test_smoke_run_compares_and_agrees(tmp_path):
    section = smoke_section("tls", tmp_path)
    (comparison,) = section["comparisons"]
    endpoints = comparison["endpoints"]
    facts = section["facts"][str(endpoints)]
    assert facts["sslyze"] == "6.3.1"
    assert sum(facts["problems"].values()) == endpoints
    assert_each_side_ran_once(comparison)
    # Versions, expiry and key agree on every endpoint: each row reads "| fact | N | 0 | 0 | 0 |".
    for fact in FACT_ROWS:
        assert f"| {fact} | {endpoints} | 0 | 0 | 0 |" in section["agreement"], fact
