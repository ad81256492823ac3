"""What the benchmarks measure, read from /proc: CPU seconds, RSS, load, leftovers.

CPU of a process tree is the sum of ``utime + stime`` of its processes, each
read from ``/proc/<pid>/stat`` at its last sample (a process that exits
between two samples loses at most one interval of CPU). A server that forks
per connection (sshd, dropbear) reaps its children, whose CPU then shows in
its ``cutime + cstime``: ``own_and_reaped_cpu_s`` counts it.

Processes are identified by (pid, start time), so a recycled pid is never
mistaken for one of ours.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Stat:
    pid: int
    comm: str
    ppid: int
    cpu_s: float  # utime + stime
    reaped_cpu_s: float  # cutime + cstime: children it waited for
    start: int  # clock ticks since boot
    rss_bytes: int


def read_stat(pid: int) -> Stat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    left, right = text.index("("), text.rindex(")")
    fields = text[right + 2 :].split()  # fields[0] is field 3 (state)
    return Stat(
        pid=pid,
        comm=text[left + 1 : right],
        ppid=int(fields[1]),
        cpu_s=(int(fields[11]) + int(fields[12])) / TICK,
        reaped_cpu_s=(int(fields[13]) + int(fields[14])) / TICK,
        start=int(fields[19]),
        rss_bytes=int(fields[21]) * PAGE,
    )


def all_stats() -> dict[int, Stat]:
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def descendants(root: int, stats: dict[int, Stat]) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def status_kib(pid: int, key: str) -> int:
    """A ``VmHWM``/``VmRSS`` line of /proc/<pid>/status in KiB, 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_busy_s() -> float:
    """CPU seconds spent not idle, all cores, since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def own_and_reaped_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            total += stat.cpu_s + stat.reaped_cpu_s
    return total


def memory_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def machine() -> dict:
    return {
        "nproc": os.cpu_count(),
        "mem_total_gib": round(memory_total() / 2**30, 1),
        "kernel": os.uname().release,
    }


def loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


@dataclass
class TreeSampler:
    """Samples a process tree (``root`` and its descendants) and everything else on the machine.

    Per sample: RSS and PSS summed over the tree's processes other than the
    root, the root's VmHWM; per process, the last CPU reading. Processes of
    ``ours`` (the testbed, this benchmark) are excluded from "other".
    """

    root: int
    ours: set[int]  # roots of other trees of ours (the testbed servers): not "other" load
    interval_s: float = 1.0
    root_hwm_kib: int = 0
    children_rss_peak: int = 0
    children_pss_peak: int = 0
    ours_rss_peak: int = 0  # RSS summed over the trees of ``ours`` (the testbed)
    children_rss_samples: list[int] = field(default_factory=list)
    processes: dict[tuple[int, int], Stat] = field(default_factory=dict)  # tree: (pid, start) -> last
    others: dict[tuple[int, int], tuple[Stat, Stat]] = field(default_factory=dict)  # first, last
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        stats = all_stats()
        tree = set(descendants(self.root, stats))
        if self.root in stats:
            tree.add(self.root)
            self.root_hwm_kib = max(self.root_hwm_kib, status_kib(self.root, "VmHWM"))
        rss = pss = 0
        for pid in tree:
            stat = stats[pid]
            self.processes[(pid, stat.start)] = stat
            if pid != self.root:
                rss += stat.rss_bytes
                pss += pss_bytes(pid)
        if tree - {self.root}:
            self.children_rss_samples.append(rss)
            self.children_rss_peak = max(self.children_rss_peak, rss)
            self.children_pss_peak = max(self.children_pss_peak, pss)
        ours = set(self.ours)
        for pid in self.ours:
            ours.update(descendants(pid, stats))
        self.ours_rss_peak = max(self.ours_rss_peak, sum(stats[p].rss_bytes for p in ours if p in stats))
        me = os.getpid()
        for pid, stat in stats.items():
            if pid in tree or pid in ours or pid == me:
                continue
            key = (pid, stat.start)
            first = self.others.get(key, (stat, stat))[0]
            self.others[key] = (first, stat)

    def tree_cpu_s(self) -> dict[str, float]:
        """CPU seconds of the tree by process kind (the root is 'driver')."""
        by_kind: dict[str, float] = {}
        for stat in self.processes.values():
            kind = "driver" if stat.pid == self.root else stat.comm
            by_kind[kind] = by_kind.get(kind, 0.0) + stat.cpu_s
        return {kind: round(value, 2) for kind, value in sorted(by_kind.items(), key=lambda kv: -kv[1])}

    def busiest_others(self, top: int = 5) -> list[dict]:
        """Other processes that used CPU while we sampled (the test suite, a browser ...)."""
        used = []
        for first, last in self.others.values():
            delta = last.cpu_s - first.cpu_s
            if delta >= 0.5:
                used.append({"pid": last.pid, "comm": last.comm, "cpu_s": round(delta, 1)})
        return sorted(used, key=lambda item: -item["cpu_s"])[:top]

    def leftovers(self) -> list[dict]:
        """Processes of the tree still alive (same pid and start time)."""
        alive = []
        for (pid, start), stat in self.processes.items():
            now = read_stat(pid)
            if now is not None and now.start == start:
                alive.append({"pid": pid, "comm": stat.comm})
        return alive


def still_alive(pids_and_starts: list[tuple[int, int]]) -> list[int]:
    alive = []
    for pid, start in pids_and_starts:
        now = read_stat(pid)
        if now is not None and now.start == start:
            alive.append(pid)
    return alive


def endpoint_kind(ref) -> str:
    """``grpc/conformant``, ``grpc/conformant+interop`` (declares grpc.testing.TestService,
    so the 14 interop cases run), ``ssh/default`` …: endpoints that cost alike."""
    from orchestrator.inventory.synthetic import INTEROP_SERVICE
    from orchestrator.testbed.fleet_plan import behaviour_of

    interop = "+interop" if INTEROP_SERVICE in ref.services else ""
    return f"{ref.protocol}/{behaviour_of(ref)}{interop}"
