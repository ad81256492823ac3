"""Processes as /proc shows them: identity (start time, command line), liveness, descendants, signals.

Shared by the testbed's ledger (stopping what a run started, never a recycled
pid) and the Ray engine (cleaning up a failed embedded start). Linux only.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3… of /proc/<pid>/stat, or None if the pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat[stat.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time since boot), or None if the pid is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def alive(pid: int) -> bool:
    """True while the pid exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def cmdline(pid: int) -> str | None:
    """The command line, arguments joined by spaces, or None if the pid is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def descendants(*roots: int) -> set[int]:
    """Every live process below ``roots`` (from /proc parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def signal_each(pids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each of ``pids``; one already gone is no error."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def reap(pids: set[int], wait_s: float) -> None:
    """Wait up to ``wait_s`` for those of ``pids`` that are our own children, so none stays a zombie."""
    deadline = time.monotonic() + wait_s
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break  # not our child (a grandchild), or already reaped
            if done:
                break
            time.sleep(0.05)
