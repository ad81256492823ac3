"""Reports served over HTTP: rendered from the store on request by ``orchestrator.reports``, and cached.

A request names a sweep (an id, a unique prefix or ``latest``), a scope (the
nation or one agency), a format and a language. The sweep is resolved first
(cheap); the rendered bytes are then cached under (sweep, its state and end,
format, scope, language, waivers file version): a finished sweep's report
does not change, so a second request costs nothing. A running sweep's report
is rendered each time. The cache is a bounded LRU (entries and bytes); two
requests for the same report while it renders share one rendering, and at
most ``workers`` reports render at once (a national report takes seconds and
hundreds of MB).
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.metrics.collector import read_store
from orchestrator.reports import FORMATS, writer
from orchestrator.reports.build import build_report
from orchestrator.store import Store, Sweep, SweepState
from orchestrator.waivers import load_waivers

log = logging.getLogger(__name__)

# Formats served over HTTP (names of orchestrator.reports.FORMATS) and their media types.
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "sarif": "application/sarif+json",
    "csv": "text/csv; charset=utf-8",
}
assert MEDIA_TYPES.keys() <= FORMATS.keys()
CACHE_ENTRIES = 64
CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ReportRequest:
    sweep: Sweep
    fmt: str
    agency: str | None  # None: the national report
    lang: str


class ReportCache:
    """Rendered reports of one store; ``render`` is awaited by the request handlers."""

    def __init__(
        self,
        store_path: Path,
        waivers_path: Path | None = None,
        *,
        workers: int = 2,
        max_entries: int = CACHE_ENTRIES,
        max_bytes: int = CACHE_BYTES,
    ):
        self.store_path = store_path
        self.waivers_path = waivers_path
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._rendering: dict[tuple[Any, ...], Future[bytes]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="interop-report")
        self.renders = 0  # reports rendered since start (the cache's effect, for tests and logs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def sweep(self, reference: str) -> Sweep:
        """The sweep a request names (UnknownSweep, AmbiguousSweep, StoreNotFound otherwise). Blocking."""
        return read_store(self.store_path, lambda store: store.find_sweep(reference))

    def _waivers_version(self) -> tuple[Any, ...] | None:
        if self.waivers_path is None:
            return None
        stat = self.waivers_path.stat()
        return (stat.st_mtime_ns, stat.st_size, datetime.now(UTC).date())  # waivers expire by day

    async def render(self, request: ReportRequest) -> bytes:
        """The report's bytes, from the cache or rendered now (ReportError, store errors raise)."""
        sweep = request.sweep
        key = (
            sweep.id,
            sweep.state.value,
            sweep.finished_at,
            request.fmt,
            request.agency,
            request.lang,
            self._waivers_version(),
        )
        cacheable = sweep.state is not SweepState.RUNNING
        with self._lock:
            if cacheable and key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            future = self._rendering.get(key)
            started = future is None
            if future is None:
                future = self._pool.submit(self._render, request)
                self._rendering[key] = future
        if started:  # outside the lock: a future already done runs its callback here, at once
            future.add_done_callback(lambda done: self._finished(key, done, cacheable))
        return await asyncio.wrap_future(future)

    def _finished(self, key: tuple[Any, ...], future: Future[bytes], cacheable: bool) -> None:
        with self._lock:
            self._rendering.pop(key, None)
            if not cacheable or future.cancelled() or future.exception() is not None:
                return
            body = future.result()
            if len(body) > self.max_bytes // 4:
                return  # one huge report must not evict everything else
            self._cache[key] = body
            self._bytes += len(body)
            while len(self._cache) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._cache.popitem(last=False)
                self._bytes -= len(evicted)

    def _render(self, request: ReportRequest) -> bytes:
        waivers = None
        if self.waivers_path is not None:
            waivers = load_waivers(self.waivers_path, as_of=datetime.now(UTC).date())
        write = writer(request.fmt)

        def produce(store: Store) -> str:
            report = build_report(
                store, request.sweep.id, agency=request.agency, lang=request.lang, waivers=waivers
            )
            out = io.StringIO(newline="")  # the CSV writer's CRLF stays as it is
            write(report, out)
            return out.getvalue()

        text = read_store(self.store_path, produce)
        self.renders += 1
        scope = f"agency {request.agency}" if request.agency else "national"
        log.info(
            "rendered the %s %s report of sweep %s (%s): %d bytes",
            scope,
            request.fmt,
            request.sweep.id,
            request.lang,
            len(text),
        )
        return text.encode("utf-8")
