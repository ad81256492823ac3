"""Real servers for the CLI tests: OpenSSH (hardened and Debian defaults) and a conformant gRPC server."""

from __future__ import annotations

import pytest

from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.sshd import host_key, start_openssh


@pytest.fixture(scope="package")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("core")


@pytest.fixture(scope="package")
def hardened_sshd(workdir):
    with start_openssh(workdir, "hardened", host_keys=[host_key(workdir / "keys", "ed25519")]) as server:
        yield server


@pytest.fixture(scope="package")
def default_sshd(workdir):
    with start_openssh(workdir, "default", host_keys=[host_key(workdir / "keys", "ed25519")]) as server:
        yield server


@pytest.fixture(scope="package")
def grpc_server(workdir):
    with start_grpc_servers(
        [GrpcServerSpec("ok", identity=("32.73", "bdg-perizinan"))], workdir / "grpc"
    ) as servers:
        yield servers
