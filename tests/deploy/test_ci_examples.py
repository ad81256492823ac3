"""deploy/ci: the example pipelines pass their validators, publish what the gate writes, and match docs/ci.md.

actionlint (its shellcheck and pyflakes passes off: they are optional tools,
and the result must not depend on what a machine happens to have) and
check-jsonschema's vendored GitHub-workflow and GitLab-CI schemas, both from
the dev dependencies in this virtualenv; neither opens a network connection.
Each validator is also shown a broken copy, so a pass means it looked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.outcome import EXIT_CODES, PRECEDENCE
from tests.deploy.ci_files import EXPRESSION, GITHUB, GITLAB, REPO, GateCommand, github_gate, gitlab_gate

BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "ci.md"
ACTIONLINT = (str(BIN / "actionlint"), "-no-color", "-shellcheck=", "-pyflakes=")
# By file name: a broken copy keeps it.
SCHEMAS = {GITHUB.name: "vendor.github-workflows", GITLAB.name: "vendor.gitlab-ci"}
GITHUB_DEFAULTS = {"GITHUB_STEP_SUMMARY"}  # set by the runner in every step

VALIDATORS = {
    "actionlint": lambda path: [*ACTIONLINT, str(path)],
    "check-jsonschema": lambda path: [
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        SCHEMAS[path.name],
        str(path),
    ],
}
# name -> (validator, file, a breaking edit: old text → new text)
BROKEN = {
    "actionlint-unknown-runner": (
        "actionlint",
        GITHUB,
        ("runs-on: ubuntu-latest", "runs-on: ubuntu-lastest"),
    ),
    "actionlint-bad-expression": (
        "actionlint",
        GITHUB,
        ("sarif_file: interop.sarif", "sarif_file: ${{ steps.gate.outputs.nothing.here }}"),
    ),
    "github-schema-unknown-key": (
        "check-jsonschema",
        GITHUB,
        ("    runs-on: ubuntu-latest\n", "    runs_on: ubuntu-latest\n"),
    ),
    "gitlab-schema-bad-value": (
        "check-jsonschema",
        GITLAB,
        ("  artifacts:\n    when: always", "  artifacts:\n    when: sometimes"),
    ),
    "gitlab-schema-unknown-key": ("check-jsonschema", GITLAB, ("  after_script:", "  afterscript:")),
}


def validate(validator: str, path: Path) -> subprocess.CompletedProcess[str]:
    argv = VALIDATORS[validator](path)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=path.parent)


@pytest.mark.parametrize(
    ("validator", "path"),
    [("actionlint", GITHUB), ("check-jsonschema", GITHUB), ("check-jsonschema", GITLAB)],
    ids=["github-actionlint", "github-schema", "gitlab-schema"],
)
def test_the_example_passes(validator, path):
    run = validate(validator, path)
    assert run.returncode == 0, run.stdout + run.stderr
    if validator == "actionlint":
        assert run.stdout == "" and run.stderr == ""


@pytest.mark.parametrize(("validator", "path", "edit"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_copy_is_refused(validator, path, edit, tmp_path):
    old, new = edit
    text = path.read_text()
    assert text.count(old) == 1, old
    broken = tmp_path / path.name
    broken.write_text(text.replace(old, new))
    run = validate(validator, broken)
    assert run.returncode == 1, run.stdout + run.stderr


def test_the_github_job_fails_with_the_gate_and_still_publishes():
    _workflow, job, index = github_gate()
    gate_step, later = job["steps"][index], job["steps"][index + 1 :]
    command = GateCommand.parse(gate_step["run"])
    assert gate_step["shell"] == "bash"
    # The gate's exit code fails the job.
    assert not gate_step.get("continue-on-error") and not job.get("continue-on-error")
    assert command.output("--md") == "$GITHUB_STEP_SUMMARY"
    # Every step after the gate runs when it failed.
    assert later and all("always()" in step.get("if", "") for step in later)
    by_action = {step["uses"].split("@")[0]: step for step in later if "uses" in step}
    assert by_action["github/codeql-action/upload-sarif"]["with"]["sarif_file"] == command.output("--sarif")
    kept = by_action["actions/upload-artifact"]["with"]["path"].split()
    assert {command.output(option) for option in ("--junit", "--sarif", "--json")} <= set(kept)
    assert job["permissions"]["security-events"] == "write"
    # Each variable the command uses is the job's (from an input or a repository variable) or the runner's.
    assert command.variables() <= set(job["env"]) | GITHUB_DEFAULTS
    text = GITHUB.read_text()
    for name, value in job["env"].items():
        if EXPRESSION.match(value):
            assert f"vars.{name}" in value and f"#   {name}" in text, name  # named in the header


def test_the_gitlab_job_fails_with_the_gate_and_still_publishes():
    job, entry = gitlab_gate()
    command = GateCommand.parse(entry)
    assert not job.get("allow_failure")
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == command.output("--junit")
    outputs = {command.output(option) for option in ("--junit", "--sarif", "--json", "--md")}
    assert outputs <= set(artifacts["paths"])
    assert any(command.output("--md") in line and "cat" in line for line in job["after_script"])
    text = GITLAB.read_text()
    for name in command.variables() - set(job.get("variables", {})):
        assert f"#   {name}" in text, name  # a CI/CD variable, named in the header


def test_both_jobs_give_the_gate_the_same_checks():
    (_, github_job, index), (_, gitlab_entry) = github_gate(), gitlab_gate()
    github = GateCommand.parse(github_job["steps"][index]["run"])
    gitlab = GateCommand.parse(gitlab_entry)
    assert github.targets == gitlab.targets
    outputs = {"--md"}  # where the Markdown goes is what differs
    assert {k: v for k, v in github.options.items() if k not in outputs} == {
        k: v for k, v in gitlab.options.items() if k not in outputs
    }


def _body(path: Path) -> str:
    """The file from its first line that is not a comment: what docs/ci.md shows."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return "".join(lines[start:])


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_the_docs_show_each_example_as_shipped(path):
    assert _body(path) in DOC.read_text(), f"docs/ci.md: copy {path.relative_to(REPO)} (from its first key)"


def test_the_docs_exit_code_table_is_the_contract():
    text = DOC.read_text()
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [int(row.split("|")[1]) for row in rows] == list(EXIT_CODES)
    for row, (code, (word, meaning)) in zip(rows, EXIT_CODES.items(), strict=True):
        assert row.startswith(f"| {code} | {word} | {meaning} |"), row
    assert " > ".join(map(str, PRECEDENCE)) in section
