"""JUnit XML: one ``<testsuite>`` per endpoint, one ``<testcase>`` per endpoint × check.

``classname`` is ``agency.application`` (the endpoint URL when the
inventory gives neither) and ``name`` is ``CHECK-ID Title``. Status mapping:
fail → ``<failure>``, error → ``<error>`` (undetermined), skip and waived →
``<skipped message=…>``, warn → a passing test case whose ``<system-out>``
carries the warning (JUnit has no warning outcome, and a warning must not
fail a CI job). Server text is escaped, and characters XML 1.0 cannot hold
are written as visible escapes. The document is streamed result by result.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

from orchestrator.reports.model import OWNER_FIELDS, iter_results
from orchestrator.reports.text import xml_safe

MESSAGE_LIMIT = 1000


def _attr(value: Any) -> str:
    return quoteattr(xml_safe(str(value)), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _text(value: str) -> str:
    return escape(xml_safe(value))


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _classname(result: Mapping[str, Any]) -> str:
    parts = [part for part in (result.get("agency"), result.get("application")) if part]
    return ".".join(parts) if parts else result["endpoint"]


def _details(result: Mapping[str, Any]) -> str:
    lines = [result["reason"]]
    if result.get("evidence"):
        lines.append("evidence: " + json.dumps(result["evidence"], ensure_ascii=False, default=str, indent=2))
    if result.get("remediation"):
        lines.append("remediation: " + result["remediation"])
    return "\n".join(lines)


def _testcase(result: Mapping[str, Any]) -> str:
    duration = f"{result.get('duration_s') or 0.0:.3f}"
    head = (
        f"    <testcase classname={_attr(_classname(result))}"
        f" name={_attr(result['check_id'] + ' ' + result['title'])}"
        f" time={_attr(duration)}"
    )
    status = result["status"]
    kind = f"{status}/{result['severity']}"
    if status == "fail":
        body = (
            f"<failure message={_attr(_clip(result['reason']))} type={_attr(kind)}>"
            f"{_text(_details(result))}</failure>"
        )
    elif status == "error":
        body = (
            f"<error message={_attr(_clip(result['reason']))} type={_attr(kind)}>"
            f"{_text(_details(result))}</error>"
        )
    elif status == "skip":
        body = f"<skipped message={_attr(_clip(result['reason'] or 'not applicable'))}/>"
    elif status == "waived":
        waiver = result.get("waiver") or {}
        message = (
            f"waived by {waiver.get('id')} until {waiver.get('expires')}: {waiver.get('justification')}"
            f" (approver: {waiver.get('approver')}); finding: {result['reason']}"
        )
        body = f"<skipped message={_attr(_clip(message))}/>"
    elif status == "warn":
        body = f"<system-out>{_text('WARNING: ' + _details(result))}</system-out>"
    else:
        return head + "/>\n"
    return f"{head}>{body}</testcase>\n"


def _suite_attrs(name: str, counts: Mapping[str, int], extra: str = "") -> str:
    tests = sum(counts.values())
    skipped = counts.get("skip", 0) + counts.get("waived", 0)
    return (
        f'name={_attr(name)} tests="{tests}" failures="{counts.get("fail", 0)}"'
        f' errors="{counts.get("error", 0)}" skipped="{skipped}"{extra}'
    )


@dataclass
class Suite:
    """One ``<testsuite>``: an endpoint, its status counts, properties, and its finding-shaped results."""

    name: str
    counts: Mapping[str, int]
    timestamp: str
    properties: list[tuple[str, Any]]
    results: Iterable[Mapping[str, Any]]


def write_suites(title: str, counts: Mapping[str, int], suites: Iterable[Suite], out: TextIO) -> None:
    """The document, streamed suite by suite and result by result."""
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f"<testsuites {_suite_attrs(title, counts)}>\n")
    for suite in suites:
        out.write(
            "  <testsuite "
            + _suite_attrs(suite.name, suite.counts, f" timestamp={_attr(suite.timestamp)}")
            + ">\n"
        )
        out.write("    <properties>\n")
        for key, value in suite.properties:
            if value is not None:
                out.write(f"      <property name={_attr(key)} value={_attr(value)}/>\n")
        out.write("    </properties>\n")
        for result in suite.results:
            out.write(_testcase(result))
        out.write("  </testsuite>\n")
    out.write("</testsuites>\n")


def write(report: Mapping[str, Any], out: TextIO) -> None:
    """A sweep report: one suite per endpoint, in the store's order of results."""
    endpoint_counts = {e["id"]: e["score"]["counts"] for e in report["endpoints"]}
    sweep = report["sweep"]

    def suites() -> Iterator[Suite]:
        for endpoint, results in itertools.groupby(
            iter_results(report), key=lambda result: result["endpoint"]
        ):
            first = next(results)
            properties = [*((name, first.get(name)) for name in OWNER_FIELDS), ("sweep", sweep["id"])]
            yield Suite(
                endpoint,
                endpoint_counts[endpoint],
                sweep["started_at"],
                properties,
                itertools.chain([first], results),  # noqa: B031 - one pass: `first`, then the rest
            )

    write_suites(f"spbe-interop {sweep['id']} ({sweep['profile']})", report["score"]["counts"], suites(), out)
