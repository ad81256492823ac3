"""What ``interop serve`` exposes for a known store: exact values, parsed back from the exposition.

Expected scores are worked out by hand in conftest (``SSH``, ``E1_EARNED`` ...).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from orchestrator.metrics.collector import StoreCollector
from orchestrator.metrics.families import BY_NAME, DURATION_BUCKETS
from orchestrator.scoring import round2
from tests.metrics.conftest import (
    E1,
    E1_EARNED,
    E2,
    E3,
    E3_EARNED,
    E4,
    E5,
    E5_EARNED,
    E6,
    E6_EARNED,
    GRPC,
    GRPCS,
    N_GRPC,
    N_SSH,
    N_TLS,
    NATIONAL,
    NATIONAL_INDEX,
    NOT_AFTER,
    PILOT,
    SSH,
    group_index,
    samples,
    scrape,
    series_of,
    value,
)


@pytest.fixture(scope="module")
def parsed(scenario):
    collector = StoreCollector(scenario.path, build_wait_s=30)
    try:
        return samples(scrape(collector))
    finally:
        collector.close()


def ep(url: str, agency: str) -> dict[str, str]:
    return {"inventory": "nasional", "agency": agency, "endpoint": url}


def test_sweep_level_series_show_the_latest_complete_sweep(parsed, scenario):
    inv = {"inventory": "nasional"}
    assert (
        value(
            parsed,
            "interop_sweep_info",
            **inv,
            sweep=scenario.latest,
            profile="spbe-baseline",
            engine="local",
            state="complete",
        )
        == 1
    )
    assert len(series_of(parsed, "interop_sweep_info")) == 2  # nasional and pilot
    started = datetime(2026, 1, 12, 1, 0, tzinfo=UTC).timestamp()
    assert value(parsed, "interop_sweep_start_timestamp_seconds", **inv) == started
    assert value(parsed, "interop_sweep_endpoints", **inv) == 6
    assert value(parsed, "interop_sweep_endpoints_unreachable", **inv) == 1
    # 3 SSH endpoints with N_SSH results each, 3 gRPC endpoints with N_GRPC (TLS checks included).
    assert value(parsed, "interop_sweep_results", **inv, status="fail") == 4
    assert value(parsed, "interop_sweep_results", **inv, status="warn") == 1
    assert value(parsed, "interop_sweep_results", **inv, status="error") == N_GRPC - N_TLS == 29
    assert value(parsed, "interop_sweep_results", **inv, status="skip") == 3 * 4 + 2 * N_TLS
    assert value(parsed, "interop_sweep_results", **inv, status="waived") == 0
    nasional = [
        v
        for (n, labels), v in parsed.items()
        if n == "interop_sweep_results" and ("inventory", "nasional") in labels
    ]
    assert sum(nasional) == 3 * (N_SSH + N_GRPC)
    assert value(parsed, "interop_sweep_latest_state", **inv, state="running") == 1
    assert value(parsed, "interop_sweep_latest_state", **inv, state="complete") == 0
    assert value(parsed, "interop_sweep_latest_state", inventory="pilot", state="complete") == 1
    assert value(parsed, "interop_check_failures", **inv, check="SSH-HKEY-003", severity="critical") == 1
    assert value(parsed, "interop_check_failures", **inv, check="SSH-KEX-002", severity="low") == 0
    assert value(parsed, "interop_store_up") == 1
    assert value(parsed, "interop_exporter_errors_total") == 0


def test_probe_duration_histogram(parsed):
    inv = {"inventory": "nasional"}
    # Durations: 0.4, 0.4, 1.7, 0.003, 0.08, 0.4
    assert value(parsed, "interop_sweep_probe_duration_seconds_bucket", **inv, le="0.05") == 1
    assert value(parsed, "interop_sweep_probe_duration_seconds_bucket", **inv, le="0.1") == 2
    assert value(parsed, "interop_sweep_probe_duration_seconds_bucket", **inv, le="0.5") == 5
    assert value(parsed, "interop_sweep_probe_duration_seconds_bucket", **inv, le="2.5") == 6
    assert value(parsed, "interop_sweep_probe_duration_seconds_bucket", **inv, le="+Inf") == 6
    assert value(parsed, "interop_sweep_probe_duration_seconds_count", **inv) == 6
    assert value(parsed, "interop_sweep_probe_duration_seconds_sum", **inv) == pytest.approx(2.983)
    buckets = series_of(parsed, "interop_sweep_probe_duration_seconds_bucket")
    assert len([b for b in buckets if ("inventory", "nasional") in b]) == len(DURATION_BUCKETS) + 1


def test_scores_national_province_agency(parsed):
    inv = {"inventory": "nasional"}
    bandung = (E1_EARNED + SSH + E3_EARNED) / (SSH + SSH + GRPCS)
    kemenkes = E5_EARNED / GRPC
    national = NATIONAL
    assert value(parsed, "interop_agency_compliance_ratio", **inv, agency="32.73") == pytest.approx(bandung)
    assert value(parsed, "interop_agency_compliance_ratio", **inv, agency="KEMENKES") == pytest.approx(
        kemenkes
    )
    # KEMENKES: E4's 79 of error weight against E5's 79 determined.
    assert value(parsed, "interop_agency_confidence_ratio", **inv, agency="KEMENKES") == pytest.approx(0.5)
    assert value(parsed, "interop_agency_confidence_ratio", **inv, agency="32.73") == 1
    # Issue 7: E5's open high fail (GRPC-TLS-001) holds KEMENKES in Cukup, not 1 + 4 x compliance.
    assert round2(1 + 4 * kemenkes) == 4.75
    assert value(parsed, "interop_agency_spbe_index", **inv, agency="KEMENKES") == group_index(E5) == 2.59
    assert value(parsed, "interop_national_compliance_ratio", **inv) == pytest.approx(national)
    assert value(parsed, "interop_national_confidence_ratio", **inv) == pytest.approx(
        (3 * SSH + GRPCS + GRPC) / (3 * SSH + GRPCS + 2 * GRPC)
    )
    assert value(parsed, "interop_national_spbe_index", **inv) == NATIONAL_INDEX == 3.08
    assert value(parsed, "interop_province_spbe_index", **inv, province="32") == group_index(E1, E2, E3, E6)
    assert value(parsed, "interop_agency_spbe_index", **inv, agency="32.73") == group_index(E1, E2, E3)
    # Why: how many endpoints a cap lowered, and the main capping check (most endpoints, then the
    # most severe) -- labels from the store's check ids and severities.
    assert value(parsed, "interop_national_capped_endpoints", **inv) == 4  # E1, E3, E5, E6
    assert value(parsed, "interop_national_cap_info", **inv, check="SSH-HKEY-003", severity="critical") == 1
    assert len(series_of(parsed, "interop_national_cap_info")) == 1
    assert value(parsed, "interop_province_capped_endpoints", **inv, province="31") == 1
    assert (
        value(
            parsed, "interop_province_cap_info", **inv, province="31", check="GRPC-TLS-001", severity="high"
        )
        == 1
    )
    assert value(parsed, "interop_agency_capped_endpoints", **inv, agency="32.73") == 2  # E1, E3
    assert (
        value(parsed, "interop_agency_cap_info", **inv, agency="32.73", check="SSH-KEX-001", severity="high")
        == 1
    )
    assert (
        value(
            parsed, "interop_agency_cap_info", **inv, agency="32", check="SSH-HKEY-003", severity="critical"
        )
        == 1
    )
    # The pilot's only endpoint passes everything: measured, nothing capped, no reason.
    assert value(parsed, "interop_agency_capped_endpoints", inventory="pilot", agency="32.73") == 0
    assert value(parsed, "interop_national_spbe_index", inventory="pilot") == 5.0
    assert not [
        labels
        for labels in series_of(parsed, "interop_national_cap_info")
        if ("inventory", "pilot") in labels
    ]
    jabar = (E1_EARNED + SSH + E3_EARNED + E6_EARNED) / (3 * SSH + GRPCS)
    assert value(parsed, "interop_province_compliance_ratio", **inv, province="32") == pytest.approx(jabar)
    assert value(parsed, "interop_province_compliance_ratio", **inv, province="31") == pytest.approx(kemenkes)
    assert (
        value(parsed, "interop_agency_info", **inv, agency="32", agency_level="provinsi", province="32") == 1
    )
    assert value(parsed, "interop_agency_endpoints", **inv, agency="32.73") == 3
    assert value(parsed, "interop_agency_endpoints_unreachable", **inv, agency="KEMENKES") == 1
    assert value(parsed, "interop_agency_results", **inv, agency="KEMENKES", status="error") == 29
    assert value(parsed, "interop_agency_results", **inv, agency="KEMENKES", status="fail") == 1


def test_agency_check_failures_cover_every_check_the_agency_was_tested_with(parsed):
    inv = {"inventory": "nasional"}
    assert (
        value(
            parsed,
            "interop_agency_check_failures",
            **inv,
            agency="32.73",
            check="SSH-KEX-001",
            severity="high",
        )
        == 1
    )
    assert (
        value(
            parsed,
            "interop_agency_check_failures",
            **inv,
            agency="32.73",
            check="GRPC-REFL-001",
            severity="medium",
        )
        == 1
    )
    assert (
        value(
            parsed,
            "interop_agency_check_failures",
            **inv,
            agency="32.73",
            check="TLS-CERT-003",
            severity="critical",
        )
        == 0
    )
    kemenkes = [
        labels
        for labels in series_of(parsed, "interop_agency_check_failures")
        if ("agency", "KEMENKES") in labels
    ]
    assert len(kemenkes) == N_GRPC  # gRPC and TLS checks only: no SSH endpoint
    assert (
        len(
            [
                1
                for labels in series_of(parsed, "interop_agency_check_failures")
                if ("agency", "32.73") in labels and ("inventory", "nasional") in labels
            ]
        )
        == N_SSH + N_GRPC
    )


def test_endpoint_series(parsed):
    assert value(parsed, "interop_endpoint_up", **ep(E1, "32.73")) == 1
    assert value(parsed, "interop_endpoint_up", **ep(E4, "KEMENKES")) == 0
    assert value(parsed, "interop_endpoint_compliance_ratio", **ep(E1, "32.73")) == pytest.approx(
        E1_EARNED / SSH
    )
    assert value(parsed, "interop_endpoint_compliance_ratio", **ep(E2, "32.73")) == 1
    assert value(parsed, "interop_endpoint_compliance_ratio", **ep(E4, "KEMENKES")) is None  # not measured
    assert value(parsed, "interop_endpoint_probe_duration_seconds", **ep(E3, "32.73")) == 1.7
    expiry = datetime.fromisoformat(NOT_AFTER).timestamp()
    assert value(parsed, "interop_endpoint_tls_cert_expiry_timestamp_seconds", **ep(E3, "32.73")) == expiry
    assert len(series_of(parsed, "interop_endpoint_tls_cert_expiry_timestamp_seconds")) == 1
    assert value(parsed, "interop_endpoint_ssh_host_key_changed", **ep(E1, "32.73")) == 0
    assert value(parsed, "interop_endpoint_ssh_host_key_changed", **ep(E2, "32.73")) == 1
    assert value(parsed, "interop_endpoint_ssh_host_key_changed", **ep(E6, "32")) is None  # nothing before
    assert (
        value(
            parsed,
            "interop_endpoint_info",
            **ep(E3, "32.73"),
            application="32-73-0003",
            protocol="grpc",
            agency_level="kota",
            province="32",
        )
        == 1
    )
    # The pilot inventory has a single sweep: no host-key comparison there either.
    assert (
        value(
            parsed, "interop_endpoint_ssh_host_key_changed", inventory="pilot", agency="32.73", endpoint=PILOT
        )
        is None
    )
    assert value(parsed, "interop_endpoint_up", inventory="pilot", agency="32.73", endpoint=PILOT) == 1
    # No fingerprint and no free text from a server anywhere in the labels.
    for _, labels in parsed:
        for _, text in labels:
            assert "SHA256:" not in text and "OpenSSH" not in text


def test_running_sweep_series(parsed, scenario):
    run = {"inventory": "nasional", "sweep": scenario.running}
    assert value(parsed, "interop_running_sweep_info", **run, profile="spbe-baseline", engine="local") == 1
    assert value(parsed, "interop_running_sweep_endpoints", **run) == 3
    assert value(parsed, "interop_running_sweep_endpoints_done", **run) == 2
    assert value(parsed, "interop_running_sweep_endpoints_in_flight", **run) == 1
    assert value(parsed, "interop_running_sweep_workers", **run) == 2
    heartbeat = value(parsed, "interop_running_sweep_heartbeat_timestamp_seconds", **run)
    assert abs(heartbeat - datetime.now(UTC).timestamp()) < 600
    assert value(parsed, "interop_running_sweep_endpoint_errors", **run, error_class="timeout") == 1
    assert value(parsed, "interop_running_sweep_endpoint_errors", **run, error_class="refused") == 0
    assert value(parsed, "interop_running_sweep_results", **run, status="error") == 29
    assert value(parsed, "interop_running_sweep_results", **run, status="pass") == N_SSH - 4  # 4 skipped
    assert value(parsed, "interop_running_sweep_probe_duration_seconds_bucket", **run, le="0.5") == 1
    assert value(parsed, "interop_running_sweep_probe_duration_seconds_bucket", **run, le="10.0") == 2
    assert value(parsed, "interop_running_sweep_probe_duration_seconds_count", **run) == 2
    assert len(series_of(parsed, "interop_running_sweep_info")) == 1  # complete sweeps are not "running"


def test_every_series_uses_its_familys_labels(parsed):
    for name, labels in parsed:
        base = name
        for suffix in ("_bucket", "_count", "_sum", "_total"):
            if name.endswith(suffix) and name[: -len(suffix)] in BY_NAME:
                base = name[: -len(suffix)]
        family = BY_NAME[base]
        extra = {"le"} if name.endswith("_bucket") else set()
        assert {k for k, _ in labels} == set(family.labels) | extra, name


def test_openmetrics_exposition_parses(scenario):
    collector = StoreCollector(scenario.path, build_wait_s=30)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        families = {f.name: f for f in parse_openmetrics(generate_openmetrics(registry).decode())}
    finally:
        collector.close()
    assert families["interop_sweep_probe_duration_seconds"].type == "histogram"
    assert families["interop_exporter_errors"].type == "counter"
    assert any(s.value == 1 for s in families["interop_endpoint_ssh_host_key_changed"].samples)


def test_a_missing_store_answers_store_up_0_until_a_sweep_creates_it(tmp_path):
    path = tmp_path / "later" / "results.db"
    collector = StoreCollector(path, build_wait_s=30)
    try:
        parsed = samples(scrape(collector))
        assert value(parsed, "interop_store_up") == 0
        assert not series_of(parsed, "interop_sweep_info")
        assert not path.exists()  # the exporter never creates a store
        from tests.metrics.conftest import build_scenario

        build_scenario(path)
        parsed = samples(scrape(collector))
        assert value(parsed, "interop_store_up") == 1
        assert len(series_of(parsed, "interop_sweep_info")) == 2
    finally:
        collector.close()
