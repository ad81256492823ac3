"""Waivers: accepted exceptions, with a justification, an approver and an expiry.

A waivers file (YAML) lists entries such as::

    waivers:
      - id: W-2025-001
        check: SSH-KEX-002            # a check id or a glob (SSH-KEX-*)
        agency: "32.73"               # optional scope; every given field must match
        application: kota-bandung-sipd
        endpoint: ssh://10.2.0.5:22   # an endpoint id/URL or a glob
        justification: Vendor appliance; replacement contracted for 2026.
        approver: Kepala Diskominfo
        expires: 2026-03-31

A waiver turns a ``fail`` or ``warn`` result inside its scope into
``waived``; ``pass``, ``skip`` and ``error`` are never waived (an error is
not known to be the accepted failure). It is applied when a report or the
metrics are produced, never written into the store, so a waiver can be
withdrawn and history stays true. A waiver that expired before the report
date is ignored and listed as expired; one that matched nothing is listed as
unmatched so stale entries get cleaned up.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import pydantic
from pydantic import BaseModel, ConfigDict, StringConstraints

from orchestrator.inventory.yaml_nodes import ConfigError, Problem, load_yaml, problems_from_validation, shown
from probes import registry
from probes.model import Status

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_AND_TIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([Tt]|\s+)\d")

WAIVABLE = frozenset({Status.FAIL.value, Status.WARN.value})

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class WaiverEntry(BaseModel):
    """One waiver as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Name
    check: Name
    agency: Name | None = None
    application: Name | None = None
    endpoint: Name | None = None
    justification: Text
    approver: Name
    expires: date

    @pydantic.field_validator("agency", "application", "id", mode="before")
    @classmethod
    def _codes_are_text(cls, value: Any) -> Any:
        # `agency: 32` in YAML is an int; agency codes are text. A float is ambiguous (32.10 reads as 32.1).
        if isinstance(value, float):
            raise ValueError(f"YAML read this as the number {value!r}: quote it, e.g. '32.10', not 32.10")
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @pydantic.field_validator("expires", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        # The YAML reader leaves dates as text; this is the one place that reads one.
        if isinstance(value, datetime) or (isinstance(value, str) and _DATE_AND_TIME.match(value.strip())):
            raise ValueError("give a date (YYYY-MM-DD), not a date and time")
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
            raise ValueError(f"give a date as YYYY-MM-DD, e.g. 2026-03-31 (got {shown(value, 40)})")
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value.strip()!r} is not a date in the calendar: {exc}") from None


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[WaiverEntry] = []  # not default_factory=list: see orchestrator.inventory.schema


@dataclass(frozen=True)
class Waiver:
    """A validated waiver with its patterns compiled."""

    entry: WaiverEntry
    check_pattern: re.Pattern[str]
    endpoint_pattern: re.Pattern[str] | None

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def expires(self) -> date:
        return self.entry.expires

    def covers(
        self, check_id: str, agency: str | None, application: str | None, endpoints: tuple[str, ...]
    ) -> bool:
        entry = self.entry
        if not self.check_pattern.fullmatch(check_id):
            return False
        if entry.agency is not None and entry.agency != agency:
            return False
        if entry.application is not None and entry.application != application:
            return False
        pattern = self.endpoint_pattern
        return pattern is None or any(pattern.fullmatch(endpoint) for endpoint in endpoints)

    def to_dict(self, as_of: date | None = None) -> dict[str, Any]:
        entry = self.entry
        data: dict[str, Any] = {
            "id": entry.id,
            "check": entry.check,
            "agency": entry.agency,
            "application": entry.application,
            "endpoint": entry.endpoint,
            "justification": entry.justification,
            "approver": entry.approver,
            "expires": entry.expires.isoformat(),
        }
        if as_of is not None:
            data["days_left"] = (entry.expires - as_of).days
        return data


class WaiverRow(NamedTuple):
    """What ``Waivers.match`` and ``apply`` read of one result, for callers that hold no ``ResultRow``."""

    status: str | Status
    check_id: str
    endpoint_id: str
    url: str
    agency: str | None
    application: str | None


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(text))


def _row_endpoints(row: Any) -> tuple[str, ...]:
    names = []
    for attribute in ("endpoint_id", "url"):
        value = getattr(row, attribute, None)
        if value and value not in names:
            names.append(value)
    return tuple(names)


def _status_value(status: Any) -> str:
    return status.value if isinstance(status, Status) else str(status)


