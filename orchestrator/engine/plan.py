"""The plan of a sweep: endpoints grouped into shards a worker can run alone.

A shard is the unit of work an engine hands to one worker (one Ray task, or
one coroutine in-process). The rules:

* a shard holds endpoints of one vantage only, so it can be routed to a node
  inside that network;
* every endpoint of one host is in the same shard, so the per-host limit is
  enforced locally by the worker, without coordination;
* hosts are spread over the shards of their vantage, biggest first onto the
  least loaded shard, so shards finish at about the same time;
* each shard carries its share of the global concurrency and of each
  agency's rate, in proportion to the endpoints it holds, so the sums over
  all shards respect the limits (see ``orchestrator.engine.limits``).

Plans are pure data (picklable, small): a shard is sent to a Ray worker as is.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.engine.limits import Limits
from probes.model import Target


@dataclass(frozen=True)
class PlannedEndpoint:
    """An endpoint to probe: its metadata, what the probe connects to, and where it is probed from."""

    meta: EndpointMeta
    target: Target
    vantage: str | None = None  # where it is probed from (the inventory's, unless ignored); None: anywhere

    @property
    def endpoint_id(self) -> str:
        return self.meta.endpoint_id

    @property
    def agency(self) -> str | None:
        return self.meta.agency

    @property
    def host(self) -> str:
        return self.target.host


@dataclass(frozen=True)
class Shard:
    key: str  # "<vantage or *>/<n>", stable within a sweep
    vantage: str | None
    endpoints: tuple[PlannedEndpoint, ...]
    concurrency: int  # probes in flight in this shard
    agency_rates: dict[str, float] = field(default_factory=dict)  # this shard's share, per agency

    def __len__(self) -> int:
        return len(self.endpoints)

    def without(self, done: set[str] | frozenset[str]) -> Shard:
        """The same shard (same limits) minus the endpoints already done."""
        return replace(self, endpoints=tuple(e for e in self.endpoints if e.endpoint_id not in done))


@dataclass(frozen=True)
class Plan:
    shards: tuple[Shard, ...]

    @property
    def total(self) -> int:
        return sum(len(shard) for shard in self.shards)

    @property
    def vantages(self) -> set[str]:
        return {shard.vantage for shard in self.shards if shard.vantage is not None}


class EndpointSource(Protocol):
    """What a plan needs of an inventory ``EndpointRef`` (the engine loads no inventory schema)."""

    @property
    def meta(self) -> EndpointMeta: ...

    def to_target(self) -> Target: ...


def planned_endpoint(ref: EndpointSource, *, ignore_vantage: bool = False) -> PlannedEndpoint:
    """From an inventory ``EndpointRef`` (anything with its ``meta`` and ``to_target()``)."""
    meta = ref.meta
    return PlannedEndpoint(meta, ref.to_target(), vantage=None if ignore_vantage else meta.vantage)


def make_plan(
    endpoints: Sequence[PlannedEndpoint],
    limits: Limits,
    slots: Callable[[str | None], int],
) -> Plan:
    """Group ``endpoints`` into shards.

    ``slots(vantage)`` is how many shards of that vantage can run at once
    (worker CPUs on the nodes that carry it); more shards than that would
    only queue. Endpoint order within a shard is the input order.
    """
    total = len(endpoints)
    agency_totals = Counter(e.agency or "" for e in endpoints)
    shards: list[Shard] = []
    for vantage, members in _by_vantage(endpoints).items():
        hosts = _by_host(members)
        count = max(1, min(len(hosts), slots(vantage)))
        for index, group in enumerate(_spread(hosts, count)):
            if not group:
                continue
            group.sort(key=lambda item: item[0])
            shard_endpoints = tuple(e for _, e in group)
            shards.append(
                Shard(
                    key=f"{vantage or '*'}/{index}",
                    vantage=vantage,
                    endpoints=shard_endpoints,
                    concurrency=max(1, limits.concurrency * len(shard_endpoints) // total),
                    agency_rates=_rate_shares(shard_endpoints, agency_totals, limits.agency_rate),
                )
            )
    return Plan(tuple(shards))


def _by_vantage(endpoints: Iterable[PlannedEndpoint]) -> dict[str | None, list[tuple[int, PlannedEndpoint]]]:
    groups: dict[str | None, list[tuple[int, PlannedEndpoint]]] = {}
    for seq, endpoint in enumerate(endpoints):
        groups.setdefault(endpoint.vantage, []).append((seq, endpoint))
    return groups


def _by_host(members: list[tuple[int, PlannedEndpoint]]) -> list[list[tuple[int, PlannedEndpoint]]]:
    hosts: dict[str, list[tuple[int, PlannedEndpoint]]] = {}
    for item in members:
        hosts.setdefault(item[1].host, []).append(item)
    return list(hosts.values())


def _spread(
    hosts: list[list[tuple[int, PlannedEndpoint]]], count: int
) -> list[list[tuple[int, PlannedEndpoint]]]:
    """Biggest host first onto the least loaded shard (ties: lowest index)."""
    shards: list[list[tuple[int, PlannedEndpoint]]] = [[] for _ in range(count)]
    heap = [(0, index) for index in range(count)]
    for group in sorted(hosts, key=len, reverse=True):  # stable: equal sizes keep input order
        load, index = heapq.heappop(heap)
        shards[index].extend(group)
        heapq.heappush(heap, (load + len(group), index))
    return shards


def _rate_shares(
    endpoints: tuple[PlannedEndpoint, ...], agency_totals: Counter, rate: float | None
) -> dict[str, float]:
    if rate is None:
        return {}
    here = Counter(e.agency or "" for e in endpoints)
    return {agency: rate * count / agency_totals[agency] for agency, count in here.items()}
