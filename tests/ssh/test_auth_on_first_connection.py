"""Authentication methods are asked on the probe's first connection: one connection per host-key type, no more.

Connections are counted in the servers' own logs (OpenSSH at VERBOSE logs
"Connection from", Dropbear "Child connection from"), after the one the
start-up readiness check opened.
"""

from __future__ import annotations

import time

import pytest

from orchestrator.testbed import sshd
from tests.ssh.support import probe, result

OPENSSH_CONNECTION = "Connection from 127.0.0.1"
DROPBEAR_CONNECTION = "Child connection from 127.0.0.1"


def _logged(server, marker: str, at_least: int) -> int:
    deadline = time.monotonic() + 5  # the server logs as it accepts, a moment after the client connected
    while server.log().count(marker) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.log().count(marker)


def connections_during(server, marker: str, action):
    before = _logged(server, marker, 1)  # the readiness check's connection
    outcome = action()
    time.sleep(0.3)  # every connection of the probe is closed by now; let the server's log catch up
    return outcome, _logged(server, marker, before + 1) - before


@pytest.fixture
def dropbear(tmp_path_factory):
    started = []

    def start(host_keys, allow_passwords):
        server = sshd.start_dropbear(
            tmp_path_factory.mktemp("dropbear"), host_keys, allow_passwords=allow_passwords
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_openssh_three_key_types_three_connections(start_sshd, openssh_key):
    keys = [openssh_key("ed25519"), openssh_key("ecdsa"), openssh_key("rsa", 3072)]
    server = start_sshd("password", keys, {"LogLevel": "VERBOSE"})

    report, connections = connections_during(server, OPENSSH_CONNECTION, lambda: probe(server.port))

    assert report.facts["ssh"]["auth_methods"] == ["keyboard-interactive", "password", "publickey"]
    assert result(report, "SSH-AUTH-001").status.value == "fail"
    assert sorted(k["type"] for k in report.facts["ssh"]["host_keys"]) == [
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
        "ssh-rsa",
    ]
    assert connections == 3


def test_without_chacha20_paramiko_asks_on_a_connection_of_its_own(start_sshd, openssh_key):
    server = start_sshd(
        "hardened",
        [openssh_key("ed25519")],
        {"LogLevel": "VERBOSE", "Ciphers": "aes256-ctr,aes128-gcm@openssh.com"},
    )

    report, connections = connections_during(server, OPENSSH_CONNECTION, lambda: probe(server.port))

    assert report.facts["ssh"]["auth_methods"] == ["publickey"]
    assert result(report, "SSH-AUTH-001").status.value == "pass"
    assert connections == 2  # the key's, then paramiko's


def test_dropbear_passwords_seen_on_the_key_connection(dropbear, dropbear_key):
    server = dropbear([dropbear_key("ed25519"), dropbear_key("rsa", 2048)], allow_passwords=True)

    report, connections = connections_during(server, DROPBEAR_CONNECTION, lambda: probe(server.port))

    assert report.facts["ssh"]["auth_methods"] == ["password", "publickey"]
    assert result(report, "SSH-AUTH-001").status.value == "fail"
    assert [k.get("error") for k in report.facts["ssh"]["host_keys"]] == [None, None]
    assert connections == 2
