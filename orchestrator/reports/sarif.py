"""SARIF 2.1.0: one rule per check, one result per finding.

A rule carries the check's title (shortDescription), rationale
(fullDescription), remediation and references (help), in the report's
language (``run.language``), and
``properties.security-severity`` / ``tags`` as code-scanning tools read
them. A result's location is the endpoint: ``artifactLocation.uri`` is a
relative path made of its URL (``artifact_uri``; code scanning refuses
other URI schemes), ``properties.url`` the URL itself, and the logical
locations name agency, application and endpoint.

Levels are a table (``LEVELS``): a fail is an error at critical/high
severity, a warning at medium, a note below; a warn is at most a warning.
An ``error`` result (undetermined) has kind ``review`` and level ``none``.
A waived finding keeps the level of its original status and gets an accepted external suppression
with the waiver's justification.

The log is streamed, one result per line.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from orchestrator.reports.text import no_surrogates

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

# (status the finding had before a waiver, severity) -> SARIF level.
LEVELS: dict[str, dict[str, str]] = {
    "fail": {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"},
    "warn": {"critical": "warning", "high": "warning", "medium": "warning", "low": "note", "info": "note"},
}
# The labels of a rule's help, in the report's language.
HELP_WORDS: dict[str, dict[str, str]] = {
    "id": {"remediation": "Perbaikan", "references": "Rujukan"},
    "en": {"remediation": "Remediation", "references": "References"},
}
# GitHub code scanning reads this number: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, < 4 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}


def _dumps(value: Any) -> str:
    return no_surrogates(json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")))


def _rule_name(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(word[:1].upper() + word[1:] for word in words) or "Check"


def rule(check: Mapping[str, Any], lang: str = "en") -> dict[str, Any]:
    """A rule of one check; its texts are in the language ``check_meta`` gave it, the labels in ``lang``."""
    words = HELP_WORDS[lang]
    references = list(check.get("references") or [])
    help_lines = [f"{words['remediation']}: {check.get('remediation') or '-'}"]
    markdown = [f"**{words['remediation']}.** {check.get('remediation') or '-'}"]
    if references:
        help_lines.append(f"{words['references']}: " + "; ".join(references))
        markdown.append(f"**{words['references']}.**\n" + "\n".join(f"- {ref}" for ref in references))
    data: dict[str, Any] = {
        "id": check["id"],
        "name": _rule_name(check["title"]),
        "shortDescription": {"text": check["title"]},
        "fullDescription": {"text": check.get("rationale") or check["title"]},
        "help": {"text": "\n".join(help_lines), "markdown": "\n\n".join(markdown)},
        "defaultConfiguration": {"level": LEVELS["fail"][check["severity"]]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[check["severity"]],
            "severity": check["severity"],
            "tags": [tag for tag in ("security", "spbe", check["category"], check["protocol"]) if tag],
            "precision": "high",
        },
    }
    urls = [ref for ref in references if ref.startswith(("https://", "http://"))]
    if urls:
        data["helpUri"] = urls[0]
    return data


def artifact_uri(url: str) -> str:
    """Where a result is, as a relative path: ``ssh://10.2.0.5:22`` -> ``ssh/10.2.0.5/22``.

    Code scanning (GitHub) resolves an artifact URI against the checkout and
    refuses the upload when one has another scheme (``ssh://`` is not
    ``file://``); a relative path names the endpoint just as well, and the
    URL itself is in the logical location and the result's properties.
    """
    parts = urllib.parse.urlsplit(url)
    host = urllib.parse.quote(parts.hostname or "", safe=".-")
    return f"{parts.scheme}/{host}/{parts.port}"


def _fingerprint(endpoint: str, check_id: str) -> str:
    """Stable across sweeps, so a code-scanning tool tracks one finding over time."""
    return hashlib.sha256(f"{endpoint}\n{check_id}".encode(errors="replace")).hexdigest()


def result(finding: Mapping[str, Any], rule_index: int) -> dict[str, Any]:
    status = finding["status"]
    waiver = finding.get("waiver")
    logical = [
        {
            "name": finding["endpoint"],
            "kind": "resource",
            "fullyQualifiedName": "/".join(
                str(p) for p in (finding.get("agency"), finding.get("application"), finding["endpoint"]) if p
            ),
        },
    ]
    if finding.get("application"):
        logical.append({"name": finding["application"], "kind": "module"})
    if finding.get("agency"):
        logical.append({"name": finding["agency"], "kind": "namespace"})
    data: dict[str, Any] = {
        "ruleId": finding["check_id"],
        "ruleIndex": rule_index,
        "message": {"text": finding["reason"] or finding["title"]},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": artifact_uri(finding["url"])}},
                "logicalLocations": logical,
            }
        ],
        "partialFingerprints": {"endpointCheck/v1": _fingerprint(finding["endpoint"], finding["check_id"])},
        "properties": {
            "status": status,
            "severity": finding["severity"],
            "url": finding["url"],
            "agency": finding.get("agency"),
            "application": finding.get("application"),
            "province": finding.get("province"),
            "evidence": finding.get("evidence"),
        },
    }
    if status == "error":
        data["kind"] = "review"
        data["level"] = "none"
    else:
        # A waived finding keeps the level of what it was: a waiver hides nothing from the log.
        original = (waiver or {}).get("original_status", "fail") if status == "waived" else status
        data["kind"] = "fail"
        data["level"] = LEVELS[original][finding["severity"]]
    if status == "waived" and waiver:
        data["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver["justification"],
                "properties": {
                    "waiver": waiver["id"],
                    "approver": waiver["approver"],
                    "expires": waiver["expires"],
                },
            }
        ]
    return data


def tool_driver(tool: Mapping[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "driver": {
            "name": tool["name"],
            "version": tool["version"],
            "semanticVersion": tool["version"],
            "rules": rules,
        }
    }


def write_log(
    run_head: Mapping[str, Any],
    rules: list[dict[str, Any]],
    findings: Iterable[Mapping[str, Any]],
    out: TextIO,
) -> None:
    """One run: ``run_head`` (with ``tool``) and its results, one per finding, streamed one per line."""
    index = {r["id"]: position for position, r in enumerate(rules)}
    out.write("{" + f'"$schema":{_dumps(SARIF_SCHEMA)},"version":{_dumps(SARIF_VERSION)},"runs":[')
    out.write(_dumps(run_head)[:-1] + ',"results":[')
    separator = ""
    for finding in findings:
        out.write(separator + "\n" + _dumps(result(finding, index[finding["check_id"]])))
        separator = ","
    out.write("]}]}\n")


def write(report: Mapping[str, Any], out: TextIO) -> None:
    """A sweep report: a rule per check it holds, a result per finding."""
    rules = [rule(check, report["lang"]) for check in report["checks"]]
    sweep = report["sweep"]
    run_head = {
        "tool": tool_driver(report["tool"], rules),
        "language": report["lang"],  # of the rules' and results' texts (BCP 47)
        "automationDetails": {"id": f"spbe-interop/{sweep['inventory_name']}/{sweep['id']}"},
        "invocations": [
            {
                "executionSuccessful": sweep["state"] == "complete",
                "startTimeUtc": sweep["started_at"],
                **({"endTimeUtc": sweep["finished_at"]} if sweep["finished_at"] else {}),
            }
        ],
        "properties": {
            "profile": sweep["profile"],
            "profileDigest": sweep["profile_digest"],
            "scope": report["scope"],
            "score": report["score"],
        },
    }
    write_log(run_head, rules, report["findings"], out)
