"""Retention: keep the newest sweeps in full, compact older ones to what history still needs.

A national sweep writes ~1.2 million result rows; most of their bytes are the
reason, the evidence and the message of each result, which only a report of
that very sweep shows. ``compact_store`` keeps the ``keep`` newest complete
sweeps of each inventory in full and compacts every older complete sweep, one
write transaction per sweep (a crash leaves each sweep either compacted or
not):

* each result keeps its endpoint, check, status and severity (what trends,
  diffs of consecutive sweeps, ``Store.statuses``/``summary`` and scores read);
  its reason becomes ``''``, evidence ``'{}'``, message NULL, duration 0;
* each outcome keeps whether it was reachable, its error class, attempts and
  duration; of its facts only ``KEPT_FACTS`` (what the metrics of a later
  sweep compare with: SSH host keys, the certificate's expiry);
* the sweep row (with its cached counts) and its endpoints stay as they are;
  ``sweeps.compacted_at`` records when, so a second run skips it (idempotent).

Rows are deleted and written again rather than updated in place: an update
shrinks rows inside their pages and frees no page, a rewrite packs them
densely and frees whole pages. The space is then given back to the file
system: ``PRAGMA incremental_vacuum`` when the store has incremental
auto-vacuum (stores created since schema 5), otherwise one ``VACUUM`` that
also switches the store to it (once: it rewrites the whole file and needs
free disk space the size of the store for the WAL copy). Readers
(``interop serve``) keep reading through all of it (WAL).

Never touched: sweeps that are not ``complete`` (running, interrupted or
failed sweeps are resumable; a report of them must stay whole). Compaction
holds the store's lock (``orchestrator.store.lock``) throughout, so it never
runs beside a sweep driver; a busy store raises ``StoreBusy``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.store.facade import Store
from orchestrator.store.lock import StoreLock
from orchestrator.store.records import iso_utc

DEFAULT_KEEP = 8  # two days of four sweeps a day, in full

# Facts an outcome keeps when compacted: (probe family, fact name). The metrics of the sweep after
# it compare host keys with it; the certificate's expiry is kept for the record (a few bytes).
KEPT_FACTS: tuple[tuple[str, str], ...] = (("ssh", "host_keys"), ("tls", "not_after"))

_AUTO_VACUUM_INCREMENTAL = 2  # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental


@dataclass
class Compaction:
    """What ``compact_store`` did."""

    keep: int
    compacted: list[str] = field(default_factory=list)  # sweep ids compacted by this run
    kept: list[str] = field(default_factory=list)  # complete sweeps kept in full
    earlier: int = 0  # complete sweeps compacted by an earlier run
    reclaim: str = "none"  # how space was given back: none, incremental vacuum, vacuum
    bytes_before: int = 0  # database file (+ WAL) before
    bytes_after: int = 0
    stopped: bool = False  # should_stop said stop before every sweep was compacted

    def to_dict(self) -> dict[str, object]:
        return {
            "keep": self.keep,
            "compacted": self.compacted,
            "kept": self.kept,
            "compacted_earlier": self.earlier,
            "reclaim": self.reclaim,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "stopped": self.stopped,
        }


def slim_facts(facts_json: str) -> str:
    """An outcome's facts reduced to ``KEPT_FACTS`` (JSON in, JSON out; unparsable facts become ``{}``)."""
    try:
        facts = json.loads(facts_json)
    except ValueError:
        return "{}"
    kept: dict[str, dict[str, object]] = {}
    if isinstance(facts, dict):
        for family, name in KEPT_FACTS:
            group = facts.get(family)
            if isinstance(group, dict) and name in group:
                kept.setdefault(family, {})[name] = group[name]
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def store_bytes(path: Path) -> int:
    """The database file and its WAL, in bytes."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def compact_store(
    store_path: str | os.PathLike[str],
    keep: int = DEFAULT_KEEP,
    *,
    reclaim: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
) -> Compaction:
    """Compact every complete sweep older than the ``keep`` newest of its inventory; see the module doc.

    Raises ``StoreNotFound`` for a missing store and ``StoreBusy`` while a sweep
    driver or another compaction holds the store. ``should_stop`` is asked
    before each sweep: a stop leaves the rest for the next run.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    store_path = Path(store_path)
    with Store(store_path, create=False) as store, StoreLock(store_path):
        done = Compaction(keep=keep, bytes_before=store_bytes(store_path))
        conn = store._conn()
        victims = _plan(conn, keep, done)
        for sweep_id in victims:
            if should_stop():
                done.stopped = True
                break
            _compact_sweep(conn, sweep_id)
            done.compacted.append(sweep_id)
        if reclaim and done.compacted:
            done.reclaim = _reclaim(conn)
        done.bytes_after = store_bytes(store_path)
    return done


