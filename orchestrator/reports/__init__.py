"""Compliance reports of a sweep: one data model, many formats.

``build.build_report`` reads the store into the report model; each format
module has ``write(report, out)`` writing to a text stream. ``FORMATS`` maps
the ``--format`` names to them; ``html`` is rendered by
``orchestrator.reports.html.render(model) -> str``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TextIO

Writer = Callable[[Mapping[str, Any], TextIO], None]

# --format name -> module with write(report, out); html is imported on use.
FORMATS: dict[str, str] = {
    "html": "orchestrator.reports.html",
    "json": "orchestrator.reports.json_report",
    "junit": "orchestrator.reports.junit",
    "sarif": "orchestrator.reports.sarif",
    "md": "orchestrator.reports.markdown",
    "csv": "orchestrator.reports.csv_report",
}


def writer(fmt: str) -> Writer:
    """The writer for ``fmt``; ``KeyError`` for an unknown format."""
    module = importlib.import_module(FORMATS[fmt])
    if fmt == "html":
        render = module.render

        def write_html(report: Mapping[str, Any], out: TextIO) -> None:
            out.write(render(report))

        return write_html
    return module.write


def write_report(report: Mapping[str, Any], fmt: str, out: TextIO) -> None:
    writer(fmt)(report, out)
