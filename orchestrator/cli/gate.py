"""``interop gate``: the CI gate. Many targets probed at once in this process, one verdict, files for the CI.

The targets come from the command line, a targets file and an inventory
(``orchestrator.gate.inputs``); each is probed once, concurrently, at most
``--per-host`` at a time against one host. The exit code is the worst over
all targets (``orchestrator.outcome``); JUnit, SARIF, Markdown and JSON are
written from the same results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from orchestrator.cli.common import stdout
from orchestrator.cli.gate_options import (
    EXIT_CODE_HELP,
    CaOption,
    DeadlineOption,
    FailOnOption,
    JsonFileOption,
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
from orchestrator.cli.render import STATUS_STYLES, print_table
from orchestrator.expectations import GATE_COMMAND_LINE
from orchestrator.gate.inputs import command_line_targets, inventory_targets, require_checks, unique
from orchestrator.gate.run import DEFAULT_CONCURRENCY, GateRun, run_gate
from orchestrator.inventory.target_list import read_target_list
from orchestrator.inventory.targets import TargetError
from orchestrator.outcome import DEFAULT_FAIL_ON, EXIT_CODES, status_counts
from orchestrator.profiles import DEFAULT_PROFILE, load_profile
from probes.model import Status

gate_app = typer.Typer()

GATE_HELP = (
    "The CI gate: probe every target at once, in this process, and give one verdict.\n\n"
    "Targets are URLs, a --targets file (one URL per line), or an --inventory's endpoints "
    "(of --application or --agency; all when neither is given). Waived findings do not fail the gate. "
    "--junit, --sarif, --md and --json files are written from the same results.\n\n" + EXIT_CODE_HELP
)


@gate_app.command(help=GATE_HELP)
def gate(
    urls: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[TARGET]...", help="ssh://HOST[:PORT], grpc://HOST:PORT or grpcs://HOST:PORT"
        ),
    ] = None,
    targets_file: Annotated[
        Path | None, typer.Option("--targets", help="A file of target URLs, one per line (# comments).")
    ] = None,
    inventory: Annotated[Path | None, typer.Option(help="Inventory YAML whose endpoints to probe.")] = None,
    application: Annotated[
        list[str] | None, typer.Option(help="With --inventory: this application's endpoints (repeatable).")
    ] = None,
    agency: Annotated[
        list[str] | None, typer.Option(help="With --inventory: this agency's endpoints (repeatable).")
    ] = None,
    profile: ProfileOption = DEFAULT_PROFILE,
    fail_on: FailOnOption = DEFAULT_FAIL_ON,
    waivers: WaiversOption = None,
    junit: JunitOption = None,
    sarif: SarifOption = None,
    md: MarkdownOption = None,
    json_file: JsonFileOption = None,
    service: ServiceOption = None,
    ca: CaOption = None,
    server_name: ServerNameOption = None,
    known_hosts: KnownHostsOption = None,
    pin: PinOption = None,
    user: UserOption = None,
    key: KeyOption = None,
    password_env: PasswordEnvOption = None,
    only: OnlyOption = None,
    deadline: DeadlineOption = None,
    per_host: Annotated[int, typer.Option(help="Probes in flight against one host.", min=1, max=16)] = 2,
    concurrency: Annotated[
        int, typer.Option(help="Probes in flight in all.", min=1, max=1024)
    ] = DEFAULT_CONCURRENCY,
    verbose: VerboseOption = False,
) -> None:
    with refusing_bad_input():
        selected = narrowed(load_profile(profile), only, deadline)
        if (application or agency) and inventory is None:
            raise TargetError("--application and --agency choose endpoints of an --inventory; give one")
        named = list(urls or []) + (read_target_list(targets_file) if targets_file else [])
        options = target_options(
            service=service,
            pin=pin,
            ca=ca,
            server_name=server_name,
            known_hosts=known_hosts,
            user=user,
            key=key,
            password_env=password_env,
        )
        planned = command_line_targets(named, options, GATE_COMMAND_LINE) if named else []
        if options.given() and not named:
            raise TargetError(
                f"{', '.join(sorted(options.given()))}: describe targets named on the command line"
            )
        if inventory is not None:
            planned += inventory_targets(inventory, applications=application or (), agencies=agency or ())
        planned = unique(planned)
        if not planned:
            raise TargetError("no target: give URLs, --targets FILE or --inventory FILE")
        require_checks(selected, planned)
        loaded_waivers = read_waivers(waivers)
        outputs = requested_outputs(junit, sarif, md, json_file)

    run = run_gate(
        planned, selected, fail_on, waivers=loaded_waivers, per_host=per_host, concurrency=concurrency
    )
    finish(run, outputs, lambda run: _show(run, verbose), single_target=False)


def _show(run: GateRun, verbose: bool) -> None:
    """A line per target, then what blocks the gate; ``--verbose``: each target's whole table."""
    fail_on = run.fail_on
    for outcome in run.outcomes:
        report = outcome.report
        if verbose:
            print_table(stdout, report, run.profile, fail_on, verbose)
            continue
        code = outcome.exit_code(fail_on)
        counts = "  ".join(
            f"{name} {count}" for name, count in status_counts(report.results).items() if count
        )
        stdout.print(
            Text.assemble((f"exit {code} {EXIT_CODES[code][0]:<12}", "bold"), f" {report.target}  {counts}"),
            soft_wrap=True,
        )
        if report.unreachable:  # every check is an error for the same reason: say it once
            stdout.print(Text(f"    unreachable: {report.unreachable}", style="magenta"), soft_wrap=True)
            continue
        for result in report.results:
            if result.status in (Status.FAIL, Status.ERROR) and result.severity.rank >= fail_on.rank:
                stdout.print(
                    Text.assemble(
                        "    ",
                        (result.status.value, STATUS_STYLES[result.status]),
                        f" {result.check_id} ({result.severity.value}): {result.reason}",
                    ),
                    soft_wrap=True,
                )
    stdout.print(
        Text(
            f"{_targets(len(run.outcomes))} in {run.duration_s:.2f} s  →  exit {run.exit_code} ({run.explanation()})",
            style="bold",
        ),
        soft_wrap=True,
    )


def _targets(count: int) -> str:
    return "1 target" if count == 1 else f"{count} targets"
