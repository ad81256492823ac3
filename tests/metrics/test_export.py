"""The node_exporter textfile: the summary only, parsed back; written atomically; failures reported."""

from __future__ import annotations

import os
import stat

import pytest

from orchestrator.metrics import export
from orchestrator.metrics.export import export_summary, write_textfile
from orchestrator.metrics.families import SUMMARY_FAMILIES
from orchestrator.scoring import round2
from orchestrator.store import Store
from orchestrator.testbed.process import free_port
from tests.metrics.conftest import NATIONAL, NATIONAL_INDEX, samples, series_of, value


def test_textfile_holds_the_summary_of_the_sweep(scenario, tmp_path):
    target = tmp_path / "interop.prom"
    target.write_text("# an older file\n")
    with Store(scenario.path, create=False) as store:
        write_textfile(store, scenario.latest, target)
    parsed = samples(target.read_text(encoding="utf-8"))
    # Issue 7: the capped index, not 1 + 4 x compliance; the reason is part of the summary.
    assert value(parsed, "interop_national_spbe_index", inventory="nasional") == NATIONAL_INDEX
    assert round2(1 + 4 * NATIONAL) > NATIONAL_INDEX
    assert (
        value(
            parsed,
            "interop_national_cap_info",
            inventory="nasional",
            check="SSH-HKEY-003",
            severity="critical",
        )
        == 1
    )
    (info,) = series_of(parsed, "interop_sweep_info")
    assert dict(info)["sweep"] == scenario.latest and dict(info)["state"] == "complete"
    assert value(parsed, "interop_agency_endpoints", inventory="nasional", agency="32.73") == 3
    summary_names = {f.name for f in SUMMARY_FAMILIES}
    emitted = {name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum") for name, _ in parsed}
    assert emitted <= summary_names
    assert not any(name.startswith("interop_endpoint_") for name in emitted)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interop.prom"]  # no temporary file left


def test_textfile_of_a_running_sweep_has_no_end_time(scenario, tmp_path):
    target = tmp_path / "running.prom"
    with Store(scenario.path, create=False) as store:
        write_textfile(store, scenario.running, target)
    parsed = samples(target.read_text(encoding="utf-8"))
    assert value(parsed, "interop_sweep_endpoints", inventory="nasional") == 3
    assert not series_of(parsed, "interop_sweep_end_timestamp_seconds")
    (info,) = series_of(parsed, "interop_sweep_info")
    assert dict(info)["state"] == "running"


def test_the_rename_is_the_only_way_the_target_changes(scenario, tmp_path, monkeypatch):
    target = tmp_path / "interop.prom"
    renames = []
    real_replace = os.replace

    def replace(source, destination):
        renames.append((os.fspath(source), os.fspath(destination)))
        assert not target.exists()  # nothing was written to the target before the rename
        real_replace(source, destination)

    monkeypatch.setattr(export.os, "replace", replace)
    with Store(scenario.path, create=False) as store:
        write_textfile(store, scenario.latest, target)
    ((source, destination),) = renames
    assert os.path.dirname(source) == str(tmp_path) and not source.endswith(".prom")
    assert destination == str(target)


def test_export_summary_reports_failures_without_raising(scenario, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    problems = export_summary(
        scenario.path,
        scenario.latest,
        push_gateway=closed,
        textfile=tmp_path / "missing-dir" / "interop.prom",
    )
    assert len(problems) == 2
    assert problems[0].startswith(f"could not push the sweep summary to {closed}")
    assert problems[1].startswith("could not write the sweep summary to")
    assert export_summary(scenario.path, scenario.latest) == []
    assert export_summary(scenario.path, scenario.latest, textfile=tmp_path / "ok.prom") == []
    assert (tmp_path / "ok.prom").exists()


def test_unknown_sweep_is_an_error(scenario, tmp_path):
    from orchestrator.store import UnknownSweep

    with Store(scenario.path, create=False) as store, pytest.raises(UnknownSweep):
        write_textfile(store, "19990101-000000-dead", tmp_path / "x.prom")
    assert not (tmp_path / "x.prom").exists()
