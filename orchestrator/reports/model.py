"""The report data model: everything a report shows about one sweep, as plain data.

``build_report(store, sweep_id, ...)`` returns a ``Report`` (a ``dict``) that
every format renders and that the JSON report serialises as is
(``schema/report-v1.schema.json``, ``schema_version`` "1.1"). Keys:

``schema_version``, ``tool`` {name, version}, ``generated_at``, ``lang``,
``labels`` (status/severity words in ``lang``), ``sweep`` (metadata and
totals), ``scope`` {agency, agency_name}, ``score`` (the whole scope: the
nation, or the one agency), ``provinces``, ``agencies``, ``applications``,
``endpoints``, ``checks``, ``categories``, ``findings``, ``top_findings``,
``waivers`` {applied, expired, unmatched} or null, ``certificates``,
``changes`` (against the previous complete sweep of the same inventory:
counts, and lists cut at ``CHANGES_LIMIT`` entries, most severe first) or
null. Every score is ``Score.to_dict``: earned, possible, error_weight,
counts, compliance (0–1 or null), confidence, index (1–5 or null, capped by
the worst open finding), predicate {id, label} or null, level (1–5 or null),
weight, and cap (why a cap lowered the index: check, severity, status,
endpoints, uncapped_index, predicate, max_index, reasons) or null. Endpoint
scores are capped (``Tally.score``), groups average their endpoints' capped
indices (``GroupTally``), checks and categories are uncapped pass rates.

Agency scope (``agency=CODE``): only that agency's endpoints, results,
certificates, waivers and changes are read; ``score`` is the agency's score,
``provinces`` is empty and the sweep totals count that agency only, so no
other agency's code, name, endpoint or application appears anywhere.

Memory: results are read once through a store cursor and folded into
per-endpoint and per-check tallies. ``endpoints`` and ``applications`` are
sequences that build each entry's dict when read; ``findings`` is a list
when there are at most ``FINDINGS_IN_MEMORY`` of them, otherwise a sequence
that streams them from the store again on each iteration (it then needs the
store open). All are ``collections.abc.Sequence``: iterate them, ``len()``
them, slice them; serialise with ``orchestrator.reports.json_report`` or
``json.dumps(report, default=list)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import yaml

from orchestrator.inventory import provinces as province_table
from orchestrator.render import tool_version
from orchestrator.scoring import CAPPING_STATUS, GroupTally, Score, Tally
from orchestrator.store import ResultRow, Store, Sweep, SweepState
from orchestrator.waivers import Waiver, Waivers
from probes import registry
from probes.model import Check, Severity, Status

SCHEMA_VERSION = "1.1"
TOOL_NAME = "spbe-interop"
FINDINGS_IN_MEMORY = 20_000
TOP_FINDINGS = 50
CHANGES_LIMIT = 5_000  # entries per list of the changes section (counts are always complete)
# Statuses a report lists as findings: everything that is not a pass and
# not "not applicable".
FINDING_STATUSES = frozenset({Status.FAIL, Status.WARN, Status.ERROR, Status.WAIVED})
# Order of findings for "what to fix first": fail before warn.
_ACTIONABLE_RANK = {Status.FAIL: 0, Status.WARN: 1}
# The observed summary shown per endpoint: family -> keys (scalars only).
FACT_SUBSET: dict[str, tuple[str, ...]] = {
    "ssh": ("banner", "software", "version"),
    "tls": ("version", "subject", "issuer", "not_after"),
    "grpc": ("connection", "health"),
}
FACT_TEXT_LIMIT = 256

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "id": {
        "status": {
            "pass": "Lulus",
            "fail": "Gagal",
            "warn": "Peringatan",
            "error": "Tidak dapat ditentukan",
            "skip": "Tidak berlaku",
            "waived": "Dikecualikan",
        },
        "severity": {
            "critical": "Kritis",
            "high": "Tinggi",
            "medium": "Sedang",
            "low": "Rendah",
            "info": "Informasi",
        },
    },
    "en": {
        "status": {
            "pass": "Pass",
            "fail": "Fail",
            "warn": "Warning",
            "error": "Undetermined",
            "skip": "Not applicable",
            "waived": "Waived",
        },
        "severity": {
            "critical": "Critical",
            "high": "High",
            "medium": "Medium",
            "low": "Low",
            "info": "Info",
        },
    },
}
LANGS = tuple(LABELS)


class ReportError(ValueError):
    """The report cannot be built as asked (e.g. an agency with no endpoints in the sweep)."""


class Report(dict):
    """The report model (a plain ``dict``), with a handle for formats that list every result."""

    source: "_Source | None" = None


# --------------------------------------------------------------------------- lazy sequences


class MappedSequence(Sequence):
    """A read-only sequence that renders each compact item into its dict on access."""

    def __init__(self, items: list[Any], render: Callable[[Any], dict[str, Any]]):
        self._items = items
        self._render = render

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._render(item) for item in self._items[index]]
        return self._render(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._render(item) for item in self._items)


class StreamedFindings(Sequence):
    """Findings read again from the store on each iteration (large reports)."""

    def __init__(self, source: "_Source", count: int):
        self._source = source
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row, status, waiver in self._source.rows():
            if status in FINDING_STATUSES:
                yield self._source.finding(row, status, waiver)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(itertools.islice(iter(self), *index.indices(self._count)))
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return next(itertools.islice(iter(self), index, None))


# --------------------------------------------------------------------------- reading the store


@dataclass
class _Source:
    """How to read the scope's results again (findings stream, JUnit)."""

    store: Store
    sweep_id: str
    agency: str | None
    waivers: Waivers | None
    checks: dict[str, Check]

    def rows(self) -> Iterator[tuple[ResultRow, Status, Waiver | None]]:
        """Every result in scope with its effective status (waivers applied, not counted)."""
        for row in self.store.results(self.sweep_id, agency=self.agency):
            waiver = self.waivers.match(row) if self.waivers is not None else None
            yield row, (Status.WAIVED if waiver is not None else row.status), waiver

    def finding(self, row: ResultRow, status: Status, waiver: Waiver | None) -> dict[str, Any]:
        check = self.checks.get(row.check_id)
        return {
            "endpoint": row.endpoint_id,
            "url": row.url,
            "protocol": row.protocol,
            "agency": row.agency,
            "application": row.application,
            "province": row.province,
            "check_id": row.check_id,
            "title": check.title if check else row.check_id,
            "category": check.category if check else None,
            "status": status.value,
            "severity": row.severity.value,
            "reason": row.reason,
            "evidence": row.evidence,
            "remediation": check.remediation if check else None,
            "duration_s": row.duration_s,
            "waiver": _waiver_ref(waiver, row.status),
        }


