"""Politeness: how hard a sweep may press on the servers it probes.

Three limits apply to every probe attempt, in this order:

1. the per-host limit: at most ``per_host`` probes of one host at a time
   (a host is the address in the URL, so many ports of one machine share it);
2. the per-agency rate: a token bucket per agency, ``agency_rate`` probe
   attempts per second (a retry is an attempt too);
3. the global limit: a shard runs at most its share of ``concurrency``
   probes at a time (see ``orchestrator.engine.plan``).

The planner keeps all endpoints of a host in one shard, so the per-host
limit is exact without any coordination between workers. An agency's
endpoints may span shards; each shard gets a share of the agency's rate
proportional to how many of the agency's endpoints it holds, so the sum over
shards never exceeds the rate.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The knobs of a sweep; the defaults suit slow, lossy regional links."""

    # Probes in flight over the whole sweep: what this machine carries. A server
    # feels ``per_host``, not this. 256 keeps 2 cores busy on a national sweep
    # (docs/benchmarks.md); on slow links more in flight is what buys throughput.
    concurrency: int = 256
    per_host: int = 2  # probes in flight against one host
    agency_rate: float | None = None  # probe attempts per second per agency; None: unlimited
    jitter_s: float = 0.0  # random pause before each first attempt, spreads connection bursts
    retries: int = 2  # extra attempts after a transient failure
    backoff_s: float = 0.5  # first retry delay; doubles per attempt, with +-50 % jitter
    backoff_max_s: float = 10.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.per_host < 1:
            raise ValueError("per-host limit must be at least 1")
        if self.agency_rate is not None and self.agency_rate <= 0:
            raise ValueError("agency rate must be positive")
        if self.retries < 0 or self.jitter_s < 0 or self.backoff_s < 0:
            raise ValueError("retries, jitter and backoff cannot be negative")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt ``attempt + 1`` (``attempt`` >= 1 attempts already made)."""
        base = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return base * rng.uniform(0.5, 1.5)

    def to_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


class HostLimiter:
    """At most ``per_host`` holders per host; idle hosts cost no memory."""

    def __init__(self, per_host: int):
        self._per_host = per_host
        self._hosts: dict[str, list] = {}  # host -> [semaphore, users]

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = [asyncio.Semaphore(self._per_host), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._hosts[host]

    def in_use(self, host: str) -> int:
        entry = self._hosts.get(host)
        # Reads the semaphore's count: for tests.
        return 0 if entry is None else self._per_host - entry[0]._value


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``take`` waits for one."""

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()
        self._lock = asyncio.Lock()  # first come, first served

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def take(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)


class AgencyRates:
    """One token bucket per agency, each with this shard's share of the rate."""

    def __init__(self, rates: dict[str, float]):
        self._buckets = {agency: TokenBucket(rate) for agency, rate in rates.items()}

    async def take(self, agency: str | None) -> None:
        bucket = self._buckets.get(agency or "")
        if bucket is not None:
            await bucket.take()
