"""Run one section of bench/peers.py in its smoke mode, as `make test` does, and read what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def smoke_section(name: str, tmp_path: Path) -> dict:
    """The section's JSON, after checking the run exited 0 and every side's difference was explained."""
    out = tmp_path / "peers.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers.py"), "--smoke", "--only", name, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (section,) = json.loads(out.read_text())["sections"]
    assert section["name"] == name
    assert section["agreement_ok"] is True, section["agreement"]
    return section


def assert_each_side_ran_once(comparison: dict) -> None:
    """One run a side, each reaching every server, nothing judged (a smoke run judges no target)."""
    endpoints = comparison["endpoints"]
    runs = comparison["result"]["runs"]
    assert len(runs["ours"]) == len(runs["peer"]) == 1
    for run in runs["ours"] + runs["peer"]:
        assert run["wall_s"] > 0 and run["cpu_s"] > 0
        assert run["connections"] >= endpoints
    assert all(target["met"] is None for target in comparison["targets"])
