"""The self-contained HTML compliance report: one file, no network, Bahasa Indonesia first.

``render(model)`` takes the report model (``reports.build.build_report``, the
dict the JSON report serialises) and returns a complete HTML document. The
national view is rendered when ``scope.agency`` is null, the agency view when
it names an agency. The agency view opens with what to fix (``fixes``: the
change, its effort, what it clears, the index after it); every finding shows
its reason, a small observed/expected table (``evidence_table``) and its raw
JSON behind a ``<details>``.

What keeps it safe and small:

- Jinja2 with autoescape on: every string that came from a server (banners,
  reasons, evidence, service names, certificate subjects) is text, never
  markup. The only markup made from data is ``<code>`` around the backticked
  names of our own check texts (``code_spans``), around escaped text.
- A Content-Security-Policy meta tag allows no fetch of any kind and only
  the one inline script whose SHA-256 it names, so even markup that slipped
  through could neither run nor load anything.
- Charts are SVG computed here (``charts``); CSS and the small sort/filter
  script are inlined, read raw from files beside the templates.
- The national view aggregates: no per-finding list, and every list is cut
  at a limit with a line saying how many rows are not shown. Findings are
  read in one pass (the model may stream them from the store) and only the
  rows shown are kept.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from orchestrator import scoring
from orchestrator.reports import charts
from orchestrator.reports.i18n import Translator

TEMPLATES = Path(__file__).parent / "templates"

# How many rows a list shows before it says "N more not shown".
LIMITS = {
    "fixes": 50,
    "fix_endpoints": 8,  # endpoints named in a fix entry; the rest are counted
    "by_endpoint": 200,
    "attention": 20,
    "agencies": 1000,
    "top_findings": 50,
    "certificates": 50,
    "changes": 50,
    "waivers": 100,
    "findings": 1000,
    "endpoints": 1000,
    "applications": 1000,
}
EVIDENCE_MAX_CHARS = 4000  # the raw JSON of one finding's evidence
# The readable observed/expected table: rows per side, items per list, characters per cell.
EVIDENCE_ROWS = 12
EVIDENCE_LIST_ITEMS = 25
EVIDENCE_CELL_CHARS = 300
EVIDENCE_SIDES = (("observed", "evidence.observed"), ("expected", "evidence.expected"))

# Orders as data: most urgent first.
STATUS_ORDER = ("fail", "error", "warn", "waived", "pass", "skip")
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
STATUS_SYMBOLS = {"pass": "✓", "fail": "✗", "warn": "!", "error": "?", "skip": "–", "waived": "⊘"}
# "Serious" for the attention list: open (not waived, determined) findings of these severities.
SERIOUS_SEVERITIES = frozenset({"critical", "high"})
OPEN_STATUSES = frozenset({"fail", "warn"})


def render(model: Mapping[str, Any]) -> str:
    """The complete HTML document for a report model."""
    t = Translator(model.get("lang"))
    script = _asset("report.js.j2")
    context: dict[str, Any] = {
        "m": model,
        "t": t,
        "lang": t.lang,
        "script": Markup(script),  # noqa: S704 - our own file, never data
        "script_hash": _csp_hash(script),
        "style": Markup(_asset("report.css.j2")),  # noqa: S704 - our own file, never data
        "status_symbols": STATUS_SYMBOLS,
        "status_order": STATUS_ORDER,
        "severity_order": SEVERITY_ORDER,
        "predicate_ids": tuple(charts.PREDICATE_CLASSES),
        "predicate_class": charts.predicate_class,
        "predicate_id": predicate_id,
        "evidence_table": evidence_table,
        "evidence_json": evidence_json,
        "json_text": _json_text,
        "code_spans": code_spans,
        "status_counts": status_counts,
        "rank": _rank,
        "fix_endpoint_limit": LIMITS["fix_endpoints"],
    }
    context.update(_common_view(model, t))
    if (model.get("scope") or {}).get("agency"):
        context.update(_agency_view(model))
        template = "agency.j2"
    else:
        context.update(_national_view(model, t))
        template = "national.j2"
    return _environment().get_template(template).render(context)


# -- environment ------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template is HTML, whatever its extension
        undefined=jinja2.StrictUndefined,  # a key the model lacks is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> str:
    """A static asset (CSS, JS) read raw: not rendered, so nothing in it is ever templated."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


# -- helpers shared with the templates --------------------------------------


