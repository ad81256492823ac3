"""The SSH probe against a real Dropbear 2022.83 server."""

from __future__ import annotations

import pytest

from orchestrator.profiles import load_profile
from orchestrator.testbed import sshd
from tests.ssh.support import dropbear_public, keygen_display, own_selection, probe, result, statuses


@pytest.fixture
def start_dropbear(tmp_path_factory):
    started = []

    def start(host_keys, allow_passwords=False):
        workdir = tmp_path_factory.mktemp("dropbear")
        server = sshd.start_dropbear(workdir, host_keys, allow_passwords=allow_passwords)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_dropbear_defaults(start_dropbear, dropbear_key):
    ed25519, rsa = dropbear_key("ed25519"), dropbear_key("rsa", 2048)
    server = start_dropbear([ed25519, rsa])

    report = probe(server.port)

    assert statuses(report) == {
        "SSH-AUTH-001": "pass",
        "SSH-BANNER-001": "pass",
        "SSH-ENC-001": "pass",
        "SSH-HKEY-001": "fail",  # ssh-rsa (SHA-1) still offered
        "SSH-HKEY-002": "warn",  # 2048-bit RSA
        "SSH-HKEY-003": "skip",
        "SSH-HKEY-004": "pass",
        "SSH-KEX-001": "fail",  # diffie-hellman-group14-sha1
        "SSH-KEX-002": "warn",
        "SSH-KEX-003": "pass",
        "SSH-KEX-004": "warn",
        "SSH-MAC-001": "warn",  # hmac-sha1
    }
    facts = report.facts["ssh"]
    assert (facts["software"], facts["version"]) == ("Dropbear", "2022.83")
    assert "kexguess2@matt.ucc.asn.au" in facts["kex"]
    assert result(report, "SSH-KEX-001").evidence["findings"][0]["algorithm"] == "diffie-hellman-group14-sha1"
    # Markers in the kex list are not algorithms: never judged, never in evidence.
    assert "kexguess2@matt.ucc.asn.au" not in result(report, "SSH-KEX-001").evidence["observed"]
    displays = {k["type"]: k["display"] for k in facts["host_keys"]}
    assert displays == {
        "ssh-ed25519": keygen_display(dropbear_public(ed25519)),
        "ssh-rsa": keygen_display(dropbear_public(rsa)),
    }


def test_dropbear_passwords_and_lenient_profile(start_dropbear, dropbear_key):
    server = start_dropbear([dropbear_key("ed25519")], allow_passwords=True)
    lenient = own_selection(SSH_MAC_001={"verdicts": {"hmac-sha1": "pass"}})

    report = probe(server.port, selection=lenient)

    got = statuses(report)
    assert got["SSH-AUTH-001"] == "fail"
    assert result(report, "SSH-AUTH-001").evidence["observed"] == ["password", "publickey"]
    assert got["SSH-MAC-001"] == "pass"
    # Dropbear 2022.83 lists RSA signature algorithms without an RSA key; asking
    # for one makes it hang up, so the RSA size cannot be determined.
    assert got["SSH-HKEY-002"] == "error"
    assert "could not be read" in result(report, "SSH-HKEY-002").reason
    assert got["SSH-HKEY-001"] == "fail"


def test_spbe_strict_profile_tightens_verdicts(start_dropbear, dropbear_key):
    """The product's strict profile, through its own loader, turns the default warnings into failures."""
    server = start_dropbear([dropbear_key("ed25519"), dropbear_key("rsa", 2048)])
    strict = {cid: s for cid, s in load_profile("spbe-strict").selection.items() if cid in own_selection()}

    report = probe(server.port, selection=strict)

    assert statuses(report) == {
        "SSH-AUTH-001": "pass",
        "SSH-BANNER-001": "pass",
        "SSH-ENC-001": "pass",
        "SSH-HKEY-001": "fail",
        "SSH-HKEY-002": "fail",  # 2048 < 3072
        "SSH-HKEY-003": "skip",
        "SSH-HKEY-004": "pass",
        "SSH-KEX-001": "fail",
        "SSH-KEX-002": "fail",  # NIST curves
        "SSH-KEX-003": "pass",
        "SSH-KEX-004": "fail",  # no hybrid
        "SSH-MAC-001": "fail",  # hmac-sha1
    }
    assert result(report, "SSH-KEX-002").severity.value == "high"
