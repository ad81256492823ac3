"""`make lint`, the pre-commit hooks and pyproject's pins say the same: same commands, same tool versions."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("ruff", "mypy")


def make_recipe(makefile: str, target: str) -> list[str]:
    """The commands of ``target``'s recipe, with $(VENV) as its default .venv."""
    lines = makefile.split(f"\n{target}:", 1)[1].splitlines()[1:]
    recipe = [
        line[1:] for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("\t"))]
    ]
    return [command.replace("$(VENV)", ".venv") for command in recipe]


def make_prerequisites(makefile: str, target: str) -> list[str]:
    return makefile.split(f"\n{target}:", 1)[1].splitlines()[0].split()


def hook_entries(config: dict) -> list[str]:
    return [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]


def pins(pyproject: dict) -> dict[str, str]:
    """Exact ``name==version`` pins of the dev extra."""
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    found = (re.fullmatch(r"([A-Za-z0-9_.-]+)==([^,;\s]+)", spec) for spec in dev)
    return {match[1].lower(): match[2] for match in found if match}


def drift(makefile: str, config: dict, pinned: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Every way the lint setup disagrees with itself; empty when it does not."""
    problems = []
    lint, hooks = make_recipe(makefile, "lint"), hook_entries(config)
    if lint != hooks:
        problems.append(f"make lint runs {lint}, the pre-commit hooks {hooks}")
    if make_prerequisites(makefile, "test")[:1] != ["lint"]:
        problems.append("make test does not run lint first")
    for repo in config["repos"]:
        if repo["repo"] != "local":
            problems.append(
                f"{repo['repo']}: a hook from elsewhere runs its own version, not pyproject's pin"
            )
    for tool in TOOLS:
        if tool not in pinned:
            problems.append(f"{tool} is not pinned exactly (==) in pyproject's dev extra")
        elif installed.get(tool) != pinned[tool]:
            problems.append(
                f"{tool} {installed.get(tool)} is installed, pyproject pins {pinned[tool]}: run make venv"
            )
        if not any(
            command.startswith(f".venv/bin/{tool} ") or command == f".venv/bin/{tool}" for command in lint
        ):
            problems.append(f"make lint does not run the venv's {tool}")
    return problems


def actual() -> tuple[str, dict, dict[str, str], dict[str, str]]:
    makefile = (ROOT / "Makefile").read_text()
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    pinned = pins(tomllib.loads((ROOT / "pyproject.toml").read_text()))
    return makefile, config, pinned, {tool: version(tool) for tool in TOOLS}


def test_make_lint_and_the_hooks_run_the_same_pinned_tools():
    makefile, config, pinned, installed = actual()
    assert make_recipe(makefile, "lint")[0] == ".venv/bin/ruff check ."  # the parser reads the real recipe
    assert drift(makefile, config, pinned, installed) == []


def test_drift_is_found():
    makefile, config, pinned, installed = actual()
    config["repos"][0]["hooks"].pop()
    assert "the pre-commit hooks" in drift(makefile, config, pinned, installed)[0]
    makefile, config, pinned, installed = actual()
    assert drift(makefile.replace("test: lint ", "test: "), config, pinned, installed) == [
        "make test does not run lint first"
    ]
    assert drift(makefile, config, {**pinned, "ruff": "0.0.1"}, installed) == [
        f"ruff {installed['ruff']} is installed, pyproject pins 0.0.1: run make venv"
    ]
    config["repos"].append({"repo": "https://github.com/astral-sh/ruff-pre-commit", "hooks": []})
    assert drift(makefile, config, pinned, installed) == [
        "https://github.com/astral-sh/ruff-pre-commit: a hook from elsewhere runs its own version, not pyproject's pin"
    ]
