"""``interop``: the command line of spbe-interop."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import fnmatch
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator import docs
from orchestrator.cli_inventory import inventory_app
from orchestrator.cli_report import register as register_report
from orchestrator.cli_serve import register as register_serve
from orchestrator.cli_testbed import testbed_app
from orchestrator.cli_sweep import sweep_app
from orchestrator.cli_sweep_run import register as register_sweep_run
from orchestrator.known_hosts import pins_for
from orchestrator.outcome import EXIT_CODES, EXIT_USAGE, exit_code
from orchestrator.preflight import PreflightError, check_ca_bundle, check_private_key
from orchestrator.profiles import DEFAULT_PROFILE, builtin_names, load_profile
from orchestrator.render import print_json, print_table, report_dict, tool_version
from orchestrator.targets import TargetError, make_target, parse_url
from orchestrator.yamlsrc import ConfigError
from probes import registry
from probes.model import Credentials, Severity
from probes.runner import run_probe

app = typer.Typer(
    help="Conformance tests for the interoperability of SPBE government servers (SSH, TLS, gRPC).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
profiles_app = typer.Typer(help="List and show conformance profiles.", no_args_is_help=True)
checks_app = typer.Typer(help="The registered checks and their documentation.", no_args_is_help=True)

# Logs of CI jobs are wide; Rich's 80-column default for pipes would fold every row.
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", 160)))
stderr = Console(stderr=True, highlight=False)


def usage_error(message: str) -> typer.Exit:
    """Print a configuration/usage problem and return the exit to raise (code 2)."""
    # Not folded: a file name cut in two cannot be copied from a CI log.
    stderr.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


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


CHECK_HELP = "Check one server against a profile.\n\nExit codes: " + "; ".join(
    f"{code} {word} ({meaning})" for code, (word, meaning) in EXIT_CODES.items()
) + "."


@app.command(help=CHECK_HELP)
def check(
    url: Annotated[str, typer.Argument(help="ssh://HOST[:PORT], grpc://HOST:PORT or grpcs://HOST:PORT")],
    profile: Annotated[
        str, typer.Option(help="Built-in profile name or a profile YAML file.")
    ] = DEFAULT_PROFILE,
    fail_on: Annotated[
        Severity,
        typer.Option(
            help="Exit 1 when a check fails at this severity or above; 4 when one there could not be determined.",
            case_sensitive=False,
        ),
    ] = Severity.HIGH,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report instead of a table.")
    ] = False,
    service: Annotated[
        Optional[list[str]], typer.Option(help="A gRPC service the endpoint must serve (repeatable).")
    ] = None,
    ca: Annotated[
        Optional[Path], typer.Option(help="CA bundle (PEM) that must verify a grpcs:// server.")
    ] = None,
    server_name: Annotated[
        Optional[str], typer.Option(help="TLS server name to verify (default: the host).")
    ] = None,
    known_hosts: Annotated[
        Optional[Path],
        typer.Option(help="known_hosts file: its keys for this host are the pinned host keys."),
    ] = None,
    pin: Annotated[
        Optional[list[str]], typer.Option(help="Pinned SSH host-key fingerprint SHA256:... (repeatable).")
    ] = None,
    agency: Annotated[
        Optional[str], typer.Option(help="Agency code the endpoint must identify as (e.g. 32.73).")
    ] = None,
    application: Annotated[
        Optional[str], typer.Option(help="Application id the endpoint must identify as.")
    ] = None,
    user: Annotated[
        Optional[str], typer.Option(help="SSH user for the optional authenticated checks.")
    ] = None,
    key: Annotated[Optional[Path], typer.Option(help="Private key file for --user.")] = None,
    password_env: Annotated[
        Optional[str], typer.Option(help="Name of the environment variable holding the password for --user.")
    ] = None,
    only: Annotated[
        Optional[list[str]],
        typer.Option(help="Run only checks whose id matches this pattern, e.g. 'SSH-KEX-*'."),
    ] = None,
    deadline: Annotated[
        Optional[float], typer.Option(help="Seconds the whole probe may take.", min=0.1, max=600)
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List skipped checks one per row.")
    ] = False,
) -> None:
    try:
        selected_profile = load_profile(profile)
        pins = list(pin or [])
        credentials = None
        if user:
            if not (key or password_env):
                raise TargetError("--user needs --key or --password-env")
            if key:
                check_private_key(key)
            credentials = Credentials(
                username=user, key_path=str(key) if key else None, password_env=password_env
            )
        elif key or password_env:
            raise TargetError("--key and --password-env need --user")
        if ca is not None:
            check_ca_bundle(ca)
        if known_hosts is not None:
            _, host, port = parse_url(url)
            known = pins_for(known_hosts, host, port)
            if not known:
                # Pinning was asked for and cannot happen: a silent skip would be a false green.
                raise TargetError(f"--known-hosts {known_hosts}: no key for {host} port {port}: nothing to pin")
            pins += known
        target = make_target(
            url,
            services=tuple(service or ()),
            pins=tuple(pins),
            ca_file=str(ca) if ca else None,
            server_name=server_name,
            agency=agency,
            application=application,
            credentials=credentials,
        )
    except (ConfigError, TargetError, PreflightError) as exc:
        raise usage_error(str(exc)) from None

    selection = selected_profile.selection
    if only:
        selection = {k: v for k, v in selection.items() if any(fnmatch.fnmatchcase(k, p) for p in only)}
    options = selected_profile.options
    if deadline is not None:
        options = dataclasses.replace(options, deadline_s=deadline)
    if not any(registry.checks()[k].protocol in registry.SCHEME_FAMILIES[target.scheme] for k in selection):
        raise usage_error(f"profile {selected_profile.name} selects no check for {target.scheme}:// targets")

    started_at = datetime.now(timezone.utc)
    report = asyncio.run(run_probe(target, selection, options))
    if as_json:
        print_json(report_dict(report, selected_profile, fail_on, started_at))
    else:
        print_table(stdout, report, selected_profile, fail_on, verbose)
    raise typer.Exit(exit_code(report, fail_on))


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


@checks_app.command("list")
def checks_list() -> None:
    """List every registered check."""
    table = Table(header_style="bold")
    for column in ("check", "protocol", "category", "severity", "title"):
        table.add_column(column)
    for meta in registry.checks().values():
        table.add_row(meta.id, meta.protocol, meta.category, meta.severity.value, meta.title)
    stdout.print(table)


@checks_app.command("docs")
def checks_docs(
    out: Annotated[
        Optional[Path], typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Generate the check reference (docs/checks.md) from the registry."""
    text = docs.checks_markdown()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


# Commands in the order a newcomer meets them.
app.add_typer(profiles_app, name="profiles")
app.add_typer(checks_app, name="checks")
app.add_typer(inventory_app, name="inventory")
app.add_typer(sweep_app, name="sweep")
register_sweep_run(sweep_app)
register_report(app)
register_serve(app)
app.add_typer(testbed_app, name="testbed")

if __name__ == "__main__":
    app()
