"""Every PromQL expression of the dashboards and of rules.yml, run against a real Prometheus.

Prometheus 2.42 (Debian) scrapes ``interop serve`` every second, with the
project's rules loaded, after a short real sweep history over loopback
servers (``fleet_history.py``). Each expression, with Grafana's variables
replaced by concrete values, must parse and return data, or be listed in
``EXPECTED_EMPTY`` with the reason; an expected-empty one must really be
empty, and must return data once the named thresholds are relaxed, so that
its selectors and joins are shown to work on the served series.
"""

from __future__ import annotations

import json
import math
import sys
import urllib.error
import urllib.parse
from dataclasses import dataclass

import pytest

from orchestrator.testbed.process import free_port, spawn
from tests.metrics.expressions import (
    DASHBOARD_NAMES,
    GRAFANA_BUILTINS,
    RULES,
    dashboard,
    label_values_query,
    shipped,
    substitute,
)
from tests.metrics.fleet_history import AGENCY, INVENTORY, make_history
from tests.metrics.test_prometheus import get, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

JOB = "interop"
VALUES = {"inventory": INVENTORY, "agency": AGENCY, "job": JOB, **GRAFANA_BUILTINS}


@dataclass(frozen=True)
class Empty:
    reason: str
    relax: dict[str, str]  # replacements after which the expression must return data


EXPECTED_EMPTY: dict[str, Empty] = {
    "rules:InteropNationalComplianceDropped": Empty(
        "Prometheus holds no samples from a week ago", {"offset 7d": "offset 1s", "- 0.05": "+ 0.05"}
    ),
    "rules:InteropSweepStale": Empty(
        "the latest complete sweep ended seconds ago, not 8 days", {"> 8 * 86400": "> 0"}
    ),
    "rules:InteropLatestSweepNotComplete": Empty(
        "the newest sweep is running (its driver was killed), neither failed nor interrupted",
        {'state=~"failed|interrupted"': 'state=~"running"'},
    ),
    "rules:InteropSweepDriverSilent": Empty(
        "the killed driver's last heartbeat is seconds old, the alert wants 2 minutes", {"> 120": "> 0"}
    ),
    "rules:InteropSweepManyProbeErrors": Empty(
        "1 of the 7 endpoints recorded failed as a whole (refused): under 20 %, and the alert wants over "
        "100 done",
        {"> 0.2": "> 0", "> 100": "> 0"},
    ),
    "rules:InteropStoreUnreadable": Empty("the store is readable", {"== 0": "== 1"}),
    "operations:Time left at this rate:A": Empty(
        "the running sweep's driver was killed: it makes no progress, so there is no time left to show",
        {"> 0)": ">= 0)"},
    ),
}


def query(base: str, promql: str) -> list[dict]:
    """The instant result; a PromQL error fails with Prometheus' message."""
    try:
        body = json.loads(get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
    except urllib.error.HTTPError as error:
        if error.code not in (400, 422):  # 503 while Prometheus starts: wait_for tries again
            raise
        message = error.read().decode(errors="replace")
        raise AssertionError(f"Prometheus refused {promql!r}: {message}") from None
    assert body["status"] == "success", body
    return body["data"]["result"]


def has_data(results: list[dict]) -> bool:
    values = [float(r["value"][1]) for r in results]
    return any(not math.isnan(v) for v in values)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return make_history(tmp_path_factory.mktemp("dashboards-history"))


@pytest.fixture(scope="module")
def prometheus(history, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dashboards-prometheus")
    serve_port, port = free_port(), free_port()
    serve = [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "serve",
        "--store",
        str(history.store),
        "--waivers",
        str(history.waivers),
        "--listen",
        f"127.0.0.1:{serve_port}",
    ]
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        f"scrape_configs:\n  - job_name: {JOB}\n    scrape_timeout: 1s\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{serve_port}']\n"
    )
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (
        spawn("interop-serve", serve, "127.0.0.1", serve_port, workdir / "serve", timeout_s=30),
        spawn("prometheus", argv, "127.0.0.1", port, workdir, timeout_s=30),
    ):
        base = f"http://127.0.0.1:{port}"
        # Scraped, the rules evaluated, and enough samples for the range functions ([1m] windows).
        wait_for(
            "Prometheus to scrape interop serve",
            lambda: query(base, f'up{{job="{JOB}"}} == 1') and query(base, "interop_sweep_info"),
            60,
        )
        wait_for(
            "the rules to be evaluated",
            lambda: (
                query(base, "interop:agencies_below_cukup:count")
                and query(base, 'ALERTS{alertname="InteropEndpointDown"}')
            ),
            60,
        )
        wait_for("five scrapes", lambda: query(base, "count_over_time(interop_store_up[1m]) >= 5"), 60)
        yield base


@pytest.mark.parametrize("expression", shipped(), ids=lambda e: e.id)
def test_expression_parses_and_returns_data(prometheus, expression):
    promql = substitute(expression.expr, VALUES)
    results = query(prometheus, promql)
    empty = EXPECTED_EMPTY.get(expression.id)
    if empty is None:
        assert has_data(results), f"no data for {promql!r}"
        return
    assert not results, f"listed as expected-empty ({empty.reason}) but returns {results}"
    relaxed = promql
    for old, new in empty.relax.items():
        assert old in relaxed, f"{old!r} is not in {relaxed!r}"
        relaxed = relaxed.replace(old, new)
    assert has_data(query(prometheus, relaxed)), f"relaxed, still no data: {relaxed!r}"


def test_expected_empty_entries_name_shipped_expressions():
    assert set(EXPECTED_EMPTY) <= {e.id for e in shipped()}


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_template_variables_offer_the_values_the_expressions_were_run_with(prometheus, name):
    for variable in dashboard(name)["templating"]["list"][1:]:
        selector, label = label_values_query(variable["query"]["query"])
        params = {"match[]": substitute(selector, VALUES)} if selector else {}
        body = json.loads(get(f"{prometheus}/api/v1/label/{label}/values?" + urllib.parse.urlencode(params)))
        assert VALUES[variable["name"]] in body["data"], (variable["name"], body["data"])
