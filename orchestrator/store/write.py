"""The write side of the results store, used by the sweep driver: sweeps, states, endpoints, heartbeats."""

from __future__ import annotations

import enum
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store.db import write_transaction
from orchestrator.store.read import status_counts
from orchestrator.store.records import (
    ENDPOINT_COLUMNS,
    Recording,
    StoreError,
    SweepState,
    endpoint_columns,
    endpoint_values,
    iso_utc,
)
from probes.messages import Message
from probes.model import ProbeReport, Severity, Status

_INSERT_ENDPOINT = (
    f"INSERT INTO endpoints (sweep_id, seq, {endpoint_columns()})"
    f" VALUES (?, ?, {', '.join('?' * len(ENDPOINT_COLUMNS))})"
)


class SweepWriter:
    """The driver's side of ``Store``, one of its parts.

    Writes through the store's ``_conn()`` (this thread's connection); its
    ``resolve`` makes an id prefix a full id.
    """

    _conn: Callable[[], sqlite3.Connection]
    resolve: Callable[[str], str]

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
        """Create a running sweep with its endpoint list; return its id."""
        seen: set[str] = set()
        for endpoint in endpoints:
            if endpoint.endpoint_id in seen:
                raise ValueError(f"duplicate endpoint id in sweep: {endpoint.endpoint_id}")
            seen.add(endpoint.endpoint_id)
        started = (started_at or datetime.now(UTC)).astimezone(UTC)
        options_json = _dumps(options)
        for _ in range(10):
            sweep_id = new_sweep_id(started)
            try:
                with write_transaction(self._conn()) as conn:
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
                            iso_utc(started),
                            len(endpoints),
                            options_json,
                        ),
                    )
                    conn.executemany(
                        _INSERT_ENDPOINT,
                        ((sweep_id, seq, *endpoint_values(e)) for seq, e in enumerate(endpoints)),
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
        with write_transaction(self._conn()) as conn:
            counts = None
            if state is not SweepState.RUNNING:
                counts = _dumps(status_counts(conn, sweep_id))
            conn.execute(
                "UPDATE sweeps SET state = ?, finished_at = ?, counts = ? WHERE id = ?",
                (state.value, _now() if finished else None, counts, sweep_id),
            )

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
                        _message_json(result.message),
                    )
                )
        try:
            with write_transaction(self._conn()) as conn:
                conn.executemany("DELETE FROM results WHERE sweep_id = ? AND endpoint_id = ?", endpoint_keys)
                conn.executemany(
                    "INSERT OR REPLACE INTO outcomes (sweep_id, endpoint_id, unreachable, error_class,"
                    " attempts, duration_s, facts, finished_at, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    outcome_rows,
                )
                # OR REPLACE: a report listing the same check twice keeps the last.
                conn.executemany(
                    "INSERT OR REPLACE INTO results (sweep_id, endpoint_id, check_id, status, severity,"
                    " reason, evidence, duration_s, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    def write_live(self, sweep_id: str, *, in_flight: int, workers: int, pid: int | None = None) -> None:
        """Record the running driver's heartbeat and how many endpoints are in flight.

        Called by the sweep driver about once a second; ``interop serve`` (any
        process) reads it with ``live``. ``sweep_id`` must be the full id.
        """
        with write_transaction(self._conn()) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sweep_live (sweep_id, updated_at, pid, in_flight, workers)"
                " VALUES (?, ?, ?, ?, ?)",
                (sweep_id, _now(), os.getpid() if pid is None else pid, in_flight, workers),
            )


def new_sweep_id(started: datetime) -> str:
    """``YYYYMMDD-HHMMSS-xxxx`` in UTC: sorts by start time, random suffix against collisions."""
    return f"{started.astimezone(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _now() -> str:
    return iso_utc(datetime.now(UTC))


def _dumps(value: Any) -> str:
    # Evidence should already be JSON-safe; a stray bytes or set must not
    # lose a whole batch, so it is stored as text instead. A lone surrogate
    # (undecodable server bytes) cannot be stored as UTF-8: keep it as a JSON
    # escape, which reads back as the same string.
    # One reused encoder (json.dumps builds one per call with these options): a third less
    # time on the ~40 values per endpoint; ASCII text has no surrogate to escape.
    text = _VALUE_ENCODER.encode(value)
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


# A result's message as JSON (``Message.to_dict``'s shape): the write path of every result, so
# one reused encoder, nested messages through ``default``, and the JSON of messages without
# values (most rows of a sweep: skips, "not served", plain passes) made once per key. ASCII
# escapes keep a server's lone surrogates storable; they read back as the same text.
_MESSAGE_ENCODER = json.JSONEncoder(
    separators=(",", ":"), default=lambda message: {"key": message.key, "params": message.params}
)
_BARE_MESSAGES: dict[str, str] = {}


def _message_json(message: Message | None) -> str | None:
    if message is None:
        return None
    if message.params:
        return _MESSAGE_ENCODER.encode(message)
    cached = _BARE_MESSAGES.get(message.key)
    if cached is None:
        cached = _BARE_MESSAGES[message.key] = _MESSAGE_ENCODER.encode(message)
    return cached


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


_VALUE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_fallback)
