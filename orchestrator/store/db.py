"""Connections to the results database: one per thread and process, WAL, read-only mode, the schema at open.

Concurrency model: the sweep driver is the only writer; readers (the CLI,
``interop serve``) read while it writes. WAL mode makes that work without
blocking. Each thread (and each process after a fork) gets its own
connection; ``busy_timeout`` absorbs the short moments when two writers meet
(a migration at open, a reader's checkpoint).

Durability: ``synchronous=NORMAL`` in WAL mode survives a killed process
(what resume needs) without an fsync per batch; only a power loss can drop
the last few committed batches, which resume then re-probes.

Readers (``read_only=True``: ``sweep list/show/diff``, ``report``, ``serve``)
never write the database, never migrate it and set no persistent pragma: they
open it with SQLite's ``mode=ro`` and ``query_only``, so they work where the
store's directory is read-only (systemd ``ReadOnlyPaths=``), and they refuse
a store of an older schema (a writer upgrades it: ``interop sweep migrate``).
A WAL database is read through its ``-wal``/``-shm`` files. While a writer
has it open those exist and the reader shares them. When none is open, a
reader that cannot create them, or would create them owned by another user
than the store's (the next writer could not use them), opens the file
``immutable``: nobody is writing then, and the file holds every commit. (A
writer that starts meanwhile writes to its new WAL; only a checkpoint, after
~1000 pages of new results, touches the file such a reader is reading.)
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.store.migrations import NewerSchemaError, OlderSchemaError, migrate, require_current
from orchestrator.store.records import StoreError, StoreNotFound


class Database:
    """The SQLite file at ``path`` and its connections (see "Concurrency model" and "Readers" above).

    ``create=False`` refuses to create a missing database, as does
    ``read_only``; ``wal=False`` keeps the rollback journal for file systems
    where WAL does not work (network shares).
    """

    def __init__(self, path: Path, *, create: bool, wal: bool, busy_timeout_s: float, read_only: bool):
        self.path = path
        self.read_only = read_only
        if not self.path.exists():
            if read_only or not create:
                raise StoreNotFound(f"no results store at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._wal = wal
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []  # (pid, connection)
        self._lock = threading.Lock()
        self._closed = False

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process, opened on first use."""
        if self._closed:
            raise StoreError("results store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        # check_same_thread=False only so close() may close every thread's
        # connection; each connection is still used by its own thread alone.
        target = _read_only_uri(self.path) if self.read_only else self.path
        conn = sqlite3.connect(target, uri=self.read_only, isolation_level=None, check_same_thread=False)
        with self._lock:
            self._connections.append((os.getpid(), conn))
        conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        if self.read_only:
            conn.execute("PRAGMA query_only = ON")
        else:
            # Before WAL: takes effect only in a new, empty database (an older store switches at its
            # first compaction, orchestrator.store.compact), and lets compaction give space back.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            if self._wal:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"could not switch {self.path} to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_size_limit = 67108864")  # trim the WAL back to 64 MiB
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            connections, self._connections = self._connections, []
        for pid, conn in connections:
            if pid != os.getpid():
                # Inherited through fork: closing it here would drop the
                # parent's file locks. Leave it to the parent.
                continue
            if not self.read_only:
                with contextlib.suppress(sqlite3.Error):  # best effort: statistics only
                    conn.execute("PRAGMA optimize")
            conn.close()


def open_schema(conn: sqlite3.Connection, *, read_only: bool) -> int:
    """The schema version at open: a writer migrates to the latest, a reader requires it (see "Readers")."""
    try:
        return require_current(conn) if read_only else migrate(conn)
    except (NewerSchemaError, OlderSchemaError) as exc:
        raise StoreError(str(exc)) from exc


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on ``conn``, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT leaves it open
            conn.execute("ROLLBACK")
        raise


_SQLITE_MAGIC = b"SQLite format 3\x00"
_WAL_FORMAT = 2  # header bytes 18-19 (read/write format version): 1 rollback journal, 2 WAL


def _read_only_uri(path: Path) -> str:
    """The URI a reader opens ``path`` with, so that it never writes it (see "Readers")."""
    resolved = path.resolve()  # SQLite names the -wal file after the real file
    uri = resolved.as_uri() + "?mode=ro"
    writer_open = Path(f"{resolved}-wal").exists()
    if _in_wal_mode(resolved) and not writer_open and not _may_create_beside(resolved):
        uri += "&immutable=1"
    return uri


def _in_wal_mode(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False  # let SQLite say what is wrong with it
    return header[:16] == _SQLITE_MAGIC and len(header) == 20 and header[18] == _WAL_FORMAT


def _may_create_beside(path: Path) -> bool:
    """Whether SQLite may create the -wal/-shm files: a writable directory, and the store is ours."""
    try:
        owner = path.stat().st_uid
    except OSError:
        return False
    return owner == os.geteuid() and os.access(path.parent, os.W_OK | os.X_OK)
