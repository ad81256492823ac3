"""Hostile label values from an inventory cannot break the exposition.

Quotes, backslashes, newlines and other controls, very long strings, text
that is not UTF-8 in the store, lone surrogates: every exposition still
parses (prometheus-client's text and OpenMetrics parsers), every value comes
back as ``labels.label(original)``, and distinct inputs stay distinct series.
"""

from __future__ import annotations

import sqlite3

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.metrics.collector import StoreCollector
from orchestrator.metrics.labels import MAX_LABEL_CHARS, label
from orchestrator.metrics.series import SeriesSet, assemble
from orchestrator.store import Store
from tests.metrics.conftest import samples, scrape, series_of, value
from tests.metrics.support import HOSTILE_AGENCIES, HOSTILE_INVENTORY, LONG, add_hostile_sweep


def hostile_store(path) -> tuple[str, list[EndpointMeta]]:
    with Store(path) as store:
        return add_hostile_sweep(store)


def test_label_sanitiser():
    assert label("plain-ascii 32.73") == "plain-ascii 32.73"
    assert label(None) == ""
    assert label("a\udc80b") == "a\\udc80b"  # a lone surrogate, spelled out
    assert label("a\udc80b") != label("a\udc81b")
    assert label("a\nb") == "a\\x0ab"
    assert label(b"ag\xffn") == "ag\\xffn"
    long_a, long_b = label(LONG + "-a"), label(LONG + "-b")
    assert len(long_a) <= MAX_LABEL_CHARS and long_a != long_b
    assert label("Kabupaten Sleman — ✓") == "Kabupaten Sleman — ✓"
    for value_ in (label("a\udc80b"), long_a, label("x\x00\x9f")):
        value_.encode("utf-8")  # valid UTF-8, no exception


def test_hostile_inventory_values_round_trip_through_both_formats(tmp_path):
    path = tmp_path / "results.db"
    _, records = hostile_store(path)
    collector = StoreCollector(path, build_wait_s=30)
    try:
        parsed = samples(scrape(collector))  # raises on a parse error or a duplicate series
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        openmetrics = list(parse_openmetrics(generate_openmetrics(registry).decode("utf-8")))
    finally:
        collector.close()
    inventory = label(HOSTILE_INVENTORY)
    infos = series_of(parsed, "interop_endpoint_info")
    assert len(infos) == len(records)
    for record in records:
        labels = {
            "inventory": inventory,
            "agency": label(record.agency),
            "endpoint": label(record.endpoint_id),
            "application": label(record.application),
            "protocol": "ssh",
            "agency_level": label(record.agency_level),
            "province": label(record.province),
        }
        assert infos[frozenset(labels.items())] == 1
    agencies = series_of(parsed, "interop_agency_compliance_ratio")
    assert len(agencies) == len(HOSTILE_AGENCIES)
    assert any(f.name == "interop_endpoint_info" and len(f.samples) == len(records) for f in openmetrics)


def test_text_that_is_not_utf8_in_the_store_is_escaped_not_fatal(tmp_path):
    path = tmp_path / "results.db"
    sweep_id, records = hostile_store(path)
    with sqlite3.connect(path) as conn:  # what a damaged or hand-edited store may hold
        conn.execute(
            "UPDATE endpoints SET agency = CAST(X'6167ff6e' AS TEXT), application = CAST(X'c3' AS TEXT)"
            " WHERE sweep_id = ? AND endpoint_id = ?",
            (sweep_id, records[0].endpoint_id),
        )
    collector = StoreCollector(path, build_wait_s=30)
    try:
        parsed = samples(scrape(collector))
    finally:
        collector.close()
    assert value(parsed, "interop_store_up") == 1
    assert value(parsed, "interop_exporter_errors_total") == 0
    inventory = label(HOSTILE_INVENTORY)
    assert value(parsed, "interop_agency_endpoints", inventory=inventory, agency="ag\\xffn") == 1
    applications = {dict(labels)["application"] for labels in series_of(parsed, "interop_endpoint_info")}
    assert "\\xc3" in applications


def test_lone_surrogates_never_reach_the_encoder():
    series = SeriesSet()
    series.gauge(
        "interop_endpoint_up",
        {"inventory": label("inv\udcff"), "agency": label("\ud800"), "endpoint": label("ssh://h\udc80:22")},
        1,
    )

    class Fixed(Collector):
        def collect(self):
            return assemble([series])

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed())
    text = generate_latest(registry).decode("utf-8")
    (family,) = list(text_string_to_metric_families(text))
    assert family.samples[0].labels == {
        "inventory": "inv\\udcff",
        "agency": "\\ud800",
        "endpoint": "ssh://h\\udc80:22",
    }
