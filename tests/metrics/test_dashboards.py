"""The Grafana dashboards in deploy/grafana/: what build.py makes, valid dashboard JSON, known metrics only.

Their PromQL is run against a real Prometheus in test_promql_live.py.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.metrics.expressions import (
    DASHBOARD_NAMES,
    GRAFANA,
    GRAFANA_BUILTINS,
    count_key,
    dashboard,
    known_names,
    label_values_query,
    metric_names,
    panels,
    rules,
    shipped,
    variables_in,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"row", "stat", "table", "timeseries", "bargauge", "barchart"}


def builder():
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_builder_makes_exactly_the_three_dashboards():
    assert tuple(builder().DASHBOARDS) == DASHBOARD_NAMES
    assert sorted(p.name for p in GRAFANA.glob("*.json")) == sorted(f"{n}.json" for n in DASHBOARD_NAMES)


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_committed_json_is_what_the_builder_makes(name):
    assert (GRAFANA / f"{name}.json").read_text(encoding="utf-8") == builder().render(name), (
        f"deploy/grafana/{name}.json is stale: run .venv/bin/python deploy/grafana/build.py"
    )


def test_builder_check_mode_agrees():
    done = subprocess.run(
        [sys.executable, str(GRAFANA / "build.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_dashboard_json_is_valid(name):
    board = dashboard(name)
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["uid"] and len(board["uid"]) <= 40 and board["title"]
    assert board["id"] is None  # importable into any Grafana
    items = list(panels(board))
    ids = [p["id"] for p in items]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for item in items:
        assert item["type"] in PANEL_TYPES, item["type"]
        grid = item["gridPos"]
        assert set(grid) == {"x", "y", "w", "h"}, item["title"]
        assert grid["w"] > 0 and grid["x"] + grid["w"] <= 24, item["title"]
        if item["type"] == "row":
            continue
        assert item["datasource"] == DATASOURCE, item["title"]
        assert item["targets"], f"{item['title']} has no query"
        ref_ids = [t["refId"] for t in item["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), item["title"]
        for query in item["targets"]:
            assert query["datasource"] == DATASOURCE and query["expr"].strip(), item["title"]
    # Panels do not overlap: no two share a grid cell.
    cells = [
        (x, y)
        for p in items
        for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
        for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])
    ]
    assert len(cells) == len(set(cells))
    # Every query sits in a panel's targets, where the other tests find it.
    assert count_key(board, "expr") == sum(len(p.get("targets", ())) for p in items)


def test_dashboard_uids_are_unique_and_links_point_at_them():
    boards = [dashboard(name) for name in DASHBOARD_NAMES]
    uids = {b["uid"] for b in boards}
    assert len(uids) == len(boards)
    for board in boards:
        for item in panels(board):
            for link in item.get("fieldConfig", {}).get("defaults", {}).get("links", ()):
                assert link["url"].split("?")[0].removeprefix("/d/") in uids, link


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_template_variables_resolve(name):
    """The datasource is a variable; each query variable is label_values() over an exported metric; every
    variable a query, title or legend uses is defined before it (or is one of Grafana's own)."""
    board = dashboard(name)
    variables = board["templating"]["list"]
    names = [v["name"] for v in variables]
    assert len(names) == len(set(names))
    assert variables[0] == {**variables[0], "type": "datasource", "name": "datasource", "query": "prometheus"}
    for position, variable in enumerate(variables[1:], start=1):
        assert variable["type"] == "query" and variable["datasource"] == DATASOURCE
        query = variable["query"]["query"]
        assert query == variable["definition"]
        selector, _ = label_values_query(query)
        assert metric_names(selector) <= known_names()
        assert variables_in(query) <= set(names[:position]), f"{variable['name']} uses a later variable"
    defined = set(names) | set(GRAFANA_BUILTINS)
    for item in panels(board):
        texts = [item["title"]] + [t["expr"] + t.get("legendFormat", "") for t in item.get("targets", ())]
        for text in texts:
            assert variables_in(text) <= defined, (item["title"], variables_in(text) - defined)


@pytest.mark.parametrize("expression", shipped(), ids=lambda e: e.id)
def test_every_metric_an_expression_reads_is_exported(expression):
    """A metric the exporter does not produce cannot hide in a dashboard or a rule."""
    names = metric_names(expression.expr)
    assert names, f"found no metric in {expression.expr!r}"
    assert names <= known_names(), names - known_names()


def test_every_recording_rule_is_shown_on_a_dashboard():
    used = " ".join(e.expr for e in shipped() if not e.id.startswith("rules:"))
    for rule in rules():
        if "record" in rule:
            assert rule["record"] in used, f"{rule['record']} is recorded but no dashboard shows it"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            (
                'sum by (agency_level) ((interop_agency_spbe_index{inventory="$inventory"} >= bool 4.2)'
                ' * on (inventory, agency) group_left (agency_level) interop_agency_info{inventory="$inventory"})'
            ),
            {"interop_agency_spbe_index", "interop_agency_info"},
        ),
        (
            "interop_national_compliance_ratio < interop_national_compliance_ratio offset 7d - 0.05",
            {"interop_national_compliance_ratio"},
        ),
        ('histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="y"}[$__rate_interval])))', {"a_bucket"}),
        (
            'count by (alertname) (ALERTS{alertstate="firing", alertname=~"Interop.+"}) or vector(0)',
            {"ALERTS"},
        ),
        (
            "time() - interop_sweep_end_timestamp_seconds > 8 * 86400 and up",
            {"interop_sweep_end_timestamp_seconds", "up"},
        ),
        ("sum(x) without (le) / ignoring(a) y:rate5m unless z offset 1d", {"x", "y:rate5m", "z"}),
        ("1e3 * .5 + inf", set()),
    ],
)
def test_metric_names_reads_promql(expr, names):
    assert metric_names(expr) == names
