"""A short Markdown summary, fit for a CI job summary (``$GITHUB_STEP_SUMMARY``).

An agency's summary opens with what to fix first (each fix, its effort and the
agency's index once it is done, alone and with the fixes above it); then the
totals, the score, why it is capped, and its predicate, the national fix list
(which fixes move the most agencies up a predicate), the top findings with their
remediation, the agencies (worst first), waivers that expire soon or have
expired, and the changes since the previous sweep. Every check text is in the
report's language: Bahasa Indonesia by default, English with ``lang="en"``.
Server text is flattened to one line, clipped, and escaped so it can
neither break a table nor inject markup or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TextIO

from orchestrator.reports.i18n import Translator
from orchestrator.reports.model import EXPIRING_DAYS
from orchestrator.reports.text import one_line

TOP_ROWS = 15
AGENCY_ROWS = 20
FIX_ROWS = 10  # of the national list; an agency's list is shown whole
REASON_LIMIT = 140
REMEDIATION_LIMIT = 400

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan kepatuhan interoperabilitas SPBE",
        "agency_title": "Laporan kepatuhan interoperabilitas SPBE — {name}",
        "sweep": "Sweep",
        "profile": "Profil",
        "inventory": "Inventaris",
        "state": "Status sweep",
        "started": "Mulai",
        "finished": "Selesai",
        "generated": "Dibuat",
        "index": "Indeks",
        "cap": "Batas",
        "predicate": "Predikat",
        "level": "Tingkat",
        "compliance": "Kepatuhan",
        "confidence": "Keyakinan",
        "endpoints": "Endpoint",
        "done": "Selesai diperiksa",
        "unreachable": "Tidak terjangkau",
        "results": "Hasil",
        "not_measured": "tidak terukur",
        "top_findings": "Temuan utama",
        "no_findings": "Tidak ada temuan gagal atau peringatan.",
        "more_findings": "… dan {count} temuan lain (lihat laporan JSON, CSV atau SARIF).",
        "severity": "Tingkat keparahan",
        "status": "Status",
        "check": "Pemeriksaan",
        "endpoint": "Endpoint",
        "reason": "Alasan",
        "agencies": "Instansi",
        "agency": "Instansi",
        "findings": "Temuan",
        "waivers": "Pengecualian (waiver)",
        "waiver": "Waiver",
        "expires": "Berakhir",
        "days_left": "Sisa hari",
        "expiring": "Berakhir dalam {days} hari",
        "expired": "Sudah berakhir (diabaikan)",
        "unmatched": "Tidak mencocokkan hasil apa pun",
        "applied": "Diterapkan",
        "changes": "Perubahan sejak sweep {sweep}",
        "regressions": "Regresi",
        "fixes": "Perbaikan",
        "new_endpoints": "Endpoint baru",
        "gone_endpoints": "Endpoint hilang",
        "certificates": "Sertifikat yang segera berakhir",
        "subject": "Subjek",
        "scope_note": "Cakupan: hanya instansi {agency}.",
        "remediation": "Perbaikan",
        "fix_now": "Indeks sekarang: {index}.",
        "fix_agency_note": "Indeks setelahnya: indeks instansi bila perbaikan itu saja dikerjakan; "
        "bersama yang di atasnya: bila perbaikan itu dan semua yang di atasnya dikerjakan.",
        "fix_national_note": "Diurutkan menurut jumlah instansi yang naik predikat bila perbaikan itu "
        "dikerjakan di mana-mana, lalu tingkat keparahan.",
        "effort": "Upaya",
        "index_after": "Indeks setelahnya",
        "cumulative": "Bersama yang di atasnya",
        "agencies_up": "Instansi naik predikat",
        "more_fixes": "… dan {count} perbaikan lain (lihat laporan JSON atau HTML).",
    },
    "en": {
        "title": "SPBE interoperability compliance report",
        "agency_title": "SPBE interoperability compliance report — {name}",
        "sweep": "Sweep",
        "profile": "Profile",
        "inventory": "Inventory",
        "state": "Sweep state",
        "started": "Started",
        "finished": "Finished",
        "generated": "Generated",
        "index": "Index",
        "cap": "Cap",
        "predicate": "Predicate",
        "level": "Level",
        "compliance": "Compliance",
        "confidence": "Confidence",
        "endpoints": "Endpoints",
        "done": "Probed",
        "unreachable": "Unreachable",
        "results": "Results",
        "not_measured": "not measured",
        "top_findings": "Top findings",
        "no_findings": "No failures or warnings.",
        "more_findings": "… and {count} more findings (see the JSON, CSV or SARIF report).",
        "severity": "Severity",
        "status": "Status",
        "check": "Check",
        "endpoint": "Endpoint",
        "reason": "Reason",
        "agencies": "Agencies",
        "agency": "Agency",
        "findings": "Findings",
        "waivers": "Waivers",
        "waiver": "Waiver",
        "expires": "Expires",
        "days_left": "Days left",
        "expiring": "Expiring within {days} days",
        "expired": "Expired (ignored)",
        "unmatched": "Matching no result",
        "applied": "Applied",
        "changes": "Changes since sweep {sweep}",
        "regressions": "Regressions",
        "fixes": "Fixes",
        "new_endpoints": "New endpoints",
        "gone_endpoints": "Gone endpoints",
        "certificates": "Certificates expiring soon",
        "subject": "Subject",
        "scope_note": "Scope: agency {agency} only.",
        "remediation": "Remediation",
        "fix_now": "Index now: {index}.",
        "fix_agency_note": "Index after: the agency's index once that fix alone is done; "
        "with those above: once it and every fix above it are done.",
        "fix_national_note": "Ordered by how many agencies move up a predicate when the fix is done "
        "everywhere, then by severity.",
        "effort": "Effort",
        "index_after": "Index after",
        "cumulative": "With those above",
        "agencies_up": "Agencies moving up",
        "more_fixes": "… and {count} more fixes (see the JSON or HTML report).",
    },
}

SWEEP_STATES: dict[str, dict[str, str]] = {
    "id": {"running": "berjalan", "interrupted": "terhenti", "complete": "selesai", "failed": "gagal"},
    "en": {"running": "running", "interrupted": "interrupted", "complete": "complete", "failed": "failed"},
}

# Inline Markdown that could change how a cell renders (links, emphasis, code, tables);
# < > & become HTML entities so no tag survives.
_MARKUP = re.compile(r"([\\`*_\[\]|~])")


def cell(value: Any, limit: int | None = REASON_LIMIT) -> str:
    """One table cell: one line, clipped, markup escaped, HTML as entities."""
    text = one_line("" if value is None else str(value), limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKUP.sub(r"\\\1", text)


def code(value: Any, limit: int | None = 80) -> str:
    """An inline code span: backslash escapes do not work inside one, so backticks are replaced."""
    text = one_line("" if value is None else str(value), limit).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def _percent(value: float | None, t: Mapping[str, str]) -> str:
    return t["not_measured"] if value is None else f"{value * 100:.1f} %"


def _score_row(score: Mapping[str, Any], t: Mapping[str, str], lang: str) -> list[str]:
    """Index, why it is capped (next to it), predicate, level, compliance, confidence."""
    predicate = score["predicate"]
    return [
        t["not_measured"] if score["index"] is None else f"{score['index']:.2f}",
        cell(Translator(lang).cap(score.get("cap")), None) or "—",
        cell(predicate["label"]) if predicate else "—",
        str(score["level"]) if score["level"] is not None else "—",
        _percent(score["compliance"], t),
        _percent(score["confidence"], t),
    ]


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "|".join("---" for _ in header) + "|\n")
    for row in rows:
        out.write("| " + " | ".join(row) + " |\n")
    out.write("\n")


def write(report: Mapping[str, Any], out: TextIO) -> None:
    t = TEXT[report["lang"]]
    labels = report["labels"]
    sweep = report["sweep"]
    scope = report["scope"]
    if scope["agency"]:
        title = t["agency_title"].format(name=cell(scope["agency_name"] or scope["agency"], None))
        out.write(f"## {title}\n\n")
    else:
        out.write(f"## {t['title']}\n\n")
    state = SWEEP_STATES[report["lang"]].get(sweep["state"], sweep["state"])
    out.write(
        f"{t['sweep']} {code(sweep['id'])} · {t['profile']} {code(sweep['profile'])} · "
        f"{t['inventory']} {code(sweep['inventory_name'])} · {t['state']}: {cell(state)} · "
        f"{t['started']} {sweep['started_at']} · {t['generated']} {report['generated_at']}\n\n"
    )
    if scope["agency"]:
        out.write(t["scope_note"].format(agency=code(scope["agency"])) + "\n\n")
        _write_fixes(report, out, t)  # an agency's summary opens with what to fix

    totals = sweep["totals"]
    score = report["score"]
    _table(
        out,
        [
            t["index"],
            t["cap"],
            t["predicate"],
            t["level"],
            t["compliance"],
            t["confidence"],
            t["endpoints"],
            t["done"],
            t["unreachable"],
        ],
        [
            _score_row(score, t, report["lang"])
            + [str(totals["endpoints"]), str(totals["done"]), str(totals["unreachable"])]
        ],
    )
    counts = score["counts"]
    _table(out, [cell(labels["status"][s]) for s in counts], [[str(n) for n in counts.values()]])
    if not scope["agency"]:
        _write_fixes(report, out, t)

    out.write(f"### {t['top_findings']}\n\n")
    top = report["top_findings"][:TOP_ROWS]
    if top:
        _table(
            out,
            [t["severity"], t["status"], t["check"], t["endpoint"], t["reason"], t["remediation"]],
            [
                [
                    cell(labels["severity"][f["severity"]]),
                    cell(labels["status"][f["status"]]),
                    f"{code(f['check_id'])} {cell(f['title'], 80)}",
                    cell(f["endpoint"], 80),
                    cell(f["reason"]),
                    cell(f["remediation"], REMEDIATION_LIMIT) or "—",
                ]
                for f in top
            ],
        )
        actionable = counts.get("fail", 0) + counts.get("warn", 0)
        if actionable > len(top):
            out.write(t["more_findings"].format(count=actionable - len(top)) + "\n\n")
    else:
        out.write(t["no_findings"] + "\n\n")

    if not scope["agency"] and report["agencies"]:
        out.write(f"### {t['agencies']}\n\n")
        ranked = sorted(
            report["agencies"],
            key=lambda a: (a["score"]["index"] is None, a["score"]["index"] or 0.0, a["code"] or ""),
        )[:AGENCY_ROWS]
        _table(
            out,
            [
                t[k]
                for k in (
                    "agency",
                    "index",
                    "cap",
                    "predicate",
                    "level",
                    "compliance",
                    "confidence",
                    "findings",
                )
            ],
            [
                [cell(f"{a['name']} ({a['code']})", 80)]
                + _score_row(a["score"], t, report["lang"])
                + [str(a["findings"])]
                for a in ranked
            ],
        )

    _write_waivers(report, out, t)
    _write_certificates(report, out, t)
    _write_changes(report, out, t)


def _index_text(index: float | None, predicate: Mapping[str, Any] | None, t: Mapping[str, str]) -> str:
    if index is None:
        return t["not_measured"]
    return f"{index:.2f} ({cell(predicate['label'])})" if predicate else f"{index:.2f}"


def _write_fixes(report: Mapping[str, Any], out: TextIO, t: Mapping[str, str]) -> None:
    """What to fix first: the agency's whole list, or the nation's first ``FIX_ROWS``."""
    translate = Translator(report["lang"])
    national = not report["scope"]["agency"]
    fixes = report["fixes"]
    out.write(f"### {translate('section.fixes')}\n\n")
    score = report["score"]
    out.write(
        t["fix_now"].format(index=_index_text(score["index"], score["predicate"], t))
        + " "
        + t["fix_national_note" if national else "fix_agency_note"]
        + "\n\n"
    )
    if not fixes:
        out.write(translate("fix.none") + "\n\n")
        return
    shown = fixes[:FIX_ROWS] if national else fixes
    labels = report["labels"]
    header = ["#", t["remediation"], t["check"], t["severity"], t["effort"], t["endpoints"]]
    header += [t["agencies_up"], t["index_after"]] if national else [t["index_after"], t["cumulative"]]
    rows = []
    for number, fix in enumerate(shown, 1):
        row = [
            str(number),
            cell(fix["remediation"], REMEDIATION_LIMIT),
            " ".join(code(c["id"]) for c in fix["checks"]),
            cell(labels["severity"][fix["severity"]]),
            cell(translate("effort." + fix["effort"])),
            str(fix["endpoint_count"]),
        ]
        after = _index_text(fix["index_after"], fix["predicate_after"], t)
        if national:
            row += [str(fix["agencies_up"]), after]
        else:
            row += [after, _index_text(fix["cumulative_index_after"], None, t)]
        rows.append(row)
    _table(out, header, rows)
    if len(fixes) > len(shown):
        out.write(t["more_fixes"].format(count=len(fixes) - len(shown)) + "\n\n")


def _write_waivers(report: Mapping[str, Any], out: TextIO, t: Mapping[str, str]) -> None:
    waivers = report["waivers"]
    if not waivers:
        return
    expiring = [w for w in waivers["applied"] + waivers["unmatched"] if w["days_left"] <= EXPIRING_DAYS]
    out.write(f"### {t['waivers']}\n\n")
    out.write(
        f"{t['applied']}: {len(waivers['applied'])} · {t['expired']}: {len(waivers['expired'])} · "
        f"{t['unmatched']}: {len(waivers['unmatched'])}\n\n"
    )
    rows = []
    groups = ((t["expiring"].format(days=EXPIRING_DAYS), expiring), (t["expired"], waivers["expired"]))
    for heading, entries in groups:
        for w in sorted(entries, key=lambda w: w["expires"]):
            rows.append(
                [
                    cell(heading, None),
                    code(w["id"], 60),
                    code(w["check"], 60),
                    w["expires"],
                    str(w["days_left"]),
                    str(w["results"]),
                ]
            )
    if rows:
        _table(out, [t["status"], t["waiver"], t["check"], t["expires"], t["days_left"], t["results"]], rows)


def _write_certificates(report: Mapping[str, Any], out: TextIO, t: Mapping[str, str]) -> None:
    soon = [c for c in report["certificates"] if c["days_left"] <= EXPIRING_DAYS][:TOP_ROWS]
    if not soon:
        return
    out.write(f"### {t['certificates']}\n\n")
    _table(
        out,
        [t["endpoint"], t["subject"], t["expires"], t["days_left"]],
        [
            [cell(c["endpoint"], 80), cell(c["subject"], 80), c["not_after"], str(c["days_left"])]
            for c in soon
        ],
    )


def _write_changes(report: Mapping[str, Any], out: TextIO, t: Mapping[str, str]) -> None:
    changes = report["changes"]
    if not changes:
        return
    heading = t["changes"].format(sweep=code(changes["previous_sweep"]))
    out.write(f"### {heading}\n\n")
    _table(
        out,
        [t["regressions"], t["fixes"], t["new_endpoints"], t["gone_endpoints"]],
        [[str(changes["counts"][k]) for k in ("regressions", "fixes", "new_endpoints", "gone_endpoints")]],
    )
    regressions = changes["regressions"][:TOP_ROWS]
    if regressions:
        _table(
            out,
            [t["check"], t["endpoint"], t["status"], t["reason"]],
            [
                [
                    code(r["check_id"]),
                    cell(r["endpoint_id"], 80),
                    f"{cell(r['before'])} → {cell(r['after'])}",
                    cell(r["reason"]),
                ]
                for r in regressions
            ],
        )
