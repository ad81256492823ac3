"""The report data model: everything a report shows about one sweep, as plain data.

``orchestrator.reports.build.build_report(store, sweep_id, ...)`` returns a
``Report`` (a ``dict``) that every format renders and that the JSON report
serialises as is
(``schema/report-v1.schema.json``, ``schema_version`` "1.2": 1.1 plus the keys
marked 1.2 below). Keys:

``schema_version``, ``tool`` {name, version}, ``generated_at``, ``lang``,
``labels`` (status/severity words in ``lang``), ``sweep`` (metadata and
totals), ``scope`` {agency, agency_name}, ``score`` (the whole scope: the
nation, or the one agency), ``provinces``, ``agencies``, ``applications``,
``endpoints``, ``checks``, ``categories``, ``findings``, ``top_findings``,
``waivers`` {applied, expired, unmatched} or null, ``certificates``,
``changes`` (against the previous complete sweep of the same inventory:
counts, and lists cut at ``changes.CHANGES_LIMIT`` entries, most severe first) or
null. Every score is ``Score.to_dict``: earned, possible, error_weight,
counts, compliance (0–1 or null), confidence, index (1–5 or null, capped by
the worst open finding), predicate {id, label} or null, level (1–5 or null),
weight, and cap (why a cap lowered the index: check, severity, status,
endpoints, uncapped_index, predicate, max_index, reasons) or null. Endpoint
scores are capped (``Tally.score``), groups average their endpoints' capped
indices (``GroupTally``), checks and categories are uncapped pass rates.

Language (1.2): every check text is in ``lang`` (``probes.registry.check_text``):
``checks[*].title/rationale/remediation``, ``findings[*]``/``top_findings[*]``
``title``, ``remediation`` and ``reason`` (the stored reason rendered through
``probes.messages.render_reason`` from the row's ``message``; verbatim when it
has no template). ``checks[*].effort``, ``findings[*].effort``: one of
``probes.model.EFFORTS``. ``findings[*].message``: ``{key, params}`` or null.
``changes`` regressions/fixes/changed carry their ``reason`` in ``lang`` too. A waived
finding's ``waiver`` has id, justification, approver, expires,
original_status.

``fixes`` (1.2), "Yang harus diperbaiki": the scope's open findings (fail and
warn after waivers; error is not a fix) grouped by remediation (checks whose
English remediation is identical share one fix). Each entry::

    {id: "ssh-kex-001" (the fix's lowest check id, lower case: stable),
     remediation: text in lang, effort: one of EFFORTS (the most work of its checks),
     severity: worst severity of its open findings,
     checks: [{id, title}] (title in lang, by id),
     endpoints: [endpoint id] (sorted, at most fixes.FIX_ENDPOINTS_LIMIT), endpoint_count: int,
     findings: int (open findings it clears),
     index_after: float | null (the scope's index when this fix alone is done: its
         findings counted as passes, endpoints re-scored with caps, groups as GroupTally),
     predicate_after: {id, label} | null, index_gain: float | null (index_after - score.index),
     agencies_up: int (national: agencies whose predicate rises when the fix is done
         everywhere) | null (agency scope),
     cumulative_index_after: float | null (the scope's index once this fix and every
         fix above it in the list are done: one fix alone may not lift a cap that
         another fail of the same endpoint still holds)}

Agency scope order: severity (critical first), endpoint_count desc, id. National
order: agencies_up desc, severity, endpoint_count desc, id.

``trend`` (1.2): the scope's index (agency scope: the agency's) over the last
``trend.TREND_SWEEPS`` (12) sweeps of the same inventory name and profile, oldest
first, ending with this sweep (earlier ones: complete sweeps only; the report's
waivers applied to each, so the last point is ``score.index``)::

    [{sweep: id, started_at: datetime, index: float | null, predicate: {id, label} | null}]

``changes.by_endpoint`` (1.2, when ``changes`` is not null): per endpoint of the
scope with something to say, stored statuses (no waivers) against the previous
complete sweep, "open" meaning fail or warn::

    [{endpoint: id (its URL), new: [check ids open now, not before (a new endpoint: all open)],
      fixed: [open before, pass or skip now], still_open: [open both times]}]

by endpoint id, at most ``CHANGES_LIMIT`` entries; ``changes.by_endpoint_counts``
{endpoints, new, fixed, still_open}: the full numbers (endpoints listed, check ids
in each list).

``waivers.expiring`` (1.2, when ``waivers`` is not null): the applied waivers
whose expiry is within 30 days (``EXPIRING_DAYS``) of the report date, soonest
first, each as in ``applied`` (id, check, agency, application, endpoint,
justification, approver, expires, days_left, results).

Agency scope (``agency=CODE``): only that agency's endpoints, results,
certificates, waivers and changes are read; ``score`` is the agency's score,
``provinces`` is empty and the sweep totals count that agency only, so no
other agency's code, name, endpoint or application appears anywhere.

Memory: results are read once through a store cursor and folded into
per-endpoint and per-check tallies. ``endpoints`` and ``applications`` are
sequences that build each entry's dict when read; ``findings`` is a list
when there are at most ``build.FINDINGS_IN_MEMORY`` of them, otherwise a sequence
that streams them from the store again on each iteration (it then needs the
store open). All are ``collections.abc.Sequence``: iterate them, ``len()``
them, slice them; serialise with ``orchestrator.reports.json_report`` or
``json.dumps(report, default=list)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import ResultRow, Store
from orchestrator.waivers import Waiver, Waivers
from probes import registry
from probes.messages import render_reason
from probes.model import LANGUAGES, Check, Status

SCHEMA_VERSION = "1.2"
TOOL_NAME = "spbe-interop"
# Statuses a report lists as findings: everything that is not a pass and
# not "not applicable".
FINDING_STATUSES = frozenset({Status.FAIL, Status.WARN, Status.ERROR, Status.WAIVED})

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
LANGS = LANGUAGES  # every language has its LABELS (a test keeps them in step)
# Applied waivers that expire within this many days of the report date are listed apart.
EXPIRING_DAYS = 30

# What a report shows of an endpoint's metadata beside its id, in this order: endpoint
# entries and findings all of it, certificates whose endpoint it is.
OWNER_FIELDS = ("agency", "application", "province")
SHOWN_FIELDS = ("url", "protocol", *OWNER_FIELDS)


def shown_meta(meta: EndpointMeta, names: tuple[str, ...] = SHOWN_FIELDS) -> dict[str, str | None]:
    """The fields ``names`` of an endpoint's metadata (a ``ResultRow`` is one), as a report shows them."""
    return {name: getattr(meta, name) for name in names}


