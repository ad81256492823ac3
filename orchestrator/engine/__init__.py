"""Sweep engines: where shards run.

* ``LocalEngine`` (``local.py``): every shard as a coroutine in the command's
  own event loop. For CI gates and small inventories; no vantages.
* ``RayEngine`` (``ray_engine.py``): every shard as one Ray task streaming
  batches back; an embedded single-node cluster on loopback by default, or an
  existing cluster (``--ray-address``) whose nodes carry ``vantage:NAME``
  resources.

Both run the same shard coroutine (``shard.run_shard``); ``driver.drive``
consumes their batch streams, writes results to the store as they arrive,
and re-submits what a lost worker did not finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept light: orchestrator.plan imports engine.limits through this package
    from orchestrator.engine.shard import Batch, ProbeJob
    from orchestrator.plan import Shard


class EngineError(Exception):
    """The engine cannot run this sweep (no Ray, unknown vantage ...): nothing was probed."""


class ShardLost(Exception):
    """A shard's worker stopped before finishing (killed, node gone, crashed)."""


class Engine:
    """The interface the driver uses; see ``LocalEngine`` and ``RayEngine``."""

    name = "engine"

    def start(self) -> None:
        """Acquire resources (start or join Ray). Raise ``EngineError`` if impossible."""

    def close(self) -> None:
        """Release everything ``start`` acquired; safe to call twice or after a failed start."""

    def describe(self) -> str:
        """What the store records as the sweep's engine."""
        return self.name

    def slots(self, vantage: str | None) -> int:
        """How many shards of ``vantage`` can run at the same time."""
        return 1

    def missing_vantages(self, vantages: set[str]) -> list[str]:
        """The vantages no worker can serve, sorted."""
        return sorted(vantages)

    def can_run(self, vantage: str | None) -> bool:
        return vantage is None or not self.missing_vantages({vantage})

    def stream(self, shard: Shard, job: ProbeJob) -> AsyncIterator[Batch]:
        """Run ``shard``; yield its batches; raise ``ShardLost`` if the worker is lost."""
        raise NotImplementedError

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_engine(name: str, *, ray_address: str | None = None, num_cpus: int | None = None) -> Engine:
    if name == "local":
        from orchestrator.engine.local import LocalEngine

        return LocalEngine()
    if name == "ray":
        from orchestrator.engine.ray_engine import RayEngine

        return RayEngine(address=ray_address, num_cpus=num_cpus)
    raise EngineError(f"unknown engine {name!r} (ray or local)")
