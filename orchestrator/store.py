"""The results store: sweeps, their endpoints, outcomes and check results in SQLite.

One database holds the whole history. A sweep is created with its endpoint
list; every finished endpoint gets one *outcome* row (the "done" marker that
resume relies on) and one *result* row per check, written in the same
transaction so a reader never sees an endpoint half-recorded.

Concurrency model: the sweep driver is the only writer; readers (the CLI,
``interop serve``) read while it writes. WAL mode makes that work without
blocking. Each thread (and each process after a fork) gets its own
connection; ``busy_timeout`` absorbs the short moments when two writers meet
(a migration at open, a reader's checkpoint).

Memory stays flat whatever the sweep size: reads that can be large
(``results``, ``outcomes``, ``diff``) iterate cursors instead of fetching
whole sweeps.

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

import enum
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from orchestrator.migrations import NewerSchemaError, OlderSchemaError, migrate, require_current
from probes.model import ProbeReport, Severity, Status

# --------------------------------------------------------------------------
# Plain records in and out.
# --------------------------------------------------------------------------


class StoreError(Exception):
    """A problem the user can act on (bad id, missing store, newer schema)."""


class StoreNotFound(StoreError):
    pass


class UnknownSweep(StoreError):
    pass


class AmbiguousSweep(StoreError):
    def __init__(self, prefix: str, candidates: list[str]):
        self.prefix = prefix
        self.candidates = candidates
        shown = ", ".join(candidates[:5]) + (" …" if len(candidates) > 5 else "")
        super().__init__(f"sweep id prefix {prefix!r} is ambiguous: matches {shown}")


class SweepState(str, enum.Enum):
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    COMPLETE = "complete"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class EndpointRecord:
    """One endpoint of a sweep as the planner describes it; ``endpoint_id`` is the URL."""

    endpoint_id: str
    url: str
    protocol: str
    agency: str | None = None
    agency_level: str | None = None
    province: str | None = None
    application: str | None = None
    vantage: str | None = None


@dataclass(frozen=True)
class Recording:
    """One finished endpoint for ``record_many``."""

    endpoint_id: str
    report: ProbeReport
    attempts: int = 1
    error_class: str | None = None
    worker: str | None = None


@dataclass(frozen=True)
class Sweep:
    id: str
    inventory_path: str
    inventory_hash: str
    inventory_name: str
    profile: str
    profile_hash: str
    engine: str
    started_at: datetime
    finished_at: datetime | None
    state: SweepState
    total_endpoints: int
    options: dict[str, Any]

    @property
    def duration_s(self) -> float | None:
        """Wall time so far (until now while running); None if interrupted without an end."""
        if self.finished_at is not None:
            return (self.finished_at - self.started_at).total_seconds()
        if self.state is SweepState.RUNNING:
            return (datetime.now(timezone.utc) - self.started_at).total_seconds()
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inventory_path": self.inventory_path,
            "inventory_hash": self.inventory_hash,
            "inventory_name": self.inventory_name,
            "profile": self.profile,
            "profile_hash": self.profile_hash,
            "engine": self.engine,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at) if self.finished_at else None,
            "state": self.state.value,
            "total_endpoints": self.total_endpoints,
            "options": self.options,
        }


@dataclass(frozen=True)
class Progress:
    """How far a sweep got: endpoints done of total and result counts by status."""

    done: int
    total: int
    unreachable: int
    by_status: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "unreachable": self.unreachable,
            "by_status": self.by_status,
        }


@dataclass(frozen=True)
class Outcome:
    endpoint_id: str
    unreachable: str | None
    error_class: str | None
    attempts: int
    duration_s: float
    facts: dict[str, Any]
    finished_at: datetime
    worker: str | None


class OutcomeBrief(NamedTuple):
    """An outcome without its facts (``Store.outcome_briefs``)."""

    endpoint_id: str
    unreachable: bool
    error_class: str | None
    duration_s: float


@dataclass(frozen=True)
class LiveProgress:
    """What the driver of a running sweep last reported (``Store.write_live``).

    ``in_flight`` is the number of endpoints handed to a running worker and not
    yet recorded; ``updated_at`` is the driver's heartbeat.
    """

    sweep_id: str
    updated_at: datetime
    pid: int | None
    in_flight: int
    workers: int


@dataclass(frozen=True)
class ResultRow:
    """One check result with the endpoint's inventory metadata joined in."""

    sweep_id: str
    endpoint_id: str
    url: str
    protocol: str
    agency: str | None
    agency_level: str | None
    province: str | None
    application: str | None
    vantage: str | None
    check_id: str
    status: Status
    severity: Severity
    reason: str
    evidence: dict[str, Any]
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "sweep_id": self.sweep_id,
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "protocol": self.protocol,
            "agency": self.agency,
            "agency_level": self.agency_level,
            "province": self.province,
            "application": self.application,
            "vantage": self.vantage,
            "check_id": self.check_id,
            "status": self.status.value,
            "severity": self.severity.value,
            "reason": self.reason,
            "evidence": self.evidence,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True)
