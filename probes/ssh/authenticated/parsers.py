"""Pure parsers of what the allowlisted commands print on the host: sshd -T, os-release, date, timedatectl."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass


def parse_sshd_t(text: str) -> dict[str, list[str]]:
    """``sshd -T`` output: one ``keyword value`` per line, keywords lowercase, some repeated."""
    config: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if parts:
            config.setdefault(parts[0].lower(), []).append(parts[1] if len(parts) > 1 else "")
    return config


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of os-release(5); values may be shell-quoted."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key] = " ".join(words)[:200]
    return fields


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """sshd_config(5) time format (``90``, ``1m30s``) in seconds; ``sshd -T`` prints plain seconds."""
    parts = re.findall(r"(\d+)([smhdwSMHDW]?)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a time value: {text[:40]!r}")
    return sum(int(number) * _DURATION_UNITS[unit.lower()] for number, unit in parts)


_EPOCH = re.compile(r"\s*(\d{1,12})(?:\.(\d{1,9}))?")


def parse_epoch(text: str) -> tuple[float, float]:
    """``date +%s.%N`` as (seconds, resolution); a ``date`` without ``%N`` gives whole seconds."""
    match = _EPOCH.match(text)
    if not match:
        raise ValueError(f"unexpected date output: {text[:40]!r}")
    seconds, fraction = match.groups()
    if fraction is None:
        return int(seconds) + 0.5, 0.5
    return float(f"{seconds}.{fraction}"), 10.0 ** -len(fraction)


@dataclass(frozen=True)
class ClockSample:
    sent: float  # local wall clock when the command was sent
    received: float  # local wall clock when its output had arrived
    remote: float
    resolution: float

    @property
    def offset_s(self) -> float:
        # The remote clock was read somewhere within the round trip: assume its middle.
        return self.remote - (self.sent + self.received) / 2

    @property
    def uncertainty_s(self) -> float:
        return (self.received - self.sent) / 2 + self.resolution


def clock_offset(samples: list[ClockSample]) -> ClockSample:
    """The sample with the smallest uncertainty (shortest round trip)."""
    return min(samples, key=lambda sample: sample.uncertainty_s)


def sync_status(exit_status: int | None, output: str) -> str:
    answer = output.strip().lower()
    if exit_status == 0 and answer in ("yes", "no"):
        return answer
    return "unknown"