def iter_results(report: Report) -> Iterator[dict[str, Any]]:
    """Every result of the report's scope (passes included), as finding-shaped dicts.

    For formats that list each endpoint × check (JUnit). Streams from the
    store, so the store must still be open.
    """
    source = report.source
    if source is None:
        raise ReportError("this report was not built from a store: its individual results are not available")
    for row, status, waiver in source.rows():
        yield source.finding(row, status, waiver)


def _waiver_ref(waiver: Waiver | None, original: Status) -> dict[str, Any] | None:
    """The waiver that covers a finding, with the status it waived (fail or warn)."""
    if waiver is None:
        return None
    entry = waiver.entry
    return {
        "id": entry.id,
        "justification": entry.justification,
        "approver": entry.approver,
        "expires": entry.expires.isoformat(),
        "original_status": original.value,
    }


# --------------------------------------------------------------------------- accumulators


@dataclass(slots=True)
class _Endpoint:
    id: str
    url: str
    protocol: str
    agency: str | None
    agency_level: str | None
    province: str | None
    application: str | None
    tally: Tally | None = field(default_factory=Tally)  # while reading, then None
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, severity) while reading
    score: Score | None = None  # the endpoint's (capped) score, once every result is read
    done: bool = False
    unreachable: str | None = None
    facts: dict[str, Any] | None = None


