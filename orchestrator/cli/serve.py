"""``interop serve``: the results store as Prometheus metrics on ``/metrics``.

Every scrape reads the store (``orchestrator.metrics.collector``): the latest
complete sweep of each inventory, the state of its newest sweep and every
running sweep. It listens on 127.0.0.1 unless told otherwise: the metrics
name every endpoint of the fleet. It only reads the store, read-only
(``Store(read_only=True)``): it runs where the store's directory cannot be
written (systemd ``ReadOnlyPaths=``) and refuses a store of an older schema
rather than upgrade it. Exit codes: 0 stopped by SIGINT/SIGTERM; 2 usage or
configuration error (bad --listen, waivers file, store, address in use).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer
from prometheus_client import CollectorRegistry, start_http_server
from rich.text import Text

from orchestrator.cli.common import StoreOption, stderr, usage_error
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.metrics.collector import ReaderStore, StoreCollector
from orchestrator.store import StoreError, StoreNotFound
from orchestrator.sweep import DEFAULT_STORE
from orchestrator.waivers import load_waivers

DEFAULT_LISTEN = "127.0.0.1:9477"

serve_app = typer.Typer()


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` -> (host, port); ValueError with a reason otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"--listen {text!r}: give HOST:PORT, e.g. {DEFAULT_LISTEN} or [::1]:9477")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)  # raises ValueError for a bad address
    elif ":" in host:
        raise ValueError(f"--listen {text!r}: put an IPv6 address in brackets, e.g. [::1]:9477")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"--listen {text!r}: port {port} is out of range")
    return host, port


@serve_app.command("serve")
def serve(
    store_path: StoreOption = DEFAULT_STORE,
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            help="Address and port of the HTTP server (HOST:PORT, [IPV6]:PORT). "
            "The metrics name every endpoint: keep it on loopback or behind access control.",
        ),
    ] = DEFAULT_LISTEN,
    waivers: Annotated[
        Optional[Path],
        typer.Option(
            "--waivers",
            help="Waivers YAML applied to the metrics (reloaded when it changes and every day).",
            show_default=False,
        ),
    ] = None,
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
    """Serve Prometheus metrics of the results store on http://LISTEN/metrics until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    if waivers is not None:
        try:
            load_waivers(waivers)
        except ConfigError as exc:
            raise usage_error(f"waivers file {waivers}:\n{exc}") from None
        except OSError as exc:
            raise usage_error(f"cannot read waivers file {waivers}: {exc}") from None
    try:
        ReaderStore(store_path, read_only=True).close()
    except StoreNotFound:
        stderr.print(
            Text(f"no results store at {store_path} yet: interop_store_up is 0 until a sweep creates it",
                 style="yellow"),
            soft_wrap=True,
        )
    except (StoreError, sqlite3.DatabaseError) as exc:
        raise usage_error(f"cannot open results store {store_path}: {exc}") from None

    # Before the server answers anything: a SIGTERM right after the first scrape must stop it cleanly.
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _serve_until(stop, store_path, host, port, listen, waivers, build_wait)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve_until(stop: threading.Event, store_path, host, port, listen, waivers, build_wait) -> None:
    collector = StoreCollector(store_path, waivers_path=waivers, build_wait_s=build_wait)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        collector.close()
        raise usage_error(f"cannot listen on {listen}: {exc}") from None
    # Build the snapshots now, so the first scrape does not wait for them.
    threading.Thread(target=collector.collect, name="interop-metrics-warmup", daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    stderr.print(Text(f"serving metrics of {store_path} on http://{shown}:{server.server_port}/metrics"),
                  soft_wrap=True)

    while not stop.wait(1.0):
        pass
    server.shutdown()
    server.server_close()
    collector.close()
    stderr.print(Text("stopped"))

