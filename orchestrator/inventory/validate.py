"""Validation of an inventory document: its schema, then what the schema cannot see.

Kemendagri codes against level and province, duplicates, unknown agencies,
the scope guard and referenced files (a CA bundle or key must parse). It works
on the raw data, so every problem is collected, each with file, line and field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orchestrator.inventory.preflight import PreflightError, check_ca_bundle, check_private_key
from orchestrator.inventory.regions import LEVEL_CODE_RULES, provinces
from orchestrator.inventory.schema import (
    DOCUMENT_ADAPTER,
    INLINE_SECRET_FIELDS,
    SCHEME_ONLY_FIELDS,
    InventoryFile,
    Scope,
    parse_endpoint_url,
    resolve_path,
)
from orchestrator.inventory.yaml_nodes import ConfigError, Problem, field_path


class InventoryError(ConfigError):
    """The inventory is invalid; ``problems`` lists every ``Problem(file, line, field, message)``, by line.

    A ``ConfigError`` like those of profiles and waivers, so a command handles them alike.
    """


Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """``('applications', 3, 'url')`` -> ``applications[3].url``."""
    return field_path(loc) or "(document)"


Locator = Callable[[Loc], tuple[int, str]]
FileCheck = Callable[[Path, str], None]


def _problem_at(file: str, locate: Locator, loc: Loc, message: str) -> Problem:
    line, field = locate(loc)
    return Problem(file, line, field, message)


def _pydantic_message(error: ErrorDetails) -> str:
    loc = error["loc"]
    if error["type"] == "extra_forbidden" and loc and loc[-1] in INLINE_SECRET_FIELDS:
        return (
            f"secrets are referenced, not inlined: remove {loc[-1]!r} and "
            f"{INLINE_SECRET_FIELDS[str(loc[-1])]}"
        )
    if error["type"] == "extra_forbidden":
        return "unknown field (not part of the inventory schema)"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def validate_document(
    data: Any, file: str, locate: Locator, base_dir: Path, extra_problems: Sequence[Problem] = ()
) -> InventoryFile:
    """Validate plain data as an inventory document; raise ``InventoryError`` with all problems."""
    problems = list(extra_problems)
    document: InventoryFile | None = None
    if not isinstance(data, dict):
        problems.append(
            _problem_at(
                file, locate, (), "the inventory must be a mapping with scope, agencies and applications"
            )
        )
    else:
        try:
            document = DOCUMENT_ADAPTER.validate_python(data)
        except ValidationError as exc:
            problems.extend(
                _problem_at(file, locate, tuple(err["loc"]), _pydantic_message(err))
                for err in exc.errors(include_url=False, include_input=False)
            )
        problems.extend(_semantic_problems(data, file, locate, base_dir))
    if problems or document is None:
        raise InventoryError(_unique(problems))
    return document


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _items(data: dict, key: str) -> list[tuple[int, dict]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _text(item: dict, key: str) -> str | None:
    """A field as a string if it is one (ints allowed for codes), else None: pydantic reports the rest."""
    value = item.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else None


def _scope_of(data: dict) -> Scope | None:
    try:
        return Scope.model_validate(data.get("scope"))
    except ValidationError:
        return None


def _semantic_problems(data: dict, file: str, locate: Locator, base_dir: Path) -> list[Problem]:
    """What the schema cannot see. Works on the raw data so it runs even when pydantic found errors."""
    problems: list[Problem] = []

    def report(loc: Loc, message: str) -> None:
        problems.append(_problem_at(file, locate, loc, message))

    def note_first(seen: dict[str, int], value: str, section: str, i: int, field: str, what: str) -> None:
        """Remember where ``value`` was first declared; report any later declaration."""
        if value in seen:
            first_line, _ = locate((section, seen[value], field))
            report((section, i, field), f"duplicate {what} {value!r} (first declared on line {first_line})")
        else:
            seen[value] = i

    known_provinces = provinces()
    agency_codes: dict[str, int] = {}
    for i, agency in _items(data, "agencies"):
        code, level, province = _text(agency, "code"), _text(agency, "level"), _text(agency, "province")
        if code is None:
            continue
        note_first(agency_codes, code, "agencies", i, "code", "agency code")
        if (
            province is not None
            and len(province) == 2
            and province.isdigit()
            and province not in known_provinces
        ):
            report(
                ("agencies", i, "province"),
                f"unknown province code {province!r}: not one of the 38 provinces "
                f"of Kepmendagri 300.2.2-2138/2025",
            )
        if level not in LEVEL_CODE_RULES:
            continue
        pattern, allowed, how = LEVEL_CODE_RULES[level]
        match = pattern.fullmatch(code)
        if match is None or (allowed is not None and int(match.group(2)) not in allowed):
            report(("agencies", i, "code"), f"a {level} code is {how} (got {code!r})")
            continue
        if level != "pusat":
            code_province = match.group(1)
            if code_province not in known_provinces:
                if code_province != province:  # else already reported on the province field
                    report(
                        ("agencies", i, "code"),
                        f"code {code!r} starts with unknown province {code_province!r}",
                    )
            elif province is not None and province != code_province:
                report(
                    ("agencies", i, "province"),
                    f"province {province!r} does not match code {code!r} (province {code_province!r})",
                )

    scope = _scope_of(data)
    app_ids: dict[str, int] = {}
    sockets: dict[tuple[str, int], tuple[str, Loc]] = {}
    checked_files: dict[Path, str | None] = {}
    allowed_hosts: dict[str, bool] = {}
    for i, app in _items(data, "applications"):
        app_id, agency_code = _text(app, "id"), _text(app, "agency")
        if app_id is not None:
            note_first(app_ids, app_id, "applications", i, "id", "application id")
        if agency_code is not None and agency_code not in agency_codes:
            report(
                ("applications", i, "agency"), f"unknown agency {agency_code!r}: declare it under agencies"
            )
        for j, ep in _items(app, "endpoints"):
            _endpoint_problems(
                ep,
                ("applications", i, "endpoints", j),
                scope,
                sockets,
                checked_files,
                allowed_hosts,
                base_dir,
                locate,
                report,
            )
    return problems


def _endpoint_problems(
    ep: dict,
    loc: Loc,
    scope: Scope | None,
    sockets: dict,
    checked_files: dict[Path, str | None],
    allowed_hosts: dict[str, bool],
    base_dir: Path,
    locate: Locator,
    report: Callable[[Loc, str], None],
) -> None:
    url = ep.get("url")
    if not isinstance(url, str):
        return
    try:
        scheme, host, port = parse_endpoint_url(url)
    except ValueError:
        return  # reported by the schema
    first = sockets.get((host, port))
    if first is not None:
        first_url, first_loc = first
        first_line, _ = locate((*first_loc, "url"))
        if first_url == url:
            report((*loc, "url"), f"duplicate endpoint {url} (first declared on line {first_line})")
        else:
            report(
                (*loc, "url"),
                f"{host}:{port} is already the endpoint {first_url} (line {first_line}): "
                f"one socket speaks one protocol",
            )
    else:
        sockets[(host, port)] = (url, loc)
    if host not in allowed_hosts:
        allowed_hosts[host] = scope is None or scope.allows(host)
    if not allowed_hosts[host] and scope is not None:  # only a scope refuses a host
        report(
            (*loc, "url"),
            f"{host} is outside the inventory scope ({scope.describe()}): refused, "
            f"nothing is ever sent to it",
        )
    for field, (schemes, why) in SCHEME_ONLY_FIELDS.items():
        if ep.get(field) not in (None, []) and scheme not in schemes:
            report((*loc, field), f"not allowed on a {scheme}:// endpoint: {why}")
    files: list[tuple[Loc, Any, str, FileCheck]] = [
        ((*loc, "ca_file"), ep.get("ca_file"), "CA file", check_ca_bundle)
    ]
    creds = ep.get("credentials")
    if isinstance(creds, dict):
        files.append(
            ((*loc, "credentials", "key_path"), creds.get("key_path"), "key file", check_private_key)
        )
    for field_loc, value, what, check_file in files:
        if not isinstance(value, str) or not value.strip():
            continue
        resolved = resolve_path(value, base_dir)
        if resolved not in checked_files:
            checked_files[resolved] = _file_problem(resolved, what, check_file)
        problem = checked_files[resolved]
        if problem:
            report(field_loc, problem)


def _file_problem(path: Path, what: str, check_file: FileCheck) -> str | None:
    """Why a referenced file cannot work (missing, unreadable, not a CA bundle or key), or None."""
    if not path.is_file():
        return f"{what} not found: {path}"
    try:
        check_file(path, what)
    except PreflightError as exc:
        return str(exc)
    return None
