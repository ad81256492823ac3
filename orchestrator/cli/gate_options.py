"""What ``check`` and ``gate`` share: their options, how they are read, and how a run is reported.

``check`` is a gate of one target; both build their targets with
``orchestrator.gate.inputs``, probe with ``run_gate``, write the files of
``orchestrator.gate.outputs.OUTPUTS`` and exit with ``GateRun.exit_code``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from orchestrator.cli.common import stderr, usage_error
from orchestrator.gate.inputs import BAD_INPUT, TargetOptions
from orchestrator.gate.outputs import OUTPUTS, check_writable, write_outputs
from orchestrator.gate.run import GateRun
from orchestrator.outcome import EXIT_CODES
from orchestrator.profiles import Profile
from orchestrator.waivers import Waivers, load_waivers
from probes.model import Severity

EXIT_CODE_HELP = (
    "Exit codes: "
    + "; ".join(f"{code} {word} ({meaning})" for code, (word, meaning) in EXIT_CODES.items())
    + "."
)

ProfileOption = Annotated[str, typer.Option(help="Built-in profile name or a profile YAML file.")]
FailOnOption = Annotated[
    Severity,
    typer.Option(
        help="Exit 1 when a check fails at this severity or above; 4 when one there could not be determined.",
        case_sensitive=False,
    ),
]
WaiversOption = Annotated[
    Path | None,
    typer.Option(help="Waivers file (YAML): waived findings do not fail; an expired waiver waives nothing."),
]
ServiceOption = Annotated[
    list[str] | None, typer.Option(help="A gRPC service the endpoint must serve (repeatable).")
]
CaOption = Annotated[Path | None, typer.Option(help="CA bundle (PEM) that must verify a grpcs:// server.")]
ServerNameOption = Annotated[str | None, typer.Option(help="TLS server name to verify (default: the host).")]
KnownHostsOption = Annotated[
    Path | None, typer.Option(help="known_hosts file: its keys for the host are the pinned host keys.")
]
PinOption = Annotated[
    list[str] | None, typer.Option(help="Pinned SSH host-key fingerprint SHA256:... (repeatable).")
]
UserOption = Annotated[str | None, typer.Option(help="SSH user for the optional authenticated checks.")]
KeyOption = Annotated[Path | None, typer.Option(help="Private key file for --user.")]
PasswordEnvOption = Annotated[
    str | None, typer.Option(help="Name of the environment variable holding the password for --user.")
]
OnlyOption = Annotated[
    list[str] | None, typer.Option(help="Run only checks whose id matches this pattern, e.g. 'SSH-KEX-*'.")
]
DeadlineOption = Annotated[
    float | None, typer.Option(help="Seconds the whole probe of one target may take.", min=0.1, max=600)
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="List skipped checks one per row.")]


def output_option(name: str) -> object:
    output = OUTPUTS[name]
    return typer.Option(output.option, help=output.help, dir_okay=False)


JunitOption = Annotated[Path | None, output_option("junit")]
SarifOption = Annotated[Path | None, output_option("sarif")]
MarkdownOption = Annotated[Path | None, output_option("md")]
JsonFileOption = Annotated[Path | None, output_option("json")]


def target_options(
    *,
    service: list[str] | None,
    pin: list[str] | None,
    ca: Path | None = None,
    server_name: str | None = None,
    known_hosts: Path | None = None,
    agency: str | None = None,
    application: str | None = None,
    user: str | None = None,
    key: Path | None = None,
    password_env: str | None = None,
) -> TargetOptions:
    """The options that describe command-line targets, as ``check`` and ``gate`` both take them."""
    return TargetOptions(
        services=tuple(service or ()),
        pins=tuple(pin or ()),
        ca=ca,
        server_name=server_name,
        known_hosts=known_hosts,
        agency=agency,
        application=application,
        user=user,
        key=key,
        password_env=password_env,
    )


@contextmanager
def refusing_bad_input() -> Iterator[None]:
    """Any problem with what the user gave is exit 2, before anything is probed."""
    try:
        yield
    except BAD_INPUT as exc:
        raise usage_error(str(exc)) from None


def narrowed(profile: Profile, only: list[str] | None, deadline: float | None) -> Profile:
    """The profile as this run uses it: ``--only`` patterns and ``--deadline`` applied (its digest follows)."""
    if only:
        selection = {
            k: v for k, v in profile.selection.items() if any(fnmatch.fnmatchcase(k, p) for p in only)
        }
        profile = dataclasses.replace(profile, selection=selection)
    if deadline is not None:
        profile = dataclasses.replace(
            profile, options=dataclasses.replace(profile.options, deadline_s=deadline)
        )
    return profile


def read_waivers(path: Path | None) -> Waivers | None:
    return None if path is None else load_waivers(path)


def requested_outputs(
    junit: Path | None, sarif: Path | None, md: Path | None, json_file: Path | None
) -> dict[str, Path]:
    paths = {"junit": junit, "sarif": sarif, "md": md, "json": json_file}
    chosen = {name: path for name, path in paths.items() if path is not None}
    check_writable(chosen)
    return chosen


def finish(
    run: GateRun, outputs: dict[str, Path], show: Callable[[GateRun], None], *, single_target: bool
) -> None:
    """Write the files, show the run, exit with its code."""
    try:
        write_outputs(run, outputs, single_target=single_target)
    except OSError as exc:
        show(run)
        raise usage_error(f"could not write an output file: {exc}") from None
    show(run)
    if run.waivers is not None:
        for waiver in run.waivers.report()["expired"]:
            stderr.print(
                Text(
                    f"warning: waiver {waiver['id']} ({waiver['check']}) expired on {waiver['expires']}: "
                    f"it waives nothing ({waiver['results']} result(s) it would cover)",
                    style="bold yellow",
                ),
                soft_wrap=True,
            )
    raise typer.Exit(run.exit_code)
