"""Property tests: on any bytes the SSH wire parsers return a value or raise SshWireError, nothing else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.errors import WireError
from probes.ssh import hostkeys, wire

FAST = settings(max_examples=150, deadline=None, database=None)

NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.@+=-", min_size=1, max_size=40)
NAME_LIST = st.lists(NAME, max_size=6).map(tuple)


def only_wire_errors(parse, data):
    with contextlib.suppress(wire.SshWireError):
        parse(data)


def test_error_type_is_a_probe_wire_error():
    assert issubclass(wire.SshWireError, WireError)


PARSERS = {
    "decode_packet": wire.decode_packet,
    "decode_packet_length": wire.decode_packet_length,
    "parse_kexinit": wire.parse_kexinit,
    "parse_banner": wire.parse_banner,
    "parse_name_list": wire.parse_name_list,
    "parse_kex_reply": wire.parse_kex_reply,
    "parse_gex_group": wire.parse_gex_group,
    "parse_disconnect": wire.parse_disconnect,
    "parse_host_key": hostkeys.parse_host_key,
}


@pytest.mark.parametrize("name", PARSERS)
@FAST
@given(data=st.binary(max_size=600))
def test_any_bytes(name, data):
    only_wire_errors(PARSERS[name], data)


# Plausible prefixes so the fuzzing reaches past the first field.
PREFIXES = {
    "parse_kexinit": bytes([wire.MSG_KEXINIT]) + b"\x00" * 16,
    "parse_kex_reply": bytes([wire.MSG_KEX_REPLY]),
    "parse_gex_group": bytes([wire.MSG_KEX_DH_GEX_GROUP]),
    "parse_disconnect": bytes([wire.MSG_DISCONNECT]),
    "parse_host_key": wire.encode_string(b"ssh-rsa"),
    "decode_packet": b"\x00\x00\x00\x0c",
    "parse_banner": b"SSH-2.0-",
}


@pytest.mark.parametrize("name", PREFIXES)
@FAST
@given(data=st.binary(max_size=600))
def test_plausible_prefix_then_any_bytes(name, data):
    only_wire_errors(PARSERS[name], PREFIXES[name] + data)


@pytest.mark.parametrize("key_type", list(hostkeys.KEY_FORMATS) + ["ssh-ed25519-cert-v01@openssh.com"])
@FAST
@given(fields=st.lists(st.binary(max_size=80), max_size=6), tail=st.binary(max_size=20))
def test_host_key_fields(key_type, fields, tail):
    blob = wire.encode_string(key_type.encode()) + b"".join(wire.encode_string(f) for f in fields) + tail
    only_wire_errors(hostkeys.parse_host_key, blob)


@FAST
@given(
    lists=st.lists(NAME_LIST, min_size=10, max_size=10),
    cookie=st.binary(min_size=16, max_size=16),
    follows=st.booleans(),
    reserved=st.integers(0, 2**32 - 1),
)
def test_kexinit_round_trip(lists, cookie, follows, reserved):
    kexinit = wire.KexInit(cookie, *lists, first_kex_packet_follows=follows, reserved=reserved)
    payload = wire.encode_kexinit(kexinit)
    assert wire.parse_kexinit(payload) == kexinit
    framed = wire.encode_packet(payload)
    assert wire.decode_packet(framed) == (payload, len(framed))


@FAST
@given(payload=st.binary(min_size=1, max_size=2000), flip=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_packet_round_trip_and_bit_flips(payload, flip, bit):
    framed = wire.encode_packet(payload)
    assert len(framed) % wire.BLOCK_SIZE == 0
    assert wire.decode_packet(framed) == (payload, len(framed))
    damaged = bytearray(framed)
    damaged[flip % len(damaged)] ^= 1 << bit
    only_wire_errors(wire.decode_packet, bytes(damaged))


@FAST
@given(text=st.text(max_size=300))
def test_banner_text(text):
    only_wire_errors(wire.parse_banner, ("SSH-" + text + "\r\n").encode("utf-8", errors="surrogatepass"))


def test_caps_are_enforced():
    with pytest.raises(wire.SshWireError, match="exceeds"):
        wire.decode_packet_length((wire.MAX_PACKET_LENGTH + 4).to_bytes(4, "big"))
    with pytest.raises(wire.SshWireError, match="padding"):
        wire.decode_packet(b"\x00\x00\x00\x0c\x03" + b"\x14" * 11)
    with pytest.raises(wire.SshWireError, match="names exceeds"):
        wire.parse_name_list(",".join(["a"] * (wire.MAX_NAMES + 1)).encode())
    with pytest.raises(wire.SshWireError, match="empty name"):
        wire.parse_name_list(b"a,,b")
    with pytest.raises(wire.SshWireError, match="exceeds 255"):
        wire.parse_banner(b"SSH-2.0-" + b"x" * 250 + b"\r\n")
    assert wire.parse_banner(b"SSH-1.99-Cisco_1.25\n").protocol == "1.99"


@pytest.mark.parametrize(
    "software, expected",
    [
        ("OpenSSH_9.2p1", ("OpenSSH", "9.2p1")),
        ("OpenSSH_for_Windows_8.1", ("OpenSSH", "8.1")),
        ("dropbear_2022.83", ("Dropbear", "2022.83")),
        ("libssh_0.10.6", ("libssh", "0.10.6")),
        ("libssh-0.6.3", ("libssh", "0.6.3")),
        ("tinyssh_20230101-1", ("TinySSH", "20230101-1")),
        ("Cisco-1.25", ("Cisco", "1.25")),
        ("ROSSSH", ("ROSSSH", None)),
    ],
)
def test_software_table(software, expected):
    assert tuple(wire.parse_software(software).__dict__.values()) == expected
