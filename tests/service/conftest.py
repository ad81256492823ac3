"""A results store from real sweeps of loopback gRPC servers of three agencies, and ``interop serve`` over it.

Agencies: Kota Bandung (32.73, the "own" agency of most tests), the health
ministry (KEMENKES, the "other" one) and Kota Surabaya (35.78). Each has its
own loopback address; the ministry's servers serve no reflection and
Surabaya's reports NOT_SERVING, so the reports have findings. Two sweeps
(``interop sweep run --engine local``) go into one store. The service runs as
``interop serve --tokens ... --waivers ... --inventory ... --profile ...`` in a
process of its own (so ``/probe`` answers for the fleet's endpoints) and is
talked to over HTTP (httpx).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from orchestrator.service.access import OPERATOR_ROLE, Role, add_token
from orchestrator.store import Store
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.process import free_port, free_ports, spawn
from tests.sweep.support import write_profile

OWN, OTHER, THIRD = "32.73", "KEMENKES", "35.78"
# agency -> (name, level, province, loopback host, application id, application name, ports, server spec fields)
AGENCIES = {
    OWN: ("Kota Bandung", "kota", "32", "127.0.0.61", "bdg-simpeg", "SIMPEG Bandung", 2, {}),
    OTHER: (
        "Kementerian Kesehatan",
        "pusat",
        "31",
        "127.0.0.62",
        "kemenkes-satusehat",
        "SATUSEHAT Platform",
        2,
        {"reflection": ()},
    ),
    THIRD: (
        "Kota Surabaya",
        "kota",
        "35",
        "127.0.0.63",
        "sby-ekinerja",
        "E-Kinerja Surabaya",
        1,
        {"health": "not_serving"},
    ),
}
PROFILE_CHECKS = ("GRPC-HLTH-*", "GRPC-REFL-*")
WAIVERS = """\
waivers:
  - id: W-KES-REFL
    check: GRPC-REFL-001
    agency: KEMENKES
    justification: Reflection is switched off on the SATUSEHAT gateway by policy.
    approver: Pusdatin Kemenkes
    expires: 2099-12-31
"""
# Province names of the other agencies (31 DKI Jakarta, 35 Jawa Timur).
FOREIGN_PROVINCES = {OTHER: "DKI Jakarta", THIRD: "Jawa Timur"}
FOREIGN_WAIVER_WORDS = {OTHER: ("W-KES-REFL", "Pusdatin", "SATUSEHAT gateway")}


@dataclass
class Fleet:
    store: Path
    inventory: Path
    profile: Path
    waivers: Path
    sweeps: list[str]  # oldest first
    urls: dict[str, list[str]]  # agency -> endpoint URLs


def identifying_words(agency: str, fleet: Fleet) -> list[str]:
    """What names ``agency`` in any output: code, names, application, endpoints, province, waivers."""
    name, _, _, host, app_id, app_name, _, _ = AGENCIES[agency]
    words = [agency, name, app_id, app_name, host, *fleet.urls[agency]]
    words += [FOREIGN_PROVINCES[agency]] if agency in FOREIGN_PROVINCES else []
    return words + list(FOREIGN_WAIVER_WORDS.get(agency, ()))


def _inventory(urls: dict[str, list[str]]) -> str:
    lines = ["version: 1", "scope: {networks: [127.0.0.0/8]}", "agencies:"]
    for code, (name, level, province, *_rest) in AGENCIES.items():
        lines.append(f'  - {{code: "{code}", name: {name}, level: {level}, province: "{province}"}}')
    lines.append("applications:")
    for code, (_, _, _, _, app_id, app_name, _, _) in AGENCIES.items():
        lines += [f"  - id: {app_id}", f"    name: {app_name}", f'    agency: "{code}"', "    endpoints:"]
        lines += [f"      - url: {url}" for url in urls[code]]
    return "\n".join(lines) + "\n"


def run_sweep(fleet_dir: Path, inventory: Path, profile: Path, store: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "sweep",
            "run",
            "--engine",
            "local",
            "--inventory",
            str(inventory),
            "--profile",
            str(profile),
            "--store",
            str(store),
            "--no-summary",
        ],
        cwd=fleet_dir,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def fleet(tmp_path_factory) -> Iterator[Fleet]:
    directory = tmp_path_factory.mktemp("service-fleet")
    specs, urls = [], {}
    for code, (_, _, _, host, app_id, _, count, fields) in AGENCIES.items():
        ports = free_ports(count, host)
        specs.append(
            GrpcServerSpec(name=f"agency-{app_id}", host=host, ports=ports, identity=(code, app_id), **fields)
        )
        urls[code] = [f"grpc://{host}:{port}" for port in ports]
    servers = start_grpc_servers(specs, directory / "servers", name="service-fleet")
    try:
        inventory = directory / "inventory.yaml"
        inventory.write_text(_inventory(urls), encoding="utf-8")
        profile = write_profile(directory / "profile.yaml", PROFILE_CHECKS)
        waivers = directory / "waivers.yaml"
        waivers.write_text(WAIVERS, encoding="utf-8")
        store = directory / "results.db"
        for _ in range(2):
            run_sweep(directory, inventory, profile, store)
        with Store(store, read_only=True) as opened:
            sweeps = [sweep.id for sweep in reversed(opened.list_sweeps(None))]
        # The servers stay up for scheduled sweeps.
        yield Fleet(store, inventory, profile, waivers, sweeps, urls)
    finally:
        servers.stop()


@dataclass
class Tokens:
    path: Path
    by_name: dict[str, str]  # "operator", "own", "other" -> token
    ids: dict[str, str]  # the same names -> token id


@pytest.fixture(scope="session")
def tokens(tmp_path_factory) -> Tokens:
    path = tmp_path_factory.mktemp("tokens") / "tokens.yaml"
    by_name, ids = {}, {}
    for name, role in (
        ("operator", OPERATOR_ROLE),
        ("own", Role("agency", OWN)),
        ("other", Role("agency", OTHER)),
        ("third", Role("agency", THIRD)),
    ):
        entry, token = add_token(path, role, note=f"tests: {name}")
        by_name[name], ids[name] = token, entry.id
    return Tokens(path, by_name, ids)


@dataclass
class Served:
    base: str
    process: object  # orchestrator.testbed.process.ServerProcess

    def log(self) -> str:
        return self.process.log()


def serve_argv(store: Path, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "serve",
        "--store",
        str(store),
        "--listen",
        f"127.0.0.1:{port}",
        *extra,
    ]


@pytest.fixture(scope="session")
def service(fleet: Fleet, tokens: Tokens, tmp_path_factory):
    port = free_port()
    argv = serve_argv(
        fleet.store,
        port,
        *("--tokens", str(tokens.path), "--waivers", str(fleet.waivers)),
        *("--inventory", str(fleet.inventory), "--profile", str(fleet.profile)),  # for /probe
    )
    with spawn(
        "interop-serve", argv, "127.0.0.1", port, tmp_path_factory.mktemp("serve"), timeout_s=60
    ) as server:
        yield Served(f"http://127.0.0.1:{port}", server)


@pytest.fixture(scope="session")
def http(service: Served):
    with httpx.Client(base_url=service.base, timeout=60.0) as client:
        yield client


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}
