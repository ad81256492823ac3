"""``interop sweep …``: history commands over the results store.

This module owns the ``sweep_app`` Typer group and the pieces every sweep
command shares: the ``--store``/``--json`` options (``StoreOption``,
``JsonOption``), ``opened_store`` (exit 2 on a missing store, unknown or
ambiguous id), ``resume_command`` and ``print_sweep`` (what ``show`` prints,
reusable at the end of ``run``/``resume``). ``run`` and ``resume`` are added
to the same app with ``@sweep_app.command(...)``.

The history commands (``list``, ``show``, ``diff``) only read: they open the
store read-only (``opened_store``) and work where its directory cannot be
written. ``migrate`` upgrades an older store's schema, which readers refuse
to do; ``run`` and ``resume`` write (and migrate) too.

Exit codes: 0 ok; 1 ``diff --fail-on-regression`` found regressions;
2 usage error, missing store, store of another schema version, unknown or
ambiguous sweep id.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.store import (
    AmbiguousSweep,
    DiffEntry,
    Store,
    StoreError,
    StoreNotFound,
    Summary,
    Sweep,
    SweepState,
    UnknownSweep,
)
from probes.model import Severity, Status

DEFAULT_STORE = Path(".interop/results.db")

StoreOption = Annotated[
    Path,
    typer.Option("--store", envvar="INTEROP_STORE", help="Results database (SQLite).", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")]
SweepIdArgument = Annotated[
    str, typer.Argument(help="Sweep id, or a unique prefix of one.", show_default=False)
]

sweep_app = typer.Typer(
    name="sweep",
    help="Sweeps of the inventory: history, details and diffs between runs.",
    no_args_is_help=True,
    add_completion=False,
)

# Columns shown for status counts, in reading order.
STATUS_COLUMNS: tuple[Status, ...] = (
    Status.PASS,
    Status.FAIL,
    Status.WARN,
    Status.ERROR,
    Status.SKIP,
    Status.WAIVED,
)
STATUS_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.WARN: "yellow",
    Status.ERROR: "magenta",
    Status.SKIP: "dim",
    Status.WAIVED: "cyan",
}
STATE_STYLE = {
    SweepState.COMPLETE: "green",
    SweepState.RUNNING: "cyan",
    SweepState.INTERRUPTED: "yellow",
    SweepState.FAILED: "red",
}


# --------------------------------------------------------------------------
# Shared helpers (also for `run` and `resume`).
# --------------------------------------------------------------------------


def fail(message: str, code: int = 2) -> NoReturn:
    # soft_wrap: never break a message (ids, paths) across lines.
    Console(stderr=True).print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def opened_store(path: Path) -> Iterator[Store]:
    """The store at ``path``, read-only; usage errors (missing store, older schema, bad sweep id) exit 2."""
    try:
        store = Store(path, read_only=True)
    except StoreNotFound:
        fail(f"no results store at {path} (run a sweep first, or pass --store PATH)")
    except (StoreError, sqlite3.DatabaseError) as exc:
        fail(f"cannot open results store {path}: {exc}")
    try:
        yield store
    except (UnknownSweep, AmbiguousSweep) as exc:
        fail(str(exc))
    finally:
        store.close()


def resume_command(sweep_id: str, store_path: Path) -> str:
    return f"interop sweep resume {sweep_id} --store {shlex.quote(str(store_path))}"


def emit_json(value: Any) -> None:
    # Plain stdout, not Rich: no wrapping, no markup.
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def print_sweep(
    console: Console, store: Store, sweep_id: str, store_path: Path, *, by_agency: bool = False
) -> None:
    """Metadata, status summary, per-province and per-check tables, resume hint."""
    sweep = store.get_sweep(sweep_id)
    summary = store.summary(sweep.id)
    console.print(_metadata_table(sweep, summary))
    console.print(_status_table(summary.by_status))
    console.print(_grouped_table("Per province", "Province", summary.by_province))
    console.print(_check_table(summary))
    if by_agency:
        console.print(_grouped_table("Per agency", "Agency", summary.by_agency))
    hint = _resume_hint(sweep, summary.total_endpoints - summary.done, store_path)
    if hint:
        console.print(hint)


# --------------------------------------------------------------------------
# Commands.
# --------------------------------------------------------------------------


@sweep_app.command("list")
def list_command(
    store_path: StoreOption = DEFAULT_STORE,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many recent sweeps.")] = 20,
    inventory: Annotated[
        str | None, typer.Option("--inventory", help="Only sweeps of this inventory name.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List recent sweeps, newest first, with progress and result counts."""
    with opened_store(store_path) as store:
        rows = [
            (sweep, store.progress(sweep.id)) for sweep in store.list_sweeps(limit, inventory_name=inventory)
        ]
    if as_json:
        emit_json([{**sweep.to_dict(), "progress": progress.to_dict()} for sweep, progress in rows])
        return
    console = Console()
    if not rows:
        console.print(f"No sweeps in {store_path}.")
        return
    console.print(_sweeps_table(rows, store_path, console.width))


