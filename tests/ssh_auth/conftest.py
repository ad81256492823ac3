"""Real OpenSSH servers for the authenticated checks, logged into as root with a test key.

The test key is authorised through an absolute ``AuthorizedKeysFile`` in a
temporary directory, so nothing under /root/.ssh is touched. The hardened
server has ``PermitRootLogin no`` globally (what ``sshd -T -f`` reports)
and a trailing ``Match Address 127.0.0.1`` block that lets the test in.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.testbed.process import ServerProcess
from orchestrator.testbed.sshd import SSH_KEYGEN, start_openssh

PASSPHRASE = "correct-horse-battery-staple-7f3a"


@dataclass(frozen=True)
class ClientKeys:
    plain: Path
    encrypted: Path  # protected by PASSPHRASE
    stranger: Path  # valid key, not authorised
    authorized_keys: Path


@dataclass(frozen=True)
class Sshd:
    server: ServerProcess
    fingerprint: str  # SHA256:... of its host key, as ssh-keygen prints it

    @property
    def config(self) -> str:
        return self.server.info["config"]


def _keygen(path: Path, passphrase: str = "") -> Path:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


def _fingerprint(public_key: Path) -> str:
    out = subprocess.run(
        [SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(public_key)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return out.split()[1]


@pytest.fixture(scope="session")
def client_keys(tmp_path_factory: pytest.TempPathFactory) -> ClientKeys:
    root = tmp_path_factory.mktemp("ssh_auth_client")
    plain = _keygen(root / "id_plain")
    encrypted = _keygen(root / "id_encrypted", PASSPHRASE)
    stranger = _keygen(root / "id_stranger")
    authorized = root / "authorized_keys"
    authorized.write_text((root / "id_plain.pub").read_text() + (root / "id_encrypted.pub").read_text())
    return ClientKeys(plain, encrypted, stranger, authorized)


def start_test_sshd(
    workdir: Path,
    client_keys: ClientKeys,
    profile: str,
    options: dict[str, str],
    extra_lines: list[str] | None = None,
) -> Sshd:
    server = start_openssh(
        workdir,
        profile,
        options={"AuthorizedKeysFile": str(client_keys.authorized_keys), "LogLevel": "VERBOSE", **options},
        extra_lines=extra_lines,
    )
    return Sshd(server, _fingerprint(Path(server.info["host_keys"][0] + ".pub")))


@pytest.fixture(scope="session")
def hardened_sshd(tmp_path_factory: pytest.TempPathFactory, client_keys: ClientKeys) -> Iterator[Sshd]:
    sshd = start_test_sshd(
        tmp_path_factory.mktemp("sshd_hardened"),
        client_keys,
        "hardened",
        {},
        extra_lines=["Match Address 127.0.0.1", "    PermitRootLogin prohibit-password"],
    )
    yield sshd
    sshd.server.stop()


@pytest.fixture(scope="session")
def lax_sshd(tmp_path_factory: pytest.TempPathFactory, client_keys: ClientKeys) -> Iterator[Sshd]:
    sshd = start_test_sshd(
        tmp_path_factory.mktemp("sshd_lax"),
        client_keys,
        "default",
        {"PermitRootLogin": "yes", "MaxAuthTries": "6", "LoginGraceTime": "120", "X11Forwarding": "yes"},
    )
    yield sshd
    sshd.server.stop()


@pytest.fixture(scope="session")
def password_sshd(tmp_path_factory: pytest.TempPathFactory, client_keys: ClientKeys) -> Iterator[Sshd]:
    # Password logins on; root's password is whatever the machine has (never the test's).
    sshd = start_test_sshd(
        tmp_path_factory.mktemp("sshd_password"),
        client_keys,
        "password",
        {"PermitRootLogin": "yes", "PubkeyAuthentication": "no"},
    )
    yield sshd
    sshd.server.stop()
