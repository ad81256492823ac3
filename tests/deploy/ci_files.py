"""The example CI files of deploy/ci read as data: the one place each runs the gate, and its options.

Each file runs ``interop gate`` in exactly one step (GitHub) or one script
entry (GitLab); the tests take the command from there, never from a copy.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CI_DIR = REPO / "deploy" / "ci"
GITHUB = CI_DIR / "github-actions.yml"
GITLAB = CI_DIR / "gitlab-ci.yml"
GATE = "interop gate"
EXPRESSION = re.compile(r"^\$\{\{.*\}\}$")  # a whole GitHub `${{ … }}` value
SHELL_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")

# GitHub's documented command for `shell: bash`; GitLab's shell runs the script under `set -eo pipefail`.
GITHUB_BASH = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
GITLAB_BASH = ("bash", "-eo", "pipefail")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


@dataclass(frozen=True)
class GateCommand:
    """The gate's command line as a file writes it: targets and options, variables unexpanded."""

    script: str
    targets: list[str]
    options: dict[str, list[str]]

    @classmethod
    def parse(cls, script: str) -> GateCommand:
        words = shlex.split(script.replace("\\\n", " "))
        start = words.index("gate")
        assert words[start - 1] == "interop", script
        targets: list[str] = []
        options: dict[str, list[str]] = {}
        rest = words[start + 1 :]
        while rest:
            word = rest.pop(0)
            if word.startswith("--"):
                options.setdefault(word, []).append(rest.pop(0))  # every option of the examples takes a value
            else:
                targets.append(word)
        return cls(script, targets, options)

    def output(self, option: str) -> str:
        (path,) = self.options[option]
        return path

    def variables(self) -> set[str]:
        return set(SHELL_VARIABLE.findall(self.script))


def github_gate() -> tuple[dict[str, Any], dict[str, Any], int]:
    """The job that runs the gate, and the index of its one gate step."""
    workflow = load(GITHUB)
    found = [
        (job, index)
        for job in workflow["jobs"].values()
        for index, step in enumerate(job["steps"])
        if GATE in step.get("run", "")
    ]
    assert len(found) == 1, f"{GITHUB}: the gate must run in exactly one step, not {len(found)}"
    ((job, index),) = found
    return workflow, job, index


def gitlab_gate() -> tuple[dict[str, Any], str]:
    """The job that runs the gate, and its one script entry that does."""
    pipeline = load(GITLAB)
    found = [
        (job, entry)
        for job in pipeline.values()
        if isinstance(job, dict) and "script" in job
        for entry in job["script"]
        if GATE in entry
    ]
    assert len(found) == 1, f"{GITLAB}: the gate must run in exactly one script entry, not {len(found)}"
    ((job, entry),) = found
    return job, entry