class Summary:
    """Result counts by status: overall and per province, check and agency.

    Inner dicts map a status value to its count and only hold statuses that
    occur. Endpoints without a province or agency are grouped under ``None``.
    ``check_severity`` is each check's recorded severity (the most severe one
    if a profile changed it mid-history).
    """

    sweep_id: str
    total_endpoints: int
    done: int
    unreachable: int
    by_status: dict[str, int]
    by_province: dict[str | None, dict[str, int]]
    by_check: dict[str, dict[str, int]]
    by_agency: dict[str | None, dict[str, int]]
    check_severity: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sweep_id": self.sweep_id,
            "total_endpoints": self.total_endpoints,
            "done": self.done,
            "unreachable": self.unreachable,
            "by_status": self.by_status,
            "by_province": [{"province": k, "by_status": v} for k, v in self.by_province.items()],
            "by_check": [
                {"check_id": k, "severity": self.check_severity.get(k), "by_status": v}
                for k, v in self.by_check.items()
            ],
            "by_agency": [{"agency": k, "by_status": v} for k, v in self.by_agency.items()],
        }


@dataclass(frozen=True)
class DiffEntry:
    """One (endpoint, check) whose status differs between two sweeps.

    ``before``/``after`` is None when the check was not run on that side
    (the profile added or dropped it).
    """

    endpoint_id: str
    check_id: str
    before: Status | None
    after: Status | None
    severity: Severity
    agency: str | None
    province: str | None
    reason: str  # the newer side's reason (the older one's if the check was dropped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "check_id": self.check_id,
            "before": self.before.value if self.before else None,
            "after": self.after.value if self.after else None,
            "severity": self.severity.value,
            "agency": self.agency,
            "province": self.province,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SweepDiff:
    """What changed from sweep ``a`` (older) to sweep ``b`` (newer).

    Only endpoints done in both sweeps are compared check by check.
    """

    a: str
    b: str
    regressions: list[DiffEntry] = field(default_factory=list)
    fixes: list[DiffEntry] = field(default_factory=list)
    new_endpoints: list[str] = field(default_factory=list)
    gone_endpoints: list[str] = field(default_factory=list)
    changed: list[DiffEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "regressions": [e.to_dict() for e in self.regressions],
            "fixes": [e.to_dict() for e in self.fixes],
            "new_endpoints": self.new_endpoints,
            "gone_endpoints": self.gone_endpoints,
            "changed": [e.to_dict() for e in self.changed],
        }


# How good a status is for diffing: a move to a higher rank is a regression,
# to a lower one a fix. `error` (undetermined) has no rank: leaving a good
# status for it is a regression, reaching a good status from it a fix, and
# moves between it and warn/fail are only "changed".
_GOOD = frozenset({Status.PASS, Status.SKIP, Status.WAIVED})
_STATUS_RANK: dict[Status, int | None] = {
    Status.PASS: 0,
    Status.SKIP: 0,
    Status.WAIVED: 0,
    Status.WARN: 1,
    Status.FAIL: 2,
    Status.ERROR: None,
}


