"""The files a gate writes, all from the same run: JUnit XML, SARIF 2.1.0, Markdown and JSON.

``OUTPUTS`` is the only list of them: the ``--junit/--sarif/--md/--json``
options of ``check`` and ``gate`` and their help come from it. JUnit and
SARIF are the sweep report's writers fed with the gate's finding-shaped
results (one suite per target; one rule per selected check, one result per
finding located at the target URL). Each file is written whole to a
temporary name beside it and renamed, so a CI job never reads half a file.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

from orchestrator import tool_version
from orchestrator.gate.document import check_document, findings_of, gate_document
from orchestrator.gate.markdown import write_markdown
from orchestrator.gate.run import GateRun
from orchestrator.outcome import status_counts
from orchestrator.reports import junit, sarif
from orchestrator.reports.model import FINDING_STATUSES, OWNER_FIELDS, TOOL_NAME, check_meta
from probes import registry

FINDING_VALUES = frozenset(status.value for status in FINDING_STATUSES)  # as findings_of spells a status


def write_junit(run: GateRun, out: TextIO) -> None:
    started = run.started_at.isoformat(timespec="seconds")
    suites = (
        junit.Suite(
            outcome.report.target,
            status_counts(outcome.report.results),
            started,
            [
                *((name, getattr(outcome.planned.meta, name)) for name in OWNER_FIELDS),
                ("profile", run.profile.name),
            ],
            findings_of(outcome),
        )
        for outcome in run.outcomes
    )
    junit.write_suites(f"spbe-interop gate ({run.profile.name})", status_counts(run.results), suites, out)


def write_sarif(run: GateRun, out: TextIO) -> None:
    checks = registry.checks()
    rules = [
        sarif.rule(check_meta(check_id, checks[check_id], settings.severity.value))
        for check_id, settings in sorted(run.profile.selection.items())
    ]
    finished = run.started_at.timestamp() + run.duration_s
    run_head = {
        "tool": sarif.tool_driver({"name": TOOL_NAME, "version": tool_version()}, rules),
        "automationDetails": {"id": f"spbe-interop/gate/{run.profile.name}/"},
        "invocations": [
            {
                # Every target was probed to the end; what could not be determined is a result of kind review.
                "executionSuccessful": True,
                "exitCode": run.exit_code,
                "startTimeUtc": run.started_at.isoformat(timespec="seconds"),
                "endTimeUtc": _utc(finished),
            }
        ],
        "properties": {
            "profile": run.profile.name,
            "profileDigest": run.profile.digest,
            "failOn": run.fail_on.value,
            "targets": [outcome.report.target for outcome in run.outcomes],
        },
    }
    findings = (
        finding
        for outcome in run.outcomes
        for finding in findings_of(outcome)
        if finding["status"] in FINDING_VALUES
    )
    sarif.write_log(run_head, rules, findings, out)


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _json_writer(document: Callable[[GateRun], dict[str, Any]]) -> Callable[[GateRun, TextIO], None]:
    def write(run: GateRun, out: TextIO) -> None:
        json.dump(document(run), out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")

    return write


@dataclass(frozen=True)
class Output:
    option: str
    help: str
    write: Callable[[GateRun, TextIO], None]
    write_check: Callable[[GateRun, TextIO], None] | None = None  # when ``check`` writes it differently


OUTPUTS: dict[str, Output] = {
    "junit": Output(
        "--junit", "Write JUnit XML here (one testsuite per target, one testcase per check).", write_junit
    ),
    "sarif": Output("--sarif", "Write SARIF 2.1.0 here (for code scanning).", write_sarif),
    "md": Output("--md", "Write a Markdown summary here (for a CI job summary).", write_markdown),
    "json": Output(
        "--json",
        "Write the JSON document here.",
        _json_writer(gate_document),
        write_check=_json_writer(check_document),
    ),
}


def check_writable(paths: dict[str, Path]) -> None:
    """Raise ``OSError`` naming the option when a file could not be written: before anything is probed."""
    for name, path in paths.items():
        folder = path.parent if str(path.parent) else Path(".")
        if _is_stream(path) and not path.is_dir():
            continue
        if path.is_dir():
            raise OSError(f"{OUTPUTS[name].option} {path}: is a directory")
        if not folder.is_dir():
            raise OSError(f"{OUTPUTS[name].option} {path}: no directory {folder}")
        if not os.access(folder, os.W_OK):
            raise OSError(f"{OUTPUTS[name].option} {path}: cannot write in {folder}")


def _is_stream(path: Path) -> bool:
    """An existing path that is not a regular file: ``/dev/stdout``, a pipe, a terminal."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def write_outputs(run: GateRun, paths: dict[str, Path], *, single_target: bool = False) -> None:
    """Write each requested file; ``single_target``: as ``check`` does (its own JSON document).

    A regular file is written whole beside the path and renamed over it; a
    stream (``--md /dev/stdout``) is written to, never replaced.
    """
    for name, path in paths.items():
        output = OUTPUTS[name]
        writer = output.write_check if single_target and output.write_check else output.write
        if _is_stream(path):
            with open(path, "w", encoding="utf-8") as stream:
                writer(run, stream)
            continue
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - entered below; its name is needed after it closes
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
        try:
            with handle:
                writer(run, cast(TextIO, handle))  # the wrapper passes every call on to its text file
            os.chmod(handle.name, 0o644)  # a report, not a secret: what a plain open() would have made
            os.replace(handle.name, path)
        except BaseException:
            os.unlink(handle.name)
            raise