class Waivers:
    """The waivers of one file, evaluated as of one date (the report date).

    ``apply`` is called once per result of a report (or a metrics export) and
    counts what each waiver covered; ``report`` tells which were applied,
    which expired and which matched nothing. ``reset`` starts a new count.
    """

    def __init__(self, waivers: list[Waiver], *, source: str | None = None, as_of: date | None = None):
        self.source = source
        self.as_of = as_of or datetime.now(UTC).date()
        self.all = list(waivers)
        self.active = [w for w in waivers if w.expires >= self.as_of]
        self.expired = [w for w in waivers if w.expires < self.as_of]
        self._by_check: dict[str, tuple[list[Waiver], list[Waiver]]] = {}
        self.reset()

    def reset(self) -> None:
        self.applied_counts: dict[str, int] = {w.id: 0 for w in self.all}
        self.expired_counts: dict[str, int] = {w.id: 0 for w in self.all}

    def __len__(self) -> int:
        return len(self.all)

    def _candidates(self, check_id: str) -> tuple[list[Waiver], list[Waiver]]:
        found = self._by_check.get(check_id)
        if found is None:
            found = (
                [w for w in self.active if w.check_pattern.fullmatch(check_id)],
                [w for w in self.expired if w.check_pattern.fullmatch(check_id)],
            )
            self._by_check[check_id] = found
        return found

    def match(self, row: Any) -> Waiver | None:
        """The first active waiver covering ``row`` (a fail/warn result), without counting it."""
        if _status_value(row.status) not in WAIVABLE:
            return None
        active, _ = self._candidates(row.check_id)
        if not active:
            return None
        endpoints = _row_endpoints(row)
        agency, application = getattr(row, "agency", None), getattr(row, "application", None)
        for waiver in active:
            if waiver.covers(row.check_id, agency, application, endpoints):
                return waiver
        return None

    def apply(self, row: Any) -> tuple[Status, Waiver | None]:
        """``(effective status, waiver or None)`` for one result, counting the match.

        ``row`` needs ``status`` and ``check_id``; ``agency``, ``application``,
        ``endpoint_id``/``url`` are matched when the waiver names them.
        """
        status = Status(_status_value(row.status))
        if status.value not in WAIVABLE:
            return status, None
        waiver = self.match(row)
        if waiver is not None:
            self.applied_counts[waiver.id] += 1
            return Status.WAIVED, waiver
        _, expired = self._candidates(row.check_id)
        if expired:
            endpoints = _row_endpoints(row)
            agency, application = getattr(row, "agency", None), getattr(row, "application", None)
            for old in expired:
                if old.covers(row.check_id, agency, application, endpoints):
                    self.expired_counts[old.id] += 1
                    break
        return status, None

    def report(self, *, agency: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """``{applied, expired, unmatched}``; each waiver with the number of results it covered.

        ``expired`` waivers count the results they would still cover. With
        ``agency`` only waivers scoped to that agency or that covered one of
        its results are listed, so an agency's report shows no other agency's
        waivers.
        """

        def visible(waiver: Waiver, count: int) -> bool:
            return agency is None or waiver.entry.agency == agency or count > 0

        applied: list[dict[str, Any]] = []
        expired: list[dict[str, Any]] = []
        unmatched: list[dict[str, Any]] = []
        for waiver in self.active:
            count = self.applied_counts[waiver.id]
            if visible(waiver, count):
                (applied if count else unmatched).append({**waiver.to_dict(self.as_of), "results": count})
        for waiver in self.expired:
            count = self.expired_counts[waiver.id]
            if visible(waiver, count):
                expired.append({**waiver.to_dict(self.as_of), "results": count})
        return {"applied": applied, "expired": expired, "unmatched": unmatched}


def load_waivers(
    path: str | Path, *, as_of: date | None = None, known_checks: set[str] | None = None
) -> Waivers:
    """Read and validate a waivers file; ``ConfigError`` lists every problem with its line.

    ``known_checks`` (default: every registered check) catches a ``check``
    that names no check at all, which would silently waive nothing.
    """
    path = Path(path)
    filename = str(path)
    data, lines = load_yaml(path, "waivers file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        message = "a waivers file is a mapping with a `waivers:` list"
        raise ConfigError([Problem(filename, lines.line(()), "(document)", message)])
    try:
        document = WaiverFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, filename, lines)) from exc
    known = set(registry.checks()) if known_checks is None else known_checks
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    waivers = []
    for index, entry in enumerate(document.waivers):
        where = ("waivers", index)
        if entry.id in seen:
            problems.append(
                Problem(
                    filename,
                    lines.line(where + ("id",)),
                    f"waivers[{index}].id",
                    f"duplicate waiver id {entry.id!r} (first at waivers[{seen[entry.id]}])",
                )
            )
        seen.setdefault(entry.id, index)
        pattern = _pattern(entry.check)
        if not any(pattern.fullmatch(check_id) for check_id in known):
            problems.append(
                Problem(
                    filename,
                    lines.line(where + ("check",)),
                    f"waivers[{index}].check",
                    f"{entry.check!r} matches no registered check id",
                )
            )
        endpoint = _pattern(entry.endpoint) if entry.endpoint is not None else None
        waivers.append(Waiver(entry, pattern, endpoint))
    if problems:
        raise ConfigError(problems)
    return Waivers(waivers, source=filename, as_of=as_of)