def classify_change(before: Status, after: Status) -> str:
    """``regression``, ``fix`` or ``changed`` for a status change of one check."""
    rank_before, rank_after = _STATUS_RANK[before], _STATUS_RANK[after]
    if rank_before is not None and rank_after is not None:
        if rank_after > rank_before:
            return "regression"
        if rank_after < rank_before:
            return "fix"
        return "changed"  # e.g. pass -> skip
    if before in _GOOD:
        return "regression"  # good -> error
    if after in _GOOD:
        return "fix"  # error -> good
    return "changed"  # error <-> warn/fail


# --------------------------------------------------------------------------
# The store.
# --------------------------------------------------------------------------


class Store:
    """The results database at ``path``.

    ``create=False`` refuses to create a missing database; ``read_only=True``
    opens an existing one for reading only (see "Readers" above);
    ``wal=False`` keeps the rollback journal for file systems where WAL does
    not work (network shares).
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
        try:
            self.schema_version = require_current(self._conn()) if read_only else migrate(self._conn())
        except (NewerSchemaError, OlderSchemaError) as exc:
            self.close()
            raise StoreError(str(exc)) from exc
        except BaseException:
            self.close()
            raise

    # -- connections -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("results store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        # check_same_thread=False only so close() may close every thread's
        # connection; each connection is still used by its own thread alone.
        if self.read_only:
            conn = sqlite3.connect(
                _read_only_uri(self.path), uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        with self._lock:
            self._connections.append((os.getpid(), conn))
        conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        if self.read_only:
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            self._local.pid = os.getpid()
            return conn
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT leaves it open
                conn.execute("ROLLBACK")
            raise

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
                try:
                    conn.execute("PRAGMA optimize")
                except sqlite3.Error:
                    pass  # best effort: statistics only
            conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sweeps ------------------------------------------------------------

    def create_sweep(
        self,
        *,
        inventory_path: str,
        inventory_hash: str,
        inventory_name: str,
        profile: str,
        profile_hash: str,
        engine: str,
        endpoints: list[EndpointRecord],
        options: dict[str, Any],
        started_at: datetime | None = None,
    ) -> str:
        """Create a running sweep with its endpoint list; return its id."""
        seen: set[str] = set()
        for endpoint in endpoints:
            if endpoint.endpoint_id in seen:
                raise ValueError(f"duplicate endpoint id in sweep: {endpoint.endpoint_id}")
            seen.add(endpoint.endpoint_id)
        started = (started_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        options_json = _dumps(options)
        for _ in range(10):
            sweep_id = new_sweep_id(started)
            try:
                with self._write() as conn:
                    conn.execute(
                        "INSERT INTO sweeps (id, inventory_path, inventory_hash, inventory_name, profile,"
                        " profile_hash, engine, started_at, state, total_endpoints, options)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                        (
                            sweep_id,
                            str(inventory_path),
                            inventory_hash,
                            inventory_name,
                            profile,
                            profile_hash,
                            engine,
                            _iso(started),
                            len(endpoints),
                            options_json,
                        ),
                    )
                    conn.executemany(
                        "INSERT INTO endpoints (sweep_id, endpoint_id, seq, url, protocol, agency,"
                        " agency_level, province, application, vantage)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            (
                                sweep_id,
                                e.endpoint_id,
                                seq,
                                e.url,
                                e.protocol,
                                e.agency,
                                e.agency_level,
                                e.province,
                                e.application,
                                e.vantage,
                            )
                            for seq, e in enumerate(endpoints)
                        ),
                    )
                return sweep_id
            except sqlite3.IntegrityError as exc:
                if "sweeps.id" not in str(exc):
                    raise
                # Same second, same random suffix: draw again.
        raise StoreError("could not allocate a unique sweep id")

    def set_state(self, sweep_id: str, state: SweepState | str, finished: bool | None = None) -> None:
        """Move a sweep to ``state``.

        ``finished`` stamps ``finished_at`` now (True) or clears it (False);
        by default a sweep is finished in every state but ``running``. A
        sweep leaving ``running`` also caches its status counts for listings.
        """
        state = SweepState(state)
        sweep_id = self.resolve(sweep_id)
        if finished is None:
            finished = state is not SweepState.RUNNING
        with self._write() as conn:
            counts = None
            if state is not SweepState.RUNNING:
                counts = _dumps(_status_counts(conn, sweep_id))
            conn.execute(
                "UPDATE sweeps SET state = ?, finished_at = ?, counts = ? WHERE id = ?",
                (state.value, _now() if finished else None, counts, sweep_id),
            )

    def resolve(self, sweep_id: str) -> str:
        """The full id for ``sweep_id`` or a unique prefix of one."""
        if not sweep_id:
            raise UnknownSweep("empty sweep id")
        conn = self._conn()
        if conn.execute("SELECT 1 FROM sweeps WHERE id = ?", (sweep_id,)).fetchone():
            return sweep_id
        rows = conn.execute(
            "SELECT id FROM sweeps WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 11",
            (len(sweep_id), sweep_id),
        ).fetchall()
        if not rows:
            raise UnknownSweep(f"no sweep with id or prefix {sweep_id!r} in {self.path}")
        if len(rows) > 1:
            raise AmbiguousSweep(sweep_id, [r[0] for r in rows])
        return rows[0][0]

    def get_sweep(self, sweep_id: str) -> Sweep:
        sweep_id = self.resolve(sweep_id)
        row = (
            self._conn().execute(f"SELECT {_SWEEP_COLUMNS} FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        )
        return _sweep_from_row(row)

    def list_sweeps(self, limit: int | None = 20, *, inventory_name: str | None = None) -> list[Sweep]:
        """Most recent sweeps first (by start time to the millisecond, then id)."""
        sql = f"SELECT {_SWEEP_COLUMNS} FROM sweeps"
        params: list[Any] = []
        if inventory_name is not None:
            sql += " WHERE inventory_name = ?"
            params.append(inventory_name)
        sql += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_sweep_from_row(row) for row in self._conn().execute(sql, params)]

    def latest_complete(self, inventory_name: str) -> Sweep | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_SWEEP_COLUMNS} FROM sweeps WHERE inventory_name = ? AND state = 'complete'"
                " ORDER BY started_at DESC, id DESC LIMIT 1",
                (inventory_name,),
            )
            .fetchone()
        )
        return _sweep_from_row(row) if row else None

    # -- recording ---------------------------------------------------------

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
        """Record one finished endpoint: its outcome and all its results, atomically."""
        self.record_many(sweep_id, [Recording(endpoint_id, report, attempts, error_class, worker)])

    def record_many(self, sweep_id: str, items: Iterable[Recording | tuple[str, ProbeReport]]) -> int:
        """Record several finished endpoints in one transaction; return how many.

        ``items`` are ``Recording`` objects or ``(endpoint_id, report)`` pairs.
        Recording an endpoint again replaces its outcome and its results
        (the later report is the truth; a check it no longer has is dropped),
        so a retried endpoint never leaves duplicates. ``sweep_id`` must be
        the full id (the driver holds it; no prefix lookup per batch).
        """
        recordings = [item if isinstance(item, Recording) else Recording(*item) for item in items]
        if not recordings:
            return 0
        now = _now()
        outcome_rows = []
        result_rows = []
        endpoint_keys = []
        for rec in recordings:
            report = rec.report
            endpoint_keys.append((sweep_id, rec.endpoint_id))
            outcome_rows.append(
                (
                    sweep_id,
                    rec.endpoint_id,
                    _text(report.unreachable),
                    rec.error_class,
                    rec.attempts,
                    report.duration_s,
                    _dumps(report.facts),
                    now,
                    rec.worker,
                )
            )
            for result in report.results:
                result_rows.append(
                    (
                        sweep_id,
                        rec.endpoint_id,
                        result.check_id,
                        Status(result.status).value,
                        Severity(result.severity).value,
                        _text(result.reason),
                        _dumps(result.evidence),
                        result.duration_s,
                    )
                )
        try:
            with self._write() as conn:
                conn.executemany("DELETE FROM results WHERE sweep_id = ? AND endpoint_id = ?", endpoint_keys)
                conn.executemany(
                    "INSERT OR REPLACE INTO outcomes (sweep_id, endpoint_id, unreachable, error_class,"
                    " attempts, duration_s, facts, finished_at, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    outcome_rows,
                )
                # OR REPLACE: a report listing the same check twice keeps the last.
                conn.executemany(
                    "INSERT OR REPLACE INTO results (sweep_id, endpoint_id, check_id, status, severity,"
                    " reason, evidence, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    result_rows,
                )
                conn.execute(
                    "UPDATE sweeps SET counts = NULL WHERE id = ? AND counts IS NOT NULL", (sweep_id,)
                )
        except sqlite3.IntegrityError as exc:
            if "FOREIGN KEY" not in str(exc):
                raise
            unknown = self._unknown_endpoints(sweep_id, [r.endpoint_id for r in recordings])
            raise StoreError(
                f"cannot record into sweep {sweep_id!r}: unknown sweep or endpoint(s) {unknown[:5]}"
            ) from exc
        return len(recordings)

    def _unknown_endpoints(self, sweep_id: str, endpoint_ids: list[str]) -> list[str]:
        conn = self._conn()
        return [
            endpoint_id
            for endpoint_id in endpoint_ids
            if not conn.execute(
                "SELECT 1 FROM endpoints WHERE sweep_id = ? AND endpoint_id = ?", (sweep_id, endpoint_id)
            ).fetchone()
        ]

    # -- reading -----------------------------------------------------------

    def pending(self, sweep_id: str, *, retry_errors: bool = False) -> list[str]:
        """Endpoint ids with no outcome yet, in planned order.

        ``retry_errors`` also returns endpoints whose outcome carries an
        ``error_class`` (the probe or its worker crashed), for a resume that
        retries those.
        """
        sweep_id = self.resolve(sweep_id)
        condition = "o.endpoint_id IS NULL"
        if retry_errors:
            condition += " OR o.error_class IS NOT NULL"
        cursor = self._conn().execute(
            "SELECT e.endpoint_id FROM endpoints e"
            " LEFT JOIN outcomes o ON o.sweep_id = e.sweep_id AND o.endpoint_id = e.endpoint_id"
            f" WHERE e.sweep_id = ? AND ({condition}) ORDER BY e.seq",
            (sweep_id,),
        )
        return [row[0] for row in cursor]

    def endpoints(self, sweep_id: str) -> Iterator[EndpointRecord]:
        """The sweep's endpoints in planned order."""
        sweep_id = self.resolve(sweep_id)
        cursor = self._conn().execute(
            "SELECT endpoint_id, url, protocol, agency, agency_level, province, application, vantage"
            " FROM endpoints WHERE sweep_id = ? ORDER BY seq",
            (sweep_id,),
        )
        return (EndpointRecord(*row) for row in cursor)

    def outcomes(self, sweep_id: str) -> Iterator[Outcome]:
        """Every recorded outcome, by endpoint id."""
        sweep_id = self.resolve(sweep_id)
        cursor = self._conn().execute(
            "SELECT endpoint_id, unreachable, error_class, attempts, duration_s, facts, finished_at, worker"
            " FROM outcomes WHERE sweep_id = ? ORDER BY endpoint_id",
            (sweep_id,),
        )
        return (
            Outcome(
                endpoint_id=row[0],
                unreachable=row[1],
                error_class=row[2],
                attempts=row[3],
                duration_s=row[4],
                facts=json.loads(row[5]),
                finished_at=_parse_time(row[6]),
                worker=row[7],
            )
            for row in cursor
        )

    def results(
        self,
        sweep_id: str,
        *,
        agency: str | None = None,
        status: Status | str | None = None,
    ) -> Iterator[ResultRow]:
        """Every result of the sweep with endpoint metadata, by endpoint then check.

        The id is resolved now (errors raise here); rows stream from a cursor
        as the iterator is consumed.
        """
        sweep_id = self.resolve(sweep_id)
        sql = (
            "SELECT r.sweep_id, r.endpoint_id, e.url, e.protocol, e.agency, e.agency_level, e.province,"
            " e.application, e.vantage, r.check_id, r.status, r.severity, r.reason, r.evidence,"
            " r.duration_s"
            " FROM results r JOIN endpoints e ON e.sweep_id = r.sweep_id AND e.endpoint_id = r.endpoint_id"
            " WHERE r.sweep_id = ?"
        )
        params: list[Any] = [sweep_id]
        if agency is not None:
            sql += " AND e.agency = ?"
            params.append(agency)
        if status is not None:
            sql += " AND r.status = ?"
            params.append(Status(status).value)
        sql += " ORDER BY r.endpoint_id, r.check_id"
        cursor = self._conn().execute(sql, params)
        return (
            ResultRow(
                *row[:10],
                status=Status(row[10]),
                severity=Severity(row[11]),
                reason=row[12],
                evidence=json.loads(row[13]),
                duration_s=row[14],
            )
            for row in cursor
        )

    def progress(self, sweep_id: str) -> Progress:
        """Endpoints done of total and result counts by status (cached once a sweep ends)."""
        sweep_id = self.resolve(sweep_id)
        conn = self._conn()
        conn.execute("BEGIN")  # one snapshot for the three reads
        try:
            total, cached = conn.execute(
                "SELECT total_endpoints, counts FROM sweeps WHERE id = ?", (sweep_id,)
            ).fetchone()
            done, unreachable = conn.execute(
                "SELECT COUNT(*), COUNT(unreachable) FROM outcomes WHERE sweep_id = ?", (sweep_id,)
            ).fetchone()
            by_status = json.loads(cached) if cached is not None else _status_counts(conn, sweep_id)
        finally:
            conn.execute("COMMIT")
        return Progress(done=done, total=total, unreachable=unreachable, by_status=by_status)

    def summary(self, sweep_id: str) -> Summary:
        sweep_id = self.resolve(sweep_id)
        conn = self._conn()
        by_status: dict[str, int] = {}
        by_province: dict[str | None, dict[str, int]] = {}
        by_agency: dict[str | None, dict[str, int]] = {}
        by_check: dict[str, dict[str, int]] = {}
        check_severity: dict[str, str] = {}
        conn.execute("BEGIN")  # one snapshot while the driver keeps writing
        try:
            total = conn.execute("SELECT total_endpoints FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()[0]
            done, unreachable = conn.execute(
                "SELECT COUNT(*), COUNT(unreachable) FROM outcomes WHERE sweep_id = ?", (sweep_id,)
            ).fetchone()
            # One pass over the results; the groups are bounded by agencies x
            # checks x statuses, not by the number of endpoints.
            groups = conn.execute(
                "SELECT e.province, e.agency, r.check_id, r.severity, r.status, COUNT(*) FROM results r"
                " JOIN endpoints e ON e.sweep_id = r.sweep_id AND e.endpoint_id = r.endpoint_id"
                " WHERE r.sweep_id = ? GROUP BY e.province, e.agency, r.check_id, r.severity, r.status",
                (sweep_id,),
            )
            for province, agency, check_id, severity, status, count in groups:
                for counts in (
                    by_status,
                    by_province.setdefault(province, {}),
                    by_agency.setdefault(agency, {}),
                    by_check.setdefault(check_id, {}),
                ):
                    counts[status] = counts.get(status, 0) + count
                known = check_severity.get(check_id)
                if known is None or Severity(severity).rank > Severity(known).rank:
                    check_severity[check_id] = severity
        finally:
            conn.execute("COMMIT")
        return Summary(
            sweep_id=sweep_id,
            total_endpoints=total,
            done=done,
            unreachable=unreachable,
            by_status=dict(sorted(by_status.items())),
            by_province=_sorted_groups(by_province),
            by_check=dict(sorted(by_check.items())),
            by_agency=_sorted_groups(by_agency),
            check_severity=check_severity,
        )

    def diff(self, a: str, b: str) -> SweepDiff:
        """Compare sweep ``a`` (older) with sweep ``b`` (newer); see ``classify_change``."""
        a, b = self.resolve(a), self.resolve(b)
        conn = self._conn()
        result = SweepDiff(a=a, b=b)
        conn.execute("BEGIN")
        try:
            result.new_endpoints.extend(_endpoints_only_in(conn, b, a))
            result.gone_endpoints.extend(_endpoints_only_in(conn, a, b))
            for entry in _status_changes(conn, a, b):
                if entry.before is None or entry.after is None:
                    result.changed.append(entry)
                    continue
                kind = classify_change(entry.before, entry.after)
                {"regression": result.regressions, "fix": result.fixes, "changed": result.changed}[
                    kind
                ].append(entry)
        finally:
            conn.execute("COMMIT")
        return result


    # -- live progress and lean reads (for metrics) ------------------------

    def write_live(self, sweep_id: str, *, in_flight: int, workers: int, pid: int | None = None) -> None:
        """Record the running driver's heartbeat and how many endpoints are in flight.

        Called by the sweep driver about once a second; ``interop serve`` (any
        process) reads it with ``live``. ``sweep_id`` must be the full id.
        """
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sweep_live (sweep_id, updated_at, pid, in_flight, workers)"
                " VALUES (?, ?, ?, ?, ?)",
                (sweep_id, _now(), os.getpid() if pid is None else pid, in_flight, workers),
            )

    def live(self, sweep_id: str) -> LiveProgress | None:
        """The last ``write_live`` of a sweep, or None if its driver never reported."""
        row = (
            self._conn()
            .execute(
                "SELECT sweep_id, updated_at, pid, in_flight, workers FROM sweep_live WHERE sweep_id = ?",
                (sweep_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return LiveProgress(row[0], _parse_time(row[1]), row[2], row[3], row[4])

    def statuses(self, sweep_id: str) -> Iterator[tuple[str, str, str, str]]:
        """``(endpoint_id, check_id, status, severity)`` of every result as plain strings, by endpoint then check.

        What scoring needs, without reasons and evidence: about ten times faster
        than ``results`` on a national sweep.
        """
        sweep_id = self.resolve(sweep_id)
        return self._conn().execute(
            "SELECT endpoint_id, check_id, status, severity FROM results WHERE sweep_id = ?"
            " ORDER BY endpoint_id, check_id",
            (sweep_id,),
        )

    def outcome_briefs(self, sweep_id: str) -> Iterator[OutcomeBrief]:
        """Every outcome without its facts, by endpoint id."""
        sweep_id = self.resolve(sweep_id)
        cursor = self._conn().execute(
            "SELECT endpoint_id, unreachable IS NOT NULL, error_class, duration_s FROM outcomes"
            " WHERE sweep_id = ? ORDER BY endpoint_id",
            (sweep_id,),
        )
        return (OutcomeBrief(row[0], bool(row[1]), row[2], row[3]) for row in cursor)


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------

_SWEEP_COLUMNS = (
    "id, inventory_path, inventory_hash, inventory_name, profile, profile_hash, engine,"
    " started_at, finished_at, state, total_endpoints, options"
)


def _sweep_from_row(row: tuple[Any, ...]) -> Sweep:
    return Sweep(
        id=row[0],
        inventory_path=row[1],
        inventory_hash=row[2],
        inventory_name=row[3],
        profile=row[4],
        profile_hash=row[5],
        engine=row[6],
        started_at=_parse_time(row[7]),
        finished_at=_parse_time(row[8]) if row[8] else None,
        state=SweepState(row[9]),
        total_endpoints=row[10],
        options=json.loads(row[11]),
    )


def _status_counts(conn: sqlite3.Connection, sweep_id: str) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT status, COUNT(*) FROM results WHERE sweep_id = ? GROUP BY status ORDER BY status",
            (sweep_id,),
        ).fetchall()
    )


def _sorted_groups(groups: dict[str | None, dict[str, int]]) -> dict[str | None, dict[str, int]]:
    """By key, with the ``None`` group (no province/agency in the inventory) last."""
    return dict(sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or "")))


