"""YAML with line numbers, and errors that name file, line and field.

Inventories, profiles and waivers are all read through ``load_yaml`` so a
mistake is always reported as ``FILE:LINE: field.path: message`` and the
command stops before anything is probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(Exception):
    """One or more problems in a user-supplied file; ``str()`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.field))
        super().__init__("\n".join(str(p) for p in self.problems))


class LineMap:
    """Maps a location (``("checks", "SSH-KEX-001", "severity")``) to a line."""

    def __init__(self, lines: dict[Location, int]):
        self._lines = lines

    def line(self, location: Location) -> int | None:
        # The deepest known ancestor: a missing key is reported at its parent.
        for end in range(len(location), -1, -1):
            line = self._lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return None


def field_path(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _walk(node: yaml.Node, location: Location, lines: dict[Location, int]) -> None:
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = location + (key_node.value,)
                lines[child] = key_node.start_mark.line + 1
                _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, location + (index,), lines)


def load_yaml(path: str | Path) -> tuple[Any, LineMap]:
    """Parse one YAML document; syntax errors become a ``ConfigError`` with a line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), None, "", f"cannot read: {exc}")]) from exc
    return parse_yaml(text, str(path))


def parse_yaml(text: str, filename: str) -> tuple[Any, LineMap]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([Problem(filename, line, "", f"invalid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(filename, None, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineMap(lines)


def problems_from_validation(
    exc: pydantic.ValidationError, filename: str, lines: LineMap, prefix: Location = ()
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        location = prefix + tuple(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(Problem(filename, lines.line(location), field_path(location), message))
    return problems