def check_meta(check_id: str, check: Check | None, severity: str, lang: str = "en") -> dict[str, Any]:
    """What a report says of a check beside its results, its texts in ``lang`` (SARIF makes a rule of it)."""
    text = registry.check_text(check_id, lang) if check else None
    return {
        "id": check_id,
        "title": text.title if text else check_id,
        "protocol": check.protocol if check else None,
        "category": check.category if check else "unknown",
        "severity": severity,
        "rationale": text.rationale if text else None,
        "remediation": text.remediation if text else None,
        "effort": registry.effort(check_id) if check else None,
        "references": list(check.references) if check else [],
    }


def waivers_dict(waivers: Waivers | None, agency: str | None = None) -> dict[str, Any] | None:
    """A ``waivers`` section (reports, gate documents).

    The file, the date it was read as of, applied/expired/unmatched.
    """
    if waivers is None:
        return None
    return {"source": waivers.source, "as_of": waivers.as_of.isoformat(), **waivers.report(agency=agency)}


def with_expiring(section: dict[str, Any] | None) -> dict[str, Any] | None:
    """A report's ``waivers`` section plus ``expiring``: the applied waivers ending within ``EXPIRING_DAYS``."""
    if section is None:
        return None
    expiring = sorted(
        (w for w in section["applied"] if w["days_left"] <= EXPIRING_DAYS),
        key=lambda w: (w["expires"], w["id"]),
    )
    return {**section, "expiring": expiring}


class ReportError(ValueError):
    """The report cannot be built as asked (e.g. an agency with no endpoints in the sweep)."""


class Report(dict):
    """The report model (a plain ``dict``), with a handle for formats that list every result."""

    source: ResultSource | None = None


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

    def __init__(self, source: ResultSource, count: int):
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


# --------------------------------------------------------------------------- the results behind a report


@dataclass
class ResultSource:
    """How to read the scope's results again (findings stream, JUnit), and the shape of a finding."""

    store: Store
    sweep_id: str
    agency: str | None
    waivers: Waivers | None
    checks: dict[str, Check]
    lang: str = "en"

    def rows(self) -> Iterator[tuple[ResultRow, Status, Waiver | None]]:
        """Every result in scope with its effective status (waivers applied, not counted)."""
        for row in self.store.results(self.sweep_id, agency=self.agency):
            waiver = self.waivers.match(row) if self.waivers is not None else None
            yield row, (Status.WAIVED if waiver is not None else row.status), waiver

    def finding(self, row: ResultRow, status: Status, waiver: Waiver | None) -> dict[str, Any]:
        return finding_dict(row, row, status, waiver, self.checks.get(row.check_id), self.lang)


def finding_dict(
    meta: EndpointMeta,
    result: Any,
    status: Status,
    waiver: Waiver | None,
    check: Check | None,
    lang: str = "en",
) -> dict[str, Any]:
    """One finding-shaped dict: the result, its check's title and remediation and its reason in ``lang``, the waiver.

    ``result`` is a stored ``ResultRow`` or a fresh ``CheckResult`` (same
    attribute names) with the status it had *before* any waiver; ``status``
    is the effective one.
    """
    text = registry.check_text(result.check_id, lang) if check else None
    message = result.message
    return {
        "endpoint": meta.endpoint_id,
        **shown_meta(meta),
        "check_id": result.check_id,
        "title": text.title if text else result.check_id,
        "category": check.category if check else None,
        "status": status.value,
        "severity": result.severity.value,
        "reason": render_reason(result.reason, message, lang),
        "message": None if message is None else message.to_dict(),
        "evidence": result.evidence,
        "remediation": text.remediation if text else None,
        "effort": registry.effort(result.check_id) if check else None,
        "duration_s": result.duration_s,
        "waiver": waiver_ref(waiver, result.status),
    }


def iter_results(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every result of the report's scope (passes included), as finding-shaped dicts.

    For formats that list each endpoint × check (JUnit). Streams from the
    store, so the store must still be open.
    """
    source = report.source if isinstance(report, Report) else None
    if source is None:
        raise ReportError("this report was not built from a store: its individual results are not available")
    for row, status, waiver in source.rows():
        yield source.finding(row, status, waiver)


def waiver_ref(waiver: Waiver | None, original: Status) -> dict[str, Any] | None:
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
