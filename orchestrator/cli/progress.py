"""The terminal's sweep observer: a Rich spinner and progress bar on a terminal, notes everywhere.

``SweepProgress`` is the ``SweepObserver`` that ``interop sweep run`` and
``resume`` pass to ``run_sweep``/``resume_sweep``. A spinner runs while a
slow engine starts (Ray). The bar shows endpoints done of total, the rate,
the ETA, and the failures (``fail`` results), errors (``error`` results) and
unreachable endpoints so far. Off a terminal (CI, a pipe) nothing is drawn;
the command prints one summary line at the end (``summary_line``). Notes (a
lost worker, a re-submitted shard) are printed in both cases, since they
explain the run.
"""

from __future__ import annotations

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
from rich.status import Status as Spinner
from rich.text import Text

from orchestrator.engine.shard import Batch, Finished
from probes.model import Status


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("—/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class SweepProgress:
    """A ``SweepObserver`` that counts and, on a terminal, draws."""

    def __init__(self, console: Console):
        self.console = console
        self.live = console.is_terminal
        self.failures = 0
        self.errors = 0
        self.unreachable = 0
        self._spinner: Spinner | None = None
        self._progress: Progress | None = None
        self._task = None

    def status(self, message: str | None) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        if message is not None and self.live:
            self._spinner = self.console.status(message)
            self._spinner.start()

    def sweep_started(self, total: int, done_before: int) -> None:
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

    def sweep_ended(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _counts(self) -> str:
        return f"[red]fail {self.failures}[/] [magenta]error {self.errors}[/] unreachable {self.unreachable}"

    def worker_started(self, batch: Batch) -> None:
        pass

    def finished(self, items: Sequence[Finished]) -> None:
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
