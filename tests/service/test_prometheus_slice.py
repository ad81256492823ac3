"""A real Prometheus (Debian's 2.42) scrapes ``interop serve`` with an agency's bearer token: it sees that agency only.

Two scrape jobs of the same service: ``agency`` with the token of 32.73
(``authorization: {credentials: ...}``, as an agency's own Prometheus would
be set up), ``operator`` with the operator's token, which sees every agency
(so the agency job's view is a slice, not an empty scrape).
"""

from __future__ import annotations

import json

import pytest

from orchestrator.metrics.families import BY_NAME
from orchestrator.testbed.process import free_port, spawn
from tests.metrics.test_prometheus import query, wait_for
from tests.service.conftest import OTHER, OWN, THIRD, identifying_words


@pytest.fixture(scope="module")
def prometheus(service, tokens, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus-agency")
    port = free_port()
    target = service.base.removeprefix("http://")
    jobs = []
    for job, token in (("agency", tokens.by_name["own"]), ("operator", tokens.by_name["operator"])):
        jobs.append(
            f"  - job_name: {job}\n    scrape_interval: 2s\n    scrape_timeout: 2s\n"
            f"    authorization:\n      credentials: {token}\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n" + "".join(jobs))
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with spawn("prometheus", argv, "127.0.0.1", port, workdir, timeout_s=30):
        base = f"http://127.0.0.1:{port}"
        for job in ("agency", "operator"):
            wait_for(
                f"Prometheus to scrape job {job}",
                lambda job=job: query(base, f'interop_store_up{{job="{job}"}}'),
                timeout_s=60,
            )
        yield base


def series(base: str, job: str) -> list[dict[str, str]]:
    return [r["metric"] for r in query(base, f'{{job="{job}", __name__=~"interop_.+"}}')]


def test_the_agency_job_sees_only_its_agency(prometheus, fleet):
    seen = series(prometheus, "agency")
    assert seen, "the agency job ingested nothing"
    up = query(prometheus, 'up{job="agency"}')
    assert [r["value"][1] for r in up] == ["1"]
    for labels in seen:
        family = BY_NAME[labels["__name__"]]
        if "agency" in family.labels:
            assert labels["agency"] == OWN, labels
        else:
            assert family.agency_shared, labels
    names = {labels["__name__"] for labels in seen}
    assert {"interop_agency_spbe_index", "interop_endpoint_up", "interop_agency_check_failures"} <= names
    assert not names & {
        "interop_national_spbe_index",
        "interop_province_spbe_index",
        "interop_check_failures",
        "interop_sweep_results",
    }
    endpoints = {labels["endpoint"] for labels in seen if labels["__name__"] == "interop_endpoint_up"}
    assert endpoints == set(fleet.urls[OWN])
    text = json.dumps(seen).lower()
    foreign = [word for code in (OTHER, THIRD) for word in identifying_words(code, fleet)]
    assert [word for word in foreign if word.lower() in text] == []


def test_the_operator_job_sees_every_agency(prometheus):
    agencies = {r["metric"]["agency"] for r in query(prometheus, 'interop_agency_spbe_index{job="operator"}')}
    assert agencies == {OWN, OTHER, THIRD}
    assert query(prometheus, 'interop_national_spbe_index{job="operator"}')
    assert query(prometheus, 'count(interop_agency_spbe_index{job="agency"})')[0]["value"][1] == "1"
