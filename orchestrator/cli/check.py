"""``interop check URL``: one server against a profile, with the exit codes of ``orchestrator.outcome``.

A gate of one target: the same inputs, run, files and exit code as ``interop gate``
(``orchestrator/cli/gate_options.py``), shown as a table (or the JSON document).
"""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli.common import stdout
from orchestrator.cli.gate_options import (
    EXIT_CODE_HELP,
    CaOption,
    DeadlineOption,
    FailOnOption,
    JunitOption,
    KeyOption,
    KnownHostsOption,
    MarkdownOption,
    OnlyOption,
    PasswordEnvOption,
    PinOption,
    ProfileOption,
    SarifOption,
    ServerNameOption,
    ServiceOption,
    UserOption,
    VerboseOption,
    WaiversOption,
    finish,
    narrowed,
    read_waivers,
    refusing_bad_input,
    requested_outputs,
    target_options,
)
from orchestrator.cli.render import print_json, print_table
from orchestrator.gate.document import check_document
from orchestrator.gate.inputs import command_line_targets, require_checks
from orchestrator.gate.run import GateRun, run_gate
from orchestrator.outcome import DEFAULT_FAIL_ON
from orchestrator.profiles import DEFAULT_PROFILE, load_profile

check_app = typer.Typer()

CHECK_HELP = "Check one server against a profile.\n\n" + EXIT_CODE_HELP


@check_app.command(help=CHECK_HELP)
def check(
    url: Annotated[str, typer.Argument(help="ssh://HOST[:PORT], grpc://HOST:PORT or grpcs://HOST:PORT")],
    profile: ProfileOption = DEFAULT_PROFILE,
    fail_on: FailOnOption = DEFAULT_FAIL_ON,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report instead of a table.")
    ] = False,
    waivers: WaiversOption = None,
    junit: JunitOption = None,
    sarif: SarifOption = None,
    md: MarkdownOption = None,
    service: ServiceOption = None,
    ca: CaOption = None,
    server_name: ServerNameOption = None,
    known_hosts: KnownHostsOption = None,
    pin: PinOption = None,
    agency: Annotated[
        str | None, typer.Option(help="Agency code the endpoint must identify as (e.g. 32.73).")
    ] = None,
    application: Annotated[
        str | None, typer.Option(help="Application id the endpoint must identify as.")
    ] = None,
    user: UserOption = None,
    key: KeyOption = None,
    password_env: PasswordEnvOption = None,
    only: OnlyOption = None,
    deadline: DeadlineOption = None,
    verbose: VerboseOption = False,
) -> None:
    with refusing_bad_input():
        selected = narrowed(load_profile(profile), only, deadline)
        options = target_options(
            service=service,
            pin=pin,
            ca=ca,
            server_name=server_name,
            known_hosts=known_hosts,
            agency=agency,
            application=application,
            user=user,
            key=key,
            password_env=password_env,
        )
        targets = command_line_targets([url], options)
        require_checks(selected, targets)
        loaded_waivers = read_waivers(waivers)
        outputs = requested_outputs(junit, sarif, md, None)

    run = run_gate(targets, selected, fail_on, waivers=loaded_waivers)

    def show(run: GateRun) -> None:
        if as_json:
            print_json(check_document(run))
        else:
            print_table(stdout, run.outcomes[0].report, selected, fail_on, verbose)

    finish(run, outputs, show, single_target=True)