@dataclass
class _Group:
    key: str | None
    tally: GroupTally = field(default_factory=GroupTally)
    endpoints: int = 0
    unreachable: int = 0
    applications: set = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)


def _findings_count(counts: Mapping[str, int]) -> int:
    return sum(counts.get(status.value, 0) for status in FINDING_STATUSES)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > FACT_TEXT_LIMIT:
        return value[: FACT_TEXT_LIMIT - 1] + "…"
    return value


def _fact_subset(facts: Mapping[str, Any]) -> dict[str, Any]:
    subset: dict[str, Any] = {}
    for family, keys in FACT_SUBSET.items():
        observed = facts.get(family)
        if not isinstance(observed, Mapping):
            continue
        picked = {
            key: _clip(observed[key])
            for key in keys
            if isinstance(observed.get(key), (str, int, float, bool))
        }
        if picked:
            subset[family] = picked
    return subset


def _certificate(endpoint: _Endpoint, facts: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    tls = facts.get("tls")
    if not isinstance(tls, Mapping) or not isinstance(tls.get("not_after"), str):
        return None
    try:
        not_after = datetime.fromisoformat(tls["not_after"])
    except ValueError:
        return None
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=timezone.utc)
    return {
        "endpoint": endpoint.id,
        "agency": endpoint.agency,
        "application": endpoint.application,
        "province": endpoint.province,
        "subject": _clip(tls.get("subject")) if isinstance(tls.get("subject"), str) else None,
        "issuer": _clip(tls.get("issuer")) if isinstance(tls.get("issuer"), str) else None,
        "not_after": not_after.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "days_left": math.floor((not_after - now).total_seconds() / 86400),
    }


# --------------------------------------------------------------------------- names


# What names are read from an inventory: section -> the key field of its items.
NAME_SECTIONS = {"agencies": "code", "applications": "id"}


def names_from_inventory(path: str) -> dict[str, dict[str, str]] | None:
    """``{"agencies": {code: name}, "applications": {id: name}}`` from an inventory file, or None.

    Only names are wanted, so the YAML is read as an event stream (libyaml
    when available) without building or validating the document: a national
    inventory takes a second and a few MB instead of a full load. Names are
    those of the file as it is now; None when it is gone or unreadable.
    """
    names: dict[str, dict[str, str]] = {section: {} for section in NAME_SECTIONS}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # One frame per open collection: [is_mapping, expecting_key, current_key, collected scalars].
    stack: list[list[Any]] = []
    try:
        with open(path, encoding="utf-8") as stream:
            for event in yaml.parse(stream, Loader=loader):
                if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                    parent_key = _take_value_slot(stack)
                    stack.append([isinstance(event, yaml.MappingStartEvent), True, parent_key, {}])
                elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                    frame = stack.pop()
                    # An item of agencies/applications: a mapping inside a top-level sequence.
                    if frame[0] and len(stack) == 2 and stack[1][2] in NAME_SECTIONS:
                        section = stack[1][2]
                        key, name = frame[3].get(NAME_SECTIONS[section]), frame[3].get("name")
                        if key is not None and name is not None:
                            names[section][key] = name
                elif isinstance(event, yaml.ScalarEvent) and stack:
                    frame = stack[-1]
                    if frame[0] and frame[1]:
                        frame[1], frame[2] = False, event.value
                    else:
                        if frame[0]:
                            frame[3][frame[2]] = event.value
                        _take_value_slot(stack)
                elif isinstance(event, yaml.AliasEvent) and stack:
                    _take_value_slot(stack)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return names


