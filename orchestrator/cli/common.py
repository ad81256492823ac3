"""What every ``interop`` command shares: the consoles, the one usage error and the ``--store`` option."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from orchestrator.outcome import EXIT_USAGE
from orchestrator.store import AmbiguousSweep, Store, StoreError, StoreNotFound, UnknownSweep
from probes.model import LANGUAGES

# Off a terminal (a CI log, a pipe, a file) Rich would fold at 80 columns, and a
# FILE:LINE: or a command cut in two cannot be copied back: there lines are
# never wrapped and tables take their natural width, however wide.
UNFOLDED_WIDTH = 10_000


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """The one way a command gets a console: Rich's width on a terminal, no folding off one.

    "Terminal" is Rich's own test (isatty, or ``TTY_COMPATIBLE``/``FORCE_COLOR``),
    so the live progress bar and this rule agree. ``soft_wrap`` keeps lines
    whole on a terminal too.
    """
    console = Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=UNFOLDED_WIDTH)


def on_terminal() -> bool:
    """Both streams go to a terminal (where Typer's boxed help and errors may be folded)."""
    return make_console().is_terminal and make_console(stderr=True).is_terminal


stdout = make_console()
stderr = make_console(stderr=True)

# The languages of reports and check texts, as a CLI choice (Bahasa Indonesia first: the default).
Lang = enum.Enum("Lang", {code: code for code in LANGUAGES}, type=str)  # type: ignore[misc]  # members from a map

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


def no_store(path: Path) -> typer.Exit:
    """The usage error for a results store that does not exist (yet)."""
    return usage_error(f"no results store at {path} (run a sweep first, or pass --store PATH)")


@contextmanager
def opened_store(path: Path) -> Iterator[Store]:
    """The store at ``path``, read-only; usage errors (missing store, older schema, bad sweep id) exit 2."""
    try:
        store = Store(path, read_only=True)
    except StoreNotFound:
        raise no_store(path) from None
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise usage_error(f"cannot open results store {path}: {exc}") from None
    try:
        yield store
    except (UnknownSweep, AmbiguousSweep) as exc:
        raise usage_error(str(exc)) from None
    finally:
        store.close()
