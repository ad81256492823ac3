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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from orchestrator.yamlsrc import ConfigError, LineMap, Problem, load_yaml, problems_from_validation
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
        material = {check_id: [s.severity.value, s.params] for check_id, s in sorted(self.selection.items())}
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


def _locate(reference: str, relative_to: Path | None) -> Path:
    builtin = BUILTIN_DIR / f"{reference}.yaml"
    if builtin.exists() and "/" not in reference and not reference.endswith((".yaml", ".yml")):
        return builtin
    path = Path(reference)
    if not path.is_absolute() and relative_to is not None:
        candidate = relative_to / path
        if candidate.exists():
            return candidate
    return path


def _read(path: Path) -> tuple[ProfileFile, LineMap]:
    if not path.exists():
        known = ", ".join(builtin_names())
        raise ConfigError(
            [Problem(str(path), None, "", f"no such profile file (built-in profiles: {known})")]
        )
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([Problem(str(path), lines.line(()), "", "a profile is a YAML mapping")])
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
                        f"{key}[{index}]",
                        f"matches no check: {pattern!r}",
                    )
                )
    for check_id, override in profile.checks.items():
        where = ("checks", check_id)
        if check_id not in known:
            problems.append(Problem(str(path), lines.line(where), f"checks.{check_id}", "unknown check id"))
            continue
        defaults = known[check_id].params
        for name, value in override.params.items():
            at = where + ("params", name)
            field = f"checks.{check_id}.params.{name}"
            if name not in defaults:
                allowed = ", ".join(sorted(defaults)) or "none"
                problems.append(
                    Problem(str(path), lines.line(at), field, f"unknown parameter (known: {allowed})")
                )
            elif not _same_kind(defaults[name], value):
                problems.append(
                    Problem(
                        str(path),
                        lines.line(at),
                        field,
                        f"expected {type(defaults[name]).__name__}, got {value!r}",
                    )
                )
    return problems


def _same_kind(default: Any, value: Any) -> bool:
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def load_profile(reference: str | Path = DEFAULT_PROFILE) -> Profile:
    """Resolve a built-in name or a file path (following ``extends``) into a Profile."""
    chain: list[tuple[Path, ProfileFile, LineMap]] = []
    path = _locate(str(reference), None)
    seen: set[Path] = set()
    while True:
        resolved = path.resolve()
        if resolved in seen:
            raise ConfigError([Problem(str(path), None, "extends", "profiles extend each other in a cycle")])
        seen.add(resolved)
        profile, lines = _read(path)
        problems = _check_entries(profile, path, lines)
        if problems:
            raise ConfigError(problems)
        chain.append((path, profile, lines))
        if profile.extends is None:
            break
        path = _locate(profile.extends, path.parent)
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
        override = overrides.get(check_id)
        if override is not None and override.enabled is False:
            continue
        severity = override.severity if override and override.severity else meta.severity
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
