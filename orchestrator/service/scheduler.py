"""Sweeps on a schedule for ``interop serve``, each in a child process; its status and metrics.

A ``Scheduler`` owns one background thread. At start it resumes the newest
sweep of its inventory that a killed or stopped driver left ``running`` or
``interrupted`` (``interop sweep resume``: only endpoints without a recorded
outcome are probed, so nothing finished is probed twice); then, each time the
``Schedule`` falls due, it resumes such a sweep again if one is left, or runs a
new one (``interop sweep run``). A sweep that ``sweep resume`` refuses (its
inventory or profile changed: exit 2) is not tried again by this process.

Each sweep is a child process (``python -m orchestrator.cli sweep …``, in a
session of its own, ``RAY_USAGE_STATS_ENABLED=0``): a long-lived process that
starts Ray again and again is fragile, a child can be stopped and resumed.
Its stderr lines go to this module's logger; its ``--json`` outcome is read
from stdout.

Never two at once: a sweep driver holds the store's lock
(``orchestrator.store.lock``) for its whole run, whoever started it. A run
that falls due while the lock is held (another service, a manual ``sweep
run``, a compaction) is skipped, counted as ``skipped`` and shown in
``status()["last_skipped"]``; the schedule goes on.

``stop(timeout_s)`` sends SIGTERM to a running child (the sweep records what
it has, marks itself ``interrupted`` and exits 130) and waits; a child still
alive at the deadline is killed with its process group (the sweep stays
``running`` with its partial results). Either way the next start resumes it.

With ``keep``, a complete sweep is followed by ``interop store compact
--keep N`` (``orchestrator.store.compact``), also a child.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from prometheus_client.registry import Collector

from orchestrator.service.schedule import Schedule, parse_schedule
from orchestrator.service.scheduler_metrics import (
    COMPACTION_EXITS,
    COMPACTION_OUTCOMES,
    OUTCOMES,
    SchedulerCollector,
    attempt_outcome,
)
from orchestrator.store import Store, StoreError, StoreNotFound, Sweep, SweepState
from orchestrator.store.lock import StoreLock
from orchestrator.sweep import EXIT_BUSY

__all__ = ["Schedule", "Scheduler", "parse_schedule"]

log = logging.getLogger(__name__)
T = TypeVar("T")

RESUMABLE = frozenset({SweepState.RUNNING, SweepState.INTERRUPTED})
CHILD_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
POLL_S = 0.5  # how often a running child is looked at
MAX_NAP_S = 30.0  # longest single wait for the next run (the thread re-checks the time after each)
READER_JOIN_S = 5.0
TAIL_LINES = 20


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


class _Child:
    """A ``python -m orchestrator.cli …`` child in its own session; stdout kept, stderr logged."""

    def __init__(self, kind: str, argv: list[str]):
        self.kind = kind
        self.started = _now()
        self.stdout: list[str] = []
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.process = subprocess.Popen(  # noqa: S603 - argv is our own CLI (python -m orchestrator.cli)
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env={**os.environ, **CHILD_ENV},
            start_new_session=True,
        )
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout.append), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._stderr_line), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: IO[str], sink: Callable[[str], None]) -> None:
        with stream:
            for line in stream:
                sink(line.rstrip("\n"))

    def _stderr_line(self, line: str) -> None:
        if line.strip():
            self.tail.append(line)
            log.info("%s [%d]: %s", self.kind, self.process.pid, line)

    def signal(self, signum: int, *, group: bool = False) -> None:
        try:
            if group:
                os.killpg(self.process.pid, signum)  # its session's group: Ray's processes too
            elif self.process.poll() is None:
                self.process.send_signal(signum)
        except (ProcessLookupError, PermissionError):
            pass

    def finish(self) -> int:
        """After exit: read what is left, stop what it left behind in its group; its exit code."""
        code = self.process.wait()
        for reader in self._readers:
            reader.join(READER_JOIN_S)
        self.signal(signal.SIGKILL, group=True)
        return code

    def outcome_json(self) -> dict[str, Any]:
        try:
            value = json.loads("\n".join(self.stdout) or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def last_error(self) -> str:
        return next((line for line in reversed(self.tail) if "error" in line.lower()), None) or (
            self.tail[-1] if self.tail else f"exit {self.process.returncode}, no output"
        )


class Scheduler:
    """Sweeps of ``inventory`` with ``profile`` into ``store`` on ``schedule``; see the module doc.

    ``sweep_args`` go to both ``sweep run`` and ``sweep resume`` (options they
    share: ``--engine``, ``--ray-address``, ``--concurrency`` …). ``keep``: compact
    after each complete sweep, keeping that many sweeps in full.
    """

    def __init__(
        self,
        store: Path,
        inventory: Path,
        profile: str,
        schedule: Schedule,
        *,
        sweep_args: list[str] = [],  # noqa: B006 - never mutated
        keep: int | None = None,
    ):
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self.store = Path(store).resolve()
        self.inventory = Path(inventory).resolve()
        self.profile = profile
        self.schedule = schedule
        self.sweep_args = list(sweep_args)
        self.keep = keep
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: _Child | None = None
        self._unresumable: set[str] = set()
        self._last_start: datetime | None = None  # newest sweep of the inventory or our last attempt
        self._next_run: datetime | None = None
        self._running_sweep: str | None = None
        self._last_sweep: dict[str, Any] | None = None
        self._last_error: dict[str, Any] | None = None
        self._last_skipped: dict[str, Any] | None = None
        self._last_compaction: dict[str, Any] | None = None
        self._runs: Counter[str] = Counter()
        self._compactions: Counter[str] = Counter()

    # -- the public side ---------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("scheduler already started")
        self._thread = threading.Thread(target=self._main, name="interop-scheduler", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to a running child, wait up to ``timeout_s``, then kill it; the thread ends too."""
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None:
            child.signal(signal.SIGTERM)
        if self._thread is None:
            return
        self._thread.join(max(0.0, timeout_s))
        if self._thread.is_alive():
            with self._lock:
                child = self._child
            if child is not None:
                log.warning("sweep child %d did not stop within %.0f s: killed", child.process.pid, timeout_s)
                child.signal(signal.SIGKILL, group=True)
            self._thread.join(READER_JOIN_S * 2)

    def status(self) -> dict[str, Any]:
        """JSON-safe: the schedule, the next run, the running sweep, the last sweep, errors, skips."""
        with self._lock:
            child = self._child
            return {
                "schedule": self.schedule.to_dict(),
                "inventory": str(self.inventory),
                "profile": self.profile,
                "store": str(self.store),
                "keep": self.keep,
                "alive": self.alive(),
                "next_run": _iso(self._next_run),
                "running_sweep": self._running_sweep,
                "running": None
                if child is None
                else {
                    "kind": child.kind,
                    "pid": child.process.pid,
                    "since": _iso(child.started),
                    "sweep_id": self._running_sweep,
                },
                "last_sweep": dict(self._last_sweep) if self._last_sweep else None,
                "last_error": dict(self._last_error) if self._last_error else None,
                "last_skipped": dict(self._last_skipped) if self._last_skipped else None,
                "last_compaction": self._last_compaction,
                "runs": {outcome: self._runs[outcome] for outcome in OUTCOMES},
                "compactions": {outcome: self._compactions[outcome] for outcome in COMPACTION_OUTCOMES},
            }

    def collector(self) -> Collector:
        """A prometheus-client collector of ``SCHEDULER_FAMILIES`` (from ``status()``; no store reads)."""
        return SchedulerCollector(self.status, self.inventory.stem)

    # -- the thread ----------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._upgrade_store()
            self._read_history()
            left_over = self._resumable()
            if left_over is not None and not self._stopping.is_set():
                self._attempt("resume", ["sweep", "resume", left_over, "--store", str(self.store)], left_over)
            self._plan_next()
            while not self._stopping.is_set():
                remaining = (self._next_run - _now()).total_seconds() if self._next_run else MAX_NAP_S
                if remaining > 0:
                    self._stopping.wait(min(remaining, MAX_NAP_S))
                    continue
                self._run_due()
                self._plan_next()
        except Exception as exc:  # the status says why the scheduler stopped
            log.exception("the scheduler stopped")
            self._error(f"the scheduler stopped: {exc}")
        finally:
            with self._lock:
                self._next_run = None

    def _run_due(self) -> None:
        left_over = self._resumable()
        if left_over is not None:
            self._attempt("resume", ["sweep", "resume", left_over, "--store", str(self.store)], left_over)
        else:
            self._attempt(
                "run",
                [
                    "sweep",
                    "run",
                    "--inventory",
                    str(self.inventory),
                    "--profile",
                    self.profile,
                    "--store",
                    str(self.store),
                ],
            )

    def _plan_next(self) -> None:
        if self._stopping.is_set():
            return
        planned = self.schedule.next_run(now=_now(), last_start=self._last_start)
        with self._lock:
            self._next_run = planned
        log.info("next sweep of %s: %s (%s)", self.inventory.name, _iso(planned), self.schedule.describe())

    def _attempt(self, kind: str, args: list[str], sweep_id: str | None = None) -> None:
        """One sweep child (run or resume), then the compaction if it completed and ``keep`` is set."""
        self._last_start = _now()
        code, child = self._run_child(kind, [*args, *self.sweep_args, "--json"], sweep_id)
        if child is None:
            return
        outcome = attempt_outcome(code)
        with self._lock:
            self._runs[outcome] += 1
        result = child.outcome_json()
        sweep_id = result.get("sweep_id") or self._running_sweep or sweep_id
        with self._lock:
            self._running_sweep = None
        if outcome == "refused" and kind == "resume" and sweep_id:
            self._unresumable.add(sweep_id)  # changed inventory or profile: resuming can never work
        if outcome in ("refused", "killed", "crashed", "incomplete"):
            self._error(f"sweep {kind} ({outcome}, exit {code}): {child.last_error()}")
        if sweep_id:
            self._note_sweep(sweep_id)
        if outcome == "complete" and self.keep is not None and not self._stopping.is_set():
            self._compact()

    def _compact(self) -> None:
        args = ["store", "compact", "--store", str(self.store), "--keep", str(self.keep), "--json"]
        code, child = self._run_child("compact", args)
        if child is None:
            return
        outcome = COMPACTION_EXITS.get(code, "failed")
        with self._lock:
            self._compactions[outcome] += 1
            if outcome == "done":
                self._last_compaction = {**child.outcome_json(), "finished_at": _iso(_now())}
        if outcome == "failed":
            self._error(f"store compact (exit {code}): {child.last_error()}")

    def _run_child(
        self, kind: str, args: list[str], sweep_id: str | None = None
    ) -> tuple[int, _Child | None]:
        """Start ``python -m orchestrator.cli ARGS`` unless the store is busy or we stop; wait for it."""
        holder = StoreLock(self.store).holder()
        if holder is not None:
            self._skip(kind, f"results store busy: process {holder} holds {self.store}.lock")
            with self._lock:
                if kind == "compact":
                    self._compactions["skipped"] += 1
                elif kind in ("run", "resume"):
                    self._runs["skipped"] += 1
            return 0, None
        with self._lock:
            if self._stopping.is_set():
                return 0, None
            try:
                child = _Child(kind, [sys.executable, "-m", "orchestrator.cli", *args])
            except OSError as exc:
                self._last_error = {"at": _iso(_now()), "message": f"cannot start {kind}: {exc}"}
                return 0, None
            self._child = child
            if kind in ("run", "resume"):
                self._running_sweep = sweep_id
        log.info("%s started (pid %d): %s", kind, child.process.pid, " ".join(args))
        try:
            while True:
                try:
                    child.process.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if kind == "run" and self._running_sweep is None:
                    found = self._sweep_started_since(child.started)
                    with self._lock:
                        self._running_sweep = found
        finally:
            code = child.finish()
            with self._lock:
                self._child = None
        if code == EXIT_BUSY:
            self._skip(kind, child.last_error())
        log.info("%s ended with exit %d", kind, code)
        return code, child

    # -- bookkeeping ---------------------------------------------------------------------

    def _error(self, message: str) -> None:
        log.warning("%s", message)
        with self._lock:
            self._last_error = {"at": _iso(_now()), "message": message}

    def _skip(self, kind: str, reason: str) -> None:
        log.warning("%s skipped: %s", kind, reason)
        with self._lock:
            self._last_skipped = {"at": _iso(_now()), "kind": kind, "reason": reason}

    def _read(self, read: Callable[[Store], T], default: T) -> T:
        """``read(store)`` on the store opened read-only; ``default`` when it does not exist yet."""
        try:
            with Store(self.store, read_only=True) as store:
                return read(store)
        except StoreNotFound:
            return default
        except StoreError as exc:  # an older schema: the next sweep (a writer) upgrades it
            self._error(f"reading the results store: {exc}")
            return default

    def _ours(self, store: Store) -> Iterable[Sweep]:
        """Sweeps of this inventory file, newest first."""
        for sweep in store.list_sweeps(None, inventory_name=self.inventory.stem):
            if sweep.inventory_path == str(self.inventory):
                yield sweep

    def _upgrade_store(self) -> None:
        """A store of an older schema is upgraded first (``sweep migrate``): readers cannot read it."""
        try:
            Store(self.store, read_only=True).close()
        except StoreNotFound:
            return
        except StoreError as exc:
            log.info("results store %s: %s; upgrading it", self.store, exc)
            code, child = self._run_child("migrate", ["sweep", "migrate", "--store", str(self.store)])
            if child is not None and code != 0:
                self._error(f"sweep migrate (exit {code}): {child.last_error()}")

    def _read_history(self) -> None:
        sweeps: list[Sweep] = self._read(lambda store: list(self._ours(store)), [])
        if sweeps:
            self._last_start = sweeps[0].started_at
        finished = next((s for s in sweeps if s.state is not SweepState.RUNNING), None)
        if finished is not None:
            with self._lock:
                self._last_sweep = _sweep_brief(finished)

    def _resumable(self) -> str | None:
        """The newest sweep of this inventory left running or interrupted, unless refused before."""
        return self._read(
            lambda store: next(
                (s.id for s in self._ours(store) if s.state in RESUMABLE and s.id not in self._unresumable),
                None,
            ),
            None,
        )

    def _sweep_started_since(self, moment: datetime) -> str | None:
        return self._read(
            lambda store: next(
                (s.id for s in self._ours(store) if s.started_at >= moment.replace(microsecond=0)), None
            ),
            None,
        )

    def _note_sweep(self, sweep_id: str) -> None:
        sweep = self._read(lambda store: store.get_sweep(sweep_id), None)
        if sweep is not None:
            with self._lock:
                self._last_sweep = _sweep_brief(sweep)
            self._last_start = max(self._last_start or sweep.started_at, sweep.started_at)


def _sweep_brief(sweep: Sweep) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "state": sweep.state.value,
        "started_at": _iso(sweep.started_at),
        "finished_at": _iso(sweep.finished_at),
    }
