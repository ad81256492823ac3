"""Conformance profiles: which checks run, at which severity, with which parameters.

A profile is YAML. Built-in profiles ship beside this file; a user profile
may ``extends:`` a built-in (or another file) and override entries::

    name: dinas-kominfo
    extends: spbe-baseline
    exclude: ["GRPC-INTR-*"]
    checks:
      TLS-CERT-002: {params: {warn_days: 45}}
      SSH-KEX-004: {severity: high}

Every mistake is reported with file, line and field, and nothing runs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from orchestrator.inventory.yaml_nodes import (
    ConfigError,
    LineMap,
    Problem,
    field_path,
    load_yaml,
    problems_from_validation,
    shown,
)
from probes import registry
from probes.model import Severity
from probes.runner import CheckSettings, ProbeOptions

BUILTIN_DIR = Path(__file__).resolve().parent
DEFAULT_PROFILE = "spbe-baseline"


class CheckOverride(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    enabled: bool | None = None  # None: as the profile it extends says (enabled by default)
    severity: Severity | None = None
    params: dict[str, Any] = {}


class ProbeTimeouts(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    deadline_s: float | None = pydantic.Field(default=None, gt=0, le=600)
    connect_timeout_s: float | None = pydantic.Field(default=None, gt=0, le=120)
    read_timeout_s: float | None = pydantic.Field(default=None, gt=0, le=120)


class ProfileFile(pydantic.BaseModel):
    """The YAML as written; ``resolve`` turns a chain of these into a ``Profile``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str = ""
    description: str = ""
    extends: str | None = None
    include: list[str] | None = None
    exclude: list[str] = []
    checks: dict[str, CheckOverride] = {}
    probe: ProbeTimeouts = ProbeTimeouts()


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    description: str
    source: str
    chain: tuple[str, ...]  # this profile, then what it extends
    selection: dict[str, CheckSettings]
    options: ProbeOptions

    @property
    def digest(self) -> str:
        """Changes whenever the effective selection changes (stored with each sweep)."""
        material: dict[str, list[Any]] = {
            check_id: [s.severity.value, s.params] for check_id, s in sorted(self.selection.items())
        }
        material["__options__"] = [
            self.options.deadline_s,
            self.options.connect_timeout_s,
            self.options.read_timeout_s,
        ]
        return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        checks = registry.checks()
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "source": self.source,
            "extends": list(self.chain[1:]),
            "digest": self.digest,
            "probe": {
                "deadline_s": self.options.deadline_s,
                "connect_timeout_s": self.options.connect_timeout_s,
                "read_timeout_s": self.options.read_timeout_s,
            },
            "checks": [
                {
                    "id": check_id,
                    "title": checks[check_id].title,
                    "severity": settings.severity.value,
                    "params": settings.params,
                }
                for check_id, settings in self.selection.items()
            ],
        }


def builtin_names() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte: no such file either
        return False


def _locate(reference: str, relative_to: Path | None) -> Path | None:
    """The file a profile reference names: a built-in name, or a path (relative to the extending file)."""
    if reference and "/" not in reference and not reference.endswith((".yaml", ".yml")):
        builtin = BUILTIN_DIR / f"{reference}.yaml"
        if _is_file(builtin):
            return builtin
    path = Path(reference)
    if not path.is_absolute() and relative_to is not None and _is_file(relative_to / path):
        return relative_to / path
    return path if _is_file(path) else None


def _not_found(reference: str) -> str:
    return f"no such profile file {reference!r} (built-in profiles: {', '.join(builtin_names())})"


def _read(path: Path) -> tuple[ProfileFile, LineMap]:
    data, lines = load_yaml(path, "profile")
    if not isinstance(data, dict):
        raise ConfigError([Problem(str(path), lines.line(()), "(document)", "a profile is a YAML mapping")])
    try:
        return ProfileFile.model_validate(data), lines
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, str(path), lines)) from exc


def _check_entries(profile: ProfileFile, path: Path, lines: LineMap) -> list[Problem]:
    """Unknown check ids, unknown parameters, and parameters of the wrong type."""
    known = registry.checks()
    problems = []
    for key, patterns in (("include", profile.include or []), ("exclude", profile.exclude)):
        for index, pattern in enumerate(patterns):
            if not fnmatch.filter(known, pattern):
                problems.append(
                    Problem(
                        str(path),
                        lines.line((key, index)),
                        field_path((key, index)),
                        f"matches no check: {shown(pattern)}",
                    )
                )
    for check_id, override in profile.checks.items():
        where = ("checks", check_id)
        if check_id not in known:
            problems.append(Problem(str(path), lines.line(where), field_path(where), "unknown check id"))
            continue
        defaults = known[check_id].params
        for name, value in override.params.items():
            at = where + ("params", name)
            field = field_path(at)
            if name not in defaults:
                allowed = ", ".join(sorted(defaults)) or "none"
                problems.append(
                    Problem(str(path), lines.line(at), field, f"unknown parameter (known: {allowed})")
                )
            else:
                wrong = _param_problem(defaults[name], value)
                if wrong:
                    problems.append(Problem(str(path), lines.line(at), field, wrong))
    return problems


VERDICTS = ("pass", "warn", "fail")  # what a verdict parameter (a string or a table's values) may say
_ONE_OF_VERDICTS = f"expected one of {', '.join(VERDICTS)}"


