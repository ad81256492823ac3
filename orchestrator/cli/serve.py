"""``interop serve``: the results store over HTTP — metrics, reports, status — and, with a schedule, its sweeps.

The service (``orchestrator.service``): ``/metrics`` (Prometheus), ``/healthz``,
``/readyz``, ``/status``, ``/reports/`` and each sweep's national and agency
reports, rendered from the store on request. With ``--tokens`` every route
but the health checks needs a bearer token whose role decides what it sees
(``interop tokens``); without, it listens on loopback only. With
``--inventory`` it probes that inventory's endpoints on request
(``/probe?target=URL``, ``orchestrator.service.probe``), and with
``--every``/``--cron`` besides it also runs sweeps of it on that schedule,
each in a child process (``orchestrator.service.scheduler``).

It only reads the store, read-only (``Store(read_only=True)``), and refuses a
store of an older schema rather than upgrade it; without a schedule it runs
where the store's directory cannot be written (systemd ``ReadOnlyPaths=``),
with one the sweeps it starts write the store from their own process. Exit codes: 0 stopped by SIGINT/SIGTERM;
1 the HTTP server failed while running; 2 usage or configuration error, before
anything is served (bad --listen, tokens, waivers, inventory, profile or
schedule; store; address in use).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from orchestrator.cli.common import StoreOption, stderr, usage_error
from orchestrator.cli.sweep_run import EngineOption, RayAddressOption
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.metrics.collector import ReaderStore
from orchestrator.service.access import TOKENS_ENV, load_tokens
from orchestrator.store import StoreError, StoreNotFound
from orchestrator.sweep import DEFAULT_STORE
from orchestrator.waivers import load_waivers

STOP_POLL_S = 0.2  # how soon a signal is noticed
DEFAULT_LISTEN = "127.0.0.1:9477"
SCHEDULER_STOP_S = 60.0  # a running sweep child gets SIGTERM and this long to record what it has

serve_app = typer.Typer()


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` -> (host, port); ValueError with a reason otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"--listen {text!r}: give HOST:PORT, e.g. {DEFAULT_LISTEN} or [::1]:9477")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"--listen {text!r}: [{host}] is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"--listen {text!r}: put an IPv6 address in brackets, e.g. [::1]:9477")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"--listen {text!r}: port {port} is out of range")
    return host, port


def _check_tokens(path: Path) -> int:
    try:
        return len(load_tokens(path))
    except ConfigError as exc:
        raise usage_error(f"tokens file:\n{exc}") from None


def _check_store(store_path: Path) -> None:
    try:
        ReaderStore(store_path, read_only=True).close()
    except StoreNotFound:
        stderr.print(
            Text(
                f"no results store at {store_path} yet: interop_store_up is 0 until a sweep creates it",
                style="yellow",
            ),
            soft_wrap=True,
        )
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise usage_error(f"cannot open results store {store_path}: {exc}") from None


def _scheduler(
    store_path: Path,
    inventory: Path | None,
    profile: str | None,
    every: str | None,
    cron: str | None,
    keep: int | None,
    sweep_args: list[str],
) -> Any:
    """The scheduler the options ask for, or None; usage errors for a partial or invalid schedule."""
    if every is None and cron is None:
        options = (
            ("--keep", keep),
            *((arg, True) for arg in sweep_args if arg.startswith("--")),
        )
        given = [name for name, value in options if value is not None]
        if given:
            raise usage_error(f"{', '.join(given)} belong to a schedule: add --every (e.g. 6h) or --cron")
        return None
    if inventory is None:
        raise usage_error("a schedule needs the inventory to sweep: add --inventory FILE")
    from orchestrator.inventory import load_endpoint_set
    from orchestrator.profiles import DEFAULT_PROFILE, load_profile

    try:
        from orchestrator.service.scheduler import Scheduler, parse_schedule
    except ImportError as exc:
        raise usage_error(f"scheduled sweeps are not available in this installation: {exc}") from None
    try:
        schedule = parse_schedule(every, cron)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    assert schedule is not None  # --every or --cron was given
    profile = profile or DEFAULT_PROFILE
    try:
        load_endpoint_set(inventory)
        load_profile(profile)
    except ConfigError as exc:  # InventoryError is one too
        raise usage_error(str(exc)) from None
    return Scheduler(store_path, inventory, profile, schedule, sweep_args=sweep_args, keep=keep)


def _prober(inventory: Path | None, profile: str | None, waivers: Path | None) -> Any:
    """``/probe``'s state when an inventory is served, else None; usage errors for a bad inventory or profile."""
    if inventory is None:
        if profile is not None:
            raise usage_error("--profile needs the inventory it is applied to: add --inventory FILE")
        return None
    from orchestrator.inventory.targets import TargetError
    from orchestrator.service.probe import Prober

    try:
        return Prober(inventory, profile, waivers)
    except (ConfigError, TargetError) as exc:  # InventoryError and a profile's errors are ConfigErrors
        raise usage_error(str(exc)) from None
    except OSError as exc:
        raise usage_error(f"cannot read the inventory {inventory}: {exc}") from None


