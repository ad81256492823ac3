"""``interop report``: formats to a file or stdout, `latest`, and exit 2 on usage errors."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli.report import report_app
from probes import registry
from tests.reports.support import Built

app = typer.Typer()
app.add_typer(report_app)


@app.callback()
def main() -> None:
    """A group, as in the real `interop` app."""


def invoke(*args: str):
    return CliRunner().invoke(app, ["report", *args])


def test_latest_is_the_most_recent_complete_sweep(built: Built) -> None:
    result = invoke("latest", "--store", str(built.store_path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sweep"]["id"] == built.current


@pytest.mark.parametrize("fmt", ["json", "junit", "sarif", "md", "csv", "html"])
def test_every_format_is_written_to_a_file(built: Built, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out" / f"report.{fmt}"
    result = invoke(
        built.current[:15],
        "--store",
        str(built.store_path),
        "-f",
        fmt,
        "--out",
        str(out),
        "--agency",
        "32.73",
        "--lang",
        "en",
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "127.0.0.1:2273" in text
    if fmt == "junit":
        assert ET.fromstring(text).tag == "testsuites"
    elif fmt in ("json", "sarif"):
        json.loads(text)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind


def test_waivers_file_is_applied(built: Built, waivers_file: Path) -> None:
    result = invoke(
        built.current, "--store", str(built.store_path), "-f", "csv", "--waivers", str(waivers_file)
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    waived = {
        (row["endpoint"], row["check_id"], row["waiver_id"]) for row in rows if row["status"] == "waived"
    }
    assert waived == {
        ("ssh://127.0.0.1:2273", "SSH-KEX-001", "W-BDG-KEX"),
        ("ssh://127.0.0.1:2273", "SSH-KEX-002", "W-BDG-KEX"),
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["20000101"], "no sweep with id or prefix '20000101'"),
        (["latest", "--agency", "KOTA-ATLANTIS"], "agency 'KOTA-ATLANTIS' has no endpoints"),
        (["latest", "-f", "pdf"], "pdf"),
        (["latest", "--lang", "fr"], "fr"),
    ],
)
def test_usage_errors_exit_2(built: Built, args: list[str], message: str) -> None:
    result = invoke(*args, "--store", str(built.store_path))
    assert result.exit_code == 2
    assert message in result.output


def test_bad_waivers_file_exits_2_with_its_line(built: Built, tmp_path: Path) -> None:
    waivers = tmp_path / "bad.yaml"
    waivers.write_text(
        "waivers:\n  - id: W1\n    check: SSH-KEX-001\n    approver: A\n    expires: 2030-01-01\n"
    )
    result = invoke("latest", "--store", str(built.store_path), "--waivers", str(waivers))
    assert result.exit_code == 2
    assert f"{waivers}:2: waivers[0].justification: Field required" in result.output


def test_missing_store_exits_2(tmp_path: Path) -> None:
    result = invoke("latest", "--store", str(tmp_path / "none.db"))
    assert result.exit_code == 2 and "no results store" in result.output
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("fmt", ["sarif", "csv", "json"])
def test_lang_reaches_sarif_csv_and_json(built: Built, fmt: str, lang: str) -> None:
    result = invoke(built.current, "--store", str(built.store_path), "-f", fmt, "--lang", lang)
    assert result.exit_code == 0, result.output
    other = {"id": "en", "en": "id"}[lang]
    for check_id in ("SSH-KEX-001", "TLS-PROTO-002"):
        wanted, unwanted = registry.check_text(check_id, lang), registry.check_text(check_id, other)
        assert wanted.title in result.stdout and wanted.remediation in result.stdout
        assert unwanted.title not in result.stdout and unwanted.remediation not in result.stdout
