"""The gRPC section of bench/peers.py still works end to end: grpc-go health servers, a real
blackbox_exporter, plaintext and TLS, every endpoint SERVING according to both sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_compares_and_agrees(tmp_path):
    out = tmp_path / "peers.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers.py"), "--smoke", "--only", "grpc", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (section,) = json.loads(out.read_text())["sections"]
    assert section["name"] == "grpc"
    assert section["agreement_ok"] is True, section["agreement"]
    labels = [comparison["label"] for comparison in section["comparisons"]]
    assert any("plaintext" in label for label in labels) and any("tls" in label for label in labels)
    assert any("baseline" in label for label in labels)
    for comparison in section["comparisons"]:
        endpoints = comparison["endpoints"]
        runs = comparison["result"]["runs"]
        assert len(runs["ours"]) == len(runs["peer"]) == 1
        for run in runs["ours"] + runs["peer"]:
            assert run["wall_s"] > 0
            assert run["connections"] >= endpoints  # each side reached every server
        assert runs["ours"][0]["cpu_s"] > 0
        assert all(target["met"] is None for target in comparison["targets"])
    transports = set()
    for agreement in section["facts"]["agreement"]:
        assert agreement["endpoints"] > 0
        assert agreement["both_serving"] == agreement["endpoints"], agreement
        assert agreement["only_ours"] == agreement["only_peer"] == []
        transports.add("tls" if "tls" in agreement["label"] else "plaintext")
    assert transports == {"plaintext", "tls"}
