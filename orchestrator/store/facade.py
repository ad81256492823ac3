"""``Store``, the one object callers hold: opens the database; its methods are those of the write and read parts."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from orchestrator.store.db import Database, open_schema
from orchestrator.store.read import ResultReader, SweepReader
from orchestrator.store.write import SweepWriter


class Store(SweepWriter, SweepReader, ResultReader):
    """The results database at ``path``.

    ``create=False`` refuses to create a missing database; ``read_only=True``
    opens an existing one for reading only (see "Readers" in ``db``);
    ``wal=False`` keeps the rollback journal for file systems where WAL does
    not work (network shares).

    Its methods come from its parts, documented there: ``write.SweepWriter``
    (the driver's side), ``read.SweepReader`` (sweeps as a whole) and
    ``read.ResultReader`` (one sweep's rows, summaries and diffs). Every part
    reads and writes through ``_conn``, so a subclass may adjust the
    connections (``metrics.collector.ReaderStore`` does).
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
        self._db = Database(
            self.path, create=create, wal=wal, busy_timeout_s=busy_timeout_s, read_only=read_only
        )
        try:
            self.schema_version = open_schema(self._conn(), read_only=read_only)
        except BaseException:
            self.close()
            raise

    def _conn(self) -> sqlite3.Connection:
        return self._db.connection()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
