"""Fixtures for TLS probe tests: test CAs, and a helper that probes a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import pytest

from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.tls_server import TLSServer, TLSServerConfig, start_tls_server
from probes.model import ProbeReport, Target
from probes.runner import CheckSettings, ProbeOptions, run_probe
from tests.tls.support import OPTIONS, SYSTEM_STORE, tls_selection


@pytest.fixture(scope="session")
def ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("tls-ca"))


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("tls-other-ca"), name="Somebody Else's Root CA")


@pytest.fixture
def probe_server(ca) -> Iterator[Callable[..., ProbeReport]]:
    """Start a TLS server from a config, probe it as grpcs://127.0.0.1, stop it."""
    started: list[TLSServer] = []

    def run(
        config: TLSServerConfig,
        selection: dict[str, CheckSettings] | None = None,
        server_name: str | None = None,
        ca_file: str | None = None,
        options: ProbeOptions = OPTIONS,
    ) -> ProbeReport:
        server = start_tls_server(config)
        started.append(server)
        target = Target(
            scheme="grpcs",
            host="127.0.0.1",
            port=server.port,
            ca_file=None if ca_file == SYSTEM_STORE else ca_file or str(ca.ca_path),
            server_name=server_name,
        )
        try:
            report = asyncio.run(run_probe(target, selection or tls_selection(), options))
        finally:
            server.stop()
        json.dumps(report.to_dict())  # server-supplied strings stay JSON-safe
        return report

    run.servers = started  # what each server saw, for assertions
    yield run
    for server in started:
        server.stop()  # idempotent; covers a test that failed mid-way
