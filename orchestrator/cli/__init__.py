"""``interop``: the command line of spbe-interop, one module per command or command group.

Every module holds a Typer app, listed in ``COMMANDS`` and joined to this
app as ``add_typer`` would: a group (``profiles``, ``sweep`` ...) carries its
name, a single top-level command (``check``, ``report``, ``serve``) has none,
so its command joins this app directly. A module is imported only when its
command runs (``LazyCommands``): start-up is part of every short sweep.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
from typing import Annotated

import typer
from typer import _click  # typer vendors click: its groups take these classes, not the click package's
from typer.core import TyperGroup
from typer.main import TyperInfo, get_group_from_info

# First, before any command module imports grpc: its C-core logs stay off the terminal.
import orchestrator.grpc_logs  # noqa: F401  (sets GRPC_VERBOSITY on import)
from orchestrator import tool_version
from orchestrator.cli.common import UNFOLDED_WIDTH, on_terminal

# Our models use no pydantic plugin, and looking for plugins reads every installed distribution's
# entry points (~8 ms of every command). A value the user set wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# At exit the collector's final passes over everything a command made cost ~0.1 s (a tenth of a
# short sweep) and free nothing the ending process needs; frozen objects are skipped. Registered
# first, so it runs after every other exit handler.
atexit.register(gc.freeze)

# Command word -> (module, its Typer), in the order `interop --help` lists them: the single
# commands, then the groups. A module is imported only when its command runs, so
# `interop sweep run` does not load the service, the gate, the testbed and their libraries.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("orchestrator.cli.check", "check_app"),
    "gate": ("orchestrator.cli.gate", "gate_app"),
    "report": ("orchestrator.cli.report", "report_app"),
    "serve": ("orchestrator.cli.serve", "serve_app"),
    "profiles": ("orchestrator.cli.profiles", "profiles_app"),
    "checks": ("orchestrator.cli.checks", "checks_app"),
    "inventory": ("orchestrator.cli.inventory", "inventory_app"),
    "store": ("orchestrator.cli.store", "store_app"),
    "sweep": ("orchestrator.cli.sweep", "sweep_app"),
    "testbed": ("orchestrator.cli.testbed", "testbed_app"),
    "tokens": ("orchestrator.cli.tokens", "tokens_app"),
}


class LazyCommands(TyperGroup):
    """The top-level group: a command's module is imported when that command is looked up;
    listing them (help, a mistyped command's suggestions) imports them all."""

    def _load(self, word: str) -> None:
        module, attribute = COMMANDS[word]
        sub_app = getattr(importlib.import_module(module), attribute)
        group = get_group_from_info(
            TyperInfo(sub_app),
            pretty_exceptions_short=app.pretty_exceptions_short,
            suggest_commands=self.suggest_commands,
            rich_markup_mode=self.rich_markup_mode,
        )
        # A named Typer is a group; an unnamed one's commands join this group, as add_typer does.
        self.commands.update({group.name: group} if group.name else group.commands)

    def _load_all(self) -> None:
        for word in COMMANDS:
            if word not in self.commands:
                self._load(word)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands:
            self._load(cmd_name) if cmd_name in COMMANDS else self._load_all()
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        self._load_all()
        return [word for word in COMMANDS if word in self.commands]


app = typer.Typer(
    cls=LazyCommands,
    help="Conformance tests for the interoperability of SPBE government servers (SSH, TLS, gRPC).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Off a terminal, Typer's boxes fold at 80 columns: click's plain errors and help there, unfolded.
    rich_markup_mode="rich" if on_terminal() else None,
    context_settings={}
    if on_terminal()
    else {"terminal_width": UNFOLDED_WIDTH, "max_content_width": UNFOLDED_WIDTH},
)


def version_callback(value: bool) -> None:
    if value:
        print(f"spbe-interop {tool_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Run ``interop COMMAND --help`` for each command."""
