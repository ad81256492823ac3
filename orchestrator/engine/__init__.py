"""Sweep engines: where shards run, and ``ENGINES``, the one map of their names.

* ``LocalEngine`` (``local.py``): every shard as a coroutine in the command's
  own event loop. For CI gates and small inventories; no vantages.
* ``RayEngine`` (``ray_engine.py``): every shard as one Ray task streaming
  batches back; an embedded single-node cluster on loopback by default, or an
  existing cluster (``--ray-address``) whose nodes carry ``vantage:NAME``
  resources.

Both run the same shard coroutine (``shard.run_shard``); ``driver.drive``
consumes their batch streams, writes results to the store as they arrive,
and re-submits what a lost worker did not finish. ``sweep --engine`` takes
its choices and help from ``ENGINES``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from orchestrator.engine.plan import Shard
from orchestrator.engine.shard import Batch, ProbeJob


class EngineError(Exception):
    """The engine cannot run this sweep (no Ray, unknown vantage ...): nothing was probed."""


class ShardLost(Exception):
    """A shard's worker stopped before finishing (killed, node gone, crashed)."""


class Engine:
    """The interface the driver uses; see ``LocalEngine`` and ``RayEngine``."""

    name = "engine"

    @property
    def start_message(self) -> str | None:
        """What ``start`` is doing, for a person waiting on it; None when it takes no noticeable time."""
        return None

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


@dataclass(frozen=True)
class EngineKind:
    """One entry of ``ENGINES``."""

    help: str  # one line, for --engine's help
    factory: Callable[[str | None, int | None], Engine]  # (ray_address, num_cpus) -> a new engine
    cluster: bool  # runs on a Ray cluster: --ray-address and vantages apply


def _local(ray_address: str | None, num_cpus: int | None) -> Engine:
    from orchestrator.engine.local import LocalEngine

    return LocalEngine()


def _ray(ray_address: str | None, num_cpus: int | None) -> Engine:
    # Imported on use: importing Ray takes seconds and sets its environment.
    from orchestrator.engine.ray_engine import RayEngine

    return RayEngine(address=ray_address, num_cpus=num_cpus)


# --engine name -> engine; the first is the default.
ENGINES: dict[str, EngineKind] = {
    "ray": EngineKind(
        "an embedded single-node Ray on 127.0.0.1, started and stopped by the command "
        "(or the cluster of --ray-address)",
        _ray,
        cluster=True,
    ),
    "local": EngineKind("in-process asyncio, no vantages", _local, cluster=False),
}
DEFAULT_ENGINE = next(iter(ENGINES))


def engine_names(*, cluster: bool | None = None) -> str:
    """``ray or local`` for a message; only the engines with (or without) ``cluster`` when it is given."""
    return " or ".join(name for name, kind in ENGINES.items() if cluster in (None, kind.cluster))


def make_engine(name: str, *, ray_address: str | None = None, num_cpus: int | None = None) -> Engine:
    try:
        kind = ENGINES[name]
    except KeyError:
        raise EngineError(f"unknown engine {name!r} ({engine_names()})") from None
    return kind.factory(ray_address, num_cpus)