def predicate_id(score: Mapping[str, Any] | None) -> str | None:
    predicate = (score or {}).get("predicate")
    return predicate.get("id") if isinstance(predicate, Mapping) else None


def status_counts(counts: Mapping[str, int] | None) -> list[tuple[str, int]]:
    """``(status, count)`` in urgency order, only statuses that occur."""
    counts = counts or {}
    ordered = [(status, int(counts[status])) for status in STATUS_ORDER if counts.get(status)]
    extra = sorted((k, int(v)) for k, v in counts.items() if k not in STATUS_ORDER and v)
    return ordered + extra


def score_text(score: Mapping[str, Any] | None, t: Translator) -> str:
    """``87% · 4,48 · Memuaskan`` beside a bar; ``no score`` when not determinable."""
    score = score or {}
    if score.get("compliance") is None:
        return t("chart.no_score")
    parts = [t.percent(score["compliance"])]
    if score.get("index") is not None:
        parts.append(t.number(score["index"], 2))
    if predicate_id(score):
        parts.append(t.optional("predicate", predicate_id(score)))
    return " · ".join(parts)


@dataclass(frozen=True)
class EvidenceRow:
    """One row of a finding's observed/expected table: ``key: text``, or the text alone.

    ``side`` is the i18n key of the row head ("evidence.observed") on the
    first row of a side and None on the rows below it (``span`` rows share
    the head); ``key`` is a dict's key, None for a plain value.
    """

    side: str | None
    span: int
    key: str | None
    text: str


def evidence_table(evidence: Any) -> list[EvidenceRow]:
    """The evidence's ``observed`` and ``expected`` as readable rows, bounded in size.

    Lists read as comma-separated values, dicts as one ``key: value`` row per
    key; anything deeper is compact JSON. At most ``EVIDENCE_ROWS`` rows a
    side and ``EVIDENCE_CELL_CHARS`` characters a cell, with what was left
    out said; the whole evidence stays in the raw JSON beside the table.
    """
    if not isinstance(evidence, Mapping):
        return []
    rows: list[EvidenceRow] = []
    items: list[tuple[str | None, str]]
    for field, label in EVIDENCE_SIDES:
        if field not in evidence:
            continue
        value = evidence[field]
        if isinstance(value, Mapping) and value:
            # An empty key is a real name (gRPC's whole-server health service is ""): show it quoted.
            items = [(_clip(str(key)) or '""', _cell_text(item)) for key, item in value.items()]
            if len(items) > EVIDENCE_ROWS:
                hidden = len(items) - (EVIDENCE_ROWS - 1)
                items = items[: EVIDENCE_ROWS - 1] + [(None, f"… (+{hidden})")]
            rows += [
                EvidenceRow(label if i == 0 else None, len(items), key, text)
                for i, (key, text) in enumerate(items)
            ]
        else:
            rows.append(EvidenceRow(label, 1, None, _cell_text(value)))
    return rows


def _cell_text(value: Any) -> str:
    """A value as one line a reader takes in: lists comma-separated, nested data as compact JSON."""
    if isinstance(value, (list, tuple)):
        shown = [_scalar_text(item) for item in value[:EVIDENCE_LIST_ITEMS]]
        if len(value) > EVIDENCE_LIST_ITEMS:
            shown.append(f"… (+{len(value) - EVIDENCE_LIST_ITEMS})")
        text = ", ".join(shown) if shown else "—"
    else:
        text = _scalar_text(value)
    return _clip(text)


def _clip(text: str) -> str:
    if len(text) > EVIDENCE_CELL_CHARS:
        return text[:EVIDENCE_CELL_CHARS] + f"… (+{len(text) - EVIDENCE_CELL_CHARS})"
    return text


def _scalar_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def evidence_json(evidence: Any) -> str:
    """The whole evidence as indented JSON for the raw view; empty when there is none."""
    if evidence in (None, {}, [], ""):
        return ""
    return _json_text(evidence)


def code_spans(text: str | None) -> Markup:
    """Our texts mark configuration lines and names with backticks: those become ``<code>``, the rest text.

    Every piece is escaped; text with an odd number of backticks stays plain.
    """
    pieces = str(text or "").split("`")
    if len(pieces) % 2 == 0:
        return Markup.escape(text or "")
    return Markup("").join(
        Markup("<code>{}</code>").format(piece) if i % 2 else Markup.escape(piece)
        for i, piece in enumerate(pieces)
    )


