"""The SSH probe against real OpenSSH 9.2 servers in the testbed's profiles."""

from __future__ import annotations

from orchestrator.profiles import load_profile
from tests.ssh.support import (
    host_certificate,
    keygen_display,
    keygen_fingerprint,
    own_selection,
    probe,
    result,
    statuses,
)


def _pub(key):
    return key.with_name(key.name + ".pub")


def test_hardened_server_passes_everything(start_sshd, openssh_key):
    ed25519, rsa = openssh_key("ed25519"), openssh_key("rsa", 3072)
    server = start_sshd("hardened", [ed25519, rsa])
    pins = (keygen_fingerprint(_pub(ed25519)), keygen_fingerprint(_pub(rsa)))

    report = probe(server.port, pins=pins)

    assert report.unreachable is None
    assert statuses(report) == {
        "SSH-AUTH-001": "pass",
        "SSH-BANNER-001": "pass",
        "SSH-ENC-001": "pass",
        "SSH-HKEY-001": "pass",
        "SSH-HKEY-002": "pass",
        "SSH-HKEY-003": "pass",
        "SSH-HKEY-004": "pass",
        "SSH-KEX-001": "pass",
        "SSH-KEX-002": "pass",
        "SSH-KEX-003": "pass",
        "SSH-KEX-004": "pass",
        "SSH-MAC-001": "pass",
    }
    facts = report.facts["ssh"]
    assert facts["software"] == "OpenSSH"
    assert facts["version"].startswith("9.2")
    assert facts["protocol"] == "2.0"
    assert facts["auth_methods"] == ["publickey"]
    assert facts["kex"][:3] == [
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
    ]
    assert facts["macs"] == ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"]
    displays = {tuple(k["algorithms"]): k["display"] for k in facts["host_keys"]}
    assert displays == {
        ("ssh-ed25519",): keygen_display(_pub(ed25519)),
        ("rsa-sha2-512", "rsa-sha2-256"): keygen_display(_pub(rsa)),
    }
    assert result(report, "SSH-KEX-004").evidence["observed"] == ["sntrup761x25519-sha512@openssh.com"]


def test_pins_mismatch_partial_and_absent(start_sshd, openssh_key):
    ed25519, rsa = openssh_key("ed25519"), openssh_key("rsa", 3072)
    server = start_sshd("hardened", [ed25519, rsa])
    ed_fp, rsa_fp = keygen_fingerprint(_pub(ed25519)), keygen_fingerprint(_pub(rsa))
    selection = {"SSH-HKEY-003": own_selection()["SSH-HKEY-003"]}

    wrong = probe(
        server.port, pins=("SHA256:AAAAC3NzaC1lZDI1NTE5AAAAIAbogusbogusbogusbogusbogus",), selection=selection
    )
    partial = probe(server.port, pins=(ed_fp + "=",), selection=selection)  # padding is tolerated
    absent = probe(server.port, selection=selection)

    assert statuses(wrong) == {"SSH-HKEY-003": "fail"}
    assert result(wrong, "SSH-HKEY-003").severity.value == "critical"
    assert set(result(wrong, "SSH-HKEY-003").evidence["unpinned"]) == {ed_fp, rsa_fp}
    assert statuses(partial) == {"SSH-HKEY-003": "warn"}
    assert result(partial, "SSH-HKEY-003").evidence["unpinned"] == [rsa_fp]
    assert statuses(absent) == {"SSH-HKEY-003": "skip"}


def test_legacy_server_fails_weak_algorithms(start_sshd, openssh_key):
    ed25519, rsa, dsa = openssh_key("ed25519"), openssh_key("rsa", 3072), openssh_key("dsa")
    server = start_sshd("legacy", [ed25519, rsa, dsa])

    report = probe(server.port)

    assert statuses(report) == {
        "SSH-AUTH-001": "pass",
        "SSH-BANNER-001": "pass",
        "SSH-ENC-001": "fail",
        "SSH-HKEY-001": "fail",
        "SSH-HKEY-002": "pass",
        "SSH-HKEY-003": "skip",
        "SSH-HKEY-004": "pass",
        "SSH-KEX-001": "fail",
        "SSH-KEX-002": "warn",
        "SSH-KEX-003": "pass",  # this Debian build has strict key exchange
        "SSH-KEX-004": "warn",
        "SSH-MAC-001": "fail",
    }

    def flagged(check_id):
        return {f["algorithm"]: f["verdict"] for f in result(report, check_id).evidence["findings"]}

    assert flagged("SSH-KEX-001") == {
        "diffie-hellman-group1-sha1": "fail",
        "diffie-hellman-group14-sha1": "fail",
        "diffie-hellman-group-exchange-sha1": "fail",
    }
    assert flagged("SSH-KEX-002") == {"ecdh-sha2-nistp256": "warn"}
    assert flagged("SSH-ENC-001") == {"aes128-cbc": "fail", "3des-cbc": "fail", "aes256-cbc": "fail"}
    assert flagged("SSH-MAC-001") == {
        "hmac-sha1": "warn",
        "hmac-sha1-96": "fail",
        "hmac-md5": "fail",
        "hmac-md5-96": "fail",
        "hmac-sha1-etm@openssh.com": "warn",
    }
    assert flagged("SSH-HKEY-001") == {"ssh-rsa": "fail", "ssh-dss": "fail"}
    assert "also discouraged: hmac-sha1" in result(report, "SSH-MAC-001").reason
    # Each host key shown exactly as ssh-keygen -lf prints it.
    displays = {k["type"]: k["display"] for k in report.facts["ssh"]["host_keys"]}
    assert displays == {
        "ssh-ed25519": keygen_display(_pub(ed25519)),
        "ssh-rsa": keygen_display(_pub(rsa)),
        "ssh-dss": keygen_display(_pub(dsa)),
    }


