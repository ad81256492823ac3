"""Evidence agrees with its verdict: on real servers, no result's evidence carries a worse verdict than
the result itself (a pass carries no ``fail``), under the default settings and under spbe-strict."""

from __future__ import annotations

import pytest

from orchestrator.profiles import load_profile
from orchestrator.testbed import sshd
from tests.ssh.support import disagreements, evidence_verdicts, own_selection, probe, result, statuses


@pytest.fixture(scope="module")
def servers(tmp_path_factory, keys_dir):
    """Every kind of server the tests know, at once: OpenSSH (three profiles), Dropbear, TinySSH."""
    openssh = keys_dir / "openssh"
    ed25519, ecdsa = sshd.host_key(openssh, "ed25519"), sshd.host_key(openssh, "ecdsa", 256)
    rsa, dsa = sshd.host_key(openssh, "rsa", 3072), sshd.host_key(openssh, "dsa")
    dropbear = keys_dir / "dropbear"
    started = {}
    try:
        for name, profile, keys in (
            ("openssh-default", "default", [ed25519, ecdsa, rsa]),  # Debian's key set
            ("openssh-hardened", "hardened", [ed25519, rsa]),
            ("openssh-legacy", "legacy", [ed25519, rsa, dsa]),
        ):
            started[name] = sshd.start_openssh(tmp_path_factory.mktemp(name), profile, keys)
        started["dropbear"] = sshd.start_dropbear(
            tmp_path_factory.mktemp("dropbear"),
            [
                sshd.dropbear_key(dropbear, kind, bits)
                for kind, bits in (("ed25519", None), ("rsa", 2048), ("ecdsa", 256))
            ],
        )
        started["tinyssh"] = sshd.start_tinyssh(
            tmp_path_factory.mktemp("tinyssh"), sshd.tinyssh_keydir(keys_dir)
        )
        yield {name: server.port for name, server in started.items()}
    finally:
        for server in started.values():
            server.stop()


def _strict():
    return {cid: s for cid, s in load_profile("spbe-strict").selection.items() if cid in own_selection()}


@pytest.mark.parametrize("selection", [own_selection, _strict], ids=["defaults", "spbe-strict"])
def test_no_evidence_is_worse_than_its_result(servers, selection):
    reports = {name: probe(port, selection=selection()) for name, port in servers.items()}

    assert {name: disagreements(report) for name, report in reports.items()} == {name: [] for name in servers}
    # Not vacuous: the walk sees verdicts of every kind, a pass among them carrying mitigated findings.
    seen = {v for report in reports.values() for r in report.results for v in evidence_verdicts(r.evidence)}
    assert {"fail", "mitigated"} <= seen
    assert ("warn" in seen) == (selection is own_selection)  # spbe-strict turns these warnings into failures
    legacy = reports["openssh-legacy"]
    assert statuses(legacy)["SSH-KEX-003"] == "pass"
    mitigated = (
        "aes128-cbc",
        "3des-cbc",
        "aes256-cbc",
        "chacha20-poly1305@openssh.com",
        "hmac-sha1-etm@openssh.com",
    )
    findings = result(legacy, "SSH-KEX-003").evidence["findings"]
    assert {f["algorithm"]: f["verdict"] for f in findings} == dict.fromkeys(mitigated, "mitigated")
    assert statuses(reports["tinyssh"])["SSH-KEX-003"] == "fail"
    assert {statuses(reports[name])["SSH-HKEY-004"] for name in ("openssh-default", "dropbear")} == {
        "warn" if selection is own_selection else "fail"
    }
