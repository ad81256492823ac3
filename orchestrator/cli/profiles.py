"""``interop profiles list|show``: the built-in conformance profiles and what a profile selects."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from orchestrator.cli.common import stdout, usage_error
from orchestrator.cli.render import print_json
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.profiles import builtin_names, load_profile
from probes import registry

profiles_app = typer.Typer(name="profiles", help="List and show conformance profiles.", no_args_is_help=True)


@profiles_app.command("list")
def profiles_list() -> None:
    """List the built-in profiles."""
    table = Table(header_style="bold")
    table.add_column("name")
    table.add_column("extends")
    table.add_column("checks", justify="right")
    table.add_column("title")
    for name in builtin_names():
        profile = load_profile(name)
        table.add_row(name, ", ".join(profile.chain[1:]) or "-", str(len(profile.selection)), profile.title)
    stdout.print(table)


@profiles_app.command("show")
def profiles_show(
    name: Annotated[str, typer.Argument(help="Built-in profile name or a profile YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the effective checks, severities and parameters of a profile."""
    try:
        profile = load_profile(name)
    except ConfigError as exc:
        raise usage_error(str(exc)) from None
    if as_json:
        print_json(profile.to_dict())
        return
    stdout.print(Text.assemble(("profile ", "bold"), profile.name, "  ", profile.title))
    if profile.description:
        stdout.print(Text(profile.description.strip()))
    if len(profile.chain) > 1:
        stdout.print(Text("extends " + " → ".join(profile.chain[1:])))
    table = Table(header_style="bold")
    table.add_column("check")
    table.add_column("severity")
    table.add_column("title")
    table.add_column("params", overflow="fold")
    checks = registry.checks()
    for check_id, settings in profile.selection.items():
        params = ", ".join(f"{k}={v}" for k, v in settings.params.items())
        table.add_row(check_id, settings.severity.value, checks[check_id].title, Text(params))
    stdout.print(table)
