"""The metrics of one sweep, read from the store in one pass and kept as samples.

A finished sweep no longer changes, so the collector builds its snapshot once
and serves it from memory on every scrape; ``push_summary`` and
``write_textfile`` build one for the sweep that just ran (``detail=False``:
no per-endpoint or per-agency-and-check series).

Scores use ``orchestrator.scoring`` as the reports do (per-endpoint scores,
capped by the worst open fail, aggregated into agency, province and national
scores), after the waivers in force (``orchestrator.waivers``). Why an index
is capped is exposed as the number of capped endpoints and the main capping
check (``interop_*_cap_info``) of the nation, each province and each agency.
Facts give two per-endpoint series: the TLS
certificate's ``not_after`` (``facts["tls"]``, from the TLS probe) and the
SSH host-key fingerprints by key type (``facts["ssh"]["host_keys"]``, from the
SSH probe), compared with the previous complete sweep of the same inventory.
The fingerprint itself is never a label.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.metrics.families import SWEEP_STATES
from orchestrator.metrics.labels import STATUSES, label
from orchestrator.metrics.series import SeriesSet
from orchestrator.scoring import SEVERITY_RANK, GroupTally, Score, Tally
from orchestrator.store import Outcome, Store, Sweep
from orchestrator.waivers import WAIVABLE, WaiverRow, Waivers
from probes.tls.facts import summary_expiry


@dataclass
class Snapshot:
    sweep_id: str
    inventory: str
    series: SeriesSet
    build_s: float


class _Endpoint:
    __slots__ = (
        "record",
        "labels",
        "tally",
        "score",
        "done",
        "up",
        "lost",
        "duration_s",
        "cert_expiry",
        "host_keys",
    )

    def __init__(self, record: EndpointMeta, labels: dict[str, str]):
        self.record = record
        self.labels = labels  # shared by all of this endpoint's series
        self.tally = Tally()
        self.score: Score | None = None  # capped, once every result is read
        self.done = False
        self.up = False
        self.lost = False  # unreachable: no connection at all
        self.duration_s = 0.0
        self.cert_expiry: float | None = None
        self.host_keys: dict[str, str] = {}


class _Group:
    __slots__ = ("tally", "endpoints", "unreachable", "level", "province")

    def __init__(self, level: str | None = None, province: str | None = None):
        self.tally = GroupTally()
        self.endpoints = 0
        self.unreachable = 0
        self.level = level
        self.province = province


def cert_expiry(facts: Mapping[str, Any]) -> float | None:
    """``facts["tls"]["not_after"]`` as Unix time, or None."""
    moment = summary_expiry(facts)
    return None if moment is None else moment.timestamp()


def host_keys(facts: Mapping[str, Any]) -> dict[str, str]:
    """Host-key fingerprint by key type from ``facts["ssh"]["host_keys"]`` (failed fetches left out)."""
    ssh = facts.get("ssh")
    entries = ssh.get("host_keys") if isinstance(ssh, Mapping) else None
    if not isinstance(entries, list):
        return {}
    keys = {}
    for entry in entries:
        if (
            isinstance(entry, Mapping)
            and isinstance(entry.get("type"), str)
            and isinstance(entry.get("fingerprint"), str)
        ):
            keys[entry["type"]] = entry["fingerprint"]
    return keys


def host_key_changed(now: dict[str, str], before: dict[str, str]) -> bool | None:
    """True if a key type present both times has another fingerprint; None with no type in common.

    A key type that appears or disappears is not a change of key (servers add
    new key types; one fetch may fail).
    """
    common = now.keys() & before.keys()
    if not common:
        return None
    return any(now[key_type] != before[key_type] for key_type in common)


def _scheme(url: str) -> str:
    return url.partition("://")[0]


def _scores(series: SeriesSet, prefix: str, labels: dict[str, str], score: Score) -> None:
    if score.compliance is not None:
        series.gauge(f"{prefix}_compliance_ratio", labels, score.compliance)
    series.gauge(f"{prefix}_confidence_ratio", labels, score.confidence)
    if score.index is not None:
        series.gauge(f"{prefix}_spbe_index", labels, score.index)
        series.gauge(f"{prefix}_capped_endpoints", labels, score.cap.endpoints if score.cap else 0)
    if score.cap is not None:
        # Why: the main capping check. Check ids and severities come from the store, never a server.
        main = score.cap.main
        series.gauge(
            f"{prefix}_cap_info",
            {**labels, "check": label(main.check_id), "severity": label(main.severity)},
            1,
        )


class _SweepData:
    """What one pass over a sweep's endpoints, outcomes and results yields."""

    def __init__(self) -> None:
        self.endpoints: dict[str, _Endpoint] = {}
        self.durations: list[float] = []
        self.unreachable = 0
        self.check_failures: dict[str, int] = {}
        self.check_severity: dict[str, str] = {}
        self.agency_check_failures: dict[str | None, dict[str, int]] = {}


