"""What every ``interop`` command shares: the consoles, the one usage error and the ``--store`` option."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from orchestrator.outcome import EXIT_USAGE
from orchestrator.store import AmbiguousSweep, Store, StoreError, StoreNotFound, UnknownSweep

# Logs of CI jobs are wide; Rich's 80-column default for pipes would fold every row.
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", 160)))
stderr = Console(stderr=True, highlight=False)

# Its default is ``orchestrator.sweep.DEFAULT_STORE``, where a sweep writes unless told otherwise.
StoreOption = Annotated[
    Path,
    typer.Option("--store", envvar="INTEROP_STORE", help="Results database (SQLite).", show_default=True),
]


def usage_error(message: str) -> typer.Exit:
    """Print a usage or configuration problem; return the exit (code 2) to raise."""
    # Not folded: a file name or command cut in two cannot be copied from a CI log.
    stderr.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


@contextmanager
def opened_store(path: Path) -> Iterator[Store]:
    """The store at ``path``, read-only; usage errors (missing store, older schema, bad sweep id) exit 2."""
    try:
        store = Store(path, read_only=True)
    except StoreNotFound:
        raise usage_error(f"no results store at {path} (run a sweep first, or pass --store PATH)") from None
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise usage_error(f"cannot open results store {path}: {exc}") from None
    try:
        yield store
    except (UnknownSweep, AmbiguousSweep) as exc:
        raise usage_error(str(exc)) from None
    finally:
        store.close()
