"""What a testbed run started, written down as it happens, so anything can clean it up.

A ``Ledger`` is an append-only JSON-lines file in the run's work directory.
Every server process is recorded right after it is spawned (pid, the argv it
was started with, its start time in clock ticks since boot) and every network
namespace right before it is created. ``Fleet.stop()`` and
``interop testbed down`` both call ``clean_up``, which works from the file
alone: a run killed with SIGKILL leaves the file behind and nothing else is
needed.

A pid is only signalled after ``/proc/<pid>`` shows the same start time and
a command line containing the recorded command, so a pid the kernel has
since given to someone else is never touched. Children a server forked (an
sshd's per-connection processes) are found through ``/proc/*/stat`` parent
links and stopped by pid too. Namespaces are deleted only if they carry the
``spbe-`` prefix the testbed gives its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.processes import alive, cmdline, descendants, signal_each, start_ticks

LEDGER_NAME = "testbed-state.jsonl"
NAMESPACE_PREFIX = "spbe-"
IP = "/usr/sbin/ip" if Path("/usr/sbin/ip").exists() else "/sbin/ip"
TERM_GRACE_S = 3.0


@dataclass(frozen=True)
class RecordedProcess:
    pid: int
    command: tuple[str, ...]  # the server's own argv (without an ``ip netns exec`` wrapper)
    ticks: int | None
    name: str = ""

    def is_ours(self) -> bool:
        """Same start time, and the command line still shows the command we started.

        sshd rewrites its command line (``sshd: /usr/sbin/sshd -D … [listener] …``),
        so containment is what is checked, not equality.
        """
        if self.ticks is None or start_ticks(self.pid) != self.ticks:
            return False
        line = cmdline(self.pid)
        return line is not None and " ".join(self.command) in line


@dataclass
class Ledger:
    """The state file of one run directory."""

    path: Path
    _handle: Any = field(default=None, repr=False)

    @classmethod
    def in_dir(cls, workdir: Path) -> Ledger:
        return cls(Path(workdir) / LEDGER_NAME)

    def _append(self, entry: dict[str, Any]) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept for appends; close() closes it
        # One line per entry, flushed at once: the kernel keeps it even if we are SIGKILLed next.
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()

    def run(self, run_id: str) -> None:
        """The run starts: its id, and the process that owns it (``up``, or a test)."""
        pid = os.getpid()
        self._append(
            {"kind": "run", "run_id": run_id, "pid": pid, "ticks": start_ticks(pid), "started": time.time()}
        )

    def process(self, pid: int, command: Iterable[str], name: str = "") -> None:
        self._append(
            {"kind": "process", "pid": pid, "command": list(command), "ticks": start_ticks(pid), "name": name}
        )

    def namespace(self, name: str) -> None:
        if not name.startswith(NAMESPACE_PREFIX):
            raise ValueError(f"testbed namespaces are named {NAMESPACE_PREFIX}…, not {name!r}")
        self._append({"kind": "netns", "name": name})

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: nothing was started after it
        return entries

    def processes(self) -> list[RecordedProcess]:
        return [
            RecordedProcess(e["pid"], tuple(e["command"]), e.get("ticks"), e.get("name", ""))
            for e in self.entries()
            if e.get("kind") == "process"
        ]

    def namespaces(self) -> list[str]:
        names = [e["name"] for e in self.entries() if e.get("kind") == "netns"]
        return [n for n in dict.fromkeys(names) if n.startswith(NAMESPACE_PREFIX)]

    def run_ids(self) -> list[str]:
        return [e["run_id"] for e in self.entries() if e.get("kind") == "run"]

    def live_owners(self) -> list[int]:
        """Pids of the processes that started runs recorded here and are still running."""
        return [
            e["pid"]
            for e in self.entries()
            if e.get("kind") == "run" and e.get("ticks") is not None and start_ticks(e["pid"]) == e["ticks"]
        ]

    def live_processes(self) -> list[RecordedProcess]:
        return [p for p in self.processes() if p.is_ours()]


@dataclass
class CleanupReport:
    stopped: list[int] = field(default_factory=list)  # recorded server pids that were running
    children: list[int] = field(default_factory=list)  # their descendants, also stopped
    killed: list[int] = field(default_factory=list)  # of those, the ones SIGTERM did not end
    namespaces: list[str] = field(default_factory=list)  # deleted
    leftovers: list[str] = field(default_factory=list)  # what could not be removed, and why

    @property
    def clean(self) -> bool:
        return not self.leftovers


def stop_processes(processes: Iterable[RecordedProcess], grace_s: float = TERM_GRACE_S) -> CleanupReport:
    """SIGTERM every recorded process that is still ours, and its descendants; SIGKILL what remains."""
    report = CleanupReport()
    ours = [p for p in processes if p.is_ours()]
    report.stopped = [p.pid for p in ours]
    # Children first collected while their parents live: a dead parent's children get re-parented.
    children = sorted(descendants(*report.stopped))
    report.children = children
    # Identities of everything we are about to signal, so SIGKILL never hits a recycled pid.
    targets = {pid: start_ticks(pid) for pid in [*report.stopped, *children]}
    signal_each(targets, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(pid) for pid in targets):
        time.sleep(0.02)
    stubborn = [pid for pid, ticks in targets.items() if alive(pid) and start_ticks(pid) == ticks]
    signal_each(stubborn, signal.SIGKILL)
    report.killed = stubborn
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(pid) for pid in stubborn):
        time.sleep(0.02)
    report.leftovers += [f"pid {pid} survived SIGKILL" for pid in stubborn if alive(pid)]
    return report


def existing_namespaces() -> set[str]:
    result = subprocess.run([IP, "netns", "list"], capture_output=True, text=True, timeout=10)
    # Lines look like "spbe-ab12-hub" or "spbe-ab12-hub (id: 3)".
    return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}


def delete_namespaces(names: Iterable[str], report: CleanupReport) -> None:
    present = existing_namespaces()
    for name in names:
        if not name.startswith(NAMESPACE_PREFIX) or name not in present:
            continue
        result = subprocess.run([IP, "netns", "delete", name], capture_output=True, text=True, timeout=10)
        if result.returncode == 0:
            report.namespaces.append(name)
        else:
            report.leftovers.append(f"namespace {name}: {result.stderr.strip()}")


def clean_up(ledger: Ledger, grace_s: float = TERM_GRACE_S) -> CleanupReport:
    """Stop every recorded process that is still ours, then delete every recorded namespace.

    Namespaces whose names carry a recorded run id (``spbe-<run id>-…``) are
    deleted as well, should a ledger line ever be missing: the run id is
    written before anything is created.
    """
    report = stop_processes(ledger.processes(), grace_s)
    names = ledger.namespaces()
    run_prefixes = tuple(f"{NAMESPACE_PREFIX}{run_id}-" for run_id in ledger.run_ids())
    if run_prefixes:
        names += sorted(n for n in existing_namespaces() if n.startswith(run_prefixes) and n not in names)
    if names:
        delete_namespaces(names, report)
    return report
