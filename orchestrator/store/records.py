"""The plain records the results store takes and returns (sweeps, results, diffs), its errors.

Endpoints go in and come out as ``orchestrator.endpoint_meta.EndpointMeta``.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from orchestrator.endpoint_meta import META_FIELDS, EndpointMeta
from probes.messages import Message
from probes.model import ProbeReport, Severity, Status

# The ``endpoints`` table names its metadata columns after the fields of ``EndpointMeta``, in
# that order: the one map between the two. ``endpoint_values`` gives an EndpointMeta's column
# values; a row of ``endpoint_columns()`` is ``EndpointMeta(*row)``.
ENDPOINT_COLUMNS: tuple[str, ...] = META_FIELDS
endpoint_values = operator.attrgetter(*ENDPOINT_COLUMNS)


def endpoint_columns(table: str = "") -> str:
    """The metadata columns for an SQL statement, each prefixed with ``table.`` if given."""
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + name for name in ENDPOINT_COLUMNS)


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
            return (datetime.now(UTC) - self.started_at).total_seconds()
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
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(self.finished_at) if self.finished_at else None,
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultRow(EndpointMeta):
    """One check result, with the metadata of its endpoint (the fields of ``EndpointMeta``) joined in.

    ``message`` is the reason as a template (``probes.messages``; None when it has none, and for
    rows stored before templates): ``probes.messages.render_reason(reason, message, lang)``.
    """

    sweep_id: str
    check_id: str
    status: Status
    severity: Severity
    reason: str
    evidence: dict[str, Any]
    duration_s: float
    message: Message | None = None


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
    message: Message | None = None  # that reason as a template (probes.messages), if it has one

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


def iso_utc(moment: datetime) -> str:
    """How the store writes a timestamp: ISO 8601 in UTC, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
