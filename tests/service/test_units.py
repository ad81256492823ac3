"""Pure parts of the service: language negotiation, bearer headers, roles, the agency view of the metrics,
the report cache's bounds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.metrics.agency_view import agency_view
from orchestrator.metrics.collector import StoreCollector
from orchestrator.metrics.families import BY_NAME
from orchestrator.service.access import Role, TokenSource, add_token, bearer_token, parse_role
from orchestrator.service.language import UnknownLanguage, from_accept_language, negotiate
from orchestrator.service.reports import ReportCache, ReportRequest
from orchestrator.store import Sweep, SweepState
from probes.model import LANGUAGES
from tests.metrics.conftest import E1, E4, E6, PILOT, build_scenario


@pytest.mark.parametrize(
    "header, expected",
    [
        ("en", "en"),
        ("en-US,en;q=0.9,id;q=0.8", "en"),
        ("id-ID", "id"),
        ("in", "id"),
        ("de, fr;q=0.9", None),
        ("en;q=0, id;q=0.1", "id"),
        ("*", "id"),
        ("en;q=0.5, *;q=0.9", "id"),
        ("en;q=x", None),
        ("", None),
        (None, None),
        ("EN-gb", "en"),
        ("id;q=0.5, en;q=0.5", "id"),
    ],
)
def test_accept_language(header, expected):
    assert from_accept_language(header) == expected


@given(st.text(max_size=200))
def test_any_accept_language_header_gives_a_known_language_or_none(header):
    assert from_accept_language(header) in (*LANGUAGES, None)
    assert negotiate(None, header) in LANGUAGES


def test_the_query_wins_and_must_be_known():
    assert negotiate("en", "id") == "en" and negotiate("ID", "en") == "id" and negotiate(None, None) == "id"
    with pytest.raises(UnknownLanguage):
        negotiate("fr", "en")


@pytest.mark.parametrize(
    "header, token",
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("abc", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token


def test_roles():
    assert parse_role("operator").is_operator
    assert parse_role("agency:32.73") == Role("agency", "32.73")
    assert str(parse_role("agency:KEMENKES")) == "agency:KEMENKES"


def test_authentication_matches_one_token_and_no_other(tmp_path):
    path = tmp_path / "tokens.yaml"
    _, operator = add_token(path, parse_role("operator"))
    entry, agency = add_token(path, parse_role("agency:32.73"))
    source = TokenSource(path)
    assert source.authenticate(agency).token_id == entry.id
    assert source.authenticate(operator).role.is_operator
    assert source.authenticate(agency + "x") is None and source.authenticate("") is None


# -- the agency view of /metrics (the metrics tests' store: 32.73, KEMENKES and 32 in "nasional",
#    32.73 alone in "pilot") ---------------------------------------------------------------


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    scenario = build_scenario(tmp_path_factory.mktemp("metrics-store") / "results.db")
    collector = StoreCollector(scenario.path, build_wait_s=30)
    try:
        return collector.collect()
    finally:
        collector.close()


def labels_of(metrics) -> list[tuple[str, dict]]:
    return [(metric.name, sample.labels) for metric in metrics for sample in metric.samples]


@pytest.mark.parametrize(
    "agency, endpoints, inventories",
    [
        ("32.73", {E1, "ssh://127.1.0.1:10001", "grpcs://127.1.0.1:20000", PILOT}, {"nasional", "pilot"}),
        ("KEMENKES", {E4, "grpc://127.2.0.1:20001"}, {"nasional"}),
        ("32", {E6}, {"nasional"}),
    ],
)
def test_an_agency_view_holds_its_series_only(collected, agency, endpoints, inventories):
    view = labels_of(agency_view(collected, agency))
    assert view
    for name, labels in view:
        family = BY_NAME[name]
        if "agency" in family.labels:
            assert labels["agency"] == agency
        else:
            assert family.agency_shared and labels.get("inventory", "nasional") in inventories
    assert {labels["endpoint"] for name, labels in view if name == "interop_endpoint_info"} == endpoints
    shown = {labels["inventory"] for _, labels in view if "inventory" in labels}
    assert shown == inventories  # "pilot" holds 32.73 only: nobody else sees that it exists
    names = {name for name, _ in view}
    assert "interop_store_up" in names and not names & {
        "interop_national_spbe_index",
        "interop_check_failures",
        "interop_running_sweep_info",
        "interop_exporter_errors",
    }


def test_an_unknown_agency_sees_only_whether_the_store_is_up(collected):
    assert [name for name, _ in labels_of(agency_view(collected, "99.99"))] == ["interop_store_up"]


def test_a_family_outside_the_table_is_never_shown(collected):
    from prometheus_client.metrics_core import GaugeMetricFamily

    foreign = GaugeMetricFamily("interop_scheduler_up", "not in the table", labels=["agency"])
    foreign.add_metric(["32.73"], 1)
    assert "interop_scheduler_up" not in {m.name for m in agency_view([*collected, foreign], "32.73")}


# -- the report cache ---------------------------------------------------------------------


class CountingCache(ReportCache):
    def _render(self, request: ReportRequest) -> bytes:
        self.renders += 1
        return f"{request.sweep.id}/{request.fmt}/{request.agency}/{request.lang}".encode() * 100


def sweep(sweep_id: str, state=SweepState.COMPLETE) -> Sweep:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Sweep(sweep_id, "/i.yaml", "h", "nasional", "p", "h", "local", moment, moment, state, 1, {})


def test_the_cache_is_bounded_and_keeps_running_sweeps_out(tmp_path):
    cache = CountingCache(tmp_path / "results.db", max_entries=3)

    async def render(*requests):
        return [await cache.render(request) for request in requests]

    try:
        requests = [ReportRequest(sweep(f"s{n}"), "json", None, "id") for n in range(4)]
        asyncio.run(render(*requests, *requests[1:]))
        assert cache.renders == 4  # s1..s3 came from the cache the second time
        asyncio.run(render(requests[0]))
        assert cache.renders == 5  # s0 had been evicted (3 entries at most)
        running = ReportRequest(sweep("r", SweepState.RUNNING), "json", "32.73", "en")
        asyncio.run(render(running, running))
        assert cache.renders == 7
        assert len(cache._cache) == 3 and cache._bytes == sum(len(body) for body in cache._cache.values())
    finally:
        cache.close()
