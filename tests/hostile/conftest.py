"""Misbehaving servers for the gate tests, and ``interop check`` run against them.

Raw hostile servers (``orchestrator.testbed.hostile``) and Python TLS servers
start per test (threads, milliseconds); OpenSSH and nginx (in front of a
backend that is not running) once for the package.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.testbed.hostile import BEHAVIOURS, HostileServer
from orchestrator.testbed.nginx import GrpcProxy, start_grpc_proxy
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.process import ServerProcess, free_port
from orchestrator.testbed.sshd import host_key, start_openssh
from orchestrator.testbed.tls_server import TLSServer, TLSServerConfig
from tests.schemas import validated

# Probe timeouts as test profiles. A server that never answers is waited for
# briefly: its checks end ``error`` however long we wait. A server that does
# answer answers at once; the long timeouts only keep a loaded machine from
# turning its answer into a timeout.
PROFILES = {
    "brief": {"deadline_s": 10, "connect_timeout_s": 2, "read_timeout_s": 1},
    "patient": {"deadline_s": 30, "connect_timeout_s": 5, "read_timeout_s": 5},
}

# TLS servers of the matrix: a complete handshake, then a close or silence.
TLS_BEHAVIOURS = {"tls_then_close": False, "tls_then_silence": True}


@pytest.fixture(scope="package")
def hostile_ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("hostile-ca"))


@pytest.fixture(scope="package")
def profiles(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("hostile-profiles")
    paths = {}
    for name, timeouts in PROFILES.items():
        path = directory / f"{name}.yaml"
        path.write_text(f"name: {name}\nextends: spbe-baseline\nprobe: {json.dumps(timeouts)}\n")
        paths[name] = path
    return paths


@pytest.fixture(scope="package")
def sshd(tmp_path_factory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("hostile-sshd")
    with start_openssh(workdir, "default", host_keys=[host_key(workdir / "keys", "ed25519")]) as server:
        yield server


@pytest.fixture(scope="package")
def nginx_without_backend(tmp_path_factory, hostile_ca) -> Iterator[GrpcProxy]:
    """nginx with grpc_pass to a port nothing listens on: every call ends at nginx."""
    workdir = tmp_path_factory.mktemp("hostile-nginx")
    with start_grpc_proxy(workdir, free_port(), tls=hostile_ca.issue("nginx")) as proxy:
        yield proxy


@pytest.fixture
def start_server(request, hostile_ca) -> Iterator[Callable[[str], int]]:
    """``start_server(name) -> port`` for every server name of the matrix; stopped after the test."""
    started: list[Any] = []

    def start(name: str) -> int:
        if name in BEHAVIOURS:
            server = HostileServer(name)
            started.append(server)
            return server.port
        if name in TLS_BEHAVIOURS:
            config = TLSServerConfig(hostile_ca.issue(name), hold_after_handshake=TLS_BEHAVIOURS[name])
            server = TLSServer(config).start()
            started.append(server)
            return server.port
        if name == "sshd":
            return request.getfixturevalue("sshd").port
        if name.startswith("nginx_"):
            return request.getfixturevalue("nginx_without_backend").port(name.removeprefix("nginx_"))
        raise KeyError(name)

    yield start
    for server in started:
        server.stop()


@dataclass
class Checked:
    exit_code: int
    report: dict[str, Any]
    output: str

    def status(self, check_id: str) -> str:
        return self.result(check_id)["status"]

    def result(self, check_id: str) -> dict[str, Any]:
        return next(r for r in self.report["results"] if r["check_id"] == check_id)


runner = CliRunner()


def check(*args: str) -> Checked:
    """``interop check ARGS --json`` in this process."""
    result = runner.invoke(app, ["check", *args, "--json"], catch_exceptions=False)
    report = validated(json.loads(result.stdout)) if result.stdout.startswith("{") else {}
    return Checked(result.exit_code, report, result.output)