# Columns of `sweep list`: (header, justify, cell). On a narrow terminal the
# ones named in LIST_DROP_ORDER go first, so counts are never truncated.
_LIST_COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("ID", "left", lambda sweep, progress: sweep.id),
    ("State", "left", lambda sweep, progress: Text(sweep.state.value, style=STATE_STYLE[sweep.state])),
    ("Profile", "left", lambda sweep, progress: Text(sweep.profile)),
    ("Engine", "left", lambda sweep, progress: Text(sweep.engine)),
    ("Done", "right", lambda sweep, progress: f"{progress.done}/{progress.total}"),
    *(
        (
            status.value,
            "right",
            lambda sweep, progress, s=status: Text(
                str(progress.by_status.get(s.value, 0)), style=STATUS_STYLE[s]
            ),
        )
        for status in (Status.PASS, Status.FAIL, Status.WARN, Status.ERROR)
    ),
    # The year is in the id.
    ("Started", "left", lambda sweep, progress: sweep.started_at.astimezone().strftime("%m-%d %H:%M")),
    ("Duration", "right", lambda sweep, progress: _duration(sweep.duration_s)),
)
LIST_DROP_ORDER = ("Engine", "Started", "Duration", "Profile")


def _sweeps_table(rows: list[tuple[Sweep, Any]], store_path: Path, width: int) -> Table:
    dropped: list[str] = []
    while True:
        table = Table(
            title=f"Sweeps in {store_path} (times in {_local_zone()})",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            collapse_padding=True,
        )
        columns = [column for column in _LIST_COLUMNS if column[0] not in dropped]
        for header, justify, _ in columns:
            table.add_column(header, justify=justify, no_wrap=True)
        for sweep, progress in rows:
            table.add_row(*(cell(sweep, progress) for _, _, cell in columns))
        natural = Console(width=10_000).measure(table).maximum
        if natural <= width or len(dropped) == len(LIST_DROP_ORDER):
            return table
        dropped.append(LIST_DROP_ORDER[len(dropped)])


