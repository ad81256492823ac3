"""The terminal's sweep observer: a live bar on a terminal, a progress line at an interval off one.

``SweepProgress`` is the ``SweepObserver`` that ``interop sweep run`` and
``resume`` pass to ``run_sweep``/``resume_sweep``. On a terminal a spinner
runs while a slow engine starts (Ray), then the bar shows endpoints done of
total, the rate, the ETA, and the failures (``fail`` results), errors
(``error`` results) and unreachable endpoints so far. Off a terminal (CI, a
pipe, systemd's journal) nothing is redrawn: every ``interval_s`` seconds one
line says the same (``progress_line``), so a log shows the sweep is alive.
Notes (a lost worker, a re-submitted shard) are printed in both cases, since
they explain the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.status import Status as Spinner
from rich.text import Text

from orchestrator.engine.shard import Batch, Finished
from probes.model import Status

DEFAULT_INTERVAL_S = 10.0


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("—/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def progress_line(
    done: int, total: int, probed: int, elapsed_s: float, failures: int, errors: int, unreachable: int
) -> str:
    """``progress 120/1000 12% rate 4.0/s fail 3 error 1 unreachable 0 elapsed 0:00:30 eta 0:03:40``.

    The rate is over this run's probes (``probed`` in ``elapsed_s``); the ETA
    is what is left at that rate, ``-`` before the first result.
    """
    rate = probed / elapsed_s if elapsed_s > 0 else 0.0
    eta = _clock((total - done) / rate) if rate > 0 else "-"
    percent = 100 * done // total if total else 100
    return (
        f"progress {done}/{total} {percent}% rate {rate:.1f}/s fail {failures} error {errors} "
        f"unreachable {unreachable} elapsed {_clock(elapsed_s)} eta {eta}"
    )


class SweepProgress:
    """A ``SweepObserver``: draws on a terminal, prints ``progress_line`` every ``interval_s`` off one.

    ``interval_s`` 0 prints no progress line. ``finished`` runs on the
    driver's event loop, the line on a thread of its own (a log must show
    the sweep alive even while no result arrives), hence the lock.
    """

    def __init__(self, console: Console, interval_s: float = DEFAULT_INTERVAL_S):
        self.console = console
        self.live = console.is_terminal
        self.interval_s = interval_s
        self.failures = 0
        self.errors = 0
        self.unreachable = 0
        self.total = 0
        self.done = 0
        self.probed = 0
        self._lock = threading.Lock()
        self._spinner: Spinner | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None  # set with _progress
        self._started = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def status(self, message: str | None) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        if message is not None and self.live:
            self._spinner = self.console.status(message)
            self._spinner.start()

    def sweep_started(self, total: int, done_before: int) -> None:
        self.total, self.done = total, done_before
        self._started = time.monotonic()
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[counts]}"),
                console=self.console,
                transient=False,
                speed_estimate_period=15.0,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "sweep", total=total, completed=done_before, counts=self._counts()
            )
        elif self.interval_s > 0:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="interop-progress", daemon=True)
            self._ticker.start()

    def sweep_ended(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None

    def _tick(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.console.print(Text(self.line()))

    def line(self) -> str:
        with self._lock:
            return progress_line(
                self.done,
                self.total,
                self.probed,
                time.monotonic() - self._started,
                self.failures,
                self.errors,
                self.unreachable,
            )

    def _counts(self) -> str:
        return f"[red]fail {self.failures}[/] [magenta]error {self.errors}[/] unreachable {self.unreachable}"

    def worker_started(self, batch: Batch) -> None:
        pass

    def finished(self, items: Sequence[Finished]) -> None:
        with self._lock:
            for item in items:
                if item.report.unreachable is not None:
                    self.unreachable += 1
                for result in item.report.results:
                    if result.status is Status.FAIL:
                        self.failures += 1
                    elif result.status is Status.ERROR:
                        self.errors += 1
            self.done += len(items)
            self.probed += len(items)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=len(items), counts=self._counts())

    def note(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"))
