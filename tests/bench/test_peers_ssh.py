"""The SSH section of bench/peers.py still works end to end: real servers, real ssh-audit, agreement explained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_compares_and_agrees(tmp_path):
    out = tmp_path / "peers.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers.py"), "--smoke", "--only", "ssh", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (section,) = json.loads(out.read_text())["sections"]
    assert section["name"] == "ssh"
    assert section["agreement_ok"] is True, section["agreement"]
    (comparison,) = section["comparisons"]
    endpoints = comparison["endpoints"]
    assert endpoints == sum(1 for _ in section["facts"]["mix"])  # one endpoint of each kind
    runs = comparison["result"]["runs"]
    assert len(runs["ours"]) == len(runs["peer"]) == 1
    for run in runs["ours"] + runs["peer"]:
        assert run["wall_s"] > 0 and run["cpu_s"] > 0
        assert run["connections"] >= endpoints  # each side reached every server
    assert f"Endpoints agreeing: {endpoints} of {endpoints}" in section["agreement"]
    assert f"fingerprints identical on {endpoints} of {endpoints}" in section["agreement"]
    assert all(target["met"] is None for target in comparison["targets"])
