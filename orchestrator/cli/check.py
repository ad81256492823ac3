"""``interop check URL``: one server against a profile, with the exit codes of ``orchestrator.outcome``."""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from orchestrator.cli.common import stdout, usage_error
from orchestrator.cli.render import print_json, print_table, report_dict
from orchestrator.inventory.known_hosts import pins_for
from orchestrator.inventory.preflight import PreflightError, check_ca_bundle, check_private_key
from orchestrator.inventory.targets import TargetError, make_target, parse_url
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.outcome import EXIT_CODES, exit_code
from orchestrator.profiles import DEFAULT_PROFILE, load_profile
from probes import registry
from probes.model import Credentials, Severity
from probes.runner import run_probe

check_app = typer.Typer()


CHECK_HELP = "Check one server against a profile.\n\nExit codes: " + "; ".join(
    f"{code} {word} ({meaning})" for code, (word, meaning) in EXIT_CODES.items()
) + "."


@check_app.command(help=CHECK_HELP)
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
    if not any(registry.checks()[k].protocol in registry.SCHEMES[target.scheme].families for k in selection):
        raise usage_error(f"profile {selected_profile.name} selects no check for {target.scheme}:// targets")

    started_at = datetime.now(timezone.utc)
    report = asyncio.run(run_probe(target, selection, options))
    if as_json:
        print_json(report_dict(report, selected_profile, fail_on, started_at))
    else:
        print_table(stdout, report, selected_profile, fail_on, verbose)
    raise typer.Exit(exit_code(report, fail_on))