def _read(store: Store, sweep: Sweep, inventory: str, waivers: Waivers | None, detail: bool) -> _SweepData:
    data = _SweepData()
    for record in store.endpoints(sweep.id):
        labels = {"inventory": inventory, "agency": label(record.agency)}
        labels["endpoint"] = label(record.endpoint_id)
        data.endpoints[record.endpoint_id] = _Endpoint(record, labels)

    for outcome in store.outcomes(sweep.id) if detail else store.outcome_briefs(sweep.id):
        endpoint = data.endpoints.get(outcome.endpoint_id)
        if endpoint is None:
            continue
        endpoint.done = True
        endpoint.lost = bool(outcome.unreachable)
        endpoint.up = not endpoint.lost and outcome.error_class is None
        endpoint.duration_s = outcome.duration_s
        data.durations.append(outcome.duration_s)
        data.unreachable += endpoint.lost
        if isinstance(outcome, Outcome):  # detail: the full outcome, with facts
            endpoint.cert_expiry = cert_expiry(outcome.facts)
            endpoint.host_keys = host_keys(outcome.facts)

    # Results come ordered by endpoint: look the endpoint up once per endpoint.
    current_id = endpoint = None
    for endpoint_id, check_id, status, severity in store.statuses(sweep.id):
        if endpoint_id != current_id:
            current_id = endpoint_id
            endpoint = data.endpoints.get(endpoint_id)
            if endpoint is not None:
                record = endpoint.record
                add = endpoint.tally.add
                agency_failures = data.agency_check_failures.setdefault(record.agency, {})
        if endpoint is None:
            continue
        if waivers is not None and status in WAIVABLE:
            view = WaiverRow(status, check_id, endpoint_id, record.url, record.agency, record.application)
            status = waivers.apply(view)[0].value
        add(status, severity, check_id=check_id)  # a fail also notes the endpoint's worst open finding
        failed = 1 if status == "fail" else 0
        data.check_failures[check_id] = data.check_failures.get(check_id, 0) + failed
        agency_failures[check_id] = agency_failures.get(check_id, 0) + failed
        known = data.check_severity.get(check_id)
        if known != severity and (known is None or SEVERITY_RANK[severity] > SEVERITY_RANK[known]):
            data.check_severity[check_id] = severity
    return data


def _groups(data: _SweepData) -> tuple[_Group, dict[str | None, _Group], dict[str | None, _Group]]:
    """Nation, provinces and agencies, each the aggregate of its endpoints' capped scores."""
    nation = _Group()
    provinces: dict[str | None, _Group] = {}
    agencies: dict[str | None, _Group] = {}
    for endpoint in data.endpoints.values():
        record = endpoint.record
        agency = agencies.get(record.agency)
        if agency is None:
            agency = agencies[record.agency] = _Group(record.agency_level, record.province)
        province = provinces.setdefault(record.province, _Group())
        endpoint.score = endpoint.tally.score()
        del endpoint.tally  # the score has its counts
        for group in (nation, province, agency):
            group.tally.add(endpoint.score)
            group.endpoints += 1
            group.unreachable += endpoint.lost
    return nation, provinces, agencies


def _by_code(groups: dict[str | None, Any]) -> list[str | None]:
    return sorted(groups, key=lambda code: code or "")


