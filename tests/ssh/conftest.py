"""Host keys made once per session (RSA generation is the slow part) and sshd launch helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.testbed import sshd
from orchestrator.testbed.process import ServerProcess


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ssh-host-keys")


@pytest.fixture(scope="session")
def openssh_key(keys_dir: Path) -> Callable[..., Path]:
    """``openssh_key("rsa", 3072)`` -> private key path; ``.pub`` sits next to it."""

    def make(key_type: str, bits: int | None = None) -> Path:
        return sshd.host_key(keys_dir / "openssh", key_type, bits)

    return make


@pytest.fixture(scope="session")
def dropbear_key(keys_dir: Path) -> Callable[..., Path]:
    def make(key_type: str, bits: int | None = None) -> Path:
        return sshd.dropbear_key(keys_dir / "dropbear", key_type, bits)

    return make


@pytest.fixture
def start_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerProcess]]:
    """Start OpenSSH servers for one test; every one is stopped afterwards."""
    started: list[ServerProcess] = []

    def start(
        profile: str,
        host_keys: list[Path],
        options: dict[str, str] | None = None,
        extra_lines: list[str] | None = None,
    ) -> ServerProcess:
        server = sshd.start_openssh(
            tmp_path_factory.mktemp(f"sshd-{profile}"), profile, host_keys, options, extra_lines=extra_lines
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
