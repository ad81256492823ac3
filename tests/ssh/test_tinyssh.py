"""The SSH probe against real TinySSH (Debian 20230101), which predates strict key exchange."""

from __future__ import annotations

import subprocess

import pytest

from orchestrator.testbed import sshd
from tests.ssh.support import keygen_display, keygen_fingerprint, probe, result, statuses


@pytest.fixture
def tinyssh(tmp_path_factory, keys_dir):
    server = sshd.start_tinyssh(tmp_path_factory.mktemp("tinyssh"), sshd.tinyssh_keydir(keys_dir))
    yield server
    server.stop()


def test_tinyssh_is_open_to_terrapin(tinyssh, tmp_path):
    public = tmp_path / "tinyssh.pub"
    public.write_text(
        subprocess.run(
            [sshd.TINYSSHD + "-printkey", tinyssh.info["key_dir"]],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    )

    report = probe(tinyssh.port, pins=(keygen_fingerprint(public),))

    assert statuses(report) == {
        # Asked on the probe's first connection (probes.ssh.sealed): paramiko has no chacha20-poly1305,
        # the only cipher TinySSH offers, and could not ask.
        "SSH-AUTH-001": "pass",
        "SSH-BANNER-001": "pass",
        "SSH-ENC-001": "pass",
        "SSH-HKEY-001": "pass",
        "SSH-HKEY-002": "skip",
        "SSH-HKEY-003": "pass",
        "SSH-HKEY-004": "pass",
        "SSH-KEX-001": "pass",
        "SSH-KEX-002": "pass",
        "SSH-KEX-003": "fail",
        "SSH-KEX-004": "pass",
        "SSH-MAC-001": "pass",
    }
    facts = report.facts["ssh"]
    assert (facts["software"], facts["version"]) == ("TinySSH", "20230101-1")
    assert [k["display"] for k in facts["host_keys"]] == [keygen_display(public)]
    terrapin = result(report, "SSH-KEX-003")
    assert terrapin.evidence["observed"] == {
        "strict_kex": False,
        "susceptible": ["chacha20-poly1305@openssh.com"],
    }
    assert facts["auth_methods"] == ["publickey"]  # TinySSH knows no other method
