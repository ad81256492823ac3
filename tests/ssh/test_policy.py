"""The algorithm policy table and the checks' evaluation functions, on hand-built facts."""

from __future__ import annotations

import pytest

from probes import registry
from probes.errors import Undetermined
from probes.facts import Facts
from probes.model import Status
from probes.ssh import policy as algorithms
from probes.ssh.facts import HOST_KEYS, KEXINIT, PINS

# The lists a patched and an unpatched OpenSSH 9.x offer by default (from KEXINIT).
UNPATCHED = {
    "kex_algorithms": [
        "curve25519-sha256",
        "ecdh-sha2-nistp256",
        "diffie-hellman-group14-sha256",
        "ext-info-s",
    ],
    "server_host_key_algorithms": ["rsa-sha2-512", "ssh-ed25519"],
    "encryption_client_to_server": ["chacha20-poly1305@openssh.com", "aes128-ctr"],
    "encryption_server_to_client": ["chacha20-poly1305@openssh.com", "aes128-ctr"],
    "mac_client_to_server": ["umac-128-etm@openssh.com", "hmac-sha2-256"],
    "mac_server_to_client": ["umac-128-etm@openssh.com", "hmac-sha2-256"],
}
PATCHED = {**UNPATCHED, "kex_algorithms": UNPATCHED["kex_algorithms"] + ["kex-strict-s-v00@openssh.com"]}
CTR_ETM = {
    **UNPATCHED,
    "encryption_client_to_server": ["aes128-ctr", "aes256-gcm@openssh.com"],
    "encryption_server_to_client": ["aes128-ctr", "aes256-gcm@openssh.com"],
}
CBC_ETM = {
    **UNPATCHED,
    "encryption_client_to_server": ["aes128-ctr", "aes128-cbc"],
    "encryption_server_to_client": ["aes128-ctr", "aes128-cbc"],
    "mac_client_to_server": ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
    "mac_server_to_client": ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
}
CTR_ONLY = {
    **UNPATCHED,
    "encryption_client_to_server": ["aes128-ctr"],
    "encryption_server_to_client": ["aes128-ctr"],
    "mac_client_to_server": ["hmac-sha2-256"],
    "mac_server_to_client": ["hmac-sha2-256"],
}


def evaluate(check_id: str, values: dict, **params) -> tuple[Status, object]:
    facts = Facts()
    for name, value in values.items():
        facts.set(name, value)
    effective = {**registry.get_check(check_id).params, **params}
    verdict = registry.evaluator(check_id)(facts, effective)
    return verdict.status, verdict


def test_terrapin_needs_strict_kex_when_chacha_or_cbc_with_etm_offered():
    status, verdict = evaluate("SSH-KEX-003", {KEXINIT: UNPATCHED})
    assert status == Status.FAIL
    # umac-128-etm next to CTR only: the deleted packet desynchronises CTR, not exploitable.
    assert verdict.evidence["observed"] == {
        "strict_kex": False,
        "susceptible": ["chacha20-poly1305@openssh.com"],
    }
    assert evaluate("SSH-KEX-003", {KEXINIT: CTR_ETM})[0] == Status.PASS
    status, verdict = evaluate("SSH-KEX-003", {KEXINIT: CBC_ETM})
    assert status == Status.FAIL
    assert verdict.evidence["observed"]["susceptible"] == ["aes128-cbc", "hmac-sha2-256-etm@openssh.com"]
    assert evaluate("SSH-KEX-003", {KEXINIT: CTR_ONLY})[0] == Status.PASS
    lenient = {"chacha20-poly1305@openssh.com": "warn", "*-etm@openssh.com": "warn"}
    assert evaluate("SSH-KEX-003", {KEXINIT: UNPATCHED}, verdicts=lenient)[0] == Status.WARN


def test_strict_kex_turns_terrapin_findings_into_mitigated_ones():
    patched_cbc = {**CBC_ETM, "kex_algorithms": PATCHED["kex_algorithms"]}
    for kexinit, susceptible in (
        (PATCHED, ["chacha20-poly1305@openssh.com"]),
        (patched_cbc, ["aes128-cbc", "hmac-sha2-256-etm@openssh.com"]),
    ):
        status, verdict = evaluate("SSH-KEX-003", {KEXINIT: kexinit})
        assert status == Status.PASS
        assert verdict.evidence["observed"] == {"strict_kex": True, "susceptible": susceptible}
        assert [(f["algorithm"], f["verdict"], f["reason"]) for f in verdict.evidence["findings"]] == [
            (name, "mitigated", "strict key exchange (kex-strict-s-v00@openssh.com) is offered")
            for name in susceptible
        ]
        assert all(f["references"] for f in verdict.evidence["findings"])


def test_pq_hybrid_absent_is_configurable():
    assert evaluate("SSH-KEX-004", {KEXINIT: PATCHED})[0] == Status.WARN
    assert evaluate("SSH-KEX-004", {KEXINIT: PATCHED}, verdict_if_absent="fail")[0] == Status.FAIL
    with_pq = {**PATCHED, "kex_algorithms": ["mlkem768x25519-sha256"] + PATCHED["kex_algorithms"]}
    assert evaluate("SSH-KEX-004", {KEXINIT: with_pq})[0] == Status.PASS