@serve_app.command("serve")
def serve(
    store_path: StoreOption = DEFAULT_STORE,
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            help="Address and port of the HTTP server (HOST:PORT, [IPV6]:PORT). "
            "Other than loopback only with --tokens: the metrics name every endpoint.",
        ),
    ] = DEFAULT_LISTEN,
    tokens: Annotated[
        Path | None,
        typer.Option(
            "--tokens",
            envvar=TOKENS_ENV,
            show_default=False,
            help="Tokens file (interop tokens add): every route but /healthz and /readyz then "
            "needs a bearer token; an agency token sees its own agency only.",
        ),
    ] = None,
    waivers: Annotated[
        Path | None,
        typer.Option(
            "--waivers",
            show_default=False,
            help="Waivers YAML applied to metrics and reports (reloaded when it changes and daily).",
        ),
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            "-i",
            show_default=False,
            help="Inventory whose endpoints /probe probes on request, and that a schedule sweeps.",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            show_default=False,
            help="Profile of /probe and of the scheduled sweeps (default spbe-baseline).",
        ),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", show_default=False, help="Sweep at this interval, e.g. 6h, 30m, 1d."),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            show_default=False,
            help='Sweep on this cron schedule, in UTC unless it starts with CRON_TZ=ZONE, e.g. "0 */6 * * *".',
        ),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            min=1,
            show_default=False,
            help="Keep the last N sweeps in full after each scheduled sweep; older ones are "
            "compacted to per-endpoint, per-check summaries (interop store compact).",
        ),
    ] = None,
    engine: EngineOption = None,
    ray_address: RayAddressOption = None,
    build_wait: Annotated[
        float,
        typer.Option(
            "--build-wait",
            min=0.0,
            help="Seconds a scrape waits for the metrics of a newly completed sweep before "
            "serving the previous sweep's (a national sweep takes a few seconds to read).",
        ),
    ] = 5.0,
) -> None:
    """Serve metrics, reports and status of the results store on http://LISTEN/ until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # its start/stop lines repeat ours
    from orchestrator.service.server import bind, is_loopback

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    token_count = _check_tokens(tokens) if tokens is not None else None
    if tokens is None and not is_loopback(host):
        raise usage_error(
            f"--listen {listen} is not a loopback address: give --tokens FILE for access "
            "control (interop tokens add), or listen on 127.0.0.1"
        )
    if waivers is not None:
        try:
            load_waivers(waivers)
        except ConfigError as exc:
            raise usage_error(f"waivers file {waivers}:\n{exc}") from None
        except OSError as exc:
            raise usage_error(f"cannot read waivers file {waivers}: {exc}") from None
    _check_store(store_path)
    sweep_args = [
        *(["--engine", engine.value] if engine else []),
        *(["--ray-address", ray_address] if ray_address else []),
    ]
    prober = _prober(inventory, profile, waivers)
    scheduler = _scheduler(store_path, inventory, profile, every, cron, keep, sweep_args)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise usage_error(f"cannot listen on {listen}: {exc}") from None

    # Before the server answers anything: a SIGTERM right after the first request must stop it cleanly.
    # A plain list, not a threading.Event: the handler runs in the main thread, which may be inside
    # Event.wait holding the event's lock; Event.set there would wait for that lock forever.
    stop: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _: stop.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        code = _serve_until(
            stop, sock, store_path, tokens, token_count, waivers, build_wait, scheduler, prober, listen
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code:
        raise typer.Exit(code)


def _serve_until(
    stop: list[int],
    sock: socket.socket,
    store_path: Path,
    tokens: Path | None,
    token_count: int | None,
    waivers: Path | None,
    build_wait: float,
    scheduler: Any,
    prober: Any,
    listen: str,
) -> int:
    from orchestrator.service.app import ServiceConfig, create_app
    from orchestrator.service.server import BackgroundServer

    config = ServiceConfig(store_path, tokens, waivers, build_wait, scheduler, listen, prober)
    app, service = create_app(config)
    server = BackgroundServer(app, sock)
    scheduled = False
    try:
        try:
            server.start()
        except RuntimeError as exc:
            stderr.print(Text(str(exc), style="bold red"), soft_wrap=True)
            return 1
        # Build the metrics snapshots now, so the first scrape does not wait for them.
        threading.Thread(target=service.collector.collect, name="interop-metrics-warmup", daemon=True).start()
        if scheduler is not None:
            scheduler.start()
            scheduled = True
        host, port = sock.getsockname()[:2]
        base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        stderr.print(
            Text(f"serving metrics of {store_path} on {base}/metrics, reports on {base}/reports/"),
            soft_wrap=True,
        )
        access = (
            f"access: tokens from {tokens} ({token_count} now)"
            if tokens is not None
            else "access: open to anyone who can reach the address (no --tokens)"
        )
        stderr.print(Text(access), soft_wrap=True)
        if prober is not None:
            stderr.print(
                Text(
                    f"probing the endpoints of {prober.inventory.path} on request: "
                    f"{base}/probe?target=URL (profile {prober.default.name})"
                ),
                soft_wrap=True,
            )
        if scheduler is not None:
            status = scheduler.status()
            stderr.print(
                Text(f"sweeps of {status['inventory']} scheduled: {status['schedule']['text']}"),
                soft_wrap=True,
            )
        while not stop:
            time.sleep(STOP_POLL_S)
            if not server.alive():
                stderr.print(
                    Text(f"the HTTP server stopped: {server.error}", style="bold red"), soft_wrap=True
                )
                return 1
        return 0
    finally:
        if scheduled:
            scheduler.stop(SCHEDULER_STOP_S)
        server.stop()
        service.close()
        stderr.print(Text("stopped"))
