"""CSV: one row per finding, a header row and stable columns (``COLUMNS``).

For spreadsheets: every cell is one string; evidence is compact JSON;
control and bidi-override characters are shown as escapes; a cell that a
spreadsheet would run as a formula (starting with ``= + - @`` or a tab) is
prefixed with an apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from typing import Any, TextIO

from orchestrator.reports.text import visible

COLUMNS: tuple[str, ...] = (
    "sweep_id",
    "endpoint",
    "protocol",
    "agency",
    "application",
    "province",
    "check_id",
    "title",
    "category",
    "severity",
    "status",
    "reason",
    "evidence",
    "remediation",
    "waiver_id",
    "waiver_expires",
    "waiver_approver",
    "waiver_justification",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = visible(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return "'" + text if text.startswith(_FORMULA_START) else text


def row(sweep_id: str, finding: Mapping[str, Any]) -> list[str]:
    waiver = finding.get("waiver") or {}
    values = {
        **finding,
        "sweep_id": sweep_id,
        "waiver_id": waiver.get("id"),
        "waiver_expires": waiver.get("expires"),
        "waiver_approver": waiver.get("approver"),
        "waiver_justification": waiver.get("justification"),
        "evidence": finding.get("evidence") or None,
    }
    return [_cell(values.get(column)) for column in COLUMNS]


def write(report: Mapping[str, Any], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    sweep_id = report["sweep"]["id"]
    for finding in report["findings"]:
        writer.writerow(row(sweep_id, finding))