def _plan(conn: sqlite3.Connection, keep: int, done: Compaction) -> list[str]:
    """Complete sweeps beyond the ``keep`` newest of their inventory and not yet compacted, oldest first."""
    rows = conn.execute(
        "SELECT id, compacted_at, ROW_NUMBER() OVER ("
        "  PARTITION BY inventory_name ORDER BY started_at DESC, id DESC) AS newness"
        " FROM sweeps WHERE state = 'complete' ORDER BY started_at, id"
    ).fetchall()
    done.kept = [sweep_id for sweep_id, _, newness in rows if newness <= keep]
    older = [(sweep_id, compacted_at) for sweep_id, compacted_at, newness in rows if newness > keep]
    done.earlier = sum(1 for _, compacted_at in older if compacted_at is not None)
    return [sweep_id for sweep_id, compacted_at in older if compacted_at is None]


_RESULT_COLUMNS = "endpoint_id, check_id, status, severity"
_OUTCOME_COLUMNS = "endpoint_id, unreachable, error_class, attempts, duration_s, facts, finished_at, worker"


def _compact_sweep(conn: sqlite3.Connection, sweep_id: str) -> None:
    """Rewrite one sweep's results and outcomes compacted, in one transaction (see the module doc)."""
    conn.create_function("slim_facts", 1, slim_facts, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # The state is checked again inside the transaction: only a complete sweep is compacted.
        state, compacted_at = conn.execute(
            "SELECT state, compacted_at FROM sweeps WHERE id = ?", (sweep_id,)
        ).fetchone()
        if state != "complete" or compacted_at is not None:
            conn.execute("ROLLBACK")
            return
        conn.execute(f"CREATE TEMP TABLE compact_results ({_RESULT_COLUMNS})")
        conn.execute(f"CREATE TEMP TABLE compact_outcomes ({_OUTCOME_COLUMNS})")
        conn.execute(
            f"INSERT INTO temp.compact_results SELECT {_RESULT_COLUMNS} FROM results WHERE sweep_id = ?",
            (sweep_id,),
        )
        conn.execute(
            "INSERT INTO temp.compact_outcomes SELECT endpoint_id, unreachable, error_class, attempts,"
            " duration_s, slim_facts(facts), finished_at, worker FROM outcomes WHERE sweep_id = ?",
            (sweep_id,),
        )
        conn.execute("DELETE FROM results WHERE sweep_id = ?", (sweep_id,))
        conn.execute("DELETE FROM outcomes WHERE sweep_id = ?", (sweep_id,))
        conn.execute(
            f"INSERT INTO outcomes (sweep_id, {_OUTCOME_COLUMNS}) SELECT ?, {_OUTCOME_COLUMNS}"
            " FROM temp.compact_outcomes ORDER BY endpoint_id",
            (sweep_id,),
        )
        conn.execute(
            f"INSERT INTO results (sweep_id, {_RESULT_COLUMNS}, reason, evidence, duration_s, message)"
            f" SELECT ?, {_RESULT_COLUMNS}, '', '{{}}', 0, NULL FROM temp.compact_results"
            " ORDER BY endpoint_id, check_id",
            (sweep_id,),
        )
        conn.execute(
            "UPDATE sweeps SET compacted_at = ? WHERE id = ?",
            (iso_utc(datetime.now(UTC)), sweep_id),
        )
        conn.execute("DROP TABLE temp.compact_results")
        conn.execute("DROP TABLE temp.compact_outcomes")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _reclaim(conn: sqlite3.Connection) -> str:
    """Give freed pages back to the file system; return how (see the module doc)."""
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == _AUTO_VACUUM_INCREMENTAL:
        # executescript steps the pragma to its end; a plain execute frees a single page.
        conn.executescript("PRAGMA incremental_vacuum;")
        how = "incremental vacuum"
    else:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("VACUUM")
        how = "vacuum"
    # Shrink the WAL the rewrite filled; a reader still on an old snapshot may keep part of it.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return how
