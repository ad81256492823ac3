"""docs/metrics.md lists every metric with its labels; the Prometheus rules and example config are valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.metrics.families import FAMILIES
from orchestrator.service.probe import PROBE_FAMILIES
from orchestrator.service.scheduler_metrics import SCHEDULER_FAMILIES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "metrics.md"
PROMETHEUS = ROOT / "deploy" / "prometheus"


@pytest.mark.parametrize("family", [*FAMILIES, *SCHEDULER_FAMILIES, *PROBE_FAMILIES], ids=lambda f: f.name)
def test_every_metric_is_documented_with_its_type_and_labels(family):
    name = family.name + ("_total" if family.type == "counter" else "")
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"{name} needs exactly one row in docs/metrics.md"
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[1] == family.type
    assert cells[2] == (", ".join(family.labels) or "—")


def promtool(*args: str) -> str:
    done = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_rules_pass_promtool_check():
    assert "SUCCESS: 15 rules found" in promtool("check", "rules", "rules.yml")


def test_rules_unit_tests_pass():
    out = promtool("test", "rules", "rules_test.yml", "rules_test_weekly.yml")
    assert out.count("SUCCESS") == 2


def test_example_prometheus_config_is_valid():
    assert "is valid prometheus config file syntax" in promtool("check", "config", "prometheus.yml")


def test_every_metric_an_alert_or_recording_rule_uses_exists():
    import re

    from orchestrator.metrics.families import BY_NAME

    used = set(re.findall(r"\binterop_[a-z_]+", (PROMETHEUS / "rules.yml").read_text(encoding="utf-8")))
    known = set(BY_NAME) | {f"{name}_total" for name, f in BY_NAME.items() if f.type == "counter"}
    known |= {f"{name}_bucket" for name, f in BY_NAME.items() if f.type == "histogram"}
    assert used and used <= known, used - known
