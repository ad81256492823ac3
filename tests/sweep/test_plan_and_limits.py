"""Pure code: the planner, the politeness limits and the report classification."""

from __future__ import annotations

import asyncio
import random

import pytest

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.engine.limits import HostLimiter, Limits, TokenBucket
from orchestrator.engine.plan import PlannedEndpoint, make_plan
from orchestrator.engine.shard import classify_report, interleave_by_host
from probes.model import CheckResult, ProbeReport, Severity, Status, Target


def endpoint(host: str, port: int, agency: str = "32.73", vantage: str | None = None) -> PlannedEndpoint:
    target = Target("grpc", host, port)
    return PlannedEndpoint(EndpointMeta(target.url, target.url, "grpc", agency), target, vantage)


def fleet(hosts: dict[str, int], **fields) -> list[PlannedEndpoint]:
    return [endpoint(host, 1000 + i, **fields) for host, count in hosts.items() for i in range(count)]


def test_plan_keeps_each_host_in_one_shard_and_balances_shards():
    endpoints = fleet({"10.0.0.1": 9, "10.0.0.2": 5, "10.0.0.3": 4, "10.0.0.4": 3, "10.0.0.5": 1})
    plan = make_plan(endpoints, Limits(concurrency=44), lambda vantage: 2)
    assert [shard.key for shard in plan.shards] == ["*/0", "*/1"]
    hosts = [{e.host for e in shard.endpoints} for shard in plan.shards]
    assert hosts[0].isdisjoint(hosts[1])
    # Biggest host first onto the least loaded shard: 9+3 and 5+4+1.
    assert sorted(len(shard) for shard in plan.shards) == [10, 12]
    assert plan.total == len(endpoints)
    # Shares of the global concurrency follow the shard sizes and never exceed it.
    assert {len(s): s.concurrency for s in plan.shards} == {12: 24, 10: 20}
    # Within a shard, endpoints keep their inventory order.
    for shard in plan.shards:
        order = [endpoints.index(e) for e in shard.endpoints]
        assert order == sorted(order)


def test_plan_separates_vantages_and_sizes_shards_by_their_slots():
    endpoints = (
        fleet({"10.1.0.1": 4, "10.1.0.2": 4, "10.1.0.3": 4}, vantage="papua")
        + fleet({"10.2.0.1": 2}, vantage="jabar")
        + fleet({"10.3.0.1": 3, "10.3.0.2": 3})
    )
    slots = {"papua": 3, "jabar": 4, None: 8}
    plan = make_plan(endpoints, Limits(), slots.__getitem__)
    by_vantage: dict = {}
    for shard in plan.shards:
        assert {e.vantage for e in shard.endpoints} == {shard.vantage}
        by_vantage.setdefault(shard.vantage, []).append(len(shard))
    # Never more shards than hosts, never more than the vantage's slots.
    assert by_vantage == {"papua": [4, 4, 4], "jabar": [2], None: [3, 3]}
    assert plan.vantages == {"papua", "jabar"}


def test_agency_rate_is_shared_between_shards_in_proportion():
    endpoints = (
        fleet({"10.0.0.1": 3}, agency="A")
        + fleet({"10.0.0.2": 1}, agency="A")
        + fleet({"10.0.0.3": 2}, agency="B")
    )
    plan = make_plan(endpoints, Limits(agency_rate=8.0), lambda vantage: 3)
    total = {}
    for shard in plan.shards:
        for agency, rate in shard.agency_rates.items():
            total[agency] = total.get(agency, 0.0) + rate
    assert total == pytest.approx({"A": 8.0, "B": 8.0})
    [big] = [s for s in plan.shards if len(s) == 3]
    assert big.agency_rates == {"A": 6.0}
    assert make_plan(endpoints, Limits(), lambda v: 3).shards[0].agency_rates == {}