def _json_text(value: Any) -> str:
    """A string as itself, anything else as indented JSON; cut at ``EVIDENCE_MAX_CHARS``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if len(text) > EVIDENCE_MAX_CHARS:
        text = text[:EVIDENCE_MAX_CHARS] + f"\n… (+{len(text) - EVIDENCE_MAX_CHARS})"
    return text


def _rank(order: tuple[str, ...], value: Any) -> int:
    return order.index(value) if value in order else len(order)


def _capped(rows: Iterable[Any], limit: int, total: int | None = None) -> dict[str, Any]:
    rows = list(rows)
    total = len(rows) if total is None else total
    return {"rows": rows[:limit], "hidden": max(total - min(len(rows), limit), 0), "total": total}


def _compliance_key(entry: Mapping[str, Any]) -> tuple[bool, float]:
    """Measured first, lowest compliance first."""
    compliance = (entry.get("score") or {}).get("compliance")
    return (compliance is None, compliance if compliance is not None else 0.0)


def _finding_key(finding: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        _rank(STATUS_ORDER, finding.get("status")),
        _rank(SEVERITY_ORDER, finding.get("severity")),
        str(finding.get("check_id")),
        str(finding.get("endpoint")),
    )


# -- views ------------------------------------------------------------------


def _common_view(model: Mapping[str, Any], t: Translator) -> dict[str, Any]:
    certificates = list(model.get("certificates") or [])
    dated = [c for c in certificates if c.get("days_left") is not None]
    # Expiring soon: the soonest first. Expired: the most recently expired first
    # (long-dead certificates are old news; yesterday's outage is not).
    soon = sorted(
        (c for c in dated if 0 <= c["days_left"] < charts.SOON_DAYS),
        key=lambda c: (c["days_left"], str(c["endpoint"])),
    )
    expired = sorted(
        (c for c in dated if c["days_left"] < 0), key=lambda c: (-c["days_left"], str(c["endpoint"]))
    )
    changes = model.get("changes")
    waivers = model.get("waivers")
    sweep = model["sweep"]
    return {
        "timeline": charts.expiry_timeline(c.get("days_left") for c in certificates),
        "certificates_soon": _capped(soon, LIMITS["certificates"]),
        "certificates_expired": _capped(expired, LIMITS["certificates"]),
        "certificates_total": len(certificates),
        "changes": None
        if changes is None
        else {
            "previous_sweep": changes.get("previous_sweep"),
            "previous_started_at": changes.get("previous_started_at"),
            **{
                key: _capped(changes.get(key) or [], LIMITS["changes"])
                for key in ("regressions", "fixes", "new_endpoints", "gone_endpoints")
            },
            "by_endpoint": _capped(
                changes.get("by_endpoint") or [],
                LIMITS["by_endpoint"],
                (changes.get("by_endpoint_counts") or {}).get("endpoints"),
            ),
        },
        "waivers": None
        if waivers is None
        else {
            key: _capped(waivers.get(key) or [], LIMITS["waivers"])
            for key in ("expiring", "applied", "expired", "unmatched")
        },
        "partial": sweep.get("state") != "complete",
        **fixes_view(model.get("fixes") or [], t),
        **trend_view(model.get("trend") or [], t),
    }


def fixes_view(fixes: Iterable[Mapping[str, Any]], t: Translator) -> dict[str, Any]:
    """The fix list, each entry with the predicate of its cumulative index, and the index after every fix.

    ``cumulative_index_after`` of the last fix is the scope's index once the whole list is done.
    """
    entries = [
        {**fix, "cumulative_predicate": scoring.predicate_dict(fix.get("cumulative_index_after"), t.lang)}
        for fix in fixes
    ]
    after_all = entries[-1].get("cumulative_index_after") if entries else None
    return {
        "fixes": _capped(entries, LIMITS["fixes"]),
        "after_all": None
        if after_all is None
        else {"index": after_all, "predicate": scoring.predicate_dict(after_all, t.lang)},
    }


def trend_view(points: Iterable[Mapping[str, Any]], t: Translator) -> dict[str, Any]:
    """The index trend (``report["trend"]``, oldest first) as a line chart and its rows."""
    points = list(points)
    chart = charts.trend_line((t.date(p.get("started_at")), p.get("index"), predicate_id(p)) for p in points)
    return {"trend": points, "trend_chart": chart}


def serious_by_agency(findings: Iterable[Mapping[str, Any]]) -> Counter:
    """Open critical/high findings per agency code, in one pass over the findings."""
    counts: Counter = Counter()
    for finding in findings:
        if finding.get("status") in OPEN_STATUSES and finding.get("severity") in SERIOUS_SEVERITIES:
            counts[finding.get("agency")] += 1
    return counts


def _national_view(model: Mapping[str, Any], t: Translator) -> dict[str, Any]:
    # Best compliance first, the unmeasured last: the chart reads as a ranking.
    provinces = sorted(
        model.get("provinces") or [],
        key=lambda p: (_compliance_key(p)[0], -_compliance_key(p)[1], str(p.get("code"))),
    )
    province_chart = charts.bar_chart(
        (
            str(p.get("name") or p.get("code") or t("common.unknown")),
            (p.get("score") or {}).get("compliance"),
            score_text(p.get("score"), t),
            charts.predicate_class(predicate_id(p.get("score"))),
        )
        for p in provinces
    )
    categories = sorted(model.get("categories") or [], key=lambda c: str(c.get("category")))
    category_chart = charts.bar_chart(
        (
            t.optional("category", c.get("category")),
            (c.get("score") or {}).get("compliance"),
            score_text(c.get("score"), t),
            charts.predicate_class(predicate_id(c.get("score"))),
        )
        for c in categories
    )
    serious = serious_by_agency(model.get("findings") or [])
    agencies = [
        {**agency, "serious": serious.get(agency.get("code"), 0)} for agency in model.get("agencies") or []
    ]
    measured = [a for a in agencies if (a.get("score") or {}).get("compliance") is not None]
    attention = sorted(
        measured,
        key=lambda a: ((a.get("score") or {}).get("index") or 0.0, -a["serious"], str(a.get("code"))),
    )
    checks = sorted(
        model.get("checks") or [],
        key=lambda c: (
            -int((c.get("counts") or {}).get("fail") or 0),
            _rank(SEVERITY_ORDER, c.get("severity")),
            str(c.get("id")),
        ),
    )
    top_findings = list(model.get("top_findings") or [])
    return {
        "provinces": provinces,
        "province_chart": province_chart,
        "categories": categories,
        "category_chart": category_chart,
        "attention": _capped(attention, LIMITS["attention"]),
        "unmeasured_agencies": len(agencies) - len(measured),
        "agencies": _capped(sorted(agencies, key=lambda a: str(a.get("code"))), LIMITS["agencies"]),
        "agency_names": {a.get("code"): a.get("name") or a.get("code") for a in agencies},
        "checks": checks,
        "top_findings": _capped(top_findings, LIMITS["top_findings"]),
    }


def _agency_view(model: Mapping[str, Any]) -> dict[str, Any]:
    code = model["scope"]["agency"]
    agency = next((a for a in model.get("agencies") or [] if a.get("code") == code), None)
    findings_source = model.get("findings") or []
    total = len(findings_source)
    statuses: set[str | None] = set()  # None (a finding without one) is filtered out below
    severities: set[str | None] = set()

    def noting(findings: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        for finding in findings:
            statuses.add(finding.get("status"))
            severities.add(finding.get("severity"))
            yield finding

    # The most urgent rows only: memory stays bounded by the limit, not the agency's size.
    findings = heapq.nsmallest(LIMITS["findings"], noting(findings_source), key=_finding_key)
    endpoints = sorted(model.get("endpoints") or [], key=lambda e: (*_compliance_key(e), str(e.get("url"))))
    applications = sorted(
        model.get("applications") or [], key=lambda a: (*_compliance_key(a), str(a.get("id")))
    )
    shown = LIMITS["fix_endpoints"]
    named = {e for fix in model.get("fixes") or [] for e in fix.get("endpoints", [])[:shown]}
    return {
        "endpoint_urls": {e.get("id"): e.get("url") for e in endpoints if e.get("id") in named},
        "agency": agency,
        "agency_name": model["scope"].get("agency_name") or code,
        "agency_names": {code: model["scope"].get("agency_name") or code},
        "findings": _capped(findings, LIMITS["findings"], total),
        "filter_statuses": sorted(filter(None, statuses), key=lambda s: _rank(STATUS_ORDER, s)),
        "filter_severities": sorted(filter(None, severities), key=lambda s: _rank(SEVERITY_ORDER, s)),
        "endpoints": _capped(endpoints, LIMITS["endpoints"]),
        "applications": _capped(applications, LIMITS["applications"]),
    }
