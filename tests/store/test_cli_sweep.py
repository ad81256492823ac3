"""`interop sweep list|show|diff` through Typer's CliRunner: output and exit codes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from orchestrator.cli.sweep import sweep_app
from orchestrator.store import Store
from probes.model import Status

from .conftest import endpoint, new_sweep, report

P, F, W, E = Status.PASS, Status.FAIL, Status.WARN, Status.ERROR
ENV = {"COLUMNS": "220", "NO_COLOR": "1", "INTEROP_STORE": None}


def invoke(*args: str):
    return CliRunner().invoke(sweep_app, list(args), env=ENV)


@pytest.fixture
def history(store_path):
    """Two sweeps of the same inventory: a complete baseline and an interrupted follow-up."""
    jakarta = endpoint(1, agency="kemenkes", province="DKI Jakarta")
    bandung = endpoint(2, agency="kota-bandung", province="Jawa Barat")
    retired = endpoint(3, agency="kota-bandung", province="Jawa Barat")
    added = endpoint(4, agency="bssn", province="DKI Jakarta")
    with Store(store_path) as store:

        def sweep(endpoints, hour):
            return new_sweep(
                store,
                endpoints,
                inventory_hash="sha256:0123456789abcdef0123456789abcdef",
                profile_hash="sha256:fedcba",
                engine="ray",
                options={"concurrency": 64},
                started_at=datetime(2026, 11, 20 + hour // 24, hour % 24, 0, 0, tzinfo=UTC),
            )

        old = sweep([jakarta, bandung, retired], hour=1)
        store.record_many(
            old,
            [
                (jakarta.endpoint_id, report(jakarta.url, {"SSH-KEX-001": P, "TLS-CERT-003": W})),
                (bandung.endpoint_id, report(bandung.url, {"SSH-KEX-001": F, "TLS-CERT-003": P})),
                (retired.endpoint_id, report(retired.url, {"SSH-KEX-001": P, "TLS-CERT-003": P})),
            ],
        )
        store.set_state(old, "complete")

        new = sweep([jakarta, bandung, added], hour=25)
        store.record_many(
            new,
            [
                (jakarta.endpoint_id, report(jakarta.url, {"SSH-KEX-001": F, "TLS-CERT-003": W})),
                (bandung.endpoint_id, report(bandung.url, {"SSH-KEX-001": P, "TLS-CERT-003": P})),
            ],
        )
        store.set_state(new, "interrupted")
    return {
        "old": old,
        "new": new,
        "path": store_path,
        "jakarta": jakarta,
        "bandung": bandung,
        "added": added,
    }


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["diff"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    if command:
        assert "--store" in result.output and "--json" in result.output


def test_list_shows_sweeps_newest_first_with_progress_and_counts(history):
    result = invoke("list", "--store", str(history["path"]))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    new_line = next(line for line in lines if history["new"] in line)
    old_line = next(line for line in lines if history["old"] in line)
    assert lines.index(new_line) < lines.index(old_line)
    # id, state, profile, engine, done/total, pass, fail, warn, error, started, duration
    assert _row(new_line, history["new"])[1:9] == [
        "interrupted",
        "spbe-baseline",
        "ray",
        "2/3",
        "2",
        "1",
        "1",
        "0",
    ]
    assert _row(old_line, history["old"])[1:9] == [
        "complete",
        "spbe-baseline",
        "ray",
        "3/3",
        "4",
        "1",
        "1",
        "0",
    ]


def test_list_json(history):
    result = invoke("list", "--store", str(history["path"]), "--json", "--limit", "1")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["id"] == history["new"]
    assert entry["state"] == "interrupted"
    assert entry["progress"] == {
        "done": 2,
        "total": 3,
        "unreachable": 0,
        "by_status": {"fail": 1, "pass": 2, "warn": 1},
    }
    assert entry["started_at"] == "2026-11-21T01:00:00.000+00:00"


def test_list_of_an_empty_store(store_path):
    Store(store_path).close()
    result = invoke("list", "--store", str(store_path))
    assert result.exit_code == 0
    assert "No sweeps" in result.stdout
    assert json.loads(invoke("list", "--store", str(store_path), "--json").stdout) == []


def test_store_path_comes_from_the_environment_too(history):
    result = CliRunner().invoke(
        sweep_app, ["list", "--json"], env={**ENV, "INTEROP_STORE": str(history["path"])}
    )
    assert result.exit_code == 0, result.output
    assert [s["id"] for s in json.loads(result.stdout)] == [history["new"], history["old"]]


@pytest.mark.parametrize("command", [["list"], ["show", "2026"], ["diff", "a", "b"]])
def test_a_missing_store_exits_2_without_creating_it(tmp_path, command):
    missing = tmp_path / "nowhere" / "results.db"
    result = invoke(*command, "--store", str(missing))
    assert result.exit_code == 2
    assert f"no results store at {missing}" in result.stderr
    assert not missing.exists()


def test_a_file_that_is_not_a_database_exits_2(tmp_path):
    bogus = tmp_path / "results.db"
    bogus.write_text("not sqlite at all, just some text that is long enough to be read as a header\n" * 20)
    result = invoke("list", "--store", str(bogus))
    assert result.exit_code == 2
    assert "cannot open results store" in result.stderr


def test_show_prints_metadata_tables_and_the_resume_command(history):
    path = str(history["path"])
    result = invoke("show", history["new"][:17], "--store", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Sweep {history['new']}" in out
    assert "interrupted" in out
    assert "national (inventories/national.yaml, sha256:0123456789ab…)" in out
    assert "2/3 done, 0 unreachable" in out
    assert '{"concurrency": 64}' in out
    # Tables: status, per province, per check; columns pass fail warn error skip waived total.
    assert _row(out, "fail") == ["fail", "1", "25.0%"]
    assert _row(out, "DKI Jakarta") == ["DKI", "Jakarta", "0", "1", "1", "0", "0", "0", "2"]
    assert _row(out, "Jawa Barat") == ["Jawa", "Barat", "2", "0", "0", "0", "0", "0", "2"]
    assert _row(out, "SSH-KEX-001") == ["SSH-KEX-001", "high", "1", "1", "0", "0", "0", "0", "2"]
    assert _row(out, "TLS-CERT-003") == ["TLS-CERT-003", "medium", "1", "0", "1", "0", "0", "0", "2"]
    assert "1 endpoints pending" in out
    assert f"interop sweep resume {history['new']} --store {path}" in out
    assert "Per agency" not in out


def test_show_by_agency_and_no_resume_hint_when_complete(history):
    result = invoke("show", history["old"], "--store", str(history["path"]), "--by-agency")
    assert result.exit_code == 0, result.output
    assert _row(result.stdout, "kota-bandung") == ["kota-bandung", "3", "1", "0", "0", "0", "0", "4"]
    assert "resume" not in result.stdout


def test_show_json(history):
    result = invoke("show", history["new"], "--store", str(history["path"]), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sweep"]["id"] == history["new"]
    assert data["summary"]["by_status"] == {"fail": 1, "pass": 2, "warn": 1}
    assert data["summary"]["by_province"][0] == {
        "province": "DKI Jakarta",
        "by_status": {"fail": 1, "warn": 1},
    }
    assert data["resume_command"] == f"interop sweep resume {history['new']} --store {history['path']}"
    old = json.loads(invoke("show", history["old"], "--store", str(history["path"]), "--json").stdout)
    assert old["resume_command"] is None


def test_show_unknown_and_ambiguous_ids_exit_2(history):
    path = str(history["path"])
    unknown = invoke("show", "1999", "--store", path)
    assert unknown.exit_code == 2
    assert "no sweep with id or prefix '1999'" in unknown.stderr
    ambiguous = invoke("show", "202611", "--store", path)
    assert ambiguous.exit_code == 2
    assert "ambiguous" in ambiguous.stderr
    assert history["old"] in ambiguous.stderr and history["new"] in ambiguous.stderr


def test_diff_lists_regressions_fixes_and_endpoint_changes(history):
    path = str(history["path"])
    result = invoke("diff", history["old"], history["new"], "--store", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1 regressions, 1 fixes, 1 new endpoints, 1 gone endpoints, 0 other changes" in out
    assert "note: " + history["new"] + " is interrupted" in out
    regression = _row(out, history["jakarta"].endpoint_id)
    assert regression[:5] == [history["jakarta"].endpoint_id, "SSH-KEX-001", "high", "pass", "→"]
    assert regression[5] == "fail"
    fix = _row(out, history["bandung"].endpoint_id)
    assert fix[:6] == [history["bandung"].endpoint_id, "SSH-KEX-001", "high", "fail", "→", "pass"]
    assert out.index("Regressions (1)") < out.index(history["jakarta"].endpoint_id) < out.index("Fixes (1)")
    assert f"New endpoints (1)\n  {history['added'].endpoint_id}" in out
    assert "Gone endpoints (1)\n  ssh://host3.example.go.id:22" in out


def test_diff_json_and_fail_on_regression(history):
    path = str(history["path"])
    result = invoke("diff", history["old"], history["new"], "--store", path, "--json", "--fail-on-regression")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(e["endpoint_id"], e["check_id"], e["before"], e["after"]) for e in data["regressions"]] == [
        (history["jakarta"].endpoint_id, "SSH-KEX-001", "pass", "fail")
    ]
    assert [(e["endpoint_id"], e["before"], e["after"]) for e in data["fixes"]] == [
        (history["bandung"].endpoint_id, "fail", "pass")
    ]
    assert data["new_endpoints"] == [history["added"].endpoint_id]
    assert data["gone_endpoints"] == ["ssh://host3.example.go.id:22"]
    # Reversed, the fix reads as a regression (still exit 1), and a note flags the order.
    reverse = invoke(
        "diff", history["new"], history["old"], "--store", path, "--fail-on-regression", "--json"
    )
    assert reverse.exit_code == 1
    assert [e["endpoint_id"] for e in json.loads(reverse.stdout)["regressions"]] == [
        history["bandung"].endpoint_id
    ]
    reverse = invoke("diff", history["new"], history["old"], "--store", path)
    assert reverse.exit_code == 0
    assert f"note: {history['new']} is newer than {history['old']}" in reverse.stdout


def test_diff_unknown_id_exits_2(history):
    result = invoke("diff", history["old"], "nope", "--store", str(history["path"]))
    assert result.exit_code == 2
    assert "no sweep with id or prefix 'nope'" in result.stderr


def _row(output: str, first_cell: str) -> list[str]:
    """The cells of the first table row starting with ``first_cell`` (box characters dropped)."""
    for line in output.splitlines():
        cells = list(line.replace("│", " ").replace("┃", " ").split())
        if " ".join(cells).startswith(first_cell + " ") or cells == [first_cell]:
            return cells
    raise AssertionError(f"no row starting with {first_cell!r} in:\n{output}")


def test_list_on_a_narrow_terminal_drops_columns_rather_than_truncating_counts(history):
    # A terminal, as Rich recognises one (off a terminal nothing is narrowed: cli.common.make_console).
    result = CliRunner().invoke(
        sweep_app,
        ["list", "--store", str(history["path"])],
        env={**ENV, "COLUMNS": "80", "TTY_COMPATIBLE": "1"},
    )
    assert result.exit_code == 0, result.output
    shown = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # a terminal gets styles
    assert all(len(line) <= 80 for line in shown.splitlines())
    assert "Engine" not in shown and "…" not in shown
    assert _row(shown, history["new"])[1:7] == ["interrupted", "2/3", "2", "1", "1", "0"]


def test_list_off_a_terminal_keeps_every_column_however_narrow_columns_says(history):
    result = CliRunner().invoke(
        sweep_app, ["list", "--store", str(history["path"])], env={**ENV, "COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    assert "Engine" in result.stdout and "Started" in result.stdout
