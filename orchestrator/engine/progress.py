"""Live progress of a sweep: a Rich bar on a terminal, silence elsewhere.

The bar shows endpoints done of total, the rate, the ETA, and the failures
(``fail`` results), errors (``error`` results) and unreachable endpoints so
far. Off a terminal (CI, a pipe) nothing is drawn; the caller prints one
summary line at the end (``summary_line``). Notes (a lost worker, a
re-submitted shard) are printed in both cases, since they explain the run.
"""

from __future__ import annotations

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
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from orchestrator.engine.shard import Batch, Finished
from probes.model import Status


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("—/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class SweepProgress:
    """An ``Observer`` for ``driver.drive`` that counts and (on a TTY) draws."""

    def __init__(self, console: Console, total: int, done_before: int = 0, *, live: bool | None = None):
        self.console = console
        self.total = total
        self.done_before = done_before
        self.done = 0  # in this run
        self.failures = 0
        self.errors = 0
        self.unreachable = 0
        self.workers = 0
        self.live = console.is_terminal if live is None else live
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> SweepProgress:
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
                "sweep", total=self.total, completed=self.done_before, counts=self._counts()
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def _counts(self) -> str:
        return f"[red]fail {self.failures}[/] [magenta]error {self.errors}[/] unreachable {self.unreachable}"

    # -- Observer ------------------------------------------------------------

    def worker_started(self, batch: Batch) -> None:
        self.workers += 1

    def finished(self, items: Sequence[Finished]) -> None:
        self.done += len(items)
        for item in items:
            if item.report.unreachable is not None:
                self.unreachable += 1
            for result in item.report.results:
                if result.status is Status.FAIL:
                    self.failures += 1
                elif result.status is Status.ERROR:
                    self.errors += 1
        if self._progress is not None:
            self._progress.update(self._task, advance=len(items), counts=self._counts())

    def note(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"))
