"""The read side of the results store (reports, metrics, the CLI): sweeps, their rows, summaries, diffs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store.records import (
    AmbiguousSweep,
    DiffEntry,
    LiveProgress,
    Outcome,
    OutcomeBrief,
    Progress,
    ResultRow,
    Summary,
    Sweep,
    SweepDiff,
    SweepState,
    UnknownSweep,
    endpoint_columns,
)
from probes.messages import Message
from probes.model import Severity, Status

LATEST = "latest"  # the sweep reference meaning "the newest complete sweep, else the newest"


class SweepReader:
    """Sweeps as a whole: id lookup, listings, what is left to probe, progress and the driver's heartbeat.

    A part of ``Store``: reads through its ``_conn()`` (this thread's
    connection); its ``path`` names the store in messages.
    """

    path: Path
    _conn: Callable[[], sqlite3.Connection]

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
        conn = self._conn()
        row = conn.execute(f"SELECT {_SWEEP_COLUMNS} FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        return _sweep_from_row(row)

    def find_sweep(self, reference: str) -> Sweep:
        """An id, a unique prefix, or ``latest`` (the newest complete sweep, else the newest of any state):
        what ``interop report`` and the service's ``/reports/{sweep}/`` accept."""
        if reference != LATEST:
            return self.get_sweep(reference)
        row = (
            self._conn()
            .execute(
                f"SELECT {_SWEEP_COLUMNS} FROM sweeps"
                " ORDER BY state = 'complete' DESC, started_at DESC, id DESC LIMIT 1"
            )
            .fetchone()
        )
        if row is None:
            raise UnknownSweep(f"no sweeps in {self.path}")
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
            by_status = json.loads(cached) if cached is not None else status_counts(conn, sweep_id)
        finally:
            conn.execute("COMMIT")
        return Progress(done=done, total=total, unreachable=unreachable, by_status=by_status)

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
        return LiveProgress(row[0], datetime.fromisoformat(row[1]), row[2], row[3], row[4])


class ResultReader:
    """One sweep's rows, streamed from cursors, and the summaries and diffs over them.

    A part of ``Store``: reads through its ``_conn()`` (this thread's
    connection); its ``resolve`` (``SweepReader.resolve``) turns an id prefix
    into a full id, raising for an unknown or ambiguous one.
    """

    _conn: Callable[[], sqlite3.Connection]
    resolve: Callable[[str], str]

    def endpoints(self, sweep_id: str) -> Iterator[EndpointMeta]:
        """The sweep's endpoints in planned order."""
        sweep_id = self.resolve(sweep_id)
        cursor = self._conn().execute(
            f"SELECT {endpoint_columns()} FROM endpoints WHERE sweep_id = ? ORDER BY seq", (sweep_id,)
        )
        return (EndpointMeta(*row) for row in cursor)

    def has_agency(self, sweep_id: str, agency: str) -> bool:
        """Whether the sweep has an endpoint of ``agency`` (one index lookup: the service's index page)."""
        sweep_id = self.resolve(sweep_id)
        row = (
            self._conn()
            .execute("SELECT 1 FROM endpoints WHERE sweep_id = ? AND agency = ? LIMIT 1", (sweep_id, agency))
            .fetchone()
        )
        return row is not None

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
                finished_at=datetime.fromisoformat(row[6]),
                worker=row[7],
            )
            for row in cursor
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
            "SELECT r.sweep_id, r.check_id, r.status, r.severity, r.reason, r.evidence, r.duration_s,"
            f" r.message, {endpoint_columns('e')}"
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
        return _result_rows(cursor)

    def statuses(self, sweep_id: str, *, agency: str | None = None) -> Iterator[tuple[str, str, str, str]]:
        """``(endpoint_id, check_id, status, severity)`` of every result as plain strings, by endpoint then check.

        What scoring needs, without reasons and evidence: about ten times faster
        than ``results`` on a national sweep. ``agency``: only its endpoints' results.
        """
        sweep_id = self.resolve(sweep_id)
        if agency is None:
            return self._conn().execute(
                "SELECT endpoint_id, check_id, status, severity FROM results WHERE sweep_id = ?"
                " ORDER BY endpoint_id, check_id",
                (sweep_id,),
            )
        return self._conn().execute(
            "SELECT r.endpoint_id, r.check_id, r.status, r.severity FROM results r"
            " JOIN endpoints e ON e.sweep_id = r.sweep_id AND e.endpoint_id = r.endpoint_id"
            " WHERE r.sweep_id = ? AND e.agency = ? ORDER BY r.endpoint_id, r.check_id",
            (sweep_id, agency),
        )

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
        started_at=datetime.fromisoformat(row[7]),
        finished_at=datetime.fromisoformat(row[8]) if row[8] else None,
        state=SweepState(row[9]),
        total_endpoints=row[10],
        options=json.loads(row[11]),
    )


def _result_rows(cursor: sqlite3.Cursor) -> Iterator[ResultRow]:
    """``ResultRow``s from rows of the result columns followed by the endpoint's metadata columns."""
    for sweep_id, check_id, status, severity, reason, evidence, duration_s, message, *meta in cursor:
        yield ResultRow(
            *meta,
            sweep_id=sweep_id,
            check_id=check_id,
            status=Status(status),
            severity=Severity(severity),
            reason=reason,
            evidence=json.loads(evidence),
            duration_s=duration_s,
            message=message_of(message),
        )


def message_of(stored: str | None) -> Message | None:
    """A result's stored message; None when it has none or it does not parse (the reason stands)."""
    if stored is None:
        return None
    try:
        return Message.from_dict(json.loads(stored))
    except ValueError:  # json.JSONDecodeError included
        return None


def status_counts(conn: sqlite3.Connection, sweep_id: str) -> dict[str, int]:
    """Result counts by status of one sweep, counted from its result rows."""
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
        " rb.reason, rb.message"
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
            row[0],
            row[1],
            Status(row[2]),
            Status(row[3]),
            Severity(row[4]),
            row[5],
            row[6],
            row[7],
            message_of(row[8]),
        )
    # Checks run on only one side of an endpoint both sweeps finished.
    one_sided = (
        "SELECT r.endpoint_id, r.check_id, r.status, r.severity, e.agency, e.province, r.reason, r.message"
        " FROM results r"
        " JOIN endpoints e ON e.sweep_id = r.sweep_id AND e.endpoint_id = r.endpoint_id"
        " JOIN outcomes o ON o.sweep_id = ? AND o.endpoint_id = r.endpoint_id"
        " WHERE r.sweep_id = ? AND NOT EXISTS (SELECT 1 FROM results x"
        "   WHERE x.sweep_id = ? AND x.endpoint_id = r.endpoint_id AND x.check_id = r.check_id)"
        " ORDER BY r.endpoint_id, r.check_id"
    )
    for row in conn.execute(one_sided, (b, a, b)):  # dropped in b
        yield DiffEntry(
            row[0], row[1], Status(row[2]), None, Severity(row[3]), row[4], row[5], row[6], message_of(row[7])
        )
    for row in conn.execute(one_sided, (a, b, a)):  # added in b
        yield DiffEntry(
            row[0], row[1], None, Status(row[2]), Severity(row[3]), row[4], row[5], row[6], message_of(row[7])
        )
