"""The cardinality budget: the formula matches a real exposition, and the national inventory fits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.inventory.synthetic import generate
from orchestrator.metrics import budget
from orchestrator.metrics.collector import StoreCollector
from orchestrator.store import Store, SweepState
from probes.model import Status
from tests.metrics.conftest import samples, scrape
from tests.metrics.support import add_sweep, endpoint, grpcs_facts, report, ssh_facts

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

# Every per-endpoint series present: all endpoints answer, grpcs ones show a
# certificate, SSH ones have host keys the previous sweep saw too. One open
# high fail per agency caps an endpoint of each, so every group has its cap series.
WORST_CASE = [
    ("ssh://127.5.0.1:10000", "32.73", "kota", "32"),
    ("ssh://127.5.0.1:10001", "32.73", "kota", "32"),
    ("grpcs://127.5.0.1:20000", "32.73", "kota", "32"),
    ("grpc://127.5.0.1:20001", "32.73", "kota", "32"),
    ("grpcs://127.6.0.1:20000", "KEMENKES", "pusat", "31"),
    ("grpc://127.6.0.1:20001", "KEMENKES", "pusat", "31"),
    ("ssh://127.7.0.1:10000", "32.01", "kabupaten", "32"),
]


def worst_case_store(path: Path) -> None:
    records = [
        endpoint(url, agency, level, province, f"app-{n}")
        for n, (url, agency, level, province) in enumerate(WORST_CASE)
    ]

    capping = {
        "ssh://127.5.0.1:10000": {"SSH-KEX-001": Status.FAIL},
        "grpcs://127.6.0.1:20000": {"GRPC-HLTH-001": Status.FAIL},
        "ssh://127.7.0.1:10000": {"SSH-ENC-001": Status.FAIL},
    }

    def reports(seed: str):
        out = []
        for record in records:
            if record.url.startswith("ssh"):
                facts = ssh_facts({"ssh-ed25519": record.url + seed, "ssh-rsa": record.url})
            elif record.url.startswith("grpcs"):
                facts = grpcs_facts("2027-01-01T00:00:00+00:00")
            else:
                facts = {}
            out.append((record, report(record.url, capping.get(record.url), facts=facts), None))
        return out

    with Store(path) as store:
        add_sweep(store, "nasional", reports("a"), started="2026-03-01T00:00:00")
        add_sweep(store, "nasional", reports("b"), started="2026-03-08T00:00:00")
        running = add_sweep(
            store,
            "nasional",
            reports("c")[:2] + [(records[2], None, None)],
            started="2026-03-15T00:00:00",
            state=SweepState.RUNNING,
        )
        store.write_live(running, in_flight=1, workers=1)


def test_the_formula_counts_exactly_what_the_collector_emits(tmp_path):
    path = tmp_path / "results.db"
    worst_case_store(path)
    waivers = tmp_path / "waivers.yaml"
    expires = datetime.now(UTC).date() + timedelta(days=10)
    waivers.write_text(
        "waivers:\n  - id: W-1\n    check: SSH-KEX-002\n    justification: Legacy client fleet until 2027.\n"
        f"    approver: Kepala Dinas\n    expires: {expires.isoformat()}\n"
    )
    collector = StoreCollector(path, waivers_path=waivers, build_wait_s=30)
    try:
        emitted = samples(scrape(collector))
    finally:
        collector.close()
    shape = budget.shape_of(
        [(url.partition("://")[0], agency, province) for url, agency, _, province in WORST_CASE],
        running_sweeps=1,
    )
    # 58 checks since SSH-HKEY-004 (ECDSA host keys, issue 7) joined the registry.
    assert shape.checks == 58 and shape.agencies == 3 and shape.provinces == 2
    by_scope = budget.series_by_scope(shape)
    assert len(emitted) == budget.total_series(shape)
    endpoint_series = [name for name, labels in emitted if name.startswith("interop_endpoint_")]
    assert len(endpoint_series) == by_scope["endpoint"]
    per_endpoint = {}
    for name, labels in emitted:
        if name.startswith("interop_endpoint_"):
            url = dict(labels)["endpoint"]
            per_endpoint[url] = per_endpoint.get(url, 0) + 1
    assert per_endpoint == {url: budget.per_endpoint(url.partition("://")[0]) for url, *_ in WORST_CASE}
    assert max(per_endpoint.values()) == budget.PER_ENDPOINT_BUDGET


@pytest.mark.parametrize("grpcs_share", [0.0, 1.0])
def test_the_national_inventory_stays_within_the_budget(grpcs_share):
    document = generate(seed=1, grpcs_share=grpcs_share)
    province_of = {agency["code"]: agency["province"] for agency in document["agencies"]}
    endpoints = [
        (ep["url"].partition("://")[0], app["agency"], province_of[app["agency"]])
        for app in document["applications"]
        for ep in app["endpoints"]
    ]
    shape = budget.shape_of(endpoints, running_sweeps=1)
    assert shape.agencies == 622 and shape.provinces == 38 and shape.endpoints > 32_000
    total = budget.total_series(shape)
    assert total <= budget.NATIONAL_BUDGET
    for scheme in shape.endpoints_by_scheme:
        assert budget.per_endpoint(scheme) <= budget.PER_ENDPOINT_BUDGET
    # docs/metrics.md states the computed number; it must stay true.
    assert f"{total:,}" in DOCS.read_text(encoding="utf-8")


def test_the_documented_budget_is_the_enforced_one():
    text = DOCS.read_text(encoding="utf-8")
    assert f"{budget.NATIONAL_BUDGET:,}" in text
    assert re.search(rf"at most {budget.PER_ENDPOINT_BUDGET} series per endpoint", text, re.IGNORECASE)
