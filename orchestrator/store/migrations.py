"""The results store's schema as an ordered list of migrations, applied at open.

Never edit a published migration: append a new one. ``migrate`` records each
applied version in ``schema_migrations``; opening an older database upgrades
it, opening a newer one is refused.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime


class NewerSchemaError(RuntimeError):
    """The database was written by a newer program than this one."""


class OlderSchemaError(RuntimeError):
    """The database predates this program, and the connection must not upgrade it (a reader)."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sweeps, endpoints, outcomes, results",
        (
            """CREATE TABLE sweeps (
                id TEXT PRIMARY KEY,
                inventory_path TEXT NOT NULL,
                inventory_hash TEXT NOT NULL,
                inventory_name TEXT NOT NULL,
                profile TEXT NOT NULL,
                profile_hash TEXT NOT NULL,
                engine TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                state TEXT NOT NULL
                    CHECK (state IN ('running', 'interrupted', 'complete', 'failed')),
                total_endpoints INTEGER NOT NULL,
                options TEXT NOT NULL DEFAULT '{}'
            )""",
            # seq keeps the planner's order for resume.
            """CREATE TABLE endpoints (
                sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
                endpoint_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                url TEXT NOT NULL,
                protocol TEXT NOT NULL,
                agency TEXT,
                agency_level TEXT,
                province TEXT,
                application TEXT,
                vantage TEXT,
                PRIMARY KEY (sweep_id, endpoint_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE outcomes (
                sweep_id TEXT NOT NULL,
                endpoint_id TEXT NOT NULL,
                unreachable TEXT,
                error_class TEXT,
                attempts INTEGER NOT NULL,
                duration_s REAL NOT NULL,
                facts TEXT NOT NULL DEFAULT '{}',
                finished_at TEXT NOT NULL,
                worker TEXT,
                PRIMARY KEY (sweep_id, endpoint_id),
                FOREIGN KEY (sweep_id, endpoint_id)
                    REFERENCES endpoints(sweep_id, endpoint_id) ON DELETE CASCADE
            ) WITHOUT ROWID""",
            """CREATE TABLE results (
                sweep_id TEXT NOT NULL,
                endpoint_id TEXT NOT NULL,
                check_id TEXT NOT NULL,
                status TEXT NOT NULL,
                severity TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                evidence TEXT NOT NULL DEFAULT '{}',
                duration_s REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (sweep_id, endpoint_id, check_id),
                FOREIGN KEY (sweep_id, endpoint_id)
                    REFERENCES endpoints(sweep_id, endpoint_id) ON DELETE CASCADE
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        2,
        "status-count cache on sweeps; indexes for history and per-agency reads",
        (
            # Filled when a sweep reaches a final state so `sweep list` does not
            # rescan 600k results per sweep; cleared by any later write.
            "ALTER TABLE sweeps ADD COLUMN counts TEXT",
            "CREATE INDEX sweeps_by_inventory ON sweeps(inventory_name, state, started_at)",
            "CREATE INDEX endpoints_by_agency ON endpoints(sweep_id, agency)",
            "CREATE INDEX endpoints_by_seq ON endpoints(sweep_id, seq)",
        ),
    ),
    Migration(
        3,
        "live progress of running sweeps (probes in flight, driver heartbeat) for metrics",
        (
            # One row per sweep, overwritten by the driver about every second
            # (Store.write_live); `interop serve` in another process reads it.
            """CREATE TABLE sweep_live (
                sweep_id TEXT PRIMARY KEY REFERENCES sweeps(id) ON DELETE CASCADE,
                updated_at TEXT NOT NULL,
                pid INTEGER,
                in_flight INTEGER NOT NULL,
                workers INTEGER NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        4,
        "reason templates: each result's message (key and values, JSON) beside its English reason",
        (
            # NULL for a reason without a template and for every row written before; adding a
            # nullable column rewrites no row, so upgrading a national store is instant.
            "ALTER TABLE results ADD COLUMN message TEXT",
        ),
    ),
    Migration(
        5,
        "retention: when a sweep was compacted to its statuses (orchestrator.store.compact)",
        (
            # NULL: the sweep is kept in full. Set in the transaction that compacts the sweep.
            "ALTER TABLE sweeps ADD COLUMN compacted_at TEXT",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def migrate(conn: sqlite3.Connection, *, target: int | None = None) -> int:
    """Bring ``conn``'s database up to ``target`` (default: latest); return its version.

    Each migration runs in its own write transaction and is recorded in
    ``schema_migrations``; SQLite DDL is transactional, so a crash leaves the
    database at the previous version, never in between. ``conn`` must be in
    autocommit mode (``isolation_level=None``).
    """
    target = SCHEMA_VERSION if target is None else target
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone():
        # IF NOT EXISTS: two processes may open a fresh file at once.
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    current = _schema_version(conn)
    if current > SCHEMA_VERSION:
        raise _newer(current)
    for migration in MIGRATIONS:
        if migration.version <= current or migration.version > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the lock.
            if _schema_version(conn) >= migration.version:
                conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (
                    migration.version,
                    migration.description,
                    datetime.now(UTC).isoformat(timespec="milliseconds"),
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return _schema_version(conn)


def require_current(conn: sqlite3.Connection) -> int:
    """The version of ``conn``'s database, which must be this program's; reads only.

    For readers, which never migrate: an older database raises
    ``OlderSchemaError`` (a writer upgrades it), a newer one ``NewerSchemaError``.
    """
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    current = _schema_version(conn) if has_table else 0
    if current > SCHEMA_VERSION:
        raise _newer(current)
    if current < SCHEMA_VERSION:
        what = f"at schema version {current}" if current else "without a schema (never opened by a writer)"
        raise OlderSchemaError(
            f"results store is {what}, older than this program's ({SCHEMA_VERSION}); readers never change "
            "the store: upgrade it with `interop sweep migrate` (or any `interop sweep run`/`resume`) "
            "and try again"
        )
    return current


def _newer(current: int) -> NewerSchemaError:
    return NewerSchemaError(
        f"results store is at schema version {current}, newer than this program "
        f"understands ({SCHEMA_VERSION}); upgrade spbe-interop"
    )


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0])
