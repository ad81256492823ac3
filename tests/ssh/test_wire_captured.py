"""The wire parser on bytes captured from a live OpenSSH server."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from orchestrator.testbed.sshd import SSHD
from probes.ssh import keyshare, wire
from probes.ssh.hostkeys import parse_host_key
from tests.ssh.support import capture, keygen_display


@pytest.fixture
def legacy_server(start_sshd, openssh_key):
    return start_sshd("legacy", [openssh_key("ed25519")])


def _effective_config(server) -> dict[str, list[str]]:
    """What ``sshd -T`` says the server is configured to offer: an oracle independent of our parser."""
    out = subprocess.run(
        [SSHD, "-T", "-f", server.info["config"]], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    settings = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    return {key: settings[key].split(",") for key in ("kexalgorithms", "ciphers", "macs")}


def _split(raw: bytes) -> tuple[bytes, bytes]:
    line_end = raw.index(b"\n") + 1
    return raw[:line_end], raw[line_end:]


def test_captured_identification_and_kexinit(legacy_server):
    line, packet = _split(capture(legacy_server.port))

    banner = wire.parse_banner(line)
    payload, consumed = wire.decode_packet(packet)
    kexinit = wire.parse_kexinit(payload)

    assert line.endswith(b"\r\n")
    assert banner.protocol == "2.0"
    assert wire.parse_software(banner.software_version) == wire.Software("OpenSSH", "9.2p1")
    assert banner.comments.startswith("Debian")
    assert consumed == len(packet)
    config = _effective_config(legacy_server)
    kex = [name for name in kexinit.kex_algorithms if name != "kex-strict-s-v00@openssh.com"]
    assert kex == config["kexalgorithms"]
    assert list(kexinit.encryption_client_to_server) == config["ciphers"]
    assert list(kexinit.encryption_server_to_client) == config["ciphers"]
    assert list(kexinit.mac_client_to_server) == config["macs"]
    assert kexinit.server_host_key_algorithms == ("ssh-ed25519",)
    assert kexinit.compression_server_to_client == ("none", "zlib@openssh.com")
    assert kexinit.languages_client_to_server == ()
    assert kexinit.first_kex_packet_follows is False
    assert kexinit.reserved == 0
    # Our encoder reproduces the server's message byte for byte.
    assert wire.encode_kexinit(kexinit) == payload


def test_every_truncation_of_captured_bytes_is_a_wire_error(legacy_server):
    _line, packet = _split(capture(legacy_server.port))
    payload, _ = wire.decode_packet(packet)

    for cut in range(len(packet)):
        with pytest.raises(wire.SshWireError):
            wire.decode_packet(packet[:cut])
    for cut in range(len(payload)):
        with pytest.raises(wire.SshWireError):
            wire.parse_kexinit(payload[:cut])
    with pytest.raises(wire.SshWireError, match="trailing"):
        wire.parse_kexinit(payload + b"\x00")


def test_captured_key_exchange_reply(legacy_server, openssh_key):
    """Send our own KEXINIT and ECDH init on a raw socket; parse the server's reply bytes."""
    raw = capture(legacy_server.port)
    _, packet = _split(raw)
    server_kexinit = wire.parse_kexinit(wire.decode_packet(packet)[0])
    method = next(m for m in keyshare.KEX_METHODS if m.name == "curve25519-sha256")
    ours = wire.KexInit(
        cookie=os.urandom(16),
        kex_algorithms=(method.name,),
        server_host_key_algorithms=("ssh-ed25519",),
        encryption_client_to_server=("aes128-ctr",),
        encryption_server_to_client=("aes128-ctr",),
        mac_client_to_server=("hmac-sha2-256",),
        mac_server_to_client=("hmac-sha2-256",),
        compression_client_to_server=("none",),
        compression_server_to_client=("none",),
    )
    assert set(ours.encryption_client_to_server) <= set(server_kexinit.encryption_client_to_server)

    with socket.create_connection(("127.0.0.1", legacy_server.port), timeout=5) as sock:
        sock.sendall(b"SSH-2.0-capture\r\n")
        sock.sendall(wire.encode_packet(wire.encode_kexinit(ours)))
        sock.sendall(wire.encode_packet(keyshare.first_message(method)))
        data = b""
        while True:  # identification line, KEXINIT packet, then the reply packet
            chunk = sock.recv(65536)
            assert chunk, "server closed before replying"
            data += chunk
            _, rest = _split(data) if b"\n" in data else (b"", b"")
            try:
                _, used = wire.decode_packet(rest)
                reply_packet = rest[used:]
                reply_payload, _ = wire.decode_packet(reply_packet)
                break
            except wire.SshWireError:
                continue

    reply = wire.parse_kex_reply(reply_payload)
    key = parse_host_key(reply.host_key_blob)
    assert len(reply.server_public) == 32  # X25519 public value
    assert key.display == keygen_display(openssh_key("ed25519").with_suffix(".pub"))
    for cut in range(len(reply_payload)):
        with pytest.raises(wire.SshWireError):
            wire.parse_kex_reply(reply_payload[:cut])
    for cut in range(len(reply.host_key_blob)):
        with pytest.raises(wire.SshWireError):
            parse_host_key(reply.host_key_blob[:cut])
