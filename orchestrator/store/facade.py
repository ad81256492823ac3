"""``Store``, the one object callers hold: opens the database, hands each call to the write or read side."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store.db import Database, open_schema
from orchestrator.store.read import ResultReader, SweepReader
from orchestrator.store.records import (
    LiveProgress,
    Outcome,
    OutcomeBrief,
    Progress,
    Recording,
    ResultRow,
    Summary,
    Sweep,
    SweepDiff,
    SweepState,
)
from orchestrator.store.write import SweepWriter
from probes.model import ProbeReport, Status


class Store:
    """The results database at ``path``.

    ``create=False`` refuses to create a missing database; ``read_only=True``
    opens an existing one for reading only (see "Readers" in ``db``);
    ``wal=False`` keeps the rollback journal for file systems where WAL does
    not work (network shares).

    Each method is its part's, documented there: ``write.SweepWriter``,
    ``read.SweepReader``, ``read.ResultReader``. Every part reads and writes
    through ``_conn``, so a subclass may adjust the connections
    (``metrics.collector.ReaderStore`` does).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        wal: bool = True,
        busy_timeout_s: float = 10.0,
        read_only: bool = False,
    ):
        self.path = Path(path)
        self.read_only = read_only
        self._db = Database(
            self.path, create=create, wal=wal, busy_timeout_s=busy_timeout_s, read_only=read_only
        )
        self._sweeps = SweepReader(self._conn, self.path)
        self._results = ResultReader(self._conn, self._sweeps.resolve)
        self._writer = SweepWriter(self._conn, self._sweeps.resolve)
        try:
            self.schema_version = open_schema(self._conn(), read_only=read_only)
        except BaseException:
            self.close()
            raise

    def _conn(self) -> sqlite3.Connection:
        return self._db.connection()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the write side (write.SweepWriter) --------------------------------

    def create_sweep(
        self,
        *,
        inventory_path: str,
        inventory_hash: str,
        inventory_name: str,
        profile: str,
        profile_hash: str,
        engine: str,
        endpoints: list[EndpointMeta],
        options: dict[str, Any],
        started_at: datetime | None = None,
    ) -> str:
        return self._writer.create_sweep(
            inventory_path=inventory_path,
            inventory_hash=inventory_hash,
            inventory_name=inventory_name,
            profile=profile,
            profile_hash=profile_hash,
            engine=engine,
            endpoints=endpoints,
            options=options,
            started_at=started_at,
        )

    def set_state(self, sweep_id: str, state: SweepState | str, finished: bool | None = None) -> None:
        self._writer.set_state(sweep_id, state, finished)

    def record(
        self,
        sweep_id: str,
        endpoint_id: str,
        report: ProbeReport,
        *,
        attempts: int = 1,
        error_class: str | None = None,
        worker: str | None = None,
    ) -> None:
        self._writer.record(
            sweep_id, endpoint_id, report, attempts=attempts, error_class=error_class, worker=worker
        )

    def record_many(self, sweep_id: str, items: Iterable[Recording | tuple[str, ProbeReport]]) -> int:
        return self._writer.record_many(sweep_id, items)

    def write_live(self, sweep_id: str, *, in_flight: int, workers: int, pid: int | None = None) -> None:
        self._writer.write_live(sweep_id, in_flight=in_flight, workers=workers, pid=pid)

    # -- sweeps as a whole (read.SweepReader) ------------------------------

    def resolve(self, sweep_id: str) -> str:
        return self._sweeps.resolve(sweep_id)

    def get_sweep(self, sweep_id: str) -> Sweep:
        return self._sweeps.get_sweep(sweep_id)

    def list_sweeps(self, limit: int | None = 20, *, inventory_name: str | None = None) -> list[Sweep]:
        return self._sweeps.list_sweeps(limit, inventory_name=inventory_name)

    def latest_complete(self, inventory_name: str) -> Sweep | None:
        return self._sweeps.latest_complete(inventory_name)

    def pending(self, sweep_id: str, *, retry_errors: bool = False) -> list[str]:
        return self._sweeps.pending(sweep_id, retry_errors=retry_errors)

    def progress(self, sweep_id: str) -> Progress:
        return self._sweeps.progress(sweep_id)

    def live(self, sweep_id: str) -> LiveProgress | None:
        return self._sweeps.live(sweep_id)

    # -- one sweep's rows, summaries and diffs (read.ResultReader) ---------

    def endpoints(self, sweep_id: str) -> Iterator[EndpointMeta]:
        return self._results.endpoints(sweep_id)

    def outcomes(self, sweep_id: str) -> Iterator[Outcome]:
        return self._results.outcomes(sweep_id)

    def outcome_briefs(self, sweep_id: str) -> Iterator[OutcomeBrief]:
        return self._results.outcome_briefs(sweep_id)

    def results(
        self,
        sweep_id: str,
        *,
        agency: str | None = None,
        status: Status | str | None = None,
    ) -> Iterator[ResultRow]:
        return self._results.results(sweep_id, agency=agency, status=status)

    def statuses(self, sweep_id: str) -> Iterator[tuple[str, str, str, str]]:
        return self._results.statuses(sweep_id)

    def summary(self, sweep_id: str) -> Summary:
        return self._results.summary(sweep_id)

    def diff(self, a: str, b: str) -> SweepDiff:
        return self._results.diff(a, b)
