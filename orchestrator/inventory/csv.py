"""Inventories as spreadsheets: one CSV row per endpoint.

Agencies and applications repeat on every row of their endpoints; the first
row that names an agency or an application defines it and later rows must
agree. Lists (services, pins, tags) are ``;``-separated in one cell. Problems
are reported as ``file.csv:ROW: column: message`` and nothing is written
unless the whole file is valid. Relative ``ca_file`` / ``key_path`` cells are
relative to the directory of the YAML file written.

The CSV carries no scope: the importer is given it (``networks``/``domains``).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from orchestrator.inventory.model import (
    MAX_INVENTORY_BYTES,
    Inventory,
    dump_inventory,
    gc_paused,
    load_inventory,
)
from orchestrator.inventory.regions import LEVELS, agency_code_problem
from orchestrator.inventory.schema import name_problem
from orchestrator.inventory.validate import InventoryError, Loc, format_loc, validate_document
from orchestrator.inventory.yaml_nodes import ConfigError, Problem, read_text, shown

REQUIRED_COLUMNS = (
    "agency_code",
    "agency_name",
    "level",
    "province",
    "application_id",
    "application_name",
    "url",
)
OPTIONAL_COLUMNS = (
    "services",
    "pins",
    "vantage",
    "tags",
    "server_name",
    "ca_file",
    "username",
    "key_path",
    "password_env",
    "passphrase_env",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
LIST_COLUMNS = ("services", "pins", "tags")

# Where each document field lives in a row.
AGENCY_COLUMNS = {"code": "agency_code", "name": "agency_name", "level": "level", "province": "province"}
APPLICATION_COLUMNS = {"id": "application_id", "name": "application_name", "agency": "agency_code"}
ENDPOINT_COLUMNS = {c: c for c in ("url", "services", "pins", "vantage", "tags", "server_name", "ca_file")}
CREDENTIAL_COLUMNS = {c: c for c in ("username", "key_path", "password_env", "passphrase_env")}


class _CsvLocator:
    """Maps a document location back to (row line, column name)."""

    def __init__(self) -> None:
        self.agency_rows: list[int] = []
        self.application_rows: list[int] = []
        self.endpoint_rows: list[list[int]] = []

    def __call__(self, loc: Loc) -> tuple[int, str]:
        match loc:
            case ("agencies", int(i), str(field), *_):
                return self.agency_rows[i], AGENCY_COLUMNS.get(field, field)
            case ("applications", int(i), "endpoints", int(j), "credentials", str(field), *_):
                return self.endpoint_rows[i][j], CREDENTIAL_COLUMNS.get(field, field)
            case ("applications", int(i), "endpoints", int(j), "credentials", *_):
                return self.endpoint_rows[i][j], "username"
            case ("applications", int(i), "endpoints", int(j), str(field), *_):
                return self.endpoint_rows[i][j], ENDPOINT_COLUMNS.get(field, field)
            case ("applications", int(i), str(field), *_):
                return self.application_rows[i], APPLICATION_COLUMNS.get(field, field)
            case ("scope", "networks", *_):
                return 0, "--network"
            case ("scope", "domains", *_):
                return 0, "--domain"
            case ("scope", *_):
                return 0, "--network/--domain"
        return 1, format_loc(loc)


def _cells(row: dict[str, str | None]) -> dict[str, str]:
    return {k: (v or "").strip() for k, v in row.items() if k is not None}


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _endpoint(cells: dict[str, str]) -> dict[str, Any]:
    ep: dict[str, Any] = {"url": cells["url"]}
    for column in ("services", "pins", "vantage", "tags", "server_name", "ca_file"):
        value = cells.get(column, "")
        if value:
            ep[column] = _split(value) if column in LIST_COLUMNS else value
    creds = {c: cells[c] for c in CREDENTIAL_COLUMNS if cells.get(c)}
    if creds:
        ep["credentials"] = creds
    return ep


def _nonblank(value: str) -> str | None:
    return None if value else "must not be empty"


def _level(value: str) -> str | None:
    return None if value in LEVELS else f"{shown(value)} is not a level: one of {', '.join(LEVELS)}"


def _province(value: str) -> str | None:
    return (
        None
        if len(value) == 2 and value.isascii() and value.isdigit()
        else (f"a province code has two digits, e.g. 32 (got {shown(value)})")
    )


# What a cell that defines an agency or an application must hold by itself, checked on
# every row: a row that repeats an agency with a wrong value is told what is wrong with
# it, not that it disagrees with the first row.
CELL_RULES: dict[str, Callable[[str], str | None]] = {
    "agency_code": lambda v: agency_code_problem(v) if v else "must not be empty",
    "agency_name": _nonblank,
    "level": _level,
    "province": _province,
    "application_id": lambda v: name_problem("application", v),
    "application_name": _nonblank,
}


def _disagreements(
    file: str,
    line: int,
    what: str,
    key: str,
    columns: dict[str, str],
    first: dict,
    first_line: int,
    cells: dict[str, str],
) -> list[Problem]:
    """A later row defining ``key`` again: each cell wrong by itself, or differing from the first row."""
    problems = []
    for field, column in columns.items():
        value, before = cells[column], first[field]
        if value == before:
            continue
        rule = CELL_RULES.get(column)
        wrong = rule(value) if rule else None
        if wrong:
            problems.append(Problem(file, line, column, wrong))
        elif rule is None or rule(before) is None:  # a bad first value is reported on its own row
            problems.append(
                Problem(
                    file, line, column, f"{what} {key!r} has {column} {shown(before)} on line {first_line}"
                )
            )
    return problems


def read_csv_document(
    path: str | os.PathLike, scope: dict[str, list[str]]
) -> tuple[dict, _CsvLocator, list[Problem]]:
    """The document a CSV describes, where each part came from, and the CSV-level problems."""
    file = str(path)
    locate = _CsvLocator()
    problems: list[Problem] = []
    agencies: dict[str, tuple[dict, int]] = {}
    applications: dict[str, tuple[dict, int]] = {}
    try:
        text = read_text(path, max_bytes=MAX_INVENTORY_BYTES, what="CSV file").removeprefix("\ufeff")
    except ConfigError as exc:
        raise InventoryError(exc.problems) from None
    line = 1
    try:
        with io.StringIO(text, newline="") as handle:  # csv wants the line endings as written
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            problems.extend(_header_problems(file, header))
            if any(c not in header for c in REQUIRED_COLUMNS):
                raise InventoryError(problems)
            for row in reader:
                line = reader.line_num
                if None in row:
                    problems.append(Problem(file, line, "(row)", "more cells than columns"))
                cells = _cells(row)
                if not any(cells.values()):
                    continue
                short = [column for column in header if row.get(column) is None]
                if short:
                    problems.append(
                        Problem(
                            file,
                            line,
                            "(row)",
                            f"{len(header) - len(short)} cells where the header has {len(header)} columns: "
                            f"no cell for {', '.join(short)}",
                        )
                    )
                    continue
                code = cells["agency_code"]
                if code not in agencies:
                    agency = {field: cells[column] for field, column in AGENCY_COLUMNS.items()}
                    agencies[code] = (agency, line)
                else:
                    first, first_line = agencies[code]
                    problems += _disagreements(
                        file, line, "agency", code, AGENCY_COLUMNS, first, first_line, cells
                    )
                app_id = cells["application_id"]
                if app_id not in applications:
                    applications[app_id] = (
                        {"id": app_id, "name": cells["application_name"], "agency": code, "endpoints": []},
                        line,
                    )
                else:
                    first, first_line = applications[app_id]
                    problems += _disagreements(
                        file, line, "application", app_id, APPLICATION_COLUMNS, first, first_line, cells
                    )
                app, _ = applications[app_id]
                app["endpoints"].append(_endpoint(cells))
                app.setdefault("_rows", []).append(line)
    except csv.Error as exc:  # e.g. a cell larger than the csv module's limit
        raise InventoryError([Problem(file, line + 1, "(row)", f"not valid CSV: {exc}")]) from None
    document: dict[str, Any] = {"version": 1, "scope": scope, "agencies": [], "applications": []}
    for agency, line in agencies.values():
        document["agencies"].append(agency)
        locate.agency_rows.append(line)
    for app, line in applications.values():
        locate.endpoint_rows.append(app.pop("_rows"))
        locate.application_rows.append(line)
        document["applications"].append(app)
    return document, locate, problems


def _header_problems(file: str, header: Sequence[str]) -> list[Problem]:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    twice = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(Problem(file, 1, "(header)", f"missing column(s): {', '.join(missing)}"))
    if unknown:
        problems.append(
            Problem(
                file,
                1,
                "(header)",
                f"unknown column(s): {', '.join(shown(c) if not c.isprintable() else c for c in unknown)}; "
                f"the columns are {', '.join(COLUMNS)}",
            )
        )
    if twice:
        problems.append(Problem(file, 1, "(header)", f"column(s) given twice: {', '.join(twice)}"))
    return problems


def import_csv(
    csv_path: str | os.PathLike, out_path: str | os.PathLike, scope: dict[str, list[str]]
) -> Inventory:
    """Validate a CSV inventory and write it as YAML; ``InventoryError`` (nothing written) if invalid."""
    with gc_paused():
        document, locate, problems = read_csv_document(csv_path, scope)
        base_dir = Path(out_path).resolve().parent
        validated = validate_document(document, str(csv_path), locate, base_dir, problems)
    dump_inventory(
        validated, out_path, header=f"Imported from {Path(csv_path).name} by `interop inventory import`."
    )
    return load_inventory(out_path)


def export_csv(inventory: Inventory, path: str | os.PathLike) -> int:
    """Write one row per endpoint (applications without endpoints have no row); returns the row count."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        agencies = {a.code: a for a in inventory.agencies}
        for app in inventory.applications:
            agency = agencies[app.agency]
            for ep in app.endpoints:
                creds = ep.credentials
                writer.writerow(
                    [
                        agency.code,
                        agency.name,
                        agency.level,
                        agency.province,
                        app.id,
                        app.name,
                        ep.url,
                        ";".join(ep.services),
                        ";".join(ep.pins),
                        ep.vantage or "",
                        ";".join(ep.tags),
                        ep.server_name or "",
                        ep.ca_file or "",
                        creds.username if creds else "",
                        (creds.key_path or "") if creds else "",
                        (creds.password_env or "") if creds else "",
                        (creds.passphrase_env or "") if creds else "",
                    ]
                )
                rows += 1
    return rows
