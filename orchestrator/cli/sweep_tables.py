"""Rich tables of ``interop sweep``: the list of sweeps, one sweep's summary, a diff between two."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.store import DiffEntry, Store, Summary, Sweep, SweepDiff, SweepState
from orchestrator.sweep import resume_command
from probes.model import Severity, Status

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


# Columns of `sweep list`: (header, justify, cell). On a narrow terminal the
# ones named in LIST_DROP_ORDER go first, so counts are never truncated.
_LIST_COLUMNS: tuple[tuple[str, Literal["left", "right"], Any], ...] = (
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


def sweeps_table(rows: list[tuple[Sweep, Any]], store_path: Path, width: int) -> Table:
    """The ``sweep list`` table, without the columns of ``LIST_DROP_ORDER`` it needs to fit ``width``."""
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


def print_diff(console: Console, sweep_a: Sweep, sweep_b: Sweep, diff: SweepDiff, limit: int) -> None:
    """What ``sweep diff`` prints: notes, counts, then regressions (worst first), fixes and the rest."""
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
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
