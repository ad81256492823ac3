"""The spbe-interop and Ray command lines the deploy files run, parsed by the programs' own option parsers."""

from __future__ import annotations

from typing import Any

import click
import typer.main

from orchestrator.cli import app

# The options the deployed service runs with, in every deployment (the issue names them).
SERVE_OPTIONS = [
    "--store",
    "--inventory",
    "--profile",
    "--every",
    "--keep",
    "--tokens",
    "--listen",
    "--ray-address",
]


def interop_params(arguments: list[str]) -> dict[str, Any]:
    """What ``interop ARGUMENTS`` means to the CLI (names, types, choices checked), without running it."""
    command = typer.main.get_command(app)  # Typer's own copy of click: a group is what has commands
    name = "interop"
    while hasattr(command, "commands"):
        name, *arguments = arguments
        # get_command, not .commands: the top-level group imports a command's module when it is looked up.
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"interop has no command {name!r}"
        command = found
    with command.make_context(name, arguments) as context:
        return context.params


def ray_start_params(arguments: list[str]) -> dict[str, Any]:
    """What ``ray start ARGUMENTS`` means to Ray's CLI, without running it."""
    from ray.scripts.scripts import start

    with start.make_context("start", arguments) as context:
        return context.params


def ray_start_options() -> set[str]:
    from ray.scripts.scripts import start

    return {option for param in start.params for option in param.opts}
