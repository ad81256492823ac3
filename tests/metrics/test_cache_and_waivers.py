"""The snapshot cache (built once per sweep, rebuilt when the sweep, its predecessor or the waivers
change, stale-but-served while a new one builds) and waivers applied to the metrics."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from orchestrator.metrics.collector import StoreCollector
from orchestrator.store import Store
from tests.metrics.conftest import E1, RECORDS, SSH, samples, scrape, series_of, value
from tests.metrics.support import add_sweep, report, ssh_facts

INV = {"inventory": "nasional"}


def utc_today() -> date:
    return datetime.now(UTC).date()  # waivers expire by the UTC date


@pytest.fixture
def store_copy(scenario, tmp_path):
    path = tmp_path / "results.db"
    shutil.copy(scenario.path, path)
    return path


def sweep_shown(parsed) -> str:
    (labels,) = [dict(k) for k in series_of(parsed, "interop_sweep_info") if ("inventory", "nasional") in k]
    return labels["sweep"]


def waivers_file(path, *, expires: date, check: str = "SSH-KEX-001") -> None:
    path.write_text(
        "waivers:\n"
        "  - id: W-2026-001\n"
        f"    check: {check}\n"
        '    agency: "32.73"\n'
        f"    endpoint: {E1}\n"
        "    justification: Vendor appliance; replacement contracted for 2027.\n"
        "    approver: Kepala Diskominfo Kota Bandung\n"
        f"    expires: {expires.isoformat()}\n"
    )


def test_unchanged_sweeps_are_built_once_and_a_new_sweep_replaces_them(scenario, store_copy):
    collector = StoreCollector(store_copy, build_wait_s=30)
    try:
        first = samples(scrape(collector))
        second = samples(scrape(collector))
        assert collector.builds == 2  # nasional and pilot, once each
        assert first == second
        assert sweep_shown(second) == scenario.latest
        with Store(store_copy) as store:
            e1 = report(E1, facts=ssh_facts({"ssh-ed25519": "x"}))
            newer = add_sweep(store, "nasional", [(RECORDS[E1], e1, None)], started="2026-01-13T00:00:00")
        third = samples(scrape(collector))
        assert collector.builds == 3  # only nasional again
        assert sweep_shown(third) == newer
        assert value(third, "interop_sweep_endpoints", **INV) == 1
        # The key of E1 differs from the latest sweep before it (now the "previous" one).
        assert value(third, "interop_endpoint_ssh_host_key_changed", **INV, agency="32.73", endpoint=E1) == 1
    finally:
        collector.close()


def test_a_slow_build_serves_the_previous_snapshot_meanwhile(scenario, store_copy):
    collector = StoreCollector(store_copy, build_wait_s=0.2)
    try:
        assert sweep_shown(samples(scrape(collector))) == scenario.latest
        hold = threading.Event()
        collector._builder.submit(hold.wait)  # the builder is busy with something long
        with Store(store_copy) as store:
            newer = add_sweep(
                store, "nasional", [(RECORDS[E1], report(E1), None)], started="2026-01-14T00:00:00"
            )
        assert sweep_shown(samples(scrape(collector))) == scenario.latest  # stale, not missing
        hold.set()
        collector._builder.submit(lambda: None).result(timeout=30)  # the queued build is done
        assert sweep_shown(samples(scrape(collector))) == newer
    finally:
        collector.close()


def test_waivers_turn_failures_into_waived_and_changes_to_the_file_are_picked_up(store_copy, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers_file(waivers, expires=utc_today() + timedelta(days=30))
    collector = StoreCollector(store_copy, waivers_path=waivers, build_wait_s=30)
    try:
        parsed = samples(scrape(collector))
        assert value(parsed, "interop_sweep_results", **INV, status="waived") == 1
        assert value(parsed, "interop_sweep_results", **INV, status="fail") == 3
        assert (
            value(
                parsed,
                "interop_agency_check_failures",
                **INV,
                agency="32.73",
                check="SSH-KEX-001",
                severity="high",
            )
            == 0
        )
        assert value(parsed, "interop_check_failures", **INV, check="SSH-KEX-001", severity="high") == 0
        # A waived failure earns full credit: E1 loses only the warn's half point.
        assert value(
            parsed, "interop_endpoint_compliance_ratio", **INV, agency="32.73", endpoint=E1
        ) == pytest.approx((SSH - 0.5) / SSH)
        # ... and no longer caps: 32.73's capped endpoints drop from 2 (E1, E3) to 1 (E3).
        assert value(parsed, "interop_agency_capped_endpoints", **INV, agency="32.73") == 1
        assert (
            value(
                parsed,
                "interop_agency_cap_info",
                **INV,
                agency="32.73",
                check="GRPC-REFL-001",
                severity="medium",
            )
            == 1
        )
        assert value(parsed, "interop_waivers_active") == 1
        builds = collector.builds

        waivers_file(waivers, expires=utc_today() - timedelta(days=1))  # expired yesterday
        parsed = samples(scrape(collector))
        assert collector.builds == builds + 2  # both inventories: the waivers apply to all
        assert value(parsed, "interop_sweep_results", **INV, status="waived") == 0
        assert value(parsed, "interop_sweep_results", **INV, status="fail") == 4
        assert value(parsed, "interop_waivers_active") == 0
        assert value(parsed, "interop_waivers_expired") == 1

        waivers.write_text("waivers: [not, a, mapping\n")  # broken: keep the last good waivers
        parsed = samples(scrape(collector))
        assert value(parsed, "interop_exporter_errors_total") == 1
        assert value(parsed, "interop_waivers_expired") == 1
    finally:
        collector.close()


def test_warn_is_waivable_error_is_not(store_copy, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers_file(waivers, expires=utc_today() + timedelta(days=30), check="SSH-KEX-00*")
    collector = StoreCollector(store_copy, waivers_path=waivers, build_wait_s=30)
    try:
        parsed = samples(scrape(collector))
    finally:
        collector.close()
    # SSH-KEX-001 fail and SSH-KEX-002 warn of E1 are both waived.
    assert value(parsed, "interop_sweep_results", **INV, status="waived") == 2
    assert value(parsed, "interop_sweep_results", **INV, status="warn") == 0
    assert value(parsed, "interop_endpoint_compliance_ratio", **INV, agency="32.73", endpoint=E1) == 1
    assert value(parsed, "interop_sweep_results", **INV, status="error") == 29