def test_password_logins_fail_auth_check(start_sshd, openssh_key):
    server = start_sshd("password", [openssh_key("ed25519")])

    report = probe(server.port)

    # Debian's default algorithms plus password logins.
    assert statuses(report) == {
        "SSH-AUTH-001": "fail",
        "SSH-BANNER-001": "pass",
        "SSH-ENC-001": "pass",
        "SSH-HKEY-001": "pass",
        "SSH-HKEY-002": "skip",  # no RSA host key
        "SSH-HKEY-003": "skip",
        "SSH-HKEY-004": "pass",
        "SSH-KEX-001": "pass",
        "SSH-KEX-002": "warn",
        "SSH-KEX-003": "pass",
        "SSH-KEX-004": "pass",
        "SSH-MAC-001": "warn",
    }
    auth = result(report, "SSH-AUTH-001")
    assert auth.evidence["observed"] == ["keyboard-interactive", "password", "publickey"]
    assert auth.reason == "server offers keyboard-interactive, password authentication"


def test_rsa_host_key_sizes(start_sshd, openssh_key):
    selection = {cid: s for cid, s in own_selection().items() if cid.startswith("SSH-HKEY-")}
    verdicts = {}
    for bits in (2048, 1024):
        rsa = openssh_key("rsa", bits)
        server = start_sshd("hardened", [openssh_key("ed25519"), rsa])
        report = probe(server.port, selection=selection)
        verdicts[bits] = statuses(report)
        rsa_entry = next(k for k in report.facts["ssh"]["host_keys"] if k["type"] == "ssh-rsa")
        assert rsa_entry["display"] == keygen_display(_pub(rsa))
        assert rsa_entry["bits"] == bits

    others = {"SSH-HKEY-001": "pass", "SSH-HKEY-003": "skip", "SSH-HKEY-004": "pass"}
    assert verdicts == {2048: {**others, "SSH-HKEY-002": "warn"}, 1024: {**others, "SSH-HKEY-002": "fail"}}


def test_profile_parameters_change_verdicts(start_sshd, openssh_key):
    legacy = start_sshd("legacy", [openssh_key("ed25519")])
    hardened = start_sshd("hardened", [openssh_key("ed25519")])

    strict = own_selection(
        SSH_KEX_002={"verdicts": {"ecdh-sha2-nistp256": "fail"}},
        SSH_KEX_001={
            "verdicts": {"diffie-hellman-group14-sha1": "pass", "diffie-hellman-group-exchange-sha1": "warn"}
        },
    )
    allowlisted = own_selection(
        SSH_ENC_001={"allowed": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]},
        SSH_KEX_001={"allowed": ["sntrup761x25519-*", "curve25519-sha256*"]},
    )

    strict_report = probe(legacy.port, selection=strict)
    allow_report = probe(hardened.port, selection=allowlisted)

    assert statuses(strict_report)["SSH-KEX-002"] == "fail"
    findings = {f["algorithm"]: f for f in result(strict_report, "SSH-KEX-001").evidence["findings"]}
    assert {name: f["verdict"] for name, f in findings.items()} == {
        "diffie-hellman-group1-sha1": "fail",
        "diffie-hellman-group-exchange-sha1": "warn",
    }
    assert findings["diffie-hellman-group-exchange-sha1"]["reason"].endswith("(verdict set by profile)")
    assert statuses(allow_report)["SSH-ENC-001"] == "fail"
    assert statuses(allow_report)["SSH-KEX-001"] == "pass"
    enc = result(allow_report, "SSH-ENC-001")
    assert [f["algorithm"] for f in enc.evidence["findings"]] == ["aes128-gcm@openssh.com", "aes256-ctr"]
    assert enc.evidence["expected"] == {
        "allowed": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]
    }


NIST_CURVE_HOST_KEYS = [
    f"ecdsa-sha2-{curve}{suffix}"
    for curve in ("nistp256", "nistp384", "nistp521")
    for suffix in ("", "-cert-v01@openssh.com")
]


def test_ecdsa_host_keys_are_graded_like_nist_curve_key_exchange(start_sshd, openssh_key, keys_dir):
    """Debian's defaults with Ed25519 and ECDSA host keys on all three curves, each with a certificate."""
    ecdsa = [openssh_key("ecdsa", bits) for bits in (256, 384, 521)]
    ca = keys_dir / "openssh" / "host_ca"
    certificates = [f"HostCertificate {host_certificate(key, ca)}" for key in ecdsa]
    server = start_sshd(
        "default",
        [openssh_key("ed25519"), *ecdsa],
        {"HostKeyAlgorithms": ",".join(["ssh-ed25519"] + NIST_CURVE_HOST_KEYS)},
        certificates,
    )

    report = probe(server.port)
    strict_selection = {
        cid: s for cid, s in load_profile("spbe-strict").selection.items() if cid in own_selection()
    }
    strict = probe(server.port, selection=strict_selection)

    offered = report.facts["ssh"]["host_key_algorithms"]
    assert set(NIST_CURVE_HOST_KEYS) <= set(offered)
    got = statuses(report)
    assert (got["SSH-HKEY-001"], got["SSH-HKEY-004"], got["SSH-KEX-002"]) == ("pass", "warn", "warn")
    findings = result(report, "SSH-HKEY-004").evidence["findings"]
    assert {f["algorithm"]: f["verdict"] for f in findings} == dict.fromkeys(NIST_CURVE_HOST_KEYS, "warn")
    assert all("Ed25519 is preferred" in f["reason"] and f["references"] for f in findings)
    assert result(report, "SSH-HKEY-004").severity.value == "low"
    assert statuses(strict)["SSH-HKEY-004"] == statuses(strict)["SSH-KEX-002"] == "fail"