@sweep_app.command("show")
def show_command(
    sweep_id: SweepIdArgument,
    store_path: StoreOption = DEFAULT_STORE,
    by_agency: Annotated[bool, typer.Option("--by-agency", help="Add a per-agency table.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one sweep: metadata, counts by status, per province and per check.

    An incomplete sweep also prints the command that resumes it.
    """
    with opened_store(store_path) as store:
        if not as_json:
            print_sweep(Console(), store, sweep_id, store_path, by_agency=by_agency)
            return
        sweep = store.get_sweep(sweep_id)
        summary = store.summary(sweep.id)
        emit_json(
            {
                "sweep": sweep.to_dict(),
                "progress": store.progress(sweep.id).to_dict(),
                "summary": summary.to_dict(),
                "resume_command": None
                if sweep.state is SweepState.COMPLETE
                else resume_command(sweep.id, store_path),
            }
        )


@sweep_app.command("diff")
def diff_command(
    a: Annotated[str, typer.Argument(help="The older sweep (id or unique prefix).", show_default=False)],
    b: Annotated[str, typer.Argument(help="The newer sweep (id or unique prefix).", show_default=False)],
    store_path: StoreOption = DEFAULT_STORE,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows shown per table.")] = 50,
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression", help="Exit 1 when B has regressions against A.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare sweep A (older) with sweep B (newer): regressions, fixes, new and gone endpoints.

    A regression is a check that went from pass/skip/waived to fail/warn/error,
    or from warn to fail; a fix is the reverse. Only endpoints finished in both
    sweeps are compared check by check.
    """
    with opened_store(store_path) as store:
        sweep_a, sweep_b = store.get_sweep(a), store.get_sweep(b)
        diff = store.diff(sweep_a.id, sweep_b.id)
    if as_json:
        emit_json(diff.to_dict())
    else:
        console = Console()
        console.print(Text(f"Diff {sweep_a.id} → {sweep_b.id}", style="bold"))
        for note in _diff_notes(sweep_a, sweep_b):
            console.print(Text(f"note: {note}", style="yellow"))
        console.print(
            f"{len(diff.regressions)} regressions, {len(diff.fixes)} fixes, "
            f"{len(diff.new_endpoints)} new endpoints, {len(diff.gone_endpoints)} gone endpoints, "
            f"{len(diff.changed)} other changes"
        )
        worst_first = sorted(diff.regressions, key=lambda e: (-e.severity.rank, e.endpoint_id, e.check_id))
        _print_entries(console, "Regressions", worst_first, limit, style="red")
        _print_entries(console, "Fixes", diff.fixes, limit, style="green")
        _print_endpoints(console, "New endpoints", diff.new_endpoints, limit)
        _print_endpoints(console, "Gone endpoints", diff.gone_endpoints, limit)
        _print_entries(console, "Other changes", diff.changed, limit, style="")
    if fail_on_regression and diff.regressions:
        raise typer.Exit(1)


@sweep_app.command("migrate")
def migrate_command(store_path: StoreOption = DEFAULT_STORE) -> None:
    """Upgrade the results store to this program's schema (readers never do; sweeps do it too)."""
    try:
        with Store(store_path, create=False) as store:
            version = store.schema_version
    except StoreNotFound:
        fail(f"no results store at {store_path} (run a sweep first, or pass --store PATH)")
    except (StoreError, sqlite3.Error) as exc:
        fail(f"cannot migrate results store {store_path}: {exc}")
    typer.echo(f"results store {store_path} is at schema version {version}")


# --------------------------------------------------------------------------
# Rendering.
# --------------------------------------------------------------------------


def _metadata_table(sweep: Sweep, summary: Summary) -> Table:
    table = Table(title=f"Sweep {sweep.id}", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    finished = _local_time(sweep.finished_at) if sweep.finished_at else "—"
    rows = [
        ("State", Text(sweep.state.value, style=STATE_STYLE[sweep.state])),
        (
            "Inventory",
            Text(f"{sweep.inventory_name} ({sweep.inventory_path}, {_short_hash(sweep.inventory_hash)})"),
        ),
        ("Profile", Text(f"{sweep.profile} ({_short_hash(sweep.profile_hash)})")),
        ("Engine", Text(sweep.engine)),
        ("Started", Text(_local_time(sweep.started_at))),
        ("Finished", Text(finished)),
        ("Duration", Text(_duration(sweep.duration_s))),
        (
            "Endpoints",
            Text(f"{summary.done}/{summary.total_endpoints} done, {summary.unreachable} unreachable"),
        ),
    ]
    if sweep.options:
        rows.append(("Options", Text(json.dumps(sweep.options, sort_keys=True, ensure_ascii=False))))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _status_table(by_status: dict[str, int]) -> Table:
    total = sum(by_status.values())
    table = Table(title="Results by status", title_justify="left")
    table.add_column("Status")
    table.add_column("Count", justify="right")
    table.add_column("Share", justify="right")
    for status in STATUS_COLUMNS:
        count = by_status.get(status.value, 0)
        share = f"{100 * count / total:.1f}%" if total else "—"
        table.add_row(Text(status.value, style=STATUS_STYLE[status]), str(count), share)
    table.add_row(Text("total", style="bold"), str(total), "")
    return table


def _counts_columns(table: Table) -> None:
    for status in STATUS_COLUMNS:
        table.add_column(status.value, justify="right", style=STATUS_STYLE[status])
    table.add_column("total", justify="right")


def _counts_cells(counts: dict[str, int]) -> list[str]:
    return [str(counts.get(s.value, 0)) for s in STATUS_COLUMNS] + [str(sum(counts.values()))]


def _grouped_table(title: str, label: str, groups: dict[str | None, dict[str, int]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(label)
    _counts_columns(table)
    for key, counts in groups.items():
        table.add_row(Text(key if key is not None else "(none)"), *_counts_cells(counts))
    return table


def _check_table(summary: Summary) -> Table:
    table = Table(title="Per check", title_justify="left")
    table.add_column("Check", no_wrap=True)
    table.add_column("Severity")
    _counts_columns(table)
    for check_id, counts in summary.by_check.items():
        table.add_row(Text(check_id), Text(summary.check_severity.get(check_id, "")), *_counts_cells(counts))
    return table


def _resume_hint(sweep: Sweep, pending: int, store_path: Path) -> Text | None:
    if sweep.state is SweepState.COMPLETE:
        return None
    lead = {
        SweepState.RUNNING: "Still running (or its driver died)",
        SweepState.INTERRUPTED: "Interrupted",
        SweepState.FAILED: "Failed",
    }[sweep.state]
    text = Text(f"{lead}: {pending} endpoints pending. Resume with:\n", style="yellow")
    text.append(f"  {resume_command(sweep.id, store_path)}", style="bold")
    return text


def _diff_notes(a: Sweep, b: Sweep) -> list[str]:
    notes = []
    if a.started_at > b.started_at:
        notes.append(f"{a.id} is newer than {b.id}: regressions and fixes read from A to B")
    if a.inventory_name != b.inventory_name:
        notes.append(f"different inventories ({a.inventory_name} vs {b.inventory_name})")
    if (a.profile, a.profile_hash) != (b.profile, b.profile_hash):
        notes.append(
            f"different profiles ({a.profile} {_short_hash(a.profile_hash)} vs "
            f"{b.profile} {_short_hash(b.profile_hash)})"
        )
    for sweep in (a, b):
        if sweep.state is not SweepState.COMPLETE:
            notes.append(f"{sweep.id} is {sweep.state.value}: only endpoints finished in both are compared")
    return notes


def _print_entries(console: Console, title: str, entries: list[DiffEntry], limit: int, *, style: str) -> None:
    if not entries:
        return
    table = Table(title=f"{title} ({len(entries)})", title_justify="left", title_style=style or None)
    table.add_column("Endpoint", overflow="fold")
    table.add_column("Check", no_wrap=True)
    table.add_column("Severity")
    table.add_column("Change", no_wrap=True)
    table.add_column("Reason (newer)", overflow="fold")
    for entry in entries[:limit]:
        table.add_row(
            Text(entry.endpoint_id),
            Text(entry.check_id),
            Text(entry.severity.value, style="bold" if entry.severity.rank >= Severity.HIGH.rank else ""),
            Text(f"{_status_name(entry.before)} → {_status_name(entry.after)}"),
            Text(entry.reason),
        )
    console.print(table)
    _print_more(console, len(entries), limit)


def _print_endpoints(console: Console, title: str, endpoints: list[str], limit: int) -> None:
    if not endpoints:
        return
    console.print(Text(f"{title} ({len(endpoints)})", style="bold"))
    for endpoint in endpoints[:limit]:
        console.print(Text(f"  {endpoint}"))
    _print_more(console, len(endpoints), limit)


def _print_more(console: Console, count: int, limit: int) -> None:
    if count > limit:
        console.print(Text(f"  … and {count - limit} more (--limit or --json for all)", style="dim"))


def _status_name(status: Status | None) -> str:
    return status.value if status else "(not run)"


def _short_hash(value: str) -> str:
    return value if len(value) <= 19 else value[:19] + "…"


def _local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _local_zone() -> str:
    return datetime.now().astimezone().strftime("%Z")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
