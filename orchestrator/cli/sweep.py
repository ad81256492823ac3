"""``interop sweep …``: the sweep group; here its history commands over the results store.

``list``, ``show`` and ``diff`` only read: they open the store read-only
(``opened_store``) and work where its directory cannot be written.
``migrate`` upgrades an older store's schema, which readers refuse to do;
``run`` and ``resume`` (``orchestrator.cli.sweep_run``, added to this group)
write (and migrate) too. The tables are ``orchestrator.cli.sweep_tables``.

Exit codes: 0 ok; 1 ``diff --fail-on-regression`` found regressions;
2 usage error, missing store, store of another schema version, unknown or
ambiguous sweep id.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Annotated, Any

import typer

from orchestrator.cli.common import StoreOption, make_console, no_store, opened_store, usage_error
from orchestrator.cli.sweep_run import SweepIdArgument, sweep_run_app
from orchestrator.cli.sweep_tables import print_diff, print_sweep, sweeps_table
from orchestrator.store import Store, StoreError, StoreNotFound, SweepState
from orchestrator.sweep import DEFAULT_STORE, resume_command

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")]

sweep_app = typer.Typer(
    name="sweep",
    help="Sweeps of the inventory: history, details and diffs between runs.",
    no_args_is_help=True,
    add_completion=False,
)


def emit_json(value: Any) -> None:
    # Plain stdout, not Rich: no wrapping, no markup.
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


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
    console = make_console()
    if not rows:
        console.print(f"No sweeps in {store_path}.")
        return
    console.print(sweeps_table(rows, store_path, console.width))


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
            print_sweep(make_console(), store, sweep_id, store_path, by_agency=by_agency)
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
        print_diff(make_console(), sweep_a, sweep_b, diff, limit)
    if fail_on_regression and diff.regressions:
        raise typer.Exit(1)


@sweep_app.command("migrate")
def migrate_command(store_path: StoreOption = DEFAULT_STORE) -> None:
    """Upgrade the results store to this program's schema (readers never do; sweeps do it too)."""
    try:
        with Store(store_path, create=False) as store:
            version = store.schema_version
    except StoreNotFound:
        raise no_store(store_path) from None
    except (StoreError, sqlite3.Error) as exc:
        raise usage_error(f"cannot migrate results store {store_path}: {exc}") from None
    typer.echo(f"results store {store_path} is at schema version {version}")


# After the history commands, as `interop sweep --help` lists them.
sweep_app.add_typer(sweep_run_app)
