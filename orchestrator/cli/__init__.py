"""``interop``: the command line of spbe-interop, one module per command or command group.

Every module holds a Typer app that is added here with ``add_typer``: a
group (``profiles``, ``sweep`` ...) carries its name, a single top-level
command (``check``, ``report``, ``serve``) has none, so its command joins
this app directly.
"""

from __future__ import annotations

# First, before any command module imports grpc: its C-core logs stay off the terminal.
import orchestrator.grpc_logs  # noqa: F401  (sets GRPC_VERBOSITY on import)

from typing import Annotated

import typer

from orchestrator import tool_version
from orchestrator.cli.check import check_app
from orchestrator.cli.checks import checks_app
from orchestrator.cli.common import UNFOLDED_WIDTH, on_terminal
from orchestrator.cli.gate import gate_app
from orchestrator.cli.inventory import inventory_app
from orchestrator.cli.profiles import profiles_app
from orchestrator.cli.report import report_app
from orchestrator.cli.serve import serve_app
from orchestrator.cli.store import store_app
from orchestrator.cli.sweep import sweep_app
from orchestrator.cli.testbed import testbed_app
from orchestrator.cli.tokens import tokens_app

app = typer.Typer(
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


# In the order `interop --help` lists them: the single commands, then the groups.
COMMANDS = (check_app, gate_app, report_app, serve_app, profiles_app, checks_app, inventory_app, store_app, sweep_app, testbed_app, tokens_app)
for command in COMMANDS:
    app.add_typer(command)
