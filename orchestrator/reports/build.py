"""Builds the report model of one sweep from the store: ``build_report`` and its ``ReportBuilder``.

The results are read once through a store cursor and folded into plain
counters per endpoint and per check; endpoint scores are capped
(``Tally.score``), groups (nation, provinces, agencies, applications) average
their endpoints' capped indices (``GroupTally``), checks and categories are
uncapped pass rates. Findings are held in memory up to ``FINDINGS_IN_MEMORY``,
else streamed from the store again. The same pass keeps each endpoint's open
findings for the fix list (``reports.fixes``); the trend (``reports.trend``)
and the changes (``reports.changes``) read other sweeps through the store's
status-only path. See ``orchestrator.reports.model`` for the shape of what
comes out.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator import tool_version
from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.inventory.regions import provinces as province_table
from orchestrator.inventory.yaml_nodes import names_from_inventory
from orchestrator.reports.changes import OPEN_STATUSES, changes_since_previous
from orchestrator.reports.fixes import OpenFinding, fix_list
from orchestrator.reports.model import (
    FINDING_STATUSES,
    LABELS,
    LANGS,
    SCHEMA_VERSION,
    TOOL_NAME,
    MappedSequence,
    Report,
    ReportError,
    ResultSource,
    StreamedFindings,
    check_meta,
    shown_meta,
    waivers_dict,
    with_expiring,
)
from orchestrator.reports.observed import certificate_row, fact_subset
from orchestrator.reports.trend import trend
from orchestrator.scoring import CAPPING_STATUS, GroupTally, Score, Tally
from orchestrator.store import ResultRow, Store, Sweep
from orchestrator.waivers import Waivers
from probes import registry
from probes.model import Severity, Status

FINDINGS_IN_MEMORY = 20_000
TOP_FINDINGS = 50
# Order of findings for "what to fix first": fail before warn.
_ACTIONABLE_RANK = {Status.FAIL: 0, Status.WARN: 1}


def build_report(
    store: Store,
    sweep_id: str,
    *,
    agency: str | None = None,
    lang: str = "id",
    waivers: Waivers | None = None,
    inventory_names: Mapping[str, Mapping[str, str]] | None = None,
    now: datetime | None = None,
) -> Report:
    """The report model of one sweep (see ``orchestrator.reports.model``).

    ``sweep_id`` is an id or a unique prefix (``UnknownSweep``/``AmbiguousSweep``
    from the store otherwise). ``inventory_names`` maps agency codes and
    application ids to names (``{"agencies": {...}, "applications": {...}}``);
    by default they are read from the sweep's inventory file when it is still
    there, else codes stand for names. ``ReportError`` for an agency without
    endpoints in the sweep or an unknown language.
    """
    if lang not in LABELS:
        raise ReportError(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    sweep = store.get_sweep(sweep_id)
    builder = ReportBuilder(store, sweep, agency=agency, lang=lang, waivers=waivers, now=now)
    return builder.build(inventory_names)


# --------------------------------------------------------------------------- accumulators


@dataclass(slots=True)
class _Endpoint:
    meta: EndpointMeta
    tally: Tally = field(default_factory=Tally)  # while reading, then deleted
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, severity) while reading
    score: Score = field(init=False)  # the endpoint's (capped) score, once every result is read
    done: bool = False
    unreachable: str | None = None
    facts: dict[str, Any] | None = None
    open: tuple[OpenFinding, ...] = ()  # its fail/warn results after waivers: what the fix list clears


@dataclass
class _Group:
    key: str | None
    tally: GroupTally = field(default_factory=GroupTally)
    endpoints: int = 0
    unreachable: int = 0
    applications: set = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _ResultPass:
    """What the one pass over the results leaves: totals per check, findings, the top findings."""

    total: int
    check_counts: dict[tuple[str, str, str], int]  # (check, status, severity) -> results
    findings: list[dict[str, Any]] | None  # None when there were too many to hold
    finding_count: int
    top_findings: list[dict[str, Any]]


@dataclass
class _Groups:
    """Endpoint scores gathered per nation, province, agency and application."""

    nation: _Group = field(default_factory=lambda: _Group(None))
    provinces: dict[str | None, _Group] = field(default_factory=dict)
    agencies: dict[str | None, _Group] = field(default_factory=dict)
    applications: dict[tuple[str | None, str | None], _Group] = field(default_factory=dict)


# --------------------------------------------------------------------------- the builder


class ReportBuilder:
    """One sweep's report in the making: reads the scope from the store, then renders each section.

    Its attributes are the request (store, sweep, scope, language, waivers,
    clock) and the names; the per-endpoint and per-check state travels
    between the steps of ``build``, so the finished report's lazy
    ``applications`` and ``endpoints`` keep only this small object alive.
    """

    def __init__(
        self,
        store: Store,
        sweep: Sweep,
        *,
        agency: str | None,
        lang: str,
        waivers: Waivers | None,
        now: datetime,
    ):
        self.store = store
        self.sweep = sweep
        self.agency = agency
        self.lang = lang
        self.waivers = waivers
        self.now = now
        self.checks = registry.checks()
        self.agency_names: Mapping[str, str] = {}
        self.app_names: Mapping[str, str] = {}
        self.province_names: dict[str, str] = {}

    def build(self, inventory_names: Mapping[str, Mapping[str, str]] | None) -> Report:
        """The report: read endpoints, outcomes and results, score them, then render every section."""
        endpoints = self.read_endpoints()
        certificates = self.read_outcomes(endpoints)
        if self.waivers is not None:
            self.waivers.reset()
        source = ResultSource(self.store, self.sweep.id, self.agency, self.waivers, self.checks, self.lang)
        results = self.read_results(endpoints, source)
        self.score_endpoints(endpoints)
        self.read_names(inventory_names)
        groups = self.group_endpoints(endpoints)
        checks_out, categories_out = self.checks_and_categories(results.check_counts)
        scope_score = groups.nation.tally.score()
        ordered = list(endpoints.values())
        fixes = fix_list(ordered, scope_score.index, self.lang, national=self.agency is None)
        for endpoint in ordered:
            endpoint.open = ()  # the fix list is made: the lazy endpoint entries need none of it

        done = sum(endpoint.done for endpoint in endpoints.values())
        unreachable = sum(endpoint.unreachable is not None for endpoint in endpoints.values())
        app_items = sorted(groups.applications.items(), key=lambda item: (item[0][0] or "", item[0][1] or ""))
        report = Report(
            schema_version=SCHEMA_VERSION,
            tool={"name": TOOL_NAME, "version": tool_version()},
            generated_at=self.now.isoformat(timespec="seconds"),
            lang=self.lang,
            labels=LABELS[self.lang],
            sweep=_sweep_dict(self.sweep, self.agency, len(endpoints), done, unreachable, results.total),
            scope={
                "agency": self.agency,
                "agency_name": self.agency_names.get(self.agency, self.agency) if self.agency else None,
            },
            score=self.score(scope_score),
            fixes=fixes,
            trend=trend(self.store, self.sweep, scope_score, self.agency, self.waivers, self.lang),
            provinces=self.provinces(groups),
            agencies=self.agencies(groups),
            applications=MappedSequence(app_items, self.application),
            endpoints=MappedSequence(ordered, self.endpoint),
            checks=checks_out,
            categories=categories_out,
            findings=results.findings
            if results.findings is not None
            else StreamedFindings(source, results.finding_count),
            top_findings=results.top_findings,
            waivers=with_expiring(waivers_dict(self.waivers, self.agency)),
            certificates=certificates,
            changes=changes_since_previous(self.store, self.sweep, self.agency, self.lang),
        )
        report.source = source
        return report

    # ----------------------------------------------------------------------- reading the store

    def read_endpoints(self) -> dict[str, _Endpoint]:
        """The sweep's endpoints in scope, by id; ``ReportError`` when the agency has none."""
        endpoints: dict[str, _Endpoint] = {}
        for meta in self.store.endpoints(self.sweep.id):
            if self.agency is not None and meta.agency != self.agency:
                continue
            endpoints[meta.endpoint_id] = _Endpoint(meta)
        if self.agency is not None and not endpoints:
            raise ReportError(f"agency {self.agency!r} has no endpoints in sweep {self.sweep.id}")
        return endpoints

    def read_outcomes(self, endpoints: dict[str, _Endpoint]) -> list[dict[str, Any]]:
        """Marks endpoints done (reachable or not, with their fact summary); returns their certificates."""
        certificates = []
        for outcome in self.store.outcomes(self.sweep.id):
            endpoint = endpoints.get(outcome.endpoint_id)
            if endpoint is None:
                continue
            endpoint.done = True
            endpoint.unreachable = outcome.unreachable
            endpoint.facts = fact_subset(outcome.facts) or None
            certificate = certificate_row(endpoint.meta, outcome.facts, self.now)
            if certificate is not None:
                certificates.append(certificate)
        certificates.sort(key=lambda c: (c["days_left"], c["endpoint"]))
        return certificates

    def read_results(self, endpoints: dict[str, _Endpoint], source: ResultSource) -> _ResultPass:
        """One pass over the results (ordered by endpoint, then check), waivers applied and counted.

        Plain counters per endpoint and per check, the findings while they
        are few, and the top findings. Fail/warn rows are kept per (severity,
        status) class, first come first kept: as the stream is ordered, each
        class's list holds its first rows by endpoint and check.
        """
        waivers = self.waivers
        check_counts: dict[tuple[str, str, str], int] = {}
        findings: list[dict[str, Any]] | None = []
        finding_count = 0
        top_by_class: dict[tuple[int, int], list[tuple[ResultRow, Status]]] = {}
        results_total = 0
        for row in self.store.results(self.sweep.id, agency=self.agency):
            results_total += 1
            if waivers is not None:
                status, waiver = waivers.apply(row)
            else:
                status, waiver = row.status, None
            status_value, severity_value = status.value, row.severity.value
            endpoint = endpoints.get(row.endpoint_id)
            if endpoint is not None:
                key = (status_value, severity_value)
                endpoint.counts[key] = endpoint.counts.get(key, 0) + 1
                if status_value == CAPPING_STATUS:
                    endpoint.tally.open_fail(severity_value, row.check_id)  # the worst one caps the index
                if status_value in OPEN_STATUSES:  # interned: ~140k of them in a national sweep
                    endpoint.open = (*endpoint.open, (sys.intern(row.check_id), status_value, severity_value))
            check_key = (row.check_id, status_value, severity_value)
            check_counts[check_key] = check_counts.get(check_key, 0) + 1
            if status not in FINDING_STATUSES:
                continue
            finding_count += 1
            if findings is not None:
                findings.append(source.finding(row, status, waiver))
                if len(findings) > FINDINGS_IN_MEMORY:
                    findings = None  # too many to hold: stream them instead
            actionable = _ACTIONABLE_RANK.get(status)
            if actionable is not None:
                bucket = top_by_class.setdefault((-row.severity.rank, actionable), [])
                if len(bucket) < TOP_FINDINGS:
                    bucket.append((row, status))
        top_rows = [item for _, bucket in sorted(top_by_class.items()) for item in bucket][:TOP_FINDINGS]
        top_findings = [source.finding(row, status, None) for row, status in top_rows]
        return _ResultPass(results_total, check_counts, findings, finding_count, top_findings)

    def read_names(self, inventory_names: Mapping[str, Mapping[str, str]] | None) -> None:
        """Agency and application names (given, or from the sweep's inventory file) and province names."""
        names = inventory_names
        if names is None:
            names = names_from_inventory(self.sweep.inventory_path) or {}
        self.agency_names = names.get("agencies", {})
        self.app_names = names.get("applications", {})
        self.province_names = {code: p.name for code, p in province_table().items()}

    # ----------------------------------------------------------------------- scoring

    @staticmethod
    def score_endpoints(endpoints: dict[str, _Endpoint]) -> None:
        """Folds each endpoint's counters into its capped score, then drops the tally."""
        for endpoint in endpoints.values():
            for (status_value, severity_value), count in endpoint.counts.items():
                endpoint.tally.add(status_value, severity_value, count)
            endpoint.counts = {}
            endpoint.score = endpoint.tally.score()
            del endpoint.tally  # the score has its counts; ~33k endpoints in a national sweep

    @staticmethod
    def group_endpoints(endpoints: dict[str, _Endpoint]) -> _Groups:
        """Groups from endpoint scores: each endpoint's capped index, weighted (``scoring.GroupTally``)."""
        groups = _Groups()
        for endpoint in endpoints.values():
            meta = endpoint.meta
            app_key = (meta.agency, meta.application)
            province = groups.provinces.setdefault(meta.province, _Group(meta.province))
            agency = groups.agencies.setdefault(meta.agency, _Group(meta.agency))
            application = groups.applications.setdefault(app_key, _Group(meta.application))
            agency.extra.setdefault("level", meta.agency_level)
            agency.extra.setdefault("province", meta.province)
            application.extra.update(agency=meta.agency, province=meta.province)
            for group in (groups.nation, province, agency, application):
                group.tally.add(endpoint.score)
                group.endpoints += 1
                group.unreachable += endpoint.unreachable is not None
                group.applications.add(app_key)
        return groups

    def score(self, tally: GroupTally | Score) -> dict[str, Any]:
        """A score as the report shows it (``Score.to_dict`` in the report's language)."""
        return (tally.score() if isinstance(tally, GroupTally) else tally).to_dict(self.lang)

    # ----------------------------------------------------------------------- sections

    def group_fields(self, group: _Group) -> dict[str, Any]:
        """The fields every group entry (province, agency, application) has: score, counts, sizes."""
        return {
            "score": self.score(group.tally),
            "counts": dict(group.tally.counts),
            "findings": _findings_count(group.tally.counts),
            "endpoints": group.endpoints,
            "unreachable": group.unreachable,
        }

    def provinces(self, groups: _Groups) -> list[dict[str, Any]]:
        """The ``provinces`` section; empty in agency scope."""
        if self.agency is not None:
            return []
        return [
            {
                "code": code,
                "name": self.province_names.get(code, code) if code else None,
                "agencies": sum(1 for a in groups.agencies.values() if a.extra.get("province") == code),
                "applications": len(group.applications),
                **self.group_fields(group),
            }
            for code, group in sorted(groups.provinces.items(), key=_none_last)
        ]

    def agencies(self, groups: _Groups) -> list[dict[str, Any]]:
        """The ``agencies`` section, by code."""
        agencies_out = []
        for code, group in sorted(groups.agencies.items(), key=_none_last):
            province = group.extra.get("province")
            agencies_out.append(
                {
                    "code": code,
                    "name": self.agency_names.get(code, code) if code else None,
                    "level": group.extra.get("level"),
                    "province": province,
                    "province_name": self.province_names.get(province, province) if province else None,
                    "applications": len(group.applications),
                    **self.group_fields(group),
                }
            )
        return agencies_out

    def application(self, item: tuple[tuple[str | None, str | None], _Group]) -> dict[str, Any]:
        """One entry of the ``applications`` section, rendered when read."""
        (agency_code, app_id), group = item
        return {
            "id": app_id,
            "name": self.app_names.get(app_id, app_id) if app_id else None,
            "agency": agency_code,
            "province": group.extra.get("province"),
            **self.group_fields(group),
        }

    def endpoint(self, endpoint: _Endpoint) -> dict[str, Any]:
        """One entry of the ``endpoints`` section, rendered when read."""
        return {
            "id": endpoint.meta.endpoint_id,
            **shown_meta(endpoint.meta),
            "done": endpoint.done,
            "unreachable": endpoint.unreachable,
            "score": self.score(endpoint.score),
            "findings": _findings_count(endpoint.score.counts),
            "facts": endpoint.facts,
        }

    def checks_and_categories(
        self, check_counts: Mapping[tuple[str, str, str], int]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The ``checks`` and ``categories`` sections: uncapped pass rates, a check at its worst severity."""
        check_tallies: dict[str, Tally] = {}
        check_severity: dict[str, Severity] = {}
        for (check_id, status_value, severity_value), count in check_counts.items():
            check_tallies.setdefault(check_id, Tally()).add(status_value, severity_value, count)
            severity = Severity(severity_value)
            known = check_severity.get(check_id)
            if known is None or severity.rank > known.rank:
                check_severity[check_id] = severity

        checks_out = []
        by_category: dict[str, Tally] = {}
        for check_id, tally in sorted(check_tallies.items()):
            check = self.checks.get(check_id)
            category = check.category if check else "unknown"
            by_category.setdefault(category, Tally()).merge(tally)
            severity = check_severity[check_id]
            checks_out.append(
                {
                    **check_meta(check_id, check, severity.value, self.lang),
                    "counts": dict(tally.counts),
                    "score": self.score(tally.pass_rate()),
                }
            )
        categories_out = [
            {"category": category, "counts": dict(tally.counts), "score": self.score(tally.pass_rate())}
            for category, tally in sorted(by_category.items())
        ]
        return checks_out, categories_out


# --------------------------------------------------------------------------- helpers


def _none_last(item: tuple[str | None, Any]) -> tuple[bool, str]:
    """Sort key for (code, group) items: by code, the group without a code last."""
    return (item[0] is None, item[0] or "")


def _findings_count(counts: Mapping[str, int]) -> int:
    return sum(counts.get(status.value, 0) for status in FINDING_STATUSES)


def _sweep_dict(
    sweep: Sweep, agency: str | None, endpoints: int, done: int, unreachable: int, results: int
) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "inventory_name": sweep.inventory_name,
        "inventory_hash": sweep.inventory_hash,
        "profile": sweep.profile,
        "profile_digest": sweep.profile_hash,
        "engine": sweep.engine,
        "started_at": sweep.started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "finished_at": sweep.finished_at.astimezone(UTC).isoformat(timespec="seconds")
        if sweep.finished_at
        else None,
        "state": sweep.state.value,
        "totals": {
            # In agency scope the totals are that agency's, not the nation's.
            "endpoints": sweep.total_endpoints if agency is None else endpoints,
            "done": done,
            "unreachable": unreachable,
            "results": results,
        },
    }
