"""deploy/docker/Dockerfile read as data: its instructions, base image, user and copied paths."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
DOCKERIGNORE = DOCKERFILE.with_name("Dockerfile.dockerignore")
# rayproject/ray:<ray version>-py<major><minor>[-<platform>]
BASE_TAG = re.compile(r"rayproject/ray:(?P<ray>\d+\.\d+\.\d+)-py(?P<major>\d)(?P<minor>\d+)(?:-\w+)?")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    arguments: str


def instructions(text: str | None = None) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped, each with its first line number."""
    text = DOCKERFILE.read_text() if text is None else text
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        pending.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            keyword, _, arguments = " ".join(pending).partition(" ")
            found.append(Instruction(start, keyword.upper(), arguments.strip()))
            pending = []
    return found


def base_image() -> str:
    [origin] = [i.arguments for i in instructions() if i.keyword == "FROM"]
    return origin


def final_user() -> str:
    return [i.arguments for i in instructions() if i.keyword == "USER"][-1]


def environment() -> dict[str, str]:
    pairs = [shlex.split(i.arguments) for i in instructions() if i.keyword == "ENV"]
    return dict(item.split("=", 1) for group in pairs for item in group)


def copied_sources() -> list[str]:
    """The build-context paths COPY takes (flags and the destination left out)."""
    sources: list[str] = []
    for instruction in instructions():
        if instruction.keyword == "COPY":
            words = [w for w in shlex.split(instruction.arguments) if not w.startswith("--")]
            sources.extend(words[:-1])
    return sources
