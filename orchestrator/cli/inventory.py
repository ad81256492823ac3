"""``interop inventory``: validate, count, import, export and generate inventories.

Exit codes: 0 ok, 2 usage or configuration error (an invalid inventory is one:
every problem is printed as ``FILE:LINE: field: message`` and nothing runs).
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from orchestrator.cli.common import stdout, usage_error
from orchestrator.inventory import EndpointRef, Inventory, InventoryError, Scope, load_inventory, synthetic
from orchestrator.inventory.csv import export_csv, import_csv
from orchestrator.inventory.regions import LEVELS, provinces
from orchestrator.inventory.schema import SCHEMES, Agency

inventory_app = typer.Typer(
    name="inventory",
    help="Validate, count, import, export and generate fleet inventories (agencies, applications, endpoints).",
    no_args_is_help=True,
)

LOOPBACK_SCOPE = {"networks": ["127.0.0.0/8"], "domains": ["localhost"]}


def _cannot_write(path: Path, exc: OSError) -> typer.Exit:
    return usage_error(f"{path}: cannot write: {exc.strerror or exc}")


def _load(path: Path) -> Inventory:
    """Load or print every problem and exit 2."""
    try:
        return load_inventory(path)
    except InventoryError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        count = len(exc.problems)
        raise usage_error(
            f"{count} problem{'s' if count != 1 else ''} in {path}: nothing runs on an invalid inventory"
        ) from None


def _endpoint_counts(refs: Iterable[EndpointRef]) -> dict[str, int]:
    counts = Counter(ref.scheme for ref in refs)
    return {scheme: counts.get(scheme, 0) for scheme in SCHEMES}


def inventory_stats(inventory: Inventory, top: int = 10) -> dict[str, Any]:
    """Counts by level, by province and the largest agencies (plain data, JSON-safe)."""
    levels = {a.code: a.level for a in inventory.agencies}
    apps_per_agency = Counter(app.agency for app in inventory.applications)
    refs_by_level: dict[str, list] = defaultdict(list)
    refs_by_province: dict[str, list] = defaultdict(list)
    for ref in inventory.endpoints():
        refs_by_level[ref.agency_level].append(ref)
        refs_by_province[ref.province].append(ref)

    def group(key_of: Callable[[Agency], str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = defaultdict(lambda: {"agencies": 0, "applications": 0})
        for agency in inventory.agencies:
            out[key_of(agency)]["agencies"] += 1
            out[key_of(agency)]["applications"] += apps_per_agency[agency.code]
        return out

    by_level = group(lambda a: a.level)
    by_province = group(lambda a: a.province)
    names = provinces()
    return {
        "file": str(inventory.path) if inventory.path else None,
        "sha256": inventory.content_hash,
        "agencies": len(inventory.agencies),
        "applications": len(inventory.applications),
        "endpoints": {"total": len(inventory), **_endpoint_counts(inventory.endpoints())},
        "by_level": {
            level: {**by_level[level], "endpoints": _endpoint_counts(refs_by_level[level])}
            for level in LEVELS
            if level in by_level
        },
        "by_province": {
            code: {
                "name": names[code].name if code in names else "",
                **by_province[code],
                "endpoints": _endpoint_counts(refs_by_province[code]),
            }
            for code in sorted(by_province)
        },
        "largest_agencies": [
            {"code": code, "level": levels[code], "applications": n}
            for code, n in apps_per_agency.most_common(top)
        ],
    }


def _counts_row(row: dict[str, Any]) -> list[str]:
    eps = row["endpoints"]
    return [f"{row['agencies']:,}", f"{row['applications']:,}", *(f"{eps[s]:,}" for s in SCHEMES)]


def _table(title: str, first: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in first:
        table.add_column(column)
    for column in ("agencies", "applications", *(f"{s}://" for s in SCHEMES)):
        table.add_column(column, justify="right")
    return table


@inventory_app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Inventory YAML file.", show_default=False)],
) -> None:
    """Validate an inventory: print OK with its counts, or every problem (FILE:LINE: field: message) and exit 2."""
    started = time.perf_counter()
    inventory = _load(file)
    elapsed = time.perf_counter() - started
    eps = _endpoint_counts(inventory.endpoints())
    protocols = ", ".join(f"{scheme} {n:,}" for scheme, n in eps.items())
    typer.echo(
        f"OK {file}: {len(inventory.agencies):,} agencies, {len(inventory.applications):,} applications, "
        f"{len(inventory):,} endpoints ({protocols}) in {elapsed:.2f} s"
    )
    typer.echo(f"scope: {inventory.scope.describe()}")
    typer.echo(f"sha256: {inventory.content_hash}")


@inventory_app.command()
def stats(
    file: Annotated[Path, typer.Argument(help="Inventory YAML file.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    top: Annotated[int, typer.Option(help="How many of the largest agencies to list.", min=0)] = 10,
) -> None:
    """Count agencies, applications and endpoints (by protocol) per level and per province."""
    inventory = _load(file)
    data = inventory_stats(inventory, top)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    eps = data["endpoints"]
    stdout.print(
        f"{file}: {data['agencies']:,} agencies, {data['applications']:,} applications, "
        f"{eps['total']:,} endpoints",
        markup=False,
    )
    by_level = _table("By level", ["level"])
    for level, row in data["by_level"].items():
        by_level.add_row(level, *_counts_row(row))
    stdout.print(by_level)
    by_province = _table("By province (central bodies count under their seat)", ["code", "province"])
    for code, row in data["by_province"].items():
        by_province.add_row(code, row["name"], *_counts_row(row))
    stdout.print(by_province)
    if data["largest_agencies"]:
        largest = Table(title="Largest agencies", title_justify="left")
        largest.add_column("agency")
        largest.add_column("name")
        largest.add_column("level")
        largest.add_column("applications", justify="right")
        for row in data["largest_agencies"]:
            largest.add_row(
                row["code"], inventory.agency(row["code"]).name, row["level"], f"{row['applications']:,}"
            )
        stdout.print(largest)


def _check_networks(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        try:
            ipaddress.ip_network(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return values


def _check_domains(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        try:
            Scope(domains=[value])
        except ValidationError as exc:
            raise typer.BadParameter(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return values


@inventory_app.command("import")
def import_(
    csv_file: Annotated[Path, typer.Argument(help="CSV file, one row per endpoint.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Inventory YAML to write.", show_default=False)],
    network: Annotated[
        list[str] | None,
        typer.Option(
            help="Scope: a network (CIDR) endpoints may be in (repeatable).", callback=_check_networks
        ),
    ] = None,
    domain: Annotated[
        list[str] | None,
        typer.Option(help="Scope: a DNS suffix host names may end in (repeatable).", callback=_check_domains),
    ] = None,
) -> None:
    """Import a CSV inventory and write it as YAML after validating it.

    Columns: agency_code, agency_name, level, province, application_id,
    application_name, url, and optionally services, pins, tags (;-separated),
    vantage, server_name, ca_file, username, key_path, password_env,
    passphrase_env. Without --network/--domain the scope is loopback only
    (127.0.0.0/8 and localhost). Problems are reported as CSV:ROW: column:
    message and nothing is written.
    """
    scope = {"networks": network or [], "domains": domain or []} if network or domain else LOOPBACK_SCOPE
    if not (network or domain):
        typer.echo(
            "note: no --network/--domain given: the scope is loopback only (127.0.0.0/8, localhost)", err=True
        )
    if not csv_file.is_file():
        raise usage_error(f"{csv_file}: no such file")
    try:
        inventory = import_csv(csv_file, out, scope)
    except InventoryError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise usage_error(f"{len(exc.problems)} problem(s) in {csv_file}: {out} was not written") from None
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    typer.echo(
        f"wrote {out}: {len(inventory.agencies):,} agencies, {len(inventory.applications):,} applications, "
        f"{len(inventory):,} endpoints"
    )


@inventory_app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Inventory YAML file.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.", show_default=False)],
) -> None:
    """Export an inventory as CSV, one row per endpoint (the format `inventory import` reads)."""
    inventory = _load(file)
    try:
        rows = export_csv(inventory, out)
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    typer.echo(f"wrote {out}: {rows:,} rows")


@inventory_app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Inventory YAML to write.", show_default=False)],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same bytes.")] = 1,
    applications: Annotated[
        int, typer.Option(help="National number of applications.", min=1, max=500_000)
    ] = synthetic.NATIONAL_APPLICATIONS,
    slice_: Annotated[
        int | None,
        typer.Option("--slice", help="Keep about this many endpoints, across all 38 provinces.", min=1),
    ] = None,
    grpcs_share: Annotated[
        float,
        typer.Option(
            help="Share of gRPC endpoints that are grpcs:// (they need --ca-file); 0 for plaintext only.",
            min=0,
            max=1,
        ),
    ] = synthetic.GRPCS_SHARE,
    ca_file: Annotated[
        str, typer.Option(help="CA bundle the grpcs:// endpoints name, relative to the inventory.")
    ] = "testbed-ca.pem",
    vantages: Annotated[
        bool, typer.Option("--vantages", help="Give regional endpoints a vantage per island group.")
    ] = False,
) -> None:
    """Generate a synthetic national inventory on loopback (622 agencies, 27,400 applications by default).

    Every endpoint carries a testbed=<behaviour> tag for the testbed. See
    orchestrator/inventory/synthetic.py for the shape and the address plan.
    """
    started = time.perf_counter()
    try:
        document = synthetic.write_generated(
            out,
            seed,
            applications=applications,
            slice_endpoints=slice_,
            grpcs_share=grpcs_share,
            ca_file=ca_file,
            vantages=vantages,
        )
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    endpoints = sum(len(app["endpoints"]) for app in document["applications"])
    typer.echo(
        f"wrote {out}: {len(document['agencies']):,} agencies, {len(document['applications']):,} applications, "
        f"{endpoints:,} endpoints in {time.perf_counter() - started:.2f} s"
    )
    if grpcs_share > 0:
        typer.echo(
            f"note: the grpcs:// endpoints name {ca_file}; the testbed must write it before validation"
        )
