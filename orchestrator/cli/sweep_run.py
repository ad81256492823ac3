"""``interop sweep run`` and ``interop sweep resume``: a sweep, with the terminal's progress observer.

``sweep_run_app`` holds both commands; ``orchestrator.cli.sweep`` adds them to
the ``sweep`` group. Exit codes: 0 the sweep is complete; 1 it ended
incomplete (a shard was given up: resume it later); 2 usage or configuration
error, nothing probed; 75 the store is busy (another sweep driver or a
compaction holds its lock), nothing probed, try again later; 130 interrupted
(Ctrl-C / SIGTERM), resume it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from orchestrator.cli.common import StoreOption, make_console, opened_store, stderr, usage_error
from orchestrator.cli.progress import DEFAULT_INTERVAL_S, SweepProgress
from orchestrator.cli.sweep_tables import print_sweep
from orchestrator.engine import DEFAULT_ENGINE, ENGINES
from orchestrator.engine.limits import Limits
from orchestrator.profiles import DEFAULT_PROFILE
from orchestrator.store import Store, StoreError
from orchestrator.sweep import (
    DEFAULT_STORE,
    EXIT_BUSY,
    EXIT_INTERRUPTED,
    SweepConfigError,
    SweepOutcome,
    SweepStoreBusy,
    resume_sweep,
    run_sweep,
)

sweep_run_app = typer.Typer()

# Choices and help built from the one map of engines.
EngineName = enum.Enum("EngineName", {name: name for name in ENGINES}, type=str)  # type: ignore[misc]  # from a map
EngineOption = Annotated[
    EngineName | None,
    typer.Option(
        "--engine",
        help="; ".join(f"{name}: {kind.help}" for name, kind in ENGINES.items()) + ".",
        show_default=False,
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Join this existing Ray cluster (HOST:PORT) instead of starting one; it is left running. "
        "Nodes carrying resource vantage:NAME probe the endpoints with 'vantage: NAME'.",
        show_default=False,
    ),
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        help="Probes in flight over the whole sweep (default 256); each server sees at most --per-host.",
    ),
]
PerHostOption = Annotated[
    int | None,
    typer.Option("--per-host", min=1, help="Probes in flight against one host address (default 2)."),
]
AgencyRateOption = Annotated[
    float | None,
    typer.Option(
        "--agency-rate",
        min=0.001,
        help="Probe attempts per second per agency (token bucket) (default: unlimited).",
    ),
]
JitterOption = Annotated[
    float | None,
    typer.Option(
        "--jitter", min=0.0, help="Random pause of up to this many seconds before a probe (default 0)."
    ),
]
RetriesOption = Annotated[
    int | None,
    typer.Option(
        "--retries",
        min=0,
        help="Retries after a transient failure (timeout, refused, reset), "
        "with exponential backoff (default 2).",
    ),
]
IgnoreVantageOption = Annotated[
    bool | None,
    typer.Option(
        "--ignore-vantage/--honour-vantage",
        help="Probe every endpoint from wherever a worker is, ignoring 'vantage:' in the inventory.",
        show_default=False,
    ),
]
NumCpusOption = Annotated[
    int | None,
    typer.Option(
        "--num-cpus", min=1, help="CPUs of the embedded Ray node (default: all).", show_default=False
    ),
]
SummaryOption = Annotated[
    bool | None,
    typer.Option(
        "--summary/--no-summary",
        help="Print the per-province and per-check tables at the end "
        "(default: on a terminal yes, otherwise only one summary line).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout.")]
ProgressIntervalOption = Annotated[
    float,
    typer.Option(
        "--progress-interval",
        envvar="INTEROP_PROGRESS_INTERVAL",
        min=0.0,
        help="Off a terminal (CI, pipe, journal), print a progress line on stderr every this many seconds: "
        "'progress DONE/TOTAL PCT% rate R/s fail F error E unreachable U elapsed H:MM:SS eta H:MM:SS'. "
        "0: none. On a terminal the live bar shows the same.",
    ),
]
SweepIdArgument = Annotated[
    str, typer.Argument(help="Sweep id, or a unique prefix of one.", show_default=False)
]
PushGatewayOption = Annotated[
    str | None,
    typer.Option(
        "--push-gateway",
        help="At the end, push the sweep's summary metrics to this Pushgateway URL "
        "(group job=interop_sweep, inventory=NAME).",
        show_default=False,
    ),
]
TextfileOption = Annotated[
    Path | None,
    typer.Option(
        "--textfile",
        help="At the end, write the sweep's summary metrics to this node_exporter textfile (*.prom), atomically.",
        show_default=False,
    ),
]


def _limits(
    base: Limits,
    concurrency: int | None,
    per_host: int | None,
    agency_rate: float | None,
    jitter: float | None,
    retries: int | None,
) -> Limits:
    """``base`` with the options given (None: as ``base`` has it)."""
    return dataclasses.replace(
        base,
        concurrency=base.concurrency if concurrency is None else concurrency,
        per_host=base.per_host if per_host is None else per_host,
        agency_rate=base.agency_rate if agency_rate is None else agency_rate,
        jitter_s=base.jitter_s if jitter is None else jitter,
        retries=base.retries if retries is None else retries,
    )


def _interrupted_early() -> typer.Exit:
    """Ctrl-C before the first probe (while Ray starts): nothing to keep."""
    stderr.print(Text("interrupted before probing started", style="yellow"))
    return typer.Exit(EXIT_INTERRUPTED)


def _busy(exc: SweepStoreBusy) -> typer.Exit:
    stderr.print(Text(f"busy: {exc}", style="bold yellow"), soft_wrap=True)
    return typer.Exit(EXIT_BUSY)


def _finish(
    outcome: SweepOutcome,
    summary: bool | None,
    as_json: bool,
    push_gateway: str | None = None,
    textfile: Path | None = None,
) -> None:
    out = make_console()
    if push_gateway or textfile:
        # Imported here: prometheus-client is start-up time every other sweep would pay.
        from orchestrator.metrics.export import export_summary

        # A failed export is reported, but the sweep's exit code stays the sweep's.
        for problem in export_summary(
            outcome.store_path, outcome.sweep_id, push_gateway=push_gateway, textfile=textfile
        ):
            stderr.print(Text(f"warning: {problem}", style="bold yellow"), soft_wrap=True)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "sweep_id": outcome.sweep_id,
                    "state": outcome.state.value,
                    "total": outcome.total,
                    "done": outcome.done,
                    "probed": outcome.probed,
                    "elapsed_s": round(outcome.elapsed_s, 3),
                    "by_status": outcome.counts,
                    "unreachable": outcome.unreachable,
                    "resubmissions": outcome.stats.resubmissions,
                    "lost_workers": outcome.stats.losses,
                    "abandoned_shards": outcome.stats.abandoned,
                    "resume_command": outcome.resume_command,
                },
                indent=2,
            )
        )
    elif summary if summary is not None else out.is_terminal:
        with opened_store(outcome.store_path) as store:
            print_sweep(out, store, outcome.sweep_id, outcome.store_path)
    stderr.print(Text(outcome.summary_line()), soft_wrap=True)
    if outcome.resume_command:
        stderr.print(Text(f"Resume with: {outcome.resume_command}", style="bold yellow"), soft_wrap=True)
    raise typer.Exit(outcome.exit_code)


@sweep_run_app.command("run")
def run(
    inventory: Annotated[
        Path, typer.Option("--inventory", "-i", help="Inventory YAML file.", show_default=False)
    ],
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Built-in profile name or a profile YAML file.")
    ] = DEFAULT_PROFILE,
    store_path: StoreOption = DEFAULT_STORE,
    engine: EngineOption = None,
    ray_address: RayAddressOption = None,
    concurrency: ConcurrencyOption = None,
    per_host: PerHostOption = None,
    agency_rate: AgencyRateOption = None,
    jitter: JitterOption = None,
    retries: RetriesOption = None,
    ignore_vantage: IgnoreVantageOption = None,
    num_cpus: NumCpusOption = None,
    summary: SummaryOption = None,
    as_json: JsonOption = False,
    push_gateway: PushGatewayOption = None,
    textfile: TextfileOption = None,
    progress_interval: ProgressIntervalOption = DEFAULT_INTERVAL_S,
) -> None:
    """Sweep every endpoint of an inventory with a profile; store results as they arrive.

    The inventory and profile are validated first: any problem exits 2 with
    nothing probed. Endpoints are grouped into shards (by vantage, all of one
    host together); each shard runs many probes concurrently under the
    limits. Ctrl-C stops cleanly (exit 130) and prints the resume command.
    """
    try:
        limits = _limits(Limits(), concurrency, per_host, agency_rate, jitter, retries)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    try:
        outcome = run_sweep(
            inventory,
            profile,
            store_path,
            engine.value if engine else DEFAULT_ENGINE,
            ray_address,
            limits=limits,
            ignore_vantage=bool(ignore_vantage),
            num_cpus=num_cpus,
            observer=SweepProgress(stderr, progress_interval),
        )
    except SweepStoreBusy as exc:
        raise _busy(exc) from None
    except SweepConfigError as exc:
        raise usage_error(str(exc)) from None
    except KeyboardInterrupt:
        raise _interrupted_early() from None
    _finish(outcome, summary, as_json, push_gateway, textfile)


@sweep_run_app.command("resume")
def resume(
    sweep_id: SweepIdArgument,
    store_path: StoreOption = DEFAULT_STORE,
    engine: EngineOption = None,
    ray_address: RayAddressOption = None,
    concurrency: ConcurrencyOption = None,
    per_host: PerHostOption = None,
    agency_rate: AgencyRateOption = None,
    jitter: JitterOption = None,
    retries: RetriesOption = None,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="Also re-probe endpoints whose last probe failed as a whole "
            "(timeout, refused, reset, unreachable).",
        ),
    ] = False,
    ignore_vantage: IgnoreVantageOption = None,
    num_cpus: NumCpusOption = None,
    summary: SummaryOption = None,
    as_json: JsonOption = False,
    push_gateway: PushGatewayOption = None,
    textfile: TextfileOption = None,
    progress_interval: ProgressIntervalOption = DEFAULT_INTERVAL_S,
) -> None:
    """Finish an interrupted, failed or orphaned sweep: probe only the endpoints without a result.

    The inventory and profile must be unchanged since the sweep started. The
    engine, Ray address and limits default to the ones the sweep ran with.
    """
    try:
        with Store(store_path, create=False) as store:
            recorded = Limits(**store.get_sweep(sweep_id).options.get("limits", {}))
        limits = _limits(recorded, concurrency, per_host, agency_rate, jitter, retries)
    except (StoreError, ValueError) as exc:
        raise usage_error(str(exc)) from None
    try:
        outcome = resume_sweep(
            sweep_id,
            store_path,
            engine.value if engine else None,
            ray_address,
            limits=limits,
            retry_errors=retry_errors,
            ignore_vantage=ignore_vantage,
            num_cpus=num_cpus,
            observer=SweepProgress(stderr, progress_interval),
        )
    except SweepStoreBusy as exc:
        raise _busy(exc) from None
    except SweepConfigError as exc:
        raise usage_error(str(exc)) from None
    except KeyboardInterrupt:
        raise _interrupted_early() from None
    _finish(outcome, summary, as_json, push_gateway, textfile)
