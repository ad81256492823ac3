"""``interop report SWEEP``: a compliance report of one sweep in one format.

Formats: those of ``orchestrator.reports.FORMATS`` (see docs/reports.md). SWEEP is a
sweep id, a unique prefix of one, or ``latest`` (the most recent complete
sweep; the most recent of any state when none is complete). ``--agency``
limits the report to one agency and shows nothing of any other.

Exit codes: 0 report written; 2 usage error (missing store, unknown or
ambiguous sweep, agency not in the sweep, invalid waivers file, unwritable
output).
"""

from __future__ import annotations

import enum
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TextIO

import typer

from orchestrator.cli.common import Lang, StoreOption, opened_store, usage_error
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.reports import FORMATS, writer
from orchestrator.reports.build import build_report
from orchestrator.reports.model import ReportError
from orchestrator.sweep import DEFAULT_STORE
from orchestrator.waivers import load_waivers

# Choices built from their maps: a format or language added there appears here.
ReportFormat = enum.Enum("ReportFormat", {name: name for name in FORMATS}, type=str)  # type: ignore[misc]  # from a map
JSON_FORMAT = ReportFormat("json")  # the default

report_app = typer.Typer()


@report_app.command("report")
def report(
    sweep: Annotated[str, typer.Argument(help="Sweep id, a unique prefix, or `latest`.", show_default=False)],
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = JSON_FORMAT,
    agency: Annotated[
        str | None, typer.Option(help="Only this agency (its code); nothing of any other agency is shown.")
    ] = None,
    lang: Annotated[
        Lang, typer.Option(help="Language of human-facing text: id (Bahasa Indonesia) or en.")
    ] = Lang("id"),
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    waivers: Annotated[
        Path | None, typer.Option("--waivers", help="Waivers file (YAML) applied to fail/warn results.")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write a compliance report of one sweep (scores, findings, waivers, changes)."""
    loaded = None
    if waivers is not None:
        try:
            loaded = load_waivers(waivers)
        except ConfigError as exc:
            raise usage_error(f"invalid waivers file:\n{exc}") from None
    try:
        write = writer(format.value)
    except ImportError as exc:
        raise usage_error(f"the {format.value} report is not available: {exc}") from None
    with opened_store(store) as opened:
        sweep_id = opened.find_sweep(sweep).id
        try:
            model = build_report(opened, sweep_id, agency=agency, lang=lang.value, waivers=loaded)
        except ReportError as exc:
            raise usage_error(str(exc)) from None
        if out is None:
            write(model, sys.stdout)
            sys.stdout.flush()
            return
        _write_file(out, lambda stream: write(model, stream))
    typer.echo(f"{format.value} report of sweep {sweep_id} written to {out}", err=True)


def _write_file(path: Path, produce: Callable[[TextIO], object]) -> None:
    """Write through a temporary file in the same directory, then rename: no half-written report."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise usage_error(f"cannot write {path}: {exc}") from None
    try:
        # newline="": the CSV writer's CRLF must stay as it is.
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            produce(stream)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would have created it
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise usage_error(f"cannot write {path}: {exc}") from None
        raise
