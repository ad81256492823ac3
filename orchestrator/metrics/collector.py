"""The Prometheus collector behind ``interop serve``: the store, read on each scrape.

Nothing lives only in the exporter's memory, so a restart loses nothing. On
every scrape it lists the sweeps and, per inventory, shows

* the latest complete sweep: from a snapshot (``metrics.snapshot``) built once
  per (sweep, its end time, the previous complete sweep, the waivers in force
  today) in a background thread and then served from memory: scrapes of an
  unchanged sweep cost no store reads beyond the sweep list;
* the state of its newest sweep, and every running sweep (``metrics.running``),
  read fresh.

A snapshot that takes longer than ``build_wait_s`` to build (a national sweep
takes seconds) does not hold the scrape: the previous snapshot of that
inventory is served until the new one is ready.

Store access: each scrape opens the store and closes it again (the HTTP
server answers every request on a new thread, and the store keeps a
connection per thread); text that is not valid UTF-8 is read with escapes
instead of failing the scrape.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.metrics.labels import label
from orchestrator.metrics.running import running_sweep_series
from orchestrator.metrics.series import SeriesSet, assemble
from orchestrator.metrics.snapshot import Snapshot, build_snapshot, newest_state_series
from orchestrator.store import Store, StoreNotFound, Sweep, SweepState
from orchestrator.waivers import Waivers, load_waivers

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_FAILED_BUILD_S = 60.0


def _escaped_text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


class ReaderStore(Store):
    """The store as the exporter reads it; ``lenient`` turns bytes that are not UTF-8 into ``\\xNN`` escapes.

    Lenient decoding runs Python code for every text value (several times
    slower on a national sweep), so it is only the fallback: see ``read_store``.
    """

    def __init__(self, path: str | os.PathLike[str], *, lenient: bool = False, **options: Any):
        self._lenient = lenient
        super().__init__(path, **options)

    def _conn(self) -> sqlite3.Connection:
        conn = super()._conn()
        if self._lenient:
            conn.text_factory = _escaped_text
        return conn


def read_store(path: str | os.PathLike[str], read: Callable[[Store], T]) -> T:
    """``read(store)`` on the store at ``path``; again, leniently, if it holds text that is not UTF-8."""
    try:
        with ReaderStore(path, read_only=True) as store:
            return read(store)
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc):
            raise
        log.warning("results store %s holds text that is not UTF-8; reading it with escapes", path)
    with ReaderStore(path, read_only=True, lenient=True) as store:
        return read(store)


class WaiverSource:
    """The waivers file, reloaded when it changes and each (UTC) day, since waivers expire."""

    def __init__(self, path: str | os.PathLike[str] | None):
        self.path = Path(path) if path is not None else None
        self.waivers: Waivers | None = None
        self.token: tuple[Any, ...] | None = None

    def current(self) -> tuple[Waivers | None, tuple[Any, ...] | None]:
        """The waivers in force and a token that changes whenever they may have; raises on a bad file."""
        if self.path is None:
            return None, None
        stat = self.path.stat()
        today = datetime.now(UTC).date()
        token = (stat.st_mtime_ns, stat.st_size, today)
        if token != self.token:
            self.waivers = load_waivers(self.path, as_of=today)
            self.token = token
        return self.waivers, self.token


def sweeps_by_inventory(sweeps: list[Sweep]) -> dict[str, dict[str, Any]]:
    """Per inventory: the ``newest`` sweep, the ``latest`` and ``previous`` complete ones, the ``running``.

    ``sweeps`` is newest first (``Store.list_sweeps``).
    """
    out: dict[str, dict[str, Any]] = {}
    for sweep in sweeps:
        entry = out.setdefault(
            sweep.inventory_name, {"newest": sweep, "latest": None, "previous": None, "running": []}
        )
        if sweep.state is SweepState.RUNNING:
            entry["running"].append(sweep)
        elif sweep.state is SweepState.COMPLETE:
            if entry["latest"] is None:
                entry["latest"] = sweep
            elif entry["previous"] is None:
                entry["previous"] = sweep
    return out


def _read_current(store: Store) -> tuple[SeriesSet, dict[str, tuple[Sweep, Sweep | None]]]:
    """What is read fresh on every scrape, and the (latest, previous) complete sweep per inventory."""
    fresh = SeriesSet()
    wanted: dict[str, tuple[Sweep, Sweep | None]] = {}
    for inventory, entry in sweeps_by_inventory(store.list_sweeps(None)).items():
        newest_state_series(fresh, inventory, entry["newest"].state.value)
        for sweep in entry["running"]:
            running_sweep_series(fresh, store, sweep)
        if entry["latest"] is not None:
            wanted[inventory] = (entry["latest"], entry["previous"])
    return fresh, wanted


class StoreCollector(Collector):
    def __init__(
        self,
        store_path: str | os.PathLike[str],
        *,
        waivers_path: str | os.PathLike[str] | None = None,
        build_wait_s: float = 5.0,
    ):
        self.store_path = Path(store_path)
        self.build_wait_s = build_wait_s
        self._waivers = WaiverSource(waivers_path)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[Any, ...], Snapshot]] = {}  # inventory -> (key, snapshot)
        self._pending: dict[str, tuple[tuple[Any, ...], Future[Snapshot]]] = {}
        self._failed: dict[str, tuple[tuple[Any, ...], float]] = {}  # inventory -> (key, when)
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interop-metrics-build")
        self._errors = 0
        self.builds = 0  # snapshots built since start (the cache's effect, for tests and logs)

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not read the store

    def close(self) -> None:
        self._builder.shutdown(wait=False, cancel_futures=True)

    def _error(self, message: str, exc: BaseException) -> None:
        log.warning("%s: %s", message, exc)
        with self._lock:
            self._errors += 1

    def collect(self) -> list[Metric]:
        fresh = SeriesSet()
        wanted: dict[str, tuple[Sweep, Sweep | None]] = {}
        store_up = 0
        try:
            fresh, wanted = read_store(self.store_path, _read_current)
            store_up = 1
        except StoreNotFound:
            pass  # no sweep yet: store_up 0, nothing else
        except Exception as exc:  # noqa: BLE001 - a scrape must answer whatever the store holds
            self._error(f"reading the results store {self.store_path}", exc)
            fresh = SeriesSet()
            wanted = {}
        snapshots = self._snapshots(wanted) if store_up else []

        own = SeriesSet()
        own.gauge("interop_store_up", {}, store_up)
        with self._lock:
            own.counter("interop_exporter_errors", {}, self._errors)
        for snapshot in snapshots:
            labels = {"inventory": snapshot.inventory}
            own.gauge("interop_exporter_snapshot_build_seconds", labels, snapshot.build_s)
        waivers = self._waivers.waivers
        if waivers is not None:
            own.gauge("interop_waivers_active", {}, len(waivers.active))
            own.gauge("interop_waivers_expired", {}, len(waivers.expired))
        return assemble([own, fresh, *(snapshot.series for snapshot in snapshots)])

    # -- the snapshot cache --------------------------------------------------

    def _snapshots(self, wanted: dict[str, tuple[Sweep, Sweep | None]]) -> list[Snapshot]:
        deadline = time.monotonic() + self.build_wait_s
        waiting: dict[str, tuple[tuple[Any, ...], Future[Snapshot]]] = {}
        with self._lock:
            waivers, waivers_token = self._current_waivers_locked()
            for inventory in list(self._cache):
                if inventory not in wanted:
                    del self._cache[inventory]
            for inventory, (sweep, previous) in wanted.items():
                key = (
                    sweep.id,
                    sweep.finished_at,
                    previous.id if previous else None,
                    previous.finished_at if previous else None,
                    waivers_token,
                )
                cached = self._cache.get(inventory)
                if cached is not None and cached[0] == key:
                    continue
                failed = self._failed.get(inventory)
                if (
                    failed is not None
                    and failed[0] == key
                    and time.monotonic() - failed[1] < RETRY_FAILED_BUILD_S
                ):
                    continue
                pending = self._pending.get(inventory)
                if pending is None or pending[0] != key:
                    pending = (key, self._builder.submit(self._build, sweep, previous, waivers))
                    self._pending[inventory] = pending
                waiting[inventory] = pending
        for inventory, (key, future) in waiting.items():
            try:
                snapshot = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                continue  # still building: serve the previous snapshot meanwhile
            except Exception as exc:  # noqa: BLE001
                self._error(f"building metrics of sweep {key[0]}", exc)
                with self._lock:
                    self._failed[inventory] = (key, time.monotonic())
                    if self._pending.get(inventory, (None,))[0] == key:
                        del self._pending[inventory]
                continue
            with self._lock:
                self._cache[inventory] = (key, snapshot)
                self._failed.pop(inventory, None)
                if self._pending.get(inventory, (None,))[0] == key:
                    del self._pending[inventory]
        with self._lock:
            return [snapshot for _, snapshot in self._cache.values()]

    def _current_waivers_locked(self) -> tuple[Waivers | None, Any]:
        try:
            return self._waivers.current()
        except (ConfigError, OSError) as exc:
            # Keep the last good waivers rather than dropping every exception at once.
            log.warning("reloading waivers %s: %s", self._waivers.path, exc)
            self._errors += 1
            return self._waivers.waivers, self._waivers.token

    def _build(self, sweep: Sweep, previous: Sweep | None, waivers: Waivers | None) -> Snapshot:
        snapshot = read_store(
            self.store_path, lambda store: build_snapshot(store, sweep, previous=previous, waivers=waivers)
        )
        self.builds += 1
        log.info(
            "metrics of sweep %s (%s) built in %.2f s: %d series",
            sweep.id,
            label(sweep.inventory_name),
            snapshot.build_s,
            snapshot.series.series_count(),
        )
        return snapshot
