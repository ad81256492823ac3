"""Properties of the encrypted phase (probes/ssh/sealed.py): what we seal opens, anything else is refused.

A hostile or broken server controls every byte of what ``Opener`` reads: a
wrong length, a forged tag or a garbled body must end in ``SshWireError``
(a reason in the result), never in another exception.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from probes.ssh import sealed, wire

KEYS = st.binary(min_size=sealed.KEY_BYTES, max_size=sealed.KEY_BYTES)
SEQUENCE = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=200, deadline=None)
@given(key=KEYS, sequence=SEQUENCE, payload=st.binary(min_size=1, max_size=2000))
def test_what_is_sealed_opens_to_the_same_payload(key, sequence, payload):
    packet = sealed.Sealer(key).seal(sequence, payload)
    opener = sealed.Opener(key)

    length = opener.length(sequence, packet[:4])
    body, tag = packet[4 : 4 + length], packet[4 + length :]

    assert len(tag) == sealed.TAG_BYTES
    assert opener.open(sequence, packet[:4], body, tag) == payload


@settings(max_examples=200, deadline=None)
@given(
    key=KEYS,
    sequence=SEQUENCE,
    payload=st.binary(min_size=1, max_size=500),
    flip=st.integers(min_value=0),
    bit=st.integers(min_value=0, max_value=7),
)
def test_a_changed_bit_is_refused(key, sequence, payload, flip, bit):
    packet = bytearray(sealed.Sealer(key).seal(sequence, payload))
    position = 4 + flip % (len(packet) - 4)  # the body or the tag; the length has its own test
    packet[position] ^= 1 << bit
    opener = sealed.Opener(key)
    length = opener.length(sequence, bytes(packet[:4]))

    try:
        opener.open(sequence, bytes(packet[:4]), bytes(packet[4 : 4 + length]), bytes(packet[4 + length :]))
    except wire.SshWireError:
        return
    raise AssertionError("a changed packet was opened")


@settings(max_examples=300, deadline=None)
@given(
    key=KEYS,
    sequence=SEQUENCE,
    header=st.binary(min_size=4, max_size=4),
    rest=st.binary(max_size=300),
    tag=st.binary(max_size=20),
)
def test_garbage_from_a_server_raises_only_wire_errors(key, sequence, header, rest, tag):
    opener = sealed.Opener(key)
    try:
        length = opener.length(sequence, header)
        opener.open(sequence, header, rest[:length], tag)
    except wire.SshWireError:
        pass


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(min_size=1, max_size=200))
def test_a_garbled_authentication_answer_raises_only_wire_errors(payload):
    payload = bytes([sealed.MSG_USERAUTH_FAILURE]) + payload
    try:
        methods = sealed.methods_of(payload)
    except wire.SshWireError:
        return
    assert methods == sorted(set(methods))
