"""The gRPC section of bench/peers.py still works end to end: grpc-go health servers, a real
blackbox_exporter, plaintext and TLS, every endpoint SERVING according to both sides."""

from __future__ import annotations

from tests.bench.smoke import assert_each_side_ran_once, smoke_section


def test_smoke_run_compares_and_agrees(tmp_path):
    section = smoke_section("grpc", tmp_path)
    labels = [comparison["label"] for comparison in section["comparisons"]]
    assert any("plaintext" in label for label in labels) and any("tls" in label for label in labels)
    assert any("baseline" in label for label in labels)
    for comparison in section["comparisons"]:
        assert_each_side_ran_once(comparison)
    transports = set()
    for agreement in section["facts"]["agreement"]:
        assert agreement["endpoints"] > 0
        assert agreement["both_serving"] == agreement["endpoints"], agreement
        assert agreement["only_ours"] == agreement["only_peer"] == []
        transports.add("tls" if "tls" in agreement["label"] else "plaintext")
    assert transports == {"plaintext", "tls"}