def build_snapshot(
    store: Store,
    sweep: Sweep,
    *,
    previous: Sweep | None = None,
    waivers: Waivers | None = None,
    detail: bool = True,
) -> Snapshot:
    """Every metric of ``sweep``; ``previous`` is the complete sweep before it (host-key changes)."""
    started = time.perf_counter()
    inventory = label(sweep.inventory_name)
    inv = {"inventory": inventory}
    data = _read(store, sweep, inventory, waivers, detail)
    nation, provinces, agencies = _groups(data)

    series = SeriesSet()
    info = {**inv, "sweep": label(sweep.id), "profile": label(sweep.profile), "engine": label(sweep.engine)}
    series.gauge("interop_sweep_info", {**info, "state": sweep.state.value}, 1)
    series.gauge("interop_sweep_start_timestamp_seconds", inv, sweep.started_at.timestamp())
    if sweep.finished_at is not None:
        series.gauge("interop_sweep_end_timestamp_seconds", inv, sweep.finished_at.timestamp())
        series.gauge("interop_sweep_duration_seconds", inv, sweep.duration_s or 0.0)
    series.gauge("interop_sweep_endpoints", inv, sweep.total_endpoints)
    series.gauge("interop_sweep_endpoints_unreachable", inv, data.unreachable)
    for status in STATUSES:
        series.gauge("interop_sweep_results", {**inv, "status": status}, nation.tally.counts.get(status, 0))
    series.histogram("interop_sweep_probe_duration_seconds", inv, data.durations)
    for check_id in sorted(data.check_failures):
        labels = {**inv, "check": label(check_id), "severity": label(data.check_severity[check_id])}
        series.gauge("interop_check_failures", labels, data.check_failures[check_id])

    _scores(series, "interop_national", inv, nation.tally.score())
    for code in _by_code(provinces):
        _scores(series, "interop_province", {**inv, "province": label(code)}, provinces[code].tally.score())
    agency_labels = {code: {**inv, "agency": label(code)} for code in agencies}
    for code in _by_code(agencies):
        group, labels = agencies[code], agency_labels[code]
        attributes = {"agency_level": label(group.level), "province": label(group.province)}
        series.gauge("interop_agency_info", {**labels, **attributes}, 1)
        _scores(series, "interop_agency", labels, group.tally.score())
        series.gauge("interop_agency_endpoints", labels, group.endpoints)
        series.gauge("interop_agency_endpoints_unreachable", labels, group.unreachable)
        for status in STATUSES:
            count = group.tally.counts.get(status, 0)
            series.gauge("interop_agency_results", {**labels, "status": status}, count)

    if detail:
        for code in _by_code(data.agency_check_failures):
            failures = data.agency_check_failures[code]
            for check_id in sorted(failures):
                severity = label(data.check_severity[check_id])
                labels = {**agency_labels[code], "check": label(check_id), "severity": severity}
                series.gauge("interop_agency_check_failures", labels, failures[check_id])
        before = _previous_host_keys(store, previous, data.endpoints)
        for endpoint_id, endpoint in data.endpoints.items():
            _endpoint_series(series, endpoint, before.get(endpoint_id))
    return Snapshot(sweep.id, inventory, series, time.perf_counter() - started)


def _previous_host_keys(
    store: Store, previous: Sweep | None, endpoints: dict[str, _Endpoint]
) -> dict[str, dict[str, str]]:
    wanted = {eid for eid, e in endpoints.items() if e.host_keys}
    if previous is None or not wanted:
        return {}
    return {
        outcome.endpoint_id: host_keys(outcome.facts)
        for outcome in store.outcomes(previous.id)
        if outcome.endpoint_id in wanted
    }


def _endpoint_series(series: SeriesSet, endpoint: _Endpoint, keys_before: dict[str, str] | None) -> None:
    record, labels = endpoint.record, endpoint.labels
    series.gauge(
        "interop_endpoint_info",
        {
            **labels,
            "application": label(record.application),
            "protocol": label(record.protocol),
            "agency_level": label(record.agency_level),
            "province": label(record.province),
        },
        1,
    )
    if not endpoint.done:
        return
    series.gauge("interop_endpoint_up", labels, 1 if endpoint.up else 0)
    compliance = endpoint.score.compliance if endpoint.score is not None else None
    if compliance is not None:
        series.gauge("interop_endpoint_compliance_ratio", labels, compliance)
    series.gauge("interop_endpoint_probe_duration_seconds", labels, endpoint.duration_s)
    if endpoint.cert_expiry is not None and _scheme(record.url) == "grpcs":
        series.gauge("interop_endpoint_tls_cert_expiry_timestamp_seconds", labels, endpoint.cert_expiry)
    if keys_before is not None and _scheme(record.url) == "ssh":
        changed = host_key_changed(endpoint.host_keys, keys_before)
        if changed is not None:
            series.gauge("interop_endpoint_ssh_host_key_changed", labels, 1 if changed else 0)


def newest_state_series(series: SeriesSet, inventory_name: str, state: str) -> None:
    """``interop_sweep_latest_state``: one-hot of the newest sweep's state."""
    labels = {"inventory": label(inventory_name)}
    series.one_hot("interop_sweep_latest_state", labels, "state", SWEEP_STATES, state)
