"""Every key-exchange method the probe can start reaches the server's host key on real OpenSSH."""

from __future__ import annotations

import pytest

from probes.ssh import keyshare
from tests.ssh.support import keygen_display, own_selection, probe, statuses


def test_modp_primes_are_the_published_groups():
    # RFC 3526 §3: the 2048-bit group's leading and trailing hex digits; RFC 2409 §6.2 for Oakley 2.
    group14 = f"{keyshare.modp_prime('modp2048'):X}"
    assert group14.startswith("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1")
    assert group14.endswith("15728E5A8AACAA68FFFFFFFFFFFFFFFF")
    assert f"{keyshare.modp_prime('oakley2'):X}".endswith("49286651ECE65381FFFFFFFFFFFFFFFF")
    assert f"{keyshare.modp_prime('modp8192'):X}".endswith("60C980DD98EDD3DFFFFFFFFFFFFFFFFF")
    for group, (bits, _) in keyshare.MODP_GROUPS.items():
        assert keyshare.modp_prime(group).bit_length() == bits


def test_choose_method_follows_the_probe_preference():
    chosen = keyshare.choose_method(["diffie-hellman-group1-sha1", "ecdh-sha2-nistp256"])
    assert chosen.name == "ecdh-sha2-nistp256"
    assert keyshare.choose_method(["sntrup761x25519-sha512@openssh.com"]) is None


@pytest.mark.parametrize("method", keyshare.KEX_METHOD_NAMES)
def test_host_key_over_each_kex_method(method, start_sshd, openssh_key):
    key = openssh_key("ed25519")
    server = start_sshd("default", [key], {"KexAlgorithms": method})
    selection = {cid: s for cid, s in own_selection().items() if cid in ("SSH-KEX-001", "SSH-HKEY-002")}

    report = probe(server.port, selection=selection)

    assert report.facts["ssh"]["kex"] == [method, "kex-strict-s-v00@openssh.com"]
    [entry] = report.facts["ssh"]["host_keys"]
    assert entry["display"] == keygen_display(key.with_suffix(".pub"))
    weak = {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"}
    assert statuses(report) == {"SSH-KEX-001": "fail" if method in weak else "pass", "SSH-HKEY-002": "skip"}


def test_server_with_only_post_quantum_kex(start_sshd, openssh_key):
    """The probe cannot start sntrup761 itself: host keys become an error with a reason, not a crash."""
    key = openssh_key("ed25519")
    server = start_sshd("default", [key], {"KexAlgorithms": "sntrup761x25519-sha512@openssh.com"})
    selection = {cid: s for cid, s in own_selection().items() if cid in ("SSH-KEX-004", "SSH-HKEY-003")}

    report = probe(server.port, pins=("SHA256:x",), selection=selection)

    assert statuses(report) == {"SSH-KEX-004": "pass", "SSH-HKEY-003": "error"}
    [entry] = report.facts["ssh"]["host_keys"]
    assert entry["error"].startswith("no key-exchange method in common with those the probe implements")
    assert (
        "could not be read: no key-exchange method in common"
        in next(r for r in report.results if r.check_id == "SSH-HKEY-003").reason
    )
