"""``interop testbed``: serve an inventory's endpoints as real servers on this machine.

``up`` runs in the foreground until Ctrl-C or SIGTERM, then stops everything
it started. ``down`` cleans up after an ``up`` that was killed outright
(SIGKILL, a crash): it works from the state file ``up`` writes in its work
directory as it starts each process and namespace.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.cli.common import make_console, usage_error
from orchestrator.inventory import InventoryError
from orchestrator.outcome import EXIT_USAGE
from orchestrator.testbed.fleet import Fleet, start_fleet
from orchestrator.testbed.fleet_plan import FleetError
from orchestrator.testbed.ledger import Ledger, clean_up
from orchestrator.testbed.netns import NetnsError

READY = "testbed ready"  # printed once every endpoint listens; scripts wait for it

testbed_app = typer.Typer(
    name="testbed",
    help="Serve the endpoints of an inventory as real gRPC and SSH servers on this machine (loopback).",
    no_args_is_help=True,
)
# Scripts read these lines whole; on a terminal too.
stdout = make_console(soft_wrap=True)
stderr = make_console(stderr=True, soft_wrap=True)


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _summary(fleet: Fleet) -> Table:
    table = Table(title=f"testbed {fleet.run_id}", show_header=True)
    table.add_column("protocol")
    table.add_column("behaviour")
    table.add_column("endpoints", justify="right")
    for protocol, counts in fleet.plan.behaviours().items():
        for behaviour, count in sorted(counts.items()):
            table.add_row(protocol, behaviour, str(count))
    return table


class _Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _raise_stop(signum: int, frame: object) -> None:
    # Once: a second Ctrl-C must not cut the clean-up short.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise _Stop(signal.Signals(signum).name)


@testbed_app.command()
def up(
    inventory: Annotated[
        Path, typer.Option(help="The inventory whose endpoints to serve.", exists=True, dir_okay=False)
    ],
    latency_ms: Annotated[float, typer.Option(min=0, help="Delay added to every gRPC call, in ms.")] = 0.0,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Where configs, keys, logs and the state file go "
            "(default: <inventory>.testbed next to the inventory)."
        ),
    ] = None,
    netns: Annotated[
        bool, typer.Option("--netns", help="A network namespace per host (hosts in 10.250.0.0/16, a few).")
    ] = False,
    key_dir: Annotated[
        Path | None, typer.Option(help="SSH host keys to reuse (default: in the work dir).")
    ] = None,
) -> None:
    """Start a server for every endpoint and keep them running until Ctrl-C or SIGTERM."""
    workdir = workdir or inventory.with_name(inventory.name + ".testbed")
    # SIGINT or SIGTERM, during the start or later, ends up in the clean-up below.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    fleet = None
    left_behind = False
    try:
        stderr.print(f"starting the testbed for {inventory} in {workdir} …")
        fleet = start_fleet(inventory, workdir, latency_s=latency_ms / 1000, use_netns=netns, key_dir=key_dir)
        resources = fleet.resources()
        stdout.print(_summary(fleet))
        stdout.print(
            f"{len(fleet.endpoints())} endpoints, {resources['processes']} processes, started in "
            f"{fleet.startup_s:.1f} s; memory RSS {_mib(resources['rss_bytes'])}, "
            f"PSS {_mib(resources['pss_bytes'])}"
        )
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in fleet.timings.items())
        stdout.print(f"start-up: {phases}")
        if fleet.ca_path is not None:
            stdout.print(f"grpcs CA: {fleet.ca_path}")
        if fleet.topology is not None:
            stdout.print(f"probe from inside the namespace: ip netns exec {fleet.topology.probe} …")
        print(f"{READY} (workdir {workdir}); Ctrl-C stops it", flush=True)
        while True:  # pause() also returns after signals we leave alone (SIGCHLD …)
            signal.pause()
    except _Stop as stop:
        stderr.print(f"{stop}: stopping …")
    except (FleetError, NetnsError, InventoryError) as exc:
        raise usage_error(str(exc)) from None
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a signal now must not cut the clean-up short
        if fleet is not None:
            report = fleet.stop()
            stderr.print(
                f"stopped {len(report.stopped)} processes ({len(report.children)} children), "
                f"removed {len(report.namespaces)} namespaces"
            )
            for problem in report.leftovers:
                stderr.print(f"left behind: {problem}", style="red", markup=False)
            left_behind = not report.clean
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if left_behind:
        raise typer.Exit(1)


@testbed_app.command()
def down(
    workdir: Annotated[
        Path,
        typer.Option(help="The work directory of the `up` to clean up after.", exists=True, file_okay=False),
    ],
    force: Annotated[bool, typer.Option("--force", help="Clean up even though its `up` still runs.")] = False,
) -> None:
    """Stop the processes and delete the namespaces a killed `up` left behind (from its state file)."""
    ledger = Ledger.in_dir(workdir)
    if not ledger.path.exists():
        stdout.print(f"nothing to clean up: no state file in {workdir}")
        return
    owners = ledger.live_owners()
    if owners and not force:
        stderr.print(
            f"the testbed in {workdir} still runs under pid {owners[0]}: stop it with Ctrl-C or "
            f"`kill {owners[0]}` (it cleans up after itself), or use --force",
            markup=False,
        )
        raise typer.Exit(EXIT_USAGE)
    report = clean_up(ledger)
    stdout.print(
        f"stopped {len(report.stopped)} processes ({len(report.children)} children, "
        f"{len(report.killed)} needed SIGKILL), removed {len(report.namespaces)} namespaces"
    )
    if not report.clean:
        for problem in report.leftovers:
            stderr.print(f"left behind: {problem}", style="red", markup=False)
        raise typer.Exit(1)
    ledger.path.unlink()
