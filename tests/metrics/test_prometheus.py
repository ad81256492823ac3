"""Against the real thing: Prometheus 2.42 scraping ``interop serve``, and a real Pushgateway.

Both are Debian's binaries started on 127.0.0.1 with a generated
configuration in a temporary directory (1 s scrape and rule intervals, the
project's rules.yml loaded) and stopped by pid. Values are read back through
Prometheus' HTTP API and the Pushgateway's /metrics.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from orchestrator.metrics.collector import StoreCollector
from orchestrator.metrics.export import push_summary
from orchestrator.metrics.labels import label
from orchestrator.store import Store
from orchestrator.testbed.process import free_port, spawn
from tests.metrics.conftest import E2, E4, NATIONAL_INDEX, PILOT, samples, scrape
from tests.metrics.support import HOSTILE_AGENCIES, HOSTILE_INVENTORY, add_hostile_sweep

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules.yml"


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def query(base: str, promql: str) -> list[dict]:
    body = json.loads(get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for(what: str, check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = check()
        except urllib.error.URLError:  # HTTP 503 while Prometheus starts, or not listening yet
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def served_store(scenario, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("served") / "results.db"
    shutil.copy(scenario.path, path)
    with Store(path) as store:
        add_hostile_sweep(store)
    return path


@pytest.fixture(scope="module")
def interop_serve(served_store, tmp_path_factory):
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "serve",
        "--store",
        str(served_store),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    workdir = tmp_path_factory.mktemp("serve")
    with spawn("interop-serve", argv, "127.0.0.1", port, workdir, timeout_s=30) as server:
        yield server


@pytest.fixture(scope="module")
def prometheus(interop_serve, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n"
        "  - job_name: interop\n"
        "    scrape_timeout: 1s\n"
        "    sample_limit: 250000\n"
        "    label_value_length_limit: 256\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{interop_serve.port}']\n"
    )
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with spawn("prometheus", argv, "127.0.0.1", port, workdir, timeout_s=30):
        base = f"http://127.0.0.1:{port}"

        def target_up():
            targets = json.loads(get(f"{base}/api/v1/targets"))["data"]["activeTargets"]
            return targets and all(t["health"] == "up" for t in targets) and query(base, "interop_sweep_info")

        wait_for("Prometheus to scrape interop serve", target_up)
        yield base


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory):
    port = free_port()
    argv = [
        "prometheus-pushgateway",
        f"--web.listen-address=127.0.0.1:{port}",
        "--persistence.file=",
        "--log.level=warn",
    ]
    with spawn("pushgateway", argv, "127.0.0.1", port, tmp_path_factory.mktemp("pushgateway"), timeout_s=30):
        yield f"http://127.0.0.1:{port}"


def one(results: list[dict]) -> float:
    assert len(results) == 1, results
    return float(results[0]["value"][1])


def test_prometheus_ingests_every_series_and_reads_the_right_values(prometheus, served_store, scenario):
    assert one(query(prometheus, 'up{job="interop"}')) == 1
    # Every series of the exposition was ingested: nothing rejected, nothing over a limit.
    collector = StoreCollector(served_store, build_wait_s=30)
    try:
        expected = len(samples(scrape(collector)))
    finally:
        collector.close()
    assert one(query(prometheus, 'scrape_samples_post_metric_relabeling{job="interop"}')) == expected
    assert one(query(prometheus, 'interop_sweep_info{inventory="nasional"}')) == 1
    (info,) = query(prometheus, 'interop_sweep_info{inventory="nasional"}')
    assert info["metric"]["sweep"] == scenario.latest
    index = one(query(prometheus, 'interop_national_spbe_index{inventory="nasional"}'))
    assert index == NATIONAL_INDEX  # capped (issue 7), no longer round2(1 + 4 * NATIONAL)
    assert one(query(prometheus, f'interop_endpoint_up{{endpoint="{E4}"}}')) == 0
    assert one(query(prometheus, f'interop_endpoint_ssh_host_key_changed{{endpoint="{E2}"}}')) == 1
    assert one(query(prometheus, 'count(interop_endpoint_info{inventory="nasional"})')) == 6
    assert one(query(prometheus, f'interop_endpoint_up{{inventory="pilot",endpoint="{PILOT}"}}')) == 1
    assert one(query(prometheus, 'interop_running_sweep_endpoints_in_flight{inventory="nasional"}')) == 1
    # A join through the info metric, as docs/metrics.md shows it.
    joined = query(
        prometheus,
        "interop_endpoint_up * on (inventory, endpoint) group_left (province) "
        'interop_endpoint_info{inventory="nasional"}',
    )
    assert {r["metric"]["province"] for r in joined} == {"31", "32"}


def test_hostile_inventory_labels_arrive_intact(prometheus):
    results = query(prometheus, "interop_agency_endpoints")
    inventory = label(HOSTILE_INVENTORY)
    agencies = {r["metric"].get("agency", "") for r in results if r["metric"]["inventory"] == inventory}
    assert agencies == {label(agency) for agency in HOSTILE_AGENCIES}


def test_the_projects_alert_rules_fire_on_served_metrics(prometheus):
    def firing(alertname: str):
        return query(prometheus, f'ALERTS{{alertname="{alertname}",alertstate="firing"}}')

    (changed,) = wait_for("InteropSSHHostKeyChanged", lambda: firing("InteropSSHHostKeyChanged"))
    assert changed["metric"]["endpoint"] == E2
    critical = wait_for("InteropCriticalCheckFailing", lambda: firing("InteropCriticalCheckFailing"))
    nasional = [a["metric"] for a in critical if a["metric"]["inventory"] == "nasional"]
    assert {(alert["agency"], alert["check"]) for alert in nasional} == {("32", "SSH-HKEY-003")}
    down = wait_for("InteropEndpointDown", lambda: firing("InteropEndpointDown"))
    assert [a["metric"]["endpoint"] for a in down] == [E4]


def pushed(gateway: str) -> dict[tuple[str, frozenset], float]:
    return samples(get(f"{gateway}/metrics").decode("utf-8"))


def group_values(parsed, name: str, **labels: str) -> list[tuple[dict, float]]:
    return [
        (dict(k), v)
        for (n, k), v in parsed.items()
        if n == name and all(dict(k).get(key) == val for key, val in labels.items())
    ]


def test_push_summary_to_a_real_pushgateway(pushgateway, served_store, scenario):
    with Store(served_store, create=False) as store:
        push_summary(store, scenario.latest, pushgateway, job="interop_ci")
        push_summary(store, scenario.pilot, pushgateway, job="interop_ci")
    parsed = pushed(pushgateway)
    ((_, index),) = group_values(
        parsed, "interop_national_spbe_index", job="interop_ci", inventory="nasional"
    )
    assert index == NATIONAL_INDEX  # capped (issue 7), no longer round2(1 + 4 * NATIONAL)
    ((labels, _),) = group_values(parsed, "interop_sweep_info", job="interop_ci", inventory="nasional")
    assert labels["sweep"] == scenario.latest
    assert group_values(parsed, "interop_agency_compliance_ratio", job="interop_ci", inventory="pilot")
    # The summary only: no per-endpoint or per-agency-and-check series on a gateway.
    detail = [
        name
        for name, _ in parsed
        if name.startswith("interop_endpoint_") or name == "interop_agency_check_failures"
    ]
    assert not detail
    assert group_values(parsed, "push_time_seconds", job="interop_ci", inventory="nasional")

    # A later push of the same inventory replaces its group.
    with Store(served_store, create=False) as store:
        push_summary(store, scenario.previous, pushgateway, job="interop_ci")
    ((labels, _),) = group_values(
        pushed(pushgateway), "interop_sweep_info", job="interop_ci", inventory="nasional"
    )
    assert labels["sweep"] == scenario.previous


def test_push_of_a_hostile_inventory_name(pushgateway, served_store):
    with Store(served_store, create=False) as store:
        (sweep,) = store.list_sweeps(1, inventory_name=HOSTILE_INVENTORY)
        push_summary(store, sweep.id, pushgateway)
    parsed = pushed(pushgateway)
    assert group_values(parsed, "interop_sweep_info", job="interop_sweep", inventory=label(HOSTILE_INVENTORY))


def test_sweep_run_pushes_and_writes_a_textfile(pushgateway, tmp_path):
    """The one-shot/CI path end to end: `interop sweep run --push-gateway --textfile` on real servers."""
    from typer.testing import CliRunner

    from orchestrator.cli import app
    from tests.sweep.support import planned, start_grpc_fleet, write_inventory, write_profile

    fleet = start_grpc_fleet(tmp_path / "servers", {"127.0.0.1": 3})
    try:
        inventory = write_inventory(tmp_path / "inventory.yaml", planned(fleet.urls))
        profile = write_profile(tmp_path / "profile.yaml")
        textfile = tmp_path / "interop.prom"
        result = CliRunner().invoke(
            app,
            [
                "sweep",
                "run",
                "--inventory",
                str(inventory),
                "--profile",
                str(profile),
                "--engine",
                "local",
                "--store",
                str(tmp_path / "results.db"),
                "--push-gateway",
                pushgateway,
                "--textfile",
                str(textfile),
            ],
            catch_exceptions=False,
        )
    finally:
        fleet.stop()
    assert result.exit_code == 0, result.output
    written = samples(textfile.read_text())
    assert written[("interop_sweep_endpoints", frozenset({("inventory", "inventory")}))] == 3
    parsed = pushed(pushgateway)
    endpoints = group_values(parsed, "interop_sweep_endpoints", job="interop_sweep", inventory="inventory")
    assert [value for _, value in endpoints] == [3]
