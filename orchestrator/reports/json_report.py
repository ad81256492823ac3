"""The JSON report: the report model as is (``schema/report-v1.schema.json``).

Written piece by piece: the long sections (endpoints, applications,
findings) go out one item per line, so a national report is never held as
one string. Lone surrogates become U+FFFD (the file is always valid UTF-8);
control characters are escaped by JSON itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, TextIO

from orchestrator.reports.text import no_surrogates

SCHEMA_RESOURCE = "schema/report-v1.schema.json"


def _dumps(value: Any) -> str:
    return no_surrogates(json.dumps(value, ensure_ascii=False, default=list, separators=(",", ":")))


def write(report: Mapping[str, Any], out: TextIO) -> None:
    out.write("{\n")
    for position, (key, value) in enumerate(report.items()):
        out.write(("," if position else "") + _dumps(key) + ":")
        if isinstance(value, Sequence) and not isinstance(value, str):
            # Lists and lazy sections alike: one item per line, streamed.
            out.write("[")
            for index, item in enumerate(value):
                out.write(("," if index else "") + "\n" + _dumps(item))
            out.write("]\n")
        else:
            out.write(_dumps(value) + "\n")
    out.write("}\n")


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every JSON report validates against."""
    text = resources.files("orchestrator.reports").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)
