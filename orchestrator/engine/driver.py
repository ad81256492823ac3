"""The driver: runs every shard of a plan on an engine and keeps what comes back.

For each shard it follows the engine's batch stream, writes each batch to
the sink (the store) as soon as it arrives and forgets it; memory holds the
plan and the ids already done, never the results. When a shard's worker is
lost, only the endpoints of that shard without a result are re-submitted,
at most ``max_resubmits`` times; a shard whose vantage has no node left is
given up (its endpoints stay pending for ``resume``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.engine import Engine, ShardLost
from orchestrator.engine.plan import Plan, Shard
from orchestrator.engine.shard import Batch, Finished, ProbeJob


class Sink(Protocol):
    def write(self, items: Sequence[Finished]) -> None: ...


class Observer(Protocol):
    """Progress reporting; ``drive`` calls every method from its event loop."""

    def worker_started(self, batch: Batch) -> None: ...

    def finished(self, items: Sequence[Finished]) -> None: ...

    def note(self, message: str) -> None: ...


class SweepObserver(Observer, Protocol):
    """What a sweep reports around ``drive``: a slow engine start, then the drive's start and end.

    ``run_sweep`` and ``resume_sweep`` take one; the terminal's is
    ``orchestrator.cli.progress.SweepProgress``.
    """

    def status(self, message: str | None) -> None:
        """Something slow is under way (``message``), or over (None)."""

    def sweep_started(self, total: int, done_before: int) -> None:
        """Probing starts: ``total`` endpoints in the sweep, ``done_before`` of them already done."""

    def sweep_ended(self) -> None:
        """Probing is over (finished, interrupted or failed)."""


class QuietObserver:
    """Reports nothing: a ``SweepObserver`` for callers without a person watching."""

    def worker_started(self, batch: Batch) -> None:
        pass

    def finished(self, items: Sequence[Finished]) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def status(self, message: str | None) -> None:
        pass

    def sweep_started(self, total: int, done_before: int) -> None:
        pass

    def sweep_ended(self) -> None:
        pass


@dataclass
class DriveStats:
    received: int = 0  # endpoint results received (and written)
    duplicates: int = 0  # results for endpoints already done, dropped
    resubmissions: int = 0  # shards re-submitted after a lost worker
    losses: list[str] = field(default_factory=list)  # one line per lost worker
    abandoned: dict[str, int] = field(default_factory=dict)  # shard key -> endpoints left pending
    workers: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return not self.abandoned


async def drive(
    engine: Engine,
    plan: Plan,
    job: ProbeJob,
    sink: Sink,
    observer: Observer | None = None,
    *,
    max_resubmits: int = 3,
) -> DriveStats:
    """Run ``plan`` to the end (or until cancelled); return what happened."""
    observer = observer or QuietObserver()
    stats = DriveStats()

    async def follow(shard: Shard) -> None:
        done: set[str] = set()
        current = shard
        tries = 0
        while current.endpoints:
            try:
                async for batch in engine.stream(current, job):
                    if batch.worker not in stats.workers:
                        stats.workers.add(batch.worker)
                        observer.worker_started(batch)
                    fresh = [item for item in batch.items if item.endpoint_id not in done]
                    stats.duplicates += len(batch.items) - len(fresh)
                    if fresh:
                        sink.write(fresh)
                        done.update(item.endpoint_id for item in fresh)
                        stats.received += len(fresh)
                        observer.finished(fresh)
                return
            except ShardLost as exc:
                tries += 1
                current = current.without(done)
                stats.losses.append(f"shard {shard.key}: {exc}")
                if not current.endpoints:
                    return
                if tries > max_resubmits:
                    observer.note(f"shard {shard.key}: {exc}; gave up after {max_resubmits} re-submissions")
                    stats.abandoned[shard.key] = len(current)
                    return
                if not engine.can_run(current.vantage):
                    observer.note(f"shard {shard.key}: {exc}; no node left with vantage {current.vantage}")
                    stats.abandoned[shard.key] = len(current)
                    return
                stats.resubmissions += 1
                observer.note(
                    f"shard {shard.key}: {exc}; re-submitting its {len(current)} unfinished endpoints"
                )

    async with asyncio.TaskGroup() as group:
        for shard in plan.shards:
            group.create_task(follow(shard))
    return stats
