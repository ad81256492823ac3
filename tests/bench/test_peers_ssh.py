"""The SSH section of bench/peers.py still works end to end: real servers, real ssh-audit, agreement explained."""

from __future__ import annotations

from tests.bench.smoke import assert_each_side_ran_once, smoke_section


def test_smoke_run_compares_and_agrees(tmp_path):
    section = smoke_section("ssh", tmp_path)
    (comparison,) = section["comparisons"]
    endpoints = comparison["endpoints"]
    assert endpoints == sum(1 for _ in section["facts"]["mix"])  # one endpoint of each kind
    assert_each_side_ran_once(comparison)
    assert f"Endpoints agreeing: {endpoints} of {endpoints}" in section["agreement"]
    assert f"fingerprints identical on {endpoints} of {endpoints}" in section["agreement"]
