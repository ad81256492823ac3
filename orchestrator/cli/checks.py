"""``interop checks list|docs``: the registered checks, and docs/checks.md generated from them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.cli.common import Lang, stdout
from probes import registry

checks_app = typer.Typer(
    name="checks", help="The registered checks and their documentation.", no_args_is_help=True
)


@checks_app.command("list")
def checks_list(
    lang: Annotated[Lang, typer.Option(help="Language of the titles.")] = Lang("id"),
) -> None:
    """List every registered check."""
    table = Table(header_style="bold")
    for column in ("check", "protocol", "category", "severity", "effort", "title"):
        table.add_column(column)
    for meta in registry.checks().values():
        table.add_row(
            meta.id,
            meta.protocol,
            meta.category,
            meta.severity.value,
            registry.effort(meta.id),
            registry.check_text(meta.id, lang.value).title,
        )
    stdout.print(table)


@checks_app.command("docs")
def checks_docs(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the check texts.")] = Lang("en"),
) -> None:
    """Generate the check reference (docs/checks.md, docs/checks.id.md) from the registry."""
    # Imported here: the generator loads every profile and the ssh-audit tables, which no other command needs.
    from orchestrator.cli.checks_reference import checks_markdown

    text = checks_markdown(lang.value)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