def _endpoints_only_in(conn: sqlite3.Connection, sweep_id: str, other: str) -> Iterator[str]:
    cursor = conn.execute(
        "SELECT e.endpoint_id FROM endpoints e WHERE e.sweep_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM endpoints x WHERE x.sweep_id = ? AND x.endpoint_id = e.endpoint_id)"
        " ORDER BY e.endpoint_id",
        (sweep_id, other),
    )
    return (row[0] for row in cursor)


def _status_changes(conn: sqlite3.Connection, a: str, b: str) -> Iterator[DiffEntry]:
    """Checks whose status differs, on endpoints done in both sweeps (cursor-streamed)."""
    # Pairs present on both sides with a different status.
    both = conn.execute(
        "SELECT ra.endpoint_id, ra.check_id, ra.status, rb.status, rb.severity, e.agency, e.province,"
        " rb.reason"
        " FROM results ra"
        " JOIN results rb"
        "   ON rb.sweep_id = ? AND rb.endpoint_id = ra.endpoint_id AND rb.check_id = ra.check_id"
        " JOIN endpoints e ON e.sweep_id = rb.sweep_id AND e.endpoint_id = rb.endpoint_id"
        " WHERE ra.sweep_id = ? AND ra.status != rb.status"
        " ORDER BY ra.endpoint_id, ra.check_id",
        (b, a),
    )
    for row in both:
        yield DiffEntry(
            row[0], row[1], Status(row[2]), Status(row[3]), Severity(row[4]), row[5], row[6], row[7]
        )
    # Checks run on only one side of an endpoint both sweeps finished.
    one_sided = (
        "SELECT r.endpoint_id, r.check_id, r.status, r.severity, e.agency, e.province, r.reason"
        " FROM results r"
        " JOIN endpoints e ON e.sweep_id = r.sweep_id AND e.endpoint_id = r.endpoint_id"
        " JOIN outcomes o ON o.sweep_id = ? AND o.endpoint_id = r.endpoint_id"
        " WHERE r.sweep_id = ? AND NOT EXISTS (SELECT 1 FROM results x"
        "   WHERE x.sweep_id = ? AND x.endpoint_id = r.endpoint_id AND x.check_id = r.check_id)"
        " ORDER BY r.endpoint_id, r.check_id"
    )
    for row in conn.execute(one_sided, (b, a, b)):  # dropped in b
        yield DiffEntry(row[0], row[1], Status(row[2]), None, Severity(row[3]), row[4], row[5], row[6])
    for row in conn.execute(one_sided, (a, b, a)):  # added in b
        yield DiffEntry(row[0], row[1], None, Status(row[2]), Severity(row[3]), row[4], row[5], row[6])


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


def new_sweep_id(started: datetime) -> str:
    """``YYYYMMDD-HHMMSS-xxxx`` in UTC: sorts by start time, random suffix against collisions."""
    return f"{started.astimezone(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _now() -> str:
    return _iso(datetime.now(timezone.utc))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _dumps(value: Any) -> str:
    # Evidence should already be JSON-safe; a stray bytes or set must not
    # lose a whole batch, so it is stored as text instead. A lone surrogate
    # (undecodable server bytes) cannot be stored as UTF-8: keep it as a JSON
    # escape, which reads back as the same string.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_fallback)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _text(value: str | None) -> str | None:
    """Free text for a TEXT column: never a lone surrogate SQLite cannot encode."""
    return None if value is None else value.encode("utf-8", "replace").decode("utf-8")


def _json_fallback(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)
