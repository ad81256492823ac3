"""known_hosts parsing: plain and hashed names, ports, fingerprints as ssh-keygen prints them."""

from __future__ import annotations

import subprocess

import pytest

from orchestrator.known_hosts import pins_for
from orchestrator.yamlsrc import ConfigError


@pytest.fixture(scope="module")
def public_key(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "k")], check=True)
    text = (directory / "k.pub").read_text().split()
    listed = subprocess.run(["ssh-keygen", "-lf", str(directory / "k.pub")], check=True, capture_output=True, text=True)
    return text[0], text[1], listed.stdout.split()[1], directory


def test_plain_and_port_entries(tmp_path, public_key):
    key_type, blob, fingerprint, _ = public_key
    path = tmp_path / "known_hosts"
    path.write_text(f"# comment\n[127.0.0.1]:2222 {key_type} {blob}\nexample.go.id {key_type} {blob}\n")
    assert pins_for(path, "127.0.0.1", 2222) == [fingerprint]
    assert pins_for(path, "127.0.0.1", 22) == []
    assert pins_for(path, "example.go.id", 22) == [fingerprint]


def test_hashed_entries_as_ssh_keygen_writes_them(tmp_path, public_key):
    key_type, blob, fingerprint, _ = public_key
    path = tmp_path / "known_hosts"
    path.write_text(f"[127.0.0.1]:2222 {key_type} {blob}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], check=True, capture_output=True)
    assert "|1|" in path.read_text()
    assert pins_for(path, "127.0.0.1", 2222) == [fingerprint]
    assert pins_for(path, "127.0.0.2", 2222) == []


def test_broken_line_is_located(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text("host ssh-ed25519\n")
    with pytest.raises(ConfigError) as caught:
        pins_for(path, "host", 22)
    assert caught.value.problems[0].line == 1
