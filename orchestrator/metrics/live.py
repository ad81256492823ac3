"""Live progress of a running sweep, written into the store for ``interop serve``.

The exporter runs in another process than the sweep driver; what only the
driver knows (endpoints in flight, workers, that it is still alive) travels
through one row per sweep in the store (``Store.write_live``). ``LiveObserver``
is a ``driver.Observer`` that forwards every call to the observer it wraps
(the progress bar) and rewrites that row at most every ``interval_s`` and on
a timer, so the heartbeat keeps moving while no probe finishes.

In flight: for every shard whose worker has announced itself, the endpoints
not yet received, capped by the shard's concurrency (a running shard keeps
that many probes going: probing, retrying, or waiting for a per-host or
per-agency slot). A shard given up after lost workers counts until the end.

Use (in the driver's code, around ``drive``)::

    with LiveObserver(store, sweep_id, plan, inner=progress) as observer:
        stats = await drive(engine, plan, job, sink, observer)
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Sequence

from orchestrator.engine.driver import Observer, QuietObserver
from orchestrator.engine.plan import Plan
from orchestrator.engine.shard import Batch, Finished
from orchestrator.store import Store, StoreError

log = logging.getLogger(__name__)


class LiveObserver:
    def __init__(
        self,
        store: Store,
        sweep_id: str,
        plan: Plan,
        inner: Observer | None = None,
        *,
        interval_s: float = 1.0,
    ):
        self.store = store
        self.sweep_id = sweep_id
        self.inner = inner or QuietObserver()
        self.interval_s = interval_s
        self._concurrency = {shard.key: shard.concurrency for shard in plan.shards}
        self._remaining = {shard.key: len(shard) for shard in plan.shards}
        self._shard_of = {e.endpoint_id: shard.key for shard in plan.shards for e in shard.endpoints}
        self._running: set[str] = set()
        self._workers: set[str] = set()
        self._written_at = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._warned = False

    @property
    def in_flight(self) -> int:
        return sum(min(self._concurrency[key], self._remaining[key]) for key in self._running)

    @property
    def workers(self) -> int:
        return len(self._workers)

    def __enter__(self) -> LiveObserver:
        self._write()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._running.clear()
        self._write()  # in flight 0: the driver is done with this run

    # -- Observer -------------------------------------------------------------

    def worker_started(self, batch: Batch) -> None:
        self.inner.worker_started(batch)
        if batch.shard_key in self._remaining:
            self._running.add(batch.shard_key)
        self._workers.add(batch.worker)
        self._tick_soon()
        self._write_if_due()

    def finished(self, items: Sequence[Finished]) -> None:
        self.inner.finished(items)
        for item in items:
            key = self._shard_of.get(item.endpoint_id)
            if key is not None and self._remaining[key] > 0:
                self._remaining[key] -= 1
        self._write_if_due()

    def note(self, message: str) -> None:
        self.inner.note(message)

    # -- writing --------------------------------------------------------------

    def _write_if_due(self) -> None:
        if time.monotonic() - self._written_at >= self.interval_s:
            self._write()

    def _write(self) -> None:
        self._written_at = time.monotonic()
        try:
            self.store.write_live(self.sweep_id, in_flight=self.in_flight, workers=self.workers)
        except (sqlite3.Error, StoreError) as exc:
            # Live progress is a convenience: it never stops a sweep.
            if not self._warned:
                log.warning("could not write live progress of sweep %s: %s", self.sweep_id, exc)
                self._warned = True

    def _tick_soon(self) -> None:
        """Keep the heartbeat going on the driver's event loop while probes are slow."""
        if self._timer is not None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(self.interval_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        self._write_if_due()
        self._tick_soon()
