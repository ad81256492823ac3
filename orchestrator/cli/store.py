"""``interop store …``: upkeep of the results store; ``compact`` applies the retention by hand.

``interop store compact --store S --keep N`` keeps the N newest complete
sweeps of each inventory in full and compacts the older ones to their
statuses (``orchestrator.store.compact``), then gives the space back. It is
idempotent and never touches a running, interrupted or failed sweep.

Exit codes: 0 done (also when there was nothing to compact); 2 usage error
(no store, a store of a newer schema, --keep below 1); 75 the store is busy
(a sweep driver or another compaction holds it): nothing changed, run it
again later.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Annotated

import typer

from orchestrator.cli.common import StoreOption, no_store, stderr, usage_error
from orchestrator.store import StoreError, StoreNotFound
from orchestrator.store.compact import DEFAULT_KEEP, Compaction, compact_store
from orchestrator.store.lock import StoreBusy
from orchestrator.sweep import DEFAULT_STORE, EXIT_BUSY

store_app = typer.Typer(
    name="store",
    help="Upkeep of the results store: retention (compact).",
    no_args_is_help=True,
    add_completion=False,
)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _summary(done: Compaction) -> str:
    kept = f"{len(done.kept)} kept in full, {done.earlier} compacted earlier"
    if not done.compacted:
        return f"nothing to compact ({kept}); store {_mib(done.bytes_after)}"
    stopped = " (stopped early)" if done.stopped else ""
    return (
        f"compacted {len(done.compacted)} sweep(s){stopped} ({kept}); store {_mib(done.bytes_before)}"
        f" -> {_mib(done.bytes_after)} ({done.reclaim})"
    )


@store_app.command("compact")
def compact_command(
    store_path: StoreOption = DEFAULT_STORE,
    keep: Annotated[
        int,
        typer.Option(
            "--keep",
            min=1,
            help="Complete sweeps of each inventory kept in full, newest first; older ones keep only "
            "each result's endpoint, check, status and severity (enough for trends, diffs and metrics).",
        ),
    ] = DEFAULT_KEEP,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum/--no-vacuum",
            help="Give the freed space back to the file system. On a store created before schema 5 "
            "the first time is a full VACUUM (rewrites the file; needs free disk the size of the store).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON on stdout.")] = False,
) -> None:
    """Keep the newest sweeps in full and compact older ones (retention); idempotent."""
    try:
        done = compact_store(store_path, keep, reclaim=vacuum)
    except StoreNotFound:
        raise no_store(store_path) from None
    except StoreBusy as exc:
        stderr.print(f"busy: {exc}", soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(EXIT_BUSY) from None
    except (StoreError, sqlite3.DatabaseError, OSError) as exc:
        raise usage_error(f"cannot compact results store {store_path}: {exc}") from None
    if as_json:
        typer.echo(json.dumps(done.to_dict(), indent=2))
    stderr.print(_summary(done), soft_wrap=True, markup=False, highlight=False)
