"""The in-process engine: shards as coroutines in the caller's event loop."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from orchestrator.engine import Engine, ShardLost
from orchestrator.engine.plan import Shard
from orchestrator.engine.shard import Batch, ProbeJob, batches


class LocalEngine(Engine):
    """One process, one event loop; vantages cannot be honoured (there is only here)."""

    name = "local"

    def __init__(self, max_items: int = 32, interval_s: float = 0.5):
        self._max_items = max_items
        self._interval_s = interval_s

    async def stream(self, shard: Shard, job: ProbeJob) -> AsyncIterator[Batch]:
        pid = os.getpid()
        try:
            async for batch in batches(
                shard, job, f"local:{pid}", pid, max_items=self._max_items, interval_s=self._interval_s
            ):
                yield batch
        except Exception as exc:  # a shard bug is reported like a lost worker
            raise ShardLost(f"shard {shard.key} crashed: {type(exc).__name__}: {exc}") from exc
