"""The HTML index of sweeps at ``/reports/``: for the operator, every sweep's national report; for an
agency, its own report of each sweep it took part in, and nothing else.

Every value is escaped (inventory names, ids and codes come from user files);
links are built from ``MEDIA_TYPES``, the formats the service serves.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from orchestrator.service.reports import MEDIA_TYPES
from orchestrator.store import Sweep

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan kepatuhan",
        "agency": "Instansi",
        "sweep": "Sweep",
        "inventory": "Inventaris",
        "profile": "Profil",
        "state": "Status",
        "started": "Mulai",
        "finished": "Selesai",
        "reports": "Laporan",
        "none": "Belum ada sweep.",
        "pattern": "Laporan satu instansi:",
    },
    "en": {
        "title": "Compliance reports",
        "agency": "Agency",
        "sweep": "Sweep",
        "inventory": "Inventory",
        "profile": "Profile",
        "state": "State",
        "started": "Started",
        "finished": "Finished",
        "reports": "Reports",
        "none": "No sweeps yet.",
        "pattern": "One agency's report:",
    },
}


def _links(base: str, lang: str) -> str:
    return " ".join(f'<a href="{escape(base)}.{fmt}?lang={lang}">{fmt.upper()}</a>' for fmt in MEDIA_TYPES)


def _when(sweep: Sweep, attribute: str) -> str:
    moment = getattr(sweep, attribute)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


def index_page(sweeps: list[Sweep], agency: str | None, lang: str) -> str:
    """The page; ``sweeps`` are those the caller may see (for an agency: those it has endpoints in)."""
    text = TEXT[lang]
    heading = text["title"] + (f" — {text['agency']} {agency}" if agency else "")
    rows = []
    for sweep in sweeps:
        sweep_path = f"/reports/{quote(sweep.id, safe='')}"
        if agency is None:
            base = f"{sweep_path}/national"
        else:
            base = f"{sweep_path}/agency/{quote(agency, safe='')}"
        cells = (
            sweep.id,
            sweep.inventory_name,
            sweep.profile,
            sweep.state.value,
            _when(sweep, "started_at"),
            _when(sweep, "finished_at"),
        )
        rows.append(
            "<tr>"
            + "".join(f"<td>{escape(cell)}</td>" for cell in cells)
            + f"<td>{_links(base, lang)}</td></tr>"
        )
    columns = ("sweep", "inventory", "profile", "state", "started", "finished", "reports")
    head = "".join(f"<th>{escape(text[column])}</th>" for column in columns)
    body = "\n".join(rows) if rows else f'<tr><td colspan="{len(columns)}">{escape(text["none"])}</td></tr>'
    note = ""
    if agency is None:
        note = (
            f"<p>{escape(text['pattern'])} <code>/reports/SWEEP/agency/CODE.html</code> "
            f"({', '.join(MEDIA_TYPES)}); SWEEP: id, prefix, <code>latest</code>.</p>"
        )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(heading)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head><body>"
        f"<h1>{escape(heading)}</h1>{note}<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n"
        "</tbody></table></body></html>\n"
    )
