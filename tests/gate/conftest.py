"""Real servers for the pytest plugin's tests, and pytest runs with the plugin read back as outcomes.

A conformant gRPC server over TLS and a legacy OpenSSH start once for the
package; a silent server (it accepts and never speaks) starts per test, so
its ``accepted`` count tells how often a run connected to it. The probe
timeouts are brief: a silent server costs a second, a server that answers
answers at once. ``pytester`` comes from the ``-p pytester`` of pyproject's
addopts.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.hostile import HostileServer
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.sshd import host_key, start_openssh

BRIEF = {"deadline_s": 10, "connect_timeout_s": 2, "read_timeout_s": 1}
ROOT = "interop"  # the first part of every item's node id
SUBPROCESS_TIMEOUT_S = 120


@dataclass(frozen=True)
class Servers:
    grpcs: str  # a conformant gRPC server over TLS
    ca: Path  # the CA bundle that verifies it
    legacy: str  # OpenSSH offering weak algorithms
    profile: Path  # spbe-baseline with brief timeouts


@pytest.fixture(scope="package")
def servers(tmp_path_factory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("plugin-servers")
    ca = TestCA(workdir / "ca")
    spec = GrpcServerSpec("ok", identity=("32.73", "bdg-perizinan"), tls=ca.issue("grpc-ok"))
    profile = workdir / "brief.yaml"
    profile.write_text(f"name: brief\nextends: spbe-baseline\nprobe: {json.dumps(BRIEF)}\n")
    with (
        start_grpc_servers([spec], workdir / "grpc") as grpc_servers,
        start_openssh(workdir, "legacy", host_keys=[host_key(workdir / "keys", "ed25519")]) as sshd,
    ):
        yield Servers(
            f"grpcs://127.0.0.1:{grpc_servers.port('ok')}",
            ca.ca_path,
            f"ssh://127.0.0.1:{sshd.port}",
            profile,
        )


@pytest.fixture
def silent() -> Iterator[HostileServer]:
    server = HostileServer("silent")
    yield server
    server.stop()


def url_of(server: HostileServer) -> str:
    return f"ssh://{server.host}:{server.port}"


def node_id(target: str, check_id: str) -> str:
    return f"{ROOT}::{target}::{check_id}"


def junit_outcomes(path: Path) -> dict[str, str]:
    """Node id -> passed, failed, error, skipped or xfailed, as the JUnit XML file tells it."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        target = case.get("classname").removeprefix(f"{ROOT}.")
        skipped = case.find("skipped")
        if case.find("failure") is not None:
            outcome = "failed"
        elif case.find("error") is not None:
            outcome = "error"
        elif skipped is not None:
            outcome = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        else:
            outcome = "passed"
        outcomes[node_id(target, case.get("name"))] = outcome
    return outcomes


def junit_cases(path: Path) -> dict[str, ET.Element]:
    return {
        node_id(case.get("classname").removeprefix(f"{ROOT}."), case.get("name")): case
        for case in ET.parse(path).getroot().iter("testcase")
    }


def junit_properties(case: ET.Element) -> dict[str, str]:
    return {prop.get("name"): prop.get("value") for prop in case.iter("property")}
