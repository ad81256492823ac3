"""Host-key blobs from ssh-keygen's own files: type, size and fingerprint as ssh-keygen prints them."""

from __future__ import annotations

import base64
import subprocess

import pytest

from orchestrator.testbed.sshd import SSH_KEYGEN
from probes.ssh.hostkeys import blob_type_of, normalise_pin, parse_host_key
from probes.ssh.wire import SshWireError, encode_string
from tests.ssh.support import keygen_display


def _blob(public_key_file) -> bytes:
    return base64.b64decode(public_key_file.read_text().split()[1])


@pytest.mark.parametrize(
    "key_type, bits",
    [("ed25519", None), ("ecdsa", None), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048), ("dsa", None)],
)
def test_public_key_files(key_type, bits, openssh_key):
    public = openssh_key(key_type, bits).with_suffix(".pub")
    assert parse_host_key(_blob(public)).display == keygen_display(public)


def test_host_certificate_fingerprints_the_certified_key(keys_dir, openssh_key):
    host = openssh_key("ed25519")
    work = keys_dir / "cert"
    work.mkdir(exist_ok=True)
    ca = work / "ca"
    if not ca.exists():
        subprocess.run([SSH_KEYGEN, "-q", "-N", "", "-t", "ed25519", "-f", str(ca)], check=True, timeout=30)
    public = work / "host.pub"
    public.write_text(host.with_suffix(".pub").read_text())
    subprocess.run([SSH_KEYGEN, "-q", "-s", str(ca), "-I", "host", "-h", str(public)], check=True, timeout=30)
    cert = work / "host-cert.pub"

    key = parse_host_key(_blob(cert))

    assert key.display == keygen_display(cert)
    assert key.label == "ED25519-CERT"
    assert key.key_type == "ssh-ed25519-cert-v01@openssh.com"


def test_unknown_and_malformed_blobs():
    with pytest.raises(SshWireError, match="unsupported host key type"):
        parse_host_key(encode_string(b"ssh-unknown") + encode_string(b"x"))
    with pytest.raises(SshWireError, match="non-positive"):
        parse_host_key(encode_string(b"ssh-rsa") + encode_string(b"\x01") + encode_string(b"\x80\x00"))
    with pytest.raises(SshWireError, match="trailing"):
        parse_host_key(encode_string(b"ssh-ed25519") + encode_string(b"k" * 32) + b"\x00")


def test_names_and_pins():
    assert blob_type_of("rsa-sha2-512") == "ssh-rsa"
    assert blob_type_of("ssh-ed25519") == "ssh-ed25519"
    assert normalise_pin(" sha256:abc= ") == "SHA256:abc"
    assert normalise_pin("abc") == "SHA256:abc"
