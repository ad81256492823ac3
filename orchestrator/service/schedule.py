"""When the service sweeps: ``--every`` (an interval) or ``--cron`` (a 5-field cron expression).

``--every``: a number and a unit, or several (``30m``, ``6h``, ``1d``,
``1h30m``; units ``UNITS``), at least ``MIN_EVERY_S``. The interval runs from
the start of the inventory's newest sweep in the store, so a restart of the
service does not sweep again early; with no sweep yet, the first runs at once.

``--cron``: minute, hour, day of month, month, day of week (croniter's
syntax: ``0 */6 * * *``), in UTC unless the expression starts with
``CRON_TZ=<IANA zone>`` (``CRON_TZ=Asia/Jakarta 0 1 * * 0``: Sundays at 01:00
WIB), as cronie reads it.

A run that falls due while a sweep is still running is not queued: the next
run is the first one due after the sweep ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY_S = 60
_EVERY = re.compile(r"(\d+)([a-z])")
_TZ_PREFIX = "CRON_TZ="
CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")


@dataclass(frozen=True)
class Schedule:
    """An interval (``every_s``) or a cron expression (``cron`` in ``timezone``); exactly one is set."""

    text: str  # as given: "6h", "0 */6 * * *"
    every_s: int | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def next_run(self, *, now: datetime, last_start: datetime | None) -> datetime:
        """The next run after a sweep started at ``last_start`` (None: none yet); never before ``now``."""
        if self.every_s is not None:
            if last_start is None:
                return now
            return max(now, last_start + timedelta(seconds=self.every_s))
        assert self.cron is not None
        zone = ZoneInfo(self.timezone)
        return croniter(self.cron, now.astimezone(zone)).get_next(datetime).astimezone(UTC)

    def describe(self) -> str:
        if self.every_s is not None:
            return f"every {self.text}"
        return f"cron {self.cron} ({self.timezone})"

    def to_dict(self) -> dict[str, object]:
        return {
            "every_s": self.every_s,
            "cron": self.cron,
            "timezone": self.timezone,
            "text": self.describe(),
        }


def _parse_every(text: str) -> Schedule:
    compact = text.strip().lower().replace(" ", "")
    parts = _EVERY.findall(compact)
    if not compact or "".join(f"{n}{u}" for n, u in parts) != compact:
        raise ValueError(f"--every {text!r}: give a number and a unit ({', '.join(UNITS)}), e.g. 30m, 6h, 1d")
    unknown = sorted({unit for _, unit in parts} - UNITS.keys())
    if unknown:
        raise ValueError(f"--every {text!r}: unknown unit {unknown[0]!r} (use {', '.join(UNITS)})")
    seconds = sum(int(n) * UNITS[unit] for n, unit in parts)
    if seconds < MIN_EVERY_S:
        raise ValueError(f"--every {text!r}: at least {MIN_EVERY_S // 60}m between sweeps")
    return Schedule(text=text.strip(), every_s=seconds)


def _parse_cron(text: str) -> Schedule:
    expression, zone = text.strip(), "UTC"
    if expression.startswith(_TZ_PREFIX):
        zone, _, expression = expression[len(_TZ_PREFIX) :].partition(" ")
        expression = expression.strip()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"--cron {text!r}: unknown time zone {zone!r} (an IANA name: Asia/Jakarta)"
            ) from None
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError(
            f"--cron {text!r}: {len(fields)} fields; give {len(CRON_FIELDS)} ({', '.join(CRON_FIELDS)}), "
            'e.g. "0 */6 * * *"'
        )
    try:
        croniter(expression)
    except (ValueError, KeyError) as exc:  # croniter's errors are ValueErrors
        raise ValueError(f"--cron {text!r}: {exc}") from None
    return Schedule(text=text.strip(), cron=expression, timezone=zone)


def parse_schedule(every: str | None, cron: str | None) -> Schedule | None:
    """The schedule of ``--every`` or ``--cron``; None when neither is given.

    Raises ``ValueError`` with a reason a user can act on (both given, a bad
    interval or unit, too short, not 5 fields, a field out of range, an
    unknown time zone).
    """
    if every is not None and cron is not None:
        raise ValueError("give --every or --cron, not both")
    if every is not None:
        return _parse_every(every)
    if cron is not None:
        return _parse_cron(cron)
    return None