def _take_value_slot(stack: list[list[Any]]) -> str | None:
    """A value arrives in the innermost collection: a mapping expects its next key again."""
    if not stack:
        return None
    frame = stack[-1]
    key = frame[2] if frame[0] else None
    if frame[0]:
        frame[1] = True
    return key


# --------------------------------------------------------------------------- building


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
    """The report model of one sweep (see the module docstring).

    ``sweep_id`` is an id or a unique prefix (``UnknownSweep``/``AmbiguousSweep``
    from the store otherwise). ``inventory_names`` maps agency codes and
    application ids to names (``{"agencies": {...}, "applications": {...}}``);
    by default they are read from the sweep's inventory file when it is still
    there, else codes stand for names. ``ReportError`` for an agency without
    endpoints in the sweep or an unknown language.
    """
    if lang not in LABELS:
        raise ReportError(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    sweep = store.get_sweep(sweep_id)
    checks = registry.checks()

    endpoints: dict[str, _Endpoint] = {}
    for record in store.endpoints(sweep.id):
        if agency is not None and record.agency != agency:
            continue
        endpoints[record.endpoint_id] = _Endpoint(
            record.endpoint_id, record.url, record.protocol, record.agency,
            record.agency_level, record.province, record.application,
        )
    if agency is not None and not endpoints:
        raise ReportError(f"agency {agency!r} has no endpoints in sweep {sweep.id}")

    certificates = []
    for outcome in store.outcomes(sweep.id):
        endpoint = endpoints.get(outcome.endpoint_id)
        if endpoint is None:
            continue
        endpoint.done = True
        endpoint.unreachable = outcome.unreachable
        endpoint.facts = _fact_subset(outcome.facts) or None
        certificate = _certificate(endpoint, outcome.facts, now)
        if certificate is not None:
            certificates.append(certificate)
    certificates.sort(key=lambda c: (c["days_left"], c["endpoint"]))

    if waivers is not None:
        waivers.reset()
    source = _Source(store, sweep.id, agency, waivers, checks)

    # One pass over the results (ordered by endpoint, then check): plain counters per endpoint
    # and per check, the findings while they are few, and the top findings. Fail/warn rows are
    # kept per (severity, status) class, first come first kept: as the stream is ordered, each
    # class's list holds its first rows by endpoint and check.
    check_counts: dict[tuple[str, str, str], int] = {}
    findings: list[dict[str, Any]] | None = []
    finding_count = 0
    top_by_class: dict[tuple[int, int], list[tuple[ResultRow, Status]]] = {}
    results_total = 0
    for row in store.results(sweep.id, agency=agency):
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

    for endpoint in endpoints.values():
        for (status_value, severity_value), count in endpoint.counts.items():
            endpoint.tally.add(status_value, severity_value, count)
        endpoint.counts = {}
        endpoint.score = endpoint.tally.score()
        endpoint.tally = None  # the score has its counts; ~33k endpoints in a national sweep
    check_tallies: dict[str, Tally] = {}
    check_severity: dict[str, Severity] = {}
    for (check_id, status_value, severity_value), count in check_counts.items():
        check_tallies.setdefault(check_id, Tally()).add(status_value, severity_value, count)
        severity = Severity(severity_value)
        known = check_severity.get(check_id)
        if known is None or severity.rank > known.rank:
            check_severity[check_id] = severity

    names = inventory_names
    if names is None:
        names = names_from_inventory(sweep.inventory_path) or {}
    agency_names = names.get("agencies", {})
    app_names = names.get("applications", {})
    province_names = {code: p.name for code, p in province_table().items()}

    def score_dict(tally: GroupTally | Score) -> dict[str, Any]:
        return (tally.score() if isinstance(tally, GroupTally) else tally).to_dict(lang)

    # Groups from endpoint scores: each endpoint's capped index, weighted (scoring.GroupTally).
    nation = _Group(None)
    by_province: dict[str | None, _Group] = {}
    by_agency: dict[str | None, _Group] = {}
    by_app: dict[tuple[str | None, str | None], _Group] = {}
    for endpoint in endpoints.values():
        app_key = (endpoint.agency, endpoint.application)
        groups = [nation, by_province.setdefault(endpoint.province, _Group(endpoint.province)),
                  by_agency.setdefault(endpoint.agency, _Group(endpoint.agency)),
                  by_app.setdefault(app_key, _Group(endpoint.application))]
        by_agency[endpoint.agency].extra.setdefault("level", endpoint.agency_level)
        by_agency[endpoint.agency].extra.setdefault("province", endpoint.province)
        by_app[app_key].extra.update(agency=endpoint.agency, province=endpoint.province)
        for group in groups:
            group.tally.add(endpoint.score)
            group.endpoints += 1
            group.unreachable += endpoint.unreachable is not None
            group.applications.add(app_key)

    def group_common(group: _Group) -> dict[str, Any]:
        return {
            "score": score_dict(group.tally),
            "counts": dict(group.tally.counts),
            "findings": _findings_count(group.tally.counts),
            "endpoints": group.endpoints,
            "unreachable": group.unreachable,
        }

    provinces_out = []
    if agency is None:
        for code, group in sorted(by_province.items(), key=lambda item: (item[0] is None, item[0] or "")):
            provinces_out.append(
                {"code": code, "name": province_names.get(code, code) if code else None,
                 "agencies": sum(1 for a in by_agency.values() if a.extra.get("province") == code),
                 "applications": len(group.applications), **group_common(group)}
            )

    agencies_out = []
    for code, group in sorted(by_agency.items(), key=lambda item: (item[0] is None, item[0] or "")):
        province = group.extra.get("province")
        agencies_out.append(
            {"code": code, "name": agency_names.get(code, code) if code else None,
             "level": group.extra.get("level"), "province": province,
             "province_name": province_names.get(province, province) if province else None,
             "applications": len(group.applications), **group_common(group)}
        )

    app_items = sorted(by_app.items(), key=lambda item: (item[0][0] or "", item[0][1] or ""))

    def render_app(item: tuple[tuple[str | None, str | None], _Group]) -> dict[str, Any]:
        (agency_code, app_id), group = item
        return {"id": app_id, "name": app_names.get(app_id, app_id) if app_id else None,
                "agency": agency_code, "province": group.extra.get("province"), **group_common(group)}

    def render_endpoint(endpoint: _Endpoint) -> dict[str, Any]:
        return {
            "id": endpoint.id,
            "url": endpoint.url,
            "protocol": endpoint.protocol,
            "agency": endpoint.agency,
            "application": endpoint.application,
            "province": endpoint.province,
            "done": endpoint.done,
            "unreachable": endpoint.unreachable,
            "score": score_dict(endpoint.score),
            "findings": _findings_count(endpoint.score.counts),
            "facts": endpoint.facts,
        }

    checks_out = []
    by_category: dict[str, Tally] = {}
    for check_id, tally in sorted(check_tallies.items()):
        check = checks.get(check_id)
        category = check.category if check else "unknown"
        by_category.setdefault(category, Tally()).merge(tally)
        severity = check_severity[check_id]
        checks_out.append(
            {"id": check_id,
             "title": check.title if check else check_id,
             "protocol": check.protocol if check else None,
             "category": category,
             "severity": severity.value,
             "rationale": check.rationale if check else None,
             "remediation": check.remediation if check else None,
             "references": list(check.references) if check else [],
             "counts": dict(tally.counts),
             "score": score_dict(tally.pass_rate())}
        )
    categories_out = [
        {"category": category, "counts": dict(tally.counts), "score": score_dict(tally.pass_rate())}
        for category, tally in sorted(by_category.items())
    ]

    done = sum(endpoint.done for endpoint in endpoints.values())
    unreachable = sum(endpoint.unreachable is not None for endpoint in endpoints.values())
    report = Report(
        schema_version=SCHEMA_VERSION,
        tool={"name": TOOL_NAME, "version": tool_version()},
        generated_at=now.isoformat(timespec="seconds"),
        lang=lang,
        labels=LABELS[lang],
        sweep=_sweep_dict(sweep, agency, len(endpoints), done, unreachable, results_total),
        scope={"agency": agency, "agency_name": agency_names.get(agency, agency) if agency else None},
        score=score_dict(nation.tally),
        provinces=provinces_out,
        agencies=agencies_out,
        applications=MappedSequence(app_items, render_app),
        endpoints=MappedSequence(list(endpoints.values()), render_endpoint),
        checks=checks_out,
        categories=categories_out,
        findings=findings if findings is not None else StreamedFindings(source, finding_count),
        top_findings=top_findings,
        waivers=_waivers_dict(waivers, agency),
        certificates=certificates,
        changes=_changes(store, sweep, agency),
    )
    report.source = source
    return report


def _waivers_dict(waivers: Waivers | None, agency: str | None) -> dict[str, Any] | None:
    if waivers is None:
        return None
    return {"source": waivers.source, "as_of": waivers.as_of.isoformat(), **waivers.report(agency=agency)}


def _sweep_dict(sweep: Sweep, agency: str | None, endpoints: int, done: int, unreachable: int,
                results: int) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "inventory_name": sweep.inventory_name,
        "inventory_hash": sweep.inventory_hash,
        "profile": sweep.profile,
        "profile_digest": sweep.profile_hash,
        "engine": sweep.engine,
        "started_at": sweep.started_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "finished_at": sweep.finished_at.astimezone(timezone.utc).isoformat(timespec="seconds")
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


def _previous_complete(store: Store, sweep: Sweep) -> Sweep | None:
    for candidate in store.list_sweeps(None, inventory_name=sweep.inventory_name):
        if candidate.id != sweep.id and candidate.state is SweepState.COMPLETE and (
            candidate.started_at, candidate.id) < (sweep.started_at, sweep.id):
            return candidate
    return None


def _changes(store: Store, sweep: Sweep, agency: str | None) -> dict[str, Any] | None:
    """What changed since the previous complete sweep of the same inventory (scope applied).

    Status changes compare stored statuses (waivers are not applied to history).
    Each list keeps at most ``CHANGES_LIMIT`` entries, most severe first;
    ``counts`` has the full numbers.
    """
    previous = _previous_complete(store, sweep)
    if previous is None:
        return None
    diff = store.diff(previous.id, sweep.id)

    def in_scope(entries: list) -> list:
        return [entry for entry in entries if agency is None or entry.agency == agency]

    entries = {
        "regressions": in_scope(diff.regressions),
        "fixes": in_scope(diff.fixes),
        "changed": in_scope(diff.changed),
    }
    if agency is None:
        new, gone = diff.new_endpoints, diff.gone_endpoints
    else:
        ours_now = {e.endpoint_id for e in store.endpoints(sweep.id) if e.agency == agency}
        ours_before = {e.endpoint_id for e in store.endpoints(previous.id) if e.agency == agency}
        new = [e for e in diff.new_endpoints if e in ours_now]
        gone = [e for e in diff.gone_endpoints if e in ours_before]
    changes: dict[str, Any] = {
        "previous_sweep": previous.id,
        "previous_started_at": previous.started_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "counts": {**{kind: len(items) for kind, items in entries.items()},
                   "new_endpoints": len(new), "gone_endpoints": len(gone)},
        "limit": CHANGES_LIMIT,
    }
    for kind, items in entries.items():
        items.sort(key=lambda e: (-e.severity.rank, e.endpoint_id, e.check_id))
        changes[kind] = [entry.to_dict() for entry in items[:CHANGES_LIMIT]]
    changes["new_endpoints"] = list(new[:CHANGES_LIMIT])
    changes["gone_endpoints"] = list(gone[:CHANGES_LIMIT])
    return changes
