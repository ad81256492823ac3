"""The shard runner: one coroutine probing a shard's endpoints concurrently.

Both engines run exactly this code: the local engine in the command's own
event loop, the Ray engine inside a worker process (``ray_engine``). It
applies the politeness limits, retries transient failures with exponential
backoff, and hands every finished endpoint to ``emit`` as soon as it is
known. ``batches`` wraps it into an async stream of small batches, which is
what travels from a worker to the driver.

How a ProbeReport is classified (``classify_report``):

* ``report.unreachable`` is set: nothing answered. The class is read from
  the reason (``refused``, ``timeout``, ``reset``; see ``REASON_CLASSES``),
  else ``unreachable`` (no route, DNS ...).
* every result is ``error`` and each reason names a transient cause (the
  probe deadline ran out, the peer reset or closed the connection): that
  class. The server was reached but told us nothing, which on a lossy link
  is worth another try.
* anything else is an answer, whatever the statuses: class ``None``.

Only the classes in ``probes.errors.TRANSIENT_CLASSES`` are retried, at most
``Limits.retries`` times. The last report is recorded either way, with its
class in the outcome's ``error_class`` (``resume --retry-errors`` re-probes
those).
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from orchestrator.engine.limits import AgencyRates, HostLimiter, Limits
from orchestrator.engine.plan import PlannedEndpoint, Shard
from orchestrator.expectations import INVENTORY, explain_missing
from probes.errors import TRANSIENT_CLASSES, classify_error, explain_error
from probes.messages import Message, render
from probes.model import CheckResult, ProbeReport, Status
from probes.runner import CheckSettings, ProbeOptions, applicable, run_probe

# Phrases of probes.errors.describe_error and the runner's deadline reason,
# mapped back to an error class. First match wins.
REASON_CLASSES: tuple[tuple[str, str], ...] = (
    ("connection refused", "refused"),
    ("timed out", "timeout"),
    ("deadline", "timeout"),
    ("connection reset", "reset"),
    ("closed by peer", "reset"),
    ("broken pipe", "reset"),
)
# How often a worker with nothing to report says it is alive.
HEARTBEAT_S = 5.0
# A probe that overruns its own deadline by this much is abandoned by the
# shard (a stuck thread or a probe bug must not stall a shard forever).
OVERRUN_GRACE_S = 15.0


@dataclass(frozen=True)
class ProbeJob:
    """What every shard of one sweep shares: the checks, the probe timeouts, the limits.

    ``allowed`` is the inventory scope's ``allows``: checked again right
    before connecting, so nothing outside the scope is ever contacted.
    """

    selection: dict[str, CheckSettings]
    options: ProbeOptions
    limits: Limits
    allowed: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Finished:
    """One endpoint done: its last report and how it got there."""

    endpoint_id: str
    report: ProbeReport
    attempts: int
    error_class: str | None
    worker: str


@dataclass(frozen=True)
class Batch:
    """What a worker sends the driver. The first batch of a shard is empty: it
    announces the worker (``pid``, ``node_id``) before any probe finished."""

    shard_key: str
    worker: str
    pid: int
    node_id: str | None
    items: tuple[Finished, ...]


def reason_class(reason: str) -> str | None:
    text = reason.lower()
    for phrase, error_class in REASON_CLASSES:
        if phrase in text:
            return error_class
    return None


def classify_report(report: ProbeReport) -> str | None:
    """The error class of a whole probe, or None when the server answered (see module doc)."""
    if report.unreachable is not None:
        return reason_class(report.unreachable) or "unreachable"
    if not report.results or any(r.status is not Status.ERROR for r in report.results):
        return None
    classes = [reason_class(r.reason) for r in report.results]
    if None in classes:
        return None
    return Counter(classes).most_common(1)[0][0]


def failed_report(
    endpoint: PlannedEndpoint, selection: dict[str, CheckSettings], why: Message
) -> ProbeReport:
    """Every applicable check as ``error`` saying ``why``: for a probe that never produced a report."""
    reason = render(why, "en")
    results = [
        CheckResult(check_id, Status.ERROR, settings.severity, reason, message=why)
        for check_id, settings in applicable(endpoint.target, selection).items()
    ]
    return ProbeReport(target=endpoint.target.url, results=results, duration_s=0.0)


def interleave_by_host(endpoints: tuple[PlannedEndpoint, ...]) -> Iterator[PlannedEndpoint]:
    """Round-robin over hosts, so consecutive probes hit different hosts."""
    queues: dict[str, deque[PlannedEndpoint]] = {}
    for endpoint in endpoints:
        queues.setdefault(endpoint.host, deque()).append(endpoint)
    rounds = deque(queues.values())
    while rounds:
        queue = rounds.popleft()
        yield queue.popleft()
        if queue:
            rounds.append(queue)


Prober = Callable[..., Awaitable[ProbeReport]]

# Event loops given a thread pool as large as the sweep's concurrency.
_EQUIPPED_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def equip_loop_with_probe_threads(count: int) -> None:
    """Make the running loop's default executor ``count`` threads wide (once per loop).

    SSH authentication runs paramiko in threads (``asyncio.to_thread``). The
    loop's own pool has ``min(32, CPUs + 4)`` threads (6 on 2 cores), which
    would hold SSH probes in flight far below the concurrency on slow links,
    each waiting for a thread inside its deadline. Threads start only when
    needed; ``asyncio.run`` shuts the pool down with the loop.
    """
    loop = asyncio.get_running_loop()
    if loop not in _EQUIPPED_LOOPS:
        pool = ThreadPoolExecutor(max_workers=max(1, count), thread_name_prefix="probe-io")
        loop.set_default_executor(pool)
        _EQUIPPED_LOOPS.add(loop)


async def run_shard(
    shard: Shard,
    job: ProbeJob,
    emit: Callable[[Finished], None],
    worker: str,
    *,
    probe: Prober = run_probe,
    rng: random.Random | None = None,
) -> None:
    """Probe every endpoint of ``shard``; call ``emit`` once per endpoint, as it finishes."""
    limits = job.limits
    equip_loop_with_probe_threads(limits.concurrency)
    rng = rng or random.Random()  # noqa: S311 - jitter of retries, not a secret
    hosts = HostLimiter(limits.per_host)
    rates = AgencyRates(shard.agency_rates)
    pending = interleave_by_host(shard.endpoints)

    async def attempt(endpoint: PlannedEndpoint) -> tuple[ProbeReport, str | None]:
        if job.allowed is not None and not job.allowed(endpoint.host):
            return failed_report(endpoint, job.selection, Message("probe.out_of_scope")), "scope"
        async with hosts.hold(endpoint.host):
            await rates.take(endpoint.agency)
            try:
                async with asyncio.timeout(job.options.deadline_s + OVERRUN_GRACE_S):
                    report = await probe(endpoint.target, job.selection, job.options)
            except Exception as exc:  # noqa: BLE001 - a probe bug costs one endpoint, not the shard
                why = Message("probe.crashed", {"error": explain_error(exc)})
                if isinstance(exc, TimeoutError):
                    why = Message("probe.overran", {"deadline": job.options.deadline_s})
                return failed_report(endpoint, job.selection, why), classify_error(exc)
        explain_missing(report, INVENTORY)  # a sweep's targets come from the inventory
        return report, classify_report(report)

    async def finish(endpoint: PlannedEndpoint) -> Finished:
        if limits.jitter_s:
            await asyncio.sleep(rng.uniform(0, limits.jitter_s))
        attempts = 0
        while True:
            attempts += 1
            report, error_class = await attempt(endpoint)
            if error_class in TRANSIENT_CLASSES and attempts <= limits.retries:
                await asyncio.sleep(limits.backoff(attempts, rng))
                continue
            return Finished(endpoint.endpoint_id, report, attempts, error_class, worker)

    async def work() -> None:
        for endpoint in pending:  # a shared iterator: each endpoint goes to one worker
            emit(await finish(endpoint))

    workers = min(shard.concurrency, len(shard.endpoints))
    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(work())


async def batches(
    shard: Shard,
    job: ProbeJob,
    worker: str,
    pid: int,
    node_id: str | None = None,
    *,
    max_items: int = 32,
    interval_s: float = 0.5,
    heartbeat_s: float = HEARTBEAT_S,
    probe: Prober = run_probe,
) -> AsyncIterator[Batch]:
    """Run ``shard`` and yield its results in batches of at most ``max_items``,
    at least every ``interval_s`` while results keep coming. A first empty
    batch announces the worker; an empty batch every ``heartbeat_s`` without
    results tells the driver the worker is alive (slow probes, not a hang)."""
    yield Batch(shard.key, worker, pid, node_id, ())
    ready: list[Finished] = []
    wake = asyncio.Event()

    def emit(finished: Finished) -> None:
        ready.append(finished)
        if len(ready) >= max_items:
            wake.set()

    runner = asyncio.create_task(run_shard(shard, job, emit, worker, probe=probe))
    try:
        last = last_sent = time.monotonic()
        while not runner.done() or ready:
            if not runner.done():
                # With nothing ready, wait a whole interval: the time left of the
                # current one may be 0, and waiting 0 s in a loop spins a core.
                timeout = min(interval_s, heartbeat_s)
                if ready:
                    timeout = max(0.0, interval_s - (time.monotonic() - last))
                waiter = asyncio.create_task(wake.wait())
                await asyncio.wait({runner, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            wake.clear()
            if ready and (len(ready) >= max_items or runner.done() or time.monotonic() - last >= interval_s):
                chunk, ready[:] = ready[:max_items], ready[max_items:]
                last = last_sent = time.monotonic()
                yield Batch(shard.key, worker, pid, node_id, tuple(chunk))
            elif not ready and time.monotonic() - last_sent >= heartbeat_s:
                last_sent = time.monotonic()
                yield Batch(shard.key, worker, pid, node_id, ())
        await runner  # re-raise a shard failure after everything finished was sent
    finally:
        if not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