def test_shard_without_done_endpoints_keeps_its_limits():
    plan = make_plan(fleet({"10.0.0.1": 4}), Limits(concurrency=3, agency_rate=2.0), lambda v: 1)
    [shard] = plan.shards
    rest = shard.without({shard.endpoints[0].endpoint_id, shard.endpoints[2].endpoint_id})
    assert [e.endpoint_id for e in rest.endpoints] == [
        shard.endpoints[1].endpoint_id,
        shard.endpoints[3].endpoint_id,
    ]
    assert (rest.key, rest.concurrency, rest.agency_rates) == (
        shard.key,
        shard.concurrency,
        shard.agency_rates,
    )


def test_interleave_by_host_round_robins():
    endpoints = fleet({"a": 3, "b": 1, "c": 2})
    assert [e.host for e in interleave_by_host(tuple(endpoints))] == ["a", "b", "c", "a", "c", "a"]


def test_limits_reject_nonsense():
    for bad in ({"concurrency": 0}, {"per_host": 0}, {"agency_rate": 0.0}, {"retries": -1}):
        with pytest.raises(ValueError, match=r"must be|cannot be negative"):
            Limits(**bad)


def test_backoff_doubles_with_jitter_and_a_cap():
    limits = Limits(backoff_s=0.5, backoff_max_s=3.0)
    rng = random.Random(7)
    for attempt, base in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)):
        delay = limits.backoff(attempt, rng)
        assert 0.5 * base <= delay <= 1.5 * base


def test_token_bucket_spaces_takes_by_its_rate(monkeypatch):
    now = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds):  # advances the fake clock instead of waiting
        slept.append(seconds)
        now[0] += seconds

    async def scenario():
        bucket = TokenBucket(rate=4.0, clock=lambda: now[0])
        monkeypatch.setattr("orchestrator.engine.limits.asyncio.sleep", fake_sleep)
        for _ in range(3):
            await bucket.take()

    asyncio.run(scenario())
    # One token banked, then one every 1/4 s.
    assert slept == pytest.approx([0.25, 0.25])


def test_host_limiter_holds_at_most_per_host():
    async def scenario():
        limiter = HostLimiter(2)
        peak = {"a": 0, "b": 0}
        inside = {"a": 0, "b": 0}

        async def use(host):
            async with limiter.hold(host):
                inside[host] += 1
                peak[host] = max(peak[host], inside[host])
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                inside[host] -= 1

        await asyncio.gather(*(use(h) for h in "aaaaabbb"))
        return peak, limiter._hosts

    peak, left = asyncio.run(scenario())
    assert peak == {"a": 2, "b": 2}
    assert left == {}  # idle hosts are forgotten


def report(*results: tuple[Status, str], unreachable: str | None = None) -> ProbeReport:
    return ProbeReport(
        target="grpc://10.0.0.1:1",
        results=[
            CheckResult(f"X-Y-{i:03}", s, Severity.HIGH, reason) for i, (s, reason) in enumerate(results)
        ],
        duration_s=0.1,
        unreachable=unreachable,
    )


@pytest.mark.parametrize(
    ("probe_report", "expected"),
    [
        (
            report((Status.ERROR, "target unreachable"), unreachable="10.0.0.1:1: connection refused"),
            "refused",
        ),
        (report((Status.ERROR, "x"), unreachable="10.0.0.1:1: timed out"), "timeout"),
        (report((Status.ERROR, "x"), unreachable="10.0.0.1:1: no route to host"), "unreachable"),
        (
            report((Status.ERROR, "probe deadline of 30 s exceeded"), (Status.ERROR, "timed out: read")),
            "timeout",
        ),
        (
            report((Status.ERROR, "connection reset by peer"), (Status.ERROR, "connection reset by peer")),
            "reset",
        ),
        (
            report((Status.ERROR, "connection reset by peer"), (Status.ERROR, "TLS error: bad certificate")),
            None,
        ),
        (report((Status.ERROR, "timed out"), (Status.PASS, "")), None),
        (report((Status.FAIL, "weak kex"), (Status.PASS, "")), None),
        (report(), None),
    ],
)
def test_classify_report(probe_report, expected):
    assert classify_report(probe_report) == expected
