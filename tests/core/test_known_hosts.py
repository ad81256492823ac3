"""known_hosts parsing: plain and hashed names, ports, fingerprints as ssh-keygen prints them."""

from __future__ import annotations

import subprocess

import pytest

from orchestrator.inventory.known_hosts import pins_for
from orchestrator.inventory.yaml_nodes import ConfigError


@pytest.fixture(scope="module")
def public_key(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "k")], check=True)
    text = (directory / "k.pub").read_text().split()
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(directory / "k.pub")], check=True, capture_output=True, text=True
    )
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


def test_wildcards_and_negation_match_as_sshd_reads_them(tmp_path, public_key):
    key_type, blob, fingerprint, _ = public_key
    path = tmp_path / "known_hosts"
    path.write_text(f"*.go.id,!evil.go.id {key_type} {blob}\n[10.0.0.?]:2222 {key_type} {blob}\n")
    assert pins_for(path, "simpeg.bandung.go.id", 22) == [fingerprint]
    assert pins_for(path, "SIMPEG.Bandung.go.id", 22) == [fingerprint]  # host names match without case
    assert pins_for(path, "evil.go.id", 22) == []
    assert pins_for(path, "10.0.0.7", 2222) == [fingerprint]
    assert pins_for(path, "10.0.0.7", 22) == []


@pytest.mark.parametrize(
    "line, column, phrase",
    [
        ("host ssh-ed25519", "(line)", "expected: [marker] hosts key-type base64-key"),
        ("host ssh-ed25519 not*base64", "key", "not valid base64"),
        ("host ssh-ed25519 AAAA", "key", "not an SSH public key"),
        ("host ssh-rsa {blob}", "key-type", "the line says 'ssh-rsa' but the key is 'ssh-ed25519'"),
        ("|1|bad|hash {type} {blob}", "hosts", "not a host pattern or hashed name"),
        ("@trusted host {type} {blob}", "marker", "unknown marker '@trusted'"),
    ],
)
def test_every_bad_line_is_a_problem_with_its_column(tmp_path, public_key, line, column, phrase):
    """Even lines of other hosts: a file that is not what the user thinks is refused before probing."""
    key_type, blob, _, _ = public_key
    path = tmp_path / "known_hosts"
    path.write_text(
        f"# first\nother.go.id {key_type} {blob}\n" + line.format(type=key_type, blob=blob) + "\n"
    )
    with pytest.raises(ConfigError) as caught:
        pins_for(path, "127.0.0.1", 22)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, column)
    assert phrase in problem.message


def test_lines_are_counted_as_sshd_counts_them(tmp_path, public_key):
    """A vertical tab or form feed is not a line break for sshd (nor for the message)."""
    key_type, blob, _, _ = public_key
    path = tmp_path / "known_hosts"
    path.write_text(f"a\x0bb {key_type} {blob}\nbroken\n")
    with pytest.raises(ConfigError) as caught:
        pins_for(path, "a", 22)
    assert [p.line for p in caught.value.problems] == [2]


@pytest.mark.parametrize("content, line", [(b"\xff\xfe\n", 1), (b"# ok\n\n\x80\n", 3)])
def test_a_file_that_is_not_text_is_refused_at_its_line(tmp_path, content, line):
    path = tmp_path / "known_hosts"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        pins_for(path, "host", 22)
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (line, "(file)") and "not UTF-8" in problem.message


def test_an_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the known_hosts file"):
        pins_for(tmp_path, "host", 22)
    with pytest.raises(ConfigError, match="cannot read the known_hosts file"):
        pins_for(tmp_path / "absent", "host", 22)