def test_markers_are_not_judged_even_by_an_allowlist():
    status, verdict = evaluate(
        "SSH-KEX-001",
        {KEXINIT: PATCHED},
        allowed=["curve25519-sha256", "ecdh-*", "diffie-hellman-group14-sha256"],
    )
    assert status == Status.PASS
    assert "ext-info-s" not in verdict.evidence["observed"]


def test_judge_globs_exact_names_and_overrides():
    judged = algorithms.judge("SSH-ENC-001", ["aes128-cbc", "3des-cbc", "arcfour256", "aes128-ctr"], {})
    assert {f.algorithm: f.reason for f in judged}["aes128-cbc"].startswith("CBC mode")
    assert {f.algorithm: f.reason for f in judged}["3des-cbc"].startswith("Triple DES")
    assert [f.algorithm for f in judged] == ["aes128-cbc", "3des-cbc", "arcfour256"]
    overridden = algorithms.judge(
        "SSH-ENC-001",
        ["aes128-cbc", "aes128-ctr"],
        {"verdicts": {"aes128-cbc": "warn", "aes128-ctr": "fail"}},
    )
    assert [(f.algorithm, f.verdict) for f in overridden] == [("aes128-cbc", "warn"), ("aes128-ctr", "fail")]
    assert overridden[1].reason == "listed by the profile (verdict set by profile)"
    with pytest.raises(ValueError, match="not pass, warn or fail"):
        algorithms.judge("SSH-ENC-001", ["aes128-cbc"], {"verdicts": {"aes128-cbc": "bad"}})


def test_every_rule_cites_a_reference_and_params_mirror_the_table():
    for check_id, policy in algorithms.POLICY.items():
        assert registry.get_check(check_id).params["verdicts"] == algorithms.default_verdicts(check_id)
        for name, rule in policy.rules.items():
            assert rule.verdict in ("warn", "fail"), name
            assert rule.references, name


def test_pin_check_statuses():
    keys = [
        {"algorithms": ["ssh-ed25519"], "fingerprint": "SHA256:ed"},
        {"algorithms": ["rsa-sha2-512"], "fingerprint": "SHA256:rsa"},
    ]
    assert evaluate("SSH-HKEY-003", {HOST_KEYS: keys, PINS: ["SHA256:ed", "SHA256:rsa"]})[0] == Status.PASS
    assert evaluate("SSH-HKEY-003", {HOST_KEYS: keys, PINS: ["SHA256:ed"]})[0] == Status.WARN
    strict = evaluate("SSH-HKEY-003", {HOST_KEYS: keys, PINS: ["SHA256:ed"]}, unpinned_extra_keys="fail")
    assert strict[0] == Status.FAIL
    assert evaluate("SSH-HKEY-003", {HOST_KEYS: keys, PINS: ["SHA256:other"]})[0] == Status.FAIL
    # One key unreadable, the other pinned: cannot say all keys match.
    broken = [keys[0], {"algorithms": ["rsa-sha2-512"], "error": "timed out"}]
    with pytest.raises(Undetermined, match="timed out"):
        evaluate("SSH-HKEY-003", {HOST_KEYS: broken, PINS: ["SHA256:ed"]})


def test_protocol_versions():
    def banner(version):
        return {"raw": f"SSH-{version}-x", "protocol": version}

    assert evaluate("SSH-BANNER-001", {"ssh.banner": banner("2.0")})[0] == Status.PASS
    assert evaluate("SSH-BANNER-001", {"ssh.banner": banner("1.99")})[0] == Status.WARN
    assert evaluate("SSH-BANNER-001", {"ssh.banner": banner("1.5")})[0] == Status.FAIL


def test_64_bit_block_ciphers_fail_in_every_mode():
    offered = ["3des-ctr", "blowfish-ctr", "cast128-ctr", "idea-ctr", "aes128-ctr"]
    judged = algorithms.judge("SSH-ENC-001", offered, {})
    assert [(f.algorithm, f.verdict) for f in judged] == [
        ("3des-ctr", "fail"),
        ("blowfish-ctr", "fail"),
        ("cast128-ctr", "fail"),
        ("idea-ctr", "fail"),
    ]
    assert all("64-bit block" in f.reason for f in judged)


def test_a_profile_glob_overrides_the_tables_exact_names():
    table_names = ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384-cert-v01@openssh.com"]
    assert {f.verdict for f in algorithms.judge("SSH-HKEY-004", table_names, {})} == {"warn"}
    # Profiles arrive merged over the defaults, as the profile loader hands them over.
    merged = {**algorithms.default_verdicts("SSH-HKEY-004"), "ecdsa-sha2-nistp*": "fail"}
    judged = algorithms.judge("SSH-HKEY-004", table_names, {"verdicts": merged})
    assert {(f.verdict, f.reason.endswith("(verdict set by profile)")) for f in judged} == {("fail", True)}
    # Within the profile's own entries an exact name still wins over its glob.
    merged["ecdsa-sha2-nistp256"] = "pass"
    judged = algorithms.judge("SSH-HKEY-004", table_names, {"verdicts": merged})
    assert [f.algorithm for f in judged] == ["ecdsa-sha2-nistp384-cert-v01@openssh.com"]