def _bool_problem(default: bool, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {shown(value)}"


def _number_problem(default: float, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected {type(default).__name__}, got {shown(value)}"
    return (
        None
        if math.isfinite(value) and value >= 0
        else f"expected a number of at least 0, got {shown(value)}"
    )


def _text_problem(default: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected str, got {shown(value)}"
    return (
        f"{_ONE_OF_VERDICTS}, got {shown(value)}" if default in VERDICTS and value not in VERDICTS else None
    )


def _list_problem(default: list, value: Any) -> str | None:
    if not isinstance(value, list):
        return f"expected a list, got {shown(value)}"
    wrong = [item for item in value if not isinstance(item, str)]
    return f"expected a list of texts, got {shown(wrong[0])} in it" if wrong else None


def _table_problem(default: dict, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected a mapping, got {shown(value)}"
    verdict_table = bool(default) and all(v in VERDICTS for v in default.values())
    for key, item in value.items():
        if not isinstance(key, str):
            return f"expected names as keys, got {shown(key)}"
        if verdict_table and item not in VERDICTS:
            return f"{key}: {_ONE_OF_VERDICTS}, got {shown(item)}"
    return None


def _open_problem(default: None, value: Any) -> str | None:
    """A parameter without a default (an allowlist, a path) takes a text or a list of texts."""
    texts = isinstance(value, list) and all(isinstance(item, str) for item in value)
    return (
        None
        if value is None or isinstance(value, str) or texts
        else (f"expected a text or a list of texts, got {shown(value)}")
    )


# The defaults are the schema: a parameter keeps the shape of its built-in value (a bool stays
# a bool, a number a finite number of at least 0, a verdict one of pass/warn/fail, a verdict
# table maps names to verdicts). Checked in order: a bool is an int too.
PARAM_SHAPES: tuple[tuple[type | tuple[type, ...], Callable[[Any, Any], str | None]], ...] = (
    (bool, _bool_problem),
    ((int, float), _number_problem),
    (str, _text_problem),
    ((list, tuple), _list_problem),
    (dict, _table_problem),
    (type(None), _open_problem),
)


def _param_problem(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot stand for a parameter whose built-in value is ``default``, or None."""
    for kind, problem in PARAM_SHAPES:
        if isinstance(default, kind):
            return problem(default, value)
    return (
        None if isinstance(value, type(default)) else f"expected {type(default).__name__}, got {shown(value)}"
    )


def load_profile(reference: str | Path = DEFAULT_PROFILE) -> Profile:
    """Resolve a built-in name or a file path (following ``extends``) into a Profile."""
    chain: list[tuple[Path, ProfileFile, LineMap]] = []
    path = _locate(str(reference), None)
    if path is None:
        raise ConfigError([Problem(str(reference), None, "", _not_found(str(reference)))])
    seen: set[Path] = set()
    while True:
        seen.add(path.resolve())
        profile, lines = _read(path)
        problems = _check_entries(profile, path, lines)
        if problems:
            raise ConfigError(problems)
        chain.append((path, profile, lines))
        if profile.extends is None:
            break
        parent = _locate(profile.extends, path.parent)
        if parent is None or parent.resolve() in seen:
            message = "profiles extend each other in a cycle" if parent else _not_found(profile.extends)
            raise ConfigError([Problem(str(path), lines.line(("extends",)), "extends", message)])
        path = parent
    return _merge(chain)


def _amend(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Parameters with overrides applied; a table (algorithm -> verdict) is amended, not replaced."""
    merged = dict(base)
    for name, value in overrides.items():
        both_tables = isinstance(value, dict) and isinstance(merged.get(name), dict)
        merged[name] = {**merged[name], **value} if both_tables else value
    return merged


def _merge(chain: list[tuple[Path, ProfileFile, LineMap]]) -> Profile:
    known = registry.checks()
    include: list[str] = ["*"]
    exclude: list[str] = []
    overrides: dict[str, CheckOverride] = {}
    params: dict[str, dict[str, Any]] = {}
    options = ProbeOptions()
    # Apply from the root of the chain down to the profile asked for.
    for _, profile, _ in reversed(chain):
        if profile.include is not None:
            include = profile.include
        exclude = [*exclude, *profile.exclude]
        for check_id, override in profile.checks.items():
            previous = overrides.get(check_id)
            overrides[check_id] = CheckOverride(
                enabled=override.enabled
                if override.enabled is not None
                else (previous.enabled if previous else None),
                severity=override.severity or (previous.severity if previous else None),
            )
            params[check_id] = _amend(params.get(check_id, {}), override.params)
        timeouts = {k: v for k, v in profile.probe.model_dump().items() if v is not None}
        options = ProbeOptions(**{**options.__dict__, **timeouts})
    selection = {}
    for check_id, meta in known.items():
        if not any(fnmatch.fnmatchcase(check_id, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(check_id, p) for p in exclude):
            continue
        merged_override = overrides.get(check_id)
        if merged_override is not None and merged_override.enabled is False:
            continue
        severity = merged_override.severity if merged_override and merged_override.severity else meta.severity
        selection[check_id] = CheckSettings(severity, _amend(meta.params, params.get(check_id, {})))
    top_path, top, _ = chain[0]
    return Profile(
        name=top.name,
        title=top.title,
        description=top.description,
        source=str(top_path),
        chain=tuple(p.name for _, p, _ in chain),
        selection=selection,
        options=options,
    )
