"""The one YAML reader: plain data, line numbers, and errors that name file, line and field.

Inventories, profiles and waivers are all read here, so a mistake is always
reported as ``FILE:LINE: field.path: message`` and the command stops before
anything is probed. Whatever the text, reading ends in data or a
``ConfigError``, never in another exception:

- libyaml composes the node tree (C); plain data is built from it here (~20x
  faster than PyYAML's constructor), and the same tree gives line numbers.
- Date-like scalars stay text: YAML 1.1 timestamps would turn ``2026-13-01``
  into a crash and ``name: 2026-01-01`` into a date. A field that *is* a date
  parses its text itself (waiver expiry) and reports a bad one at its line.
- A scalar whose tag cannot build it (``!!int abc``, ``0b_``) is a problem at
  its line; so are duplicate keys (PyYAML keeps the last one silently),
  recursive aliases, deep nesting and anchors that expand past a bound
  ("billion laughs").

A report that only wants names reads the event stream (``names_from_inventory``)
and builds nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

Location = tuple[str | int, ...]

MAX_DEPTH = 100  # nesting of mappings and sequences; real documents use fewer than 10
MAX_EXPANDED_NODES = 200_000  # what anchors and aliases may expand to in a profile or waivers file
MAX_FIELD_CHARS = 160  # a field path shown in a message (keys may be arbitrarily long)


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


def field_path(location: Location) -> str:
    """``('applications', 3, 'url')`` -> ``applications[3].url``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text if len(text) <= MAX_FIELD_CHARS else text[: MAX_FIELD_CHARS - 1] + "…"


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` clipped for a message: user values may be arbitrarily long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- loader

_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_MERGE, _TIMESTAMP = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:timestamp"
# What a document may hold: text, numbers, booleans, null, lists, mappings (and merge keys);
# an explicit date for a field that is one. Binary data, sets and ordered pairs would slip
# through validation as something else (bytes read as text, a set as a list in no order).
PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge", "timestamp")
)
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader (libyaml when present) without implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what libyaml counts as a new line


class _Refused(Exception):
    """A node that cannot become data; ``read_yaml`` turns it into a located ``Problem``."""

    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node = node
        self.message = message


_OPEN = object()  # in ``_Builder._built`` while a collection is being built: an alias to it is recursive
_Scalar = yaml.ScalarNode


class _Builder:
    """Plain data from a composed node tree; records duplicate keys (the hot path of a national inventory)."""

    def __init__(self) -> None:
        self._constructor = yaml.constructor.SafeConstructor()
        self._built: dict[int, Any] = {}
        self.aliased = False
        self.duplicate_keys: list[yaml.Node] = []

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        tag = node.tag
        if node.__class__ is _Scalar and tag == _STR:
            return node.value
        if tag not in PLAIN_TAGS:
            raise _Refused(
                node, f"the YAML tag {shown(tag)} has no place here: write text, numbers, lists, mappings"
            )
        if node.__class__ is _Scalar:
            return self._construct(node)
        key = id(node)
        built = self._built.get(key)
        if built is _OPEN:
            raise _Refused(node, "an alias refers to the collection that contains it (a recursive alias)")
        if built is not None:
            self.aliased = True
            return built
        if depth >= MAX_DEPTH:
            raise _Refused(node, f"nested more than {MAX_DEPTH} levels deep")
        self._built[key] = _OPEN
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            value: Any = [self.build(item, depth + 1) for item in node.value]
        elif tag == _MAP and isinstance(node, yaml.MappingNode):
            value = self._mapping(node, depth + 1)
        else:  # an explicit tag on the wrong kind of node (``!!map [1]``): PyYAML says what is wrong
            value = self._construct(node)
        self._built[key] = value
        return value

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict:
        own: dict = {}
        merged: dict = {}  # from merge keys (``<<: *defaults``): the mapping's own keys win
        for key_node, value_node in node.value:
            if key_node.__class__ is _Scalar and key_node.tag == _STR:
                k = key_node.value
            elif key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in reversed(sources):  # in ``<<: [*a, *b]`` the keys of a win
                    built = self.build(source, depth)
                    if not isinstance(built, dict):
                        raise _Refused(key_node, "a merge key (<<) takes a mapping or a list of mappings")
                    merged.update(built)
                self.aliased = True  # merged values are shared: count the expansion
                continue
            else:
                k = self.build(key_node, depth)
                if isinstance(k, (list, dict)):
                    raise _Refused(key_node, "a mapping key must be a scalar")
            if k in own:
                self.duplicate_keys.append(key_node)
            own[k] = self.build(value_node, depth)
        return {**merged, **own} if merged else own

    def _construct(self, node: yaml.Node) -> Any:
        try:
            value = self._constructor.construct_object(node, deep=True)  # int, bool, null, float ...
        except yaml.MarkedYAMLError as exc:
            raise _Refused(node, str(exc.problem or exc)) from None
        except RecursionError:
            raise _Refused(node, f"nested more than {MAX_DEPTH} levels deep") from None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError):
            # The tag's constructor could not read the text (``!!int abc``, ``0b_``, ``!!timestamp x``).
            tag = node.tag.rsplit(":", 1)[-1]
            shown = node.value if isinstance(node, yaml.ScalarNode) else f"a {node.id}"  # type: ignore[attr-defined]  # the stubs give `id` to subclasses only
            raise _Refused(node, f"{shown!r} is not a valid {tag}") from None
        return value


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Number of nodes the document stands for once every alias is expanded (capped above ``limit``)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if isinstance(node, yaml.ScalarNode):
            return 1
        if id(node) not in sizes:
            sizes[id(node)] = 0  # recursive aliases are refused by the builder
            children = (
                node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
            )
            sizes[id(node)] = min(1 + sum(size(child) for child in children), limit + 1)
        return sizes[id(node)]

    return size(root)


# --------------------------------------------------------------------------- lines


class LineMap:
    """Maps a location (``("checks", "SSH-KEX-001", "severity")``) to a line, through the node tree.

    Lazy: only the path asked for is walked, so a large document costs nothing
    until a problem is reported.
    """

    def __init__(self, root: yaml.Node | None):
        self._root = root

    def line(self, location: Location) -> int:
        """The line of ``location``, or of its deepest existing ancestor (a missing key: its parent)."""
        node = self._root
        if node is None:
            return 1  # an empty document
        line = node.start_mark.line + 1
        for part in location:
            if isinstance(node, yaml.MappingNode) and not isinstance(part, bool):
                name = str(part)
                matches = [
                    (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name
                ]
                if not matches:
                    break
                key, node = matches[-1]  # the last duplicate is the one the data holds
                line = key.start_mark.line + 1
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def path_of(self, target: yaml.Node) -> Location:
        """The location of ``target`` (a key or a value node), or () if it is not in the tree."""
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, Location]] = [(self._root, ())] if self._root is not None else []
        while stack:
            node, location = stack.pop()
            if node is target:
                return location
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    child = (*location, k.value if isinstance(k, yaml.ScalarNode) else "?")
                    if k is target:
                        return child
                    stack.append((v, child))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, (*location, i)) for i, item in enumerate(node.value))
        return ()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    lines: LineMap
    duplicates: list[Problem]  # keys given twice in one mapping, each at its line


def read_yaml(text: str, filename: str, *, max_nodes: int = MAX_EXPANDED_NODES) -> YamlDocument:
    """Parse one YAML document; anything that is not plain data is a ``ConfigError`` with a line."""

    def refuse(line: int | None, message: str, field: str = "(yaml)") -> ConfigError:
        # libyaml marks an unexpected end of the text one line past it.
        last_line = sum(1 for _ in _LINE_BREAKS.finditer(text)) + 1
        return ConfigError([Problem(filename, min(line or 1, last_line), field or "(yaml)", message)])

    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if problem.startswith("but ") and exc.context:  # PyYAML splits one sentence in two
            problem = f"{exc.context}, {problem}"
        raise refuse(mark.line + 1 if mark else None, f"not valid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a control character, e.g. NUL
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise refuse(line, f"not valid YAML: {exc.reason} (character U+{code:04X})") from None
    except yaml.YAMLError as exc:
        raise refuse(None, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise refuse(None, f"not valid YAML: nested more than {MAX_DEPTH} levels deep") from None
    lines = LineMap(root)
    if root is None:
        return YamlDocument(None, lines, [])
    builder = _Builder()
    try:
        data = builder.build(root)
    except _Refused as exc:
        where = lines.path_of(exc.node)
        raise refuse(exc.node.start_mark.line + 1, exc.message, field_path(where)) from None
    if builder.aliased and _expanded_size(root, max_nodes) > max_nodes:
        raise refuse(1, f"anchors and aliases expand to more than {max_nodes:,} nodes")
    duplicates = [
        Problem(
            filename,
            key.start_mark.line + 1,
            field_path(lines.path_of(key)),
            f"the key {key.value!r} appears twice in this mapping",
        )
        for key in builder.duplicate_keys
    ]
    return YamlDocument(data, lines, duplicates)


MAX_FILE_BYTES = 64 * 1024 * 1024  # a profile, a waivers file, known_hosts; an inventory passes its own


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES, what: str = "file") -> str:
    """A user file as UTF-8 text; ``ConfigError`` (naming the file) if it cannot be, or is too large."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([Problem(str(path), None, "(file)", f"cannot read the {what}: {reason}")]) from None
    if len(raw) > max_bytes:
        raise ConfigError([Problem(str(path), None, "(file)", f"larger than {max_bytes // 2**20} MiB")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text: byte {raw[exc.start]:#04x}"
        raise ConfigError([Problem(str(path), line, "(file)", message)]) from None


def load_yaml(path: str | Path, what: str = "file") -> tuple[Any, LineMap]:
    """Read and parse one YAML file; every problem (duplicate keys too) is a ``ConfigError``."""
    return parse_yaml(read_text(path, what=what), str(path))


def parse_yaml(text: str, filename: str) -> tuple[Any, LineMap]:
    document = read_yaml(text, filename)
    if document.duplicates:
        raise ConfigError(document.duplicates)
    return document.data, document.lines


def problems_from_validation(
    exc: pydantic.ValidationError, filename: str, lines: LineMap, prefix: Location = ()
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = prefix + tuple(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        field = field_path(location) or "(document)"
        problems.append(Problem(filename, lines.line(location), field, message))
    return problems


# --------------------------------------------------------------------------- names only


# What names are read from an inventory: section -> the key field of its items.
NAME_SECTIONS = {"agencies": "code", "applications": "id"}


def names_from_inventory(path: str) -> dict[str, dict[str, str]] | None:
    """``{"agencies": {code: name}, "applications": {id: name}}`` from an inventory file, or None.

    Only names are wanted, so the YAML is read as an event stream (libyaml
    when available) without building or validating the document: a national
    inventory takes a second and a few MB instead of a full load. Names are
    those of the file as it is now; None when it is gone or unreadable.
    """
    names: dict[str, dict[str, str]] = {section: {} for section in NAME_SECTIONS}
    # One frame per open collection: [is_mapping, expecting_key, current_key, collected scalars].
    stack: list[list[Any]] = []
    try:
        with open(path, encoding="utf-8") as stream:
            for event in yaml.parse(stream, Loader=_BaseLoader):
                if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                    parent_key = _take_value_slot(stack)
                    stack.append([isinstance(event, yaml.MappingStartEvent), True, parent_key, {}])
                elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                    frame = stack.pop()
                    # An item of agencies/applications: a mapping inside a top-level sequence.
                    if frame[0] and len(stack) == 2 and stack[1][2] in NAME_SECTIONS:
                        section = stack[1][2]
                        key, name = frame[3].get(NAME_SECTIONS[section]), frame[3].get("name")
                        if key is not None and name is not None:
                            names[section][key] = name
                elif isinstance(event, yaml.ScalarEvent) and stack:
                    frame = stack[-1]
                    if frame[0] and frame[1]:
                        frame[1], frame[2] = False, event.value
                    else:
                        if frame[0]:
                            frame[3][frame[2]] = event.value
                        _take_value_slot(stack)
                elif isinstance(event, yaml.AliasEvent) and stack:
                    _take_value_slot(stack)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return names


def _take_value_slot(stack: list[list[Any]]) -> str | None:
    """A value arrives in the innermost collection: a mapping expects its next key again."""
    if not stack:
        return None
    frame = stack[-1]
    key = frame[2] if frame[0] else None
    if frame[0]:
        frame[1] = True
    return key
