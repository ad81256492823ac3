"""The TLS section of bench/peers.py still works end to end: real grpcs servers, real sslyze, agreement explained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACT_ROWS = ("TLS 1.0 accepted", "TLS 1.1 accepted", "TLS 1.3 accepted", "certificate not_after",
             "certificate key (type, bits)")


def test_smoke_run_compares_and_agrees(tmp_path):
    out = tmp_path / "peers.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers.py"), "--smoke", "--only", "tls", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (section,) = json.loads(out.read_text())["sections"]
    assert section["name"] == "tls"
    assert section["agreement_ok"] is True, section["agreement"]
    (comparison,) = section["comparisons"]
    endpoints = comparison["endpoints"]
    facts = section["facts"][str(endpoints)]
    assert facts["sslyze"] == "6.3.1"
    assert sum(facts["problems"].values()) == endpoints
    runs = comparison["result"]["runs"]
    assert len(runs["ours"]) == len(runs["peer"]) == 1
    for run in runs["ours"] + runs["peer"]:
        assert run["wall_s"] > 0 and run["cpu_s"] > 0
        assert run["connections"] >= endpoints  # each side reached every server
    # Versions, expiry and key agree on every endpoint: each row reads "| fact | N | 0 | 0 | 0 |".
    for fact in FACT_ROWS:
        assert f"| {fact} | {endpoints} | 0 | 0 | 0 |" in section["agreement"], fact
    assert all(target["met"] is None for target in comparison["targets"])
