"""The scheduler's metrics: what an attempt can come to, the metric families, and their collector.

``SchedulerCollector`` turns a ``Scheduler.status()`` dict into the families
of ``SCHEDULER_FAMILIES``; it reads no store, so a scrape costs nothing. Their
only label is ``inventory`` (the inventory file's name): they name no agency.
docs/metrics.md ("The scheduler") lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from orchestrator.metrics.families import SWEEP_STATES, Family
from orchestrator.metrics.labels import label
from orchestrator.metrics.series import Values, families_of
from orchestrator.outcome import EXIT_USAGE
from orchestrator.sweep import EXIT_BUSY, EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK

# What one sweep child (run or resume) came to, by its exit code (orchestrator.cli.sweep_run);
# a negative code (killed by a signal) is "killed", any other "crashed". "skipped": the store was busy.
EXIT_OUTCOMES: dict[int, str] = {
    EXIT_OK: "complete",
    EXIT_INCOMPLETE: "incomplete",
    EXIT_USAGE: "refused",
    EXIT_BUSY: "skipped",
    EXIT_INTERRUPTED: "interrupted",
}
OUTCOMES: tuple[str, ...] = (
    "complete",
    "incomplete",
    "interrupted",
    "refused",
    "skipped",
    "killed",
    "crashed",
)
# And a compaction child (orchestrator.cli.store): any other exit is "failed".
COMPACTION_EXITS: dict[int, str] = {EXIT_OK: "done", EXIT_BUSY: "skipped"}
COMPACTION_OUTCOMES: tuple[str, ...] = ("done", "skipped", "failed")

INV = ("inventory",)
SCHEDULER_FAMILIES: tuple[Family, ...] = (
    Family(
        "interop_scheduler_up",
        "gauge",
        INV,
        "scheduler",
        "1 while the scheduler's thread runs (0 once it stopped or failed).",
    ),
    Family(
        "interop_scheduler_next_run_timestamp_seconds",
        "gauge",
        INV,
        "scheduler",
        "When the next scheduled sweep is due (Unix time); absent while none is planned.",
    ),
    Family(
        "interop_scheduler_running",
        "gauge",
        INV,
        "scheduler",
        "1 while a sweep child started by the scheduler runs.",
    ),
    Family(
        "interop_scheduler_last_sweep_state",
        "gauge",
        INV + ("state",),
        "scheduler",
        "State of the last sweep of the inventory the scheduler ran, resumed or found at start "
        "(1 for its state, 0 for the others).",
    ),
    Family(
        "interop_scheduler_last_sweep_end_timestamp_seconds",
        "gauge",
        INV,
        "scheduler",
        "When that sweep ended (Unix time).",
    ),
    Family(
        "interop_scheduler_runs",
        "counter",
        INV + ("outcome",),
        "scheduler",
        "Sweep runs and resumes since start, by outcome: " + ", ".join(OUTCOMES) + ".",
    ),
    Family(
        "interop_scheduler_compactions",
        "counter",
        INV + ("outcome",),
        "scheduler",
        "Compactions after a complete sweep (--keep) since start, by outcome: "
        + ", ".join(COMPACTION_OUTCOMES)
        + ".",
    ),
    Family(
        "interop_scheduler_last_error_timestamp_seconds",
        "gauge",
        INV,
        "scheduler",
        "When the scheduler last met an error (Unix time); absent if never.",
    ),
)


def attempt_outcome(code: int) -> str:
    return "killed" if code < 0 else EXIT_OUTCOMES.get(code, "crashed")


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def samples(status: dict[str, Any], inventory: str) -> Values:
    """(labels, value) of every series, by family name, from a ``Scheduler.status()``."""
    inv = {"inventory": label(inventory)}
    out: Values = {family.name: [] for family in SCHEDULER_FAMILIES}
    out["interop_scheduler_up"].append((inv, 1.0 if status["alive"] else 0.0))
    if status["next_run"]:
        out["interop_scheduler_next_run_timestamp_seconds"].append((inv, _timestamp(status["next_run"])))
    running = status["running"] is not None and status["running"]["kind"] in ("run", "resume")
    out["interop_scheduler_running"].append((inv, 1.0 if running else 0.0))
    last = status["last_sweep"]
    if last:
        for state in SWEEP_STATES:
            out["interop_scheduler_last_sweep_state"].append(
                ({**inv, "state": state}, 1.0 if state == last["state"] else 0.0)
            )
        if last["finished_at"]:
            out["interop_scheduler_last_sweep_end_timestamp_seconds"].append(
                (inv, _timestamp(last["finished_at"]))
            )
    for outcome in OUTCOMES:
        out["interop_scheduler_runs"].append(({**inv, "outcome": outcome}, status["runs"][outcome]))
    for outcome in COMPACTION_OUTCOMES:
        out["interop_scheduler_compactions"].append(
            ({**inv, "outcome": outcome}, status["compactions"][outcome])
        )
    if status["last_error"]:
        out["interop_scheduler_last_error_timestamp_seconds"].append(
            (inv, _timestamp(status["last_error"]["at"]))
        )
    return out


class SchedulerCollector(Collector):
    """``SCHEDULER_FAMILIES`` from ``status()`` on each scrape."""

    def __init__(self, status: Callable[[], dict[str, Any]], inventory: str):
        self._status = status
        self._inventory = inventory

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not call status() before the scheduler runs

    def collect(self) -> Iterable[Metric]:
        return families_of(SCHEDULER_FAMILIES, samples(self._status(), self._inventory))
