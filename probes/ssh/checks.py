"""The checks of the SSH family over what ``probes.ssh.gather`` observes.

Algorithm verdicts come from ``probes.ssh.policy.POLICY``; see that module
for the ``verdicts`` / ``allowed`` parameters a profile may set. The checks
that only judge KEXINIT lists against that table are the rows of
``LIST_CHECKS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from probes import registry
from probes.errors import NotApplicable, Undetermined
from probes.facts import Facts
from probes.messages import Message
from probes.model import Status, Verdict
from probes.ssh import auth, policy
from probes.ssh.facts import AUTH_METHODS, BANNER, HOST_KEYS, KEXINIT, PINS
from probes.ssh.hostkeys import blob_type_of
from probes.ssh.policy import POLICY, PQ_HYBRID_KEX, STRICT_KEX_MARKER

check = registry.family("ssh")

# The profile parameters of a check judged against its policy table; ``allowed`` only where a row allows it.
_VERDICTS_DOC = (
    " Profile parameters: `verdicts` maps an algorithm (or glob) to pass/warn/fail over the built-in table"
)
_ALLOWED_DOC = "; `allowed` (a list, or null) fails anything offered outside it"


@check(
    "SSH-BANNER-001",
    title="Server speaks SSH protocol 2.0",
    category="protocol",
    severity="high",
    rationale="SSH-1 is broken beyond repair; a server must announce protocol 2.0 in its identification "
    "line (RFC 4253 §4.2). 1.99 means it still accepts SSH-1 clients as well.",
    remediation="Disable SSH-1 support (OpenSSH: remove `Protocol 1`); replace servers that only "
    "speak SSH-1.",
    references=("RFC 4253 §4.2", "RFC 4253 §5.1", "BSI TR-02102-4 (use of Secure Shell)"),
    facts=(BANNER,),
    params={"accepted": ["2.0"], "tolerated": ["1.99"]},
)
def check_protocol_version(facts: Facts, params: dict[str, Any]) -> Verdict:
    banner = facts[BANNER]
    version = banner["protocol"]
    evidence = registry.evidence(version, params["accepted"], banner=banner["raw"])
    if version in params["accepted"]:
        return Verdict.of(Status.PASS, evidence, "ssh.banner.accepted", version=version)
    if version in params.get("tolerated", []):
        return Verdict.of(Status.WARN, evidence, "ssh.banner.tolerated", version=version)
    return Verdict.of(Status.FAIL, evidence, "ssh.banner.refused", version=version)


@dataclass(frozen=True)
class ListCheck:
    """A check that judges KEXINIT lists against its ``POLICY`` table.

    ``what`` names the offenders: a phrase of ``probes.reasons.CATALOGUE`` (``ssh.what.*``).
    """

    id: str
    what: str
    title: str
    category: str
    severity: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    allowlist: bool  # whether a profile may set ``allowed``


def _list_meta(row: ListCheck) -> dict[str, Any]:
    params: dict[str, Any] = {"verdicts": policy.default_verdicts(row.id)}
    if row.allowlist:
        params["allowed"] = None
    return dict(
        id=row.id,
        title=row.title,
        category=row.category,
        severity=row.severity,
        rationale=row.rationale + _VERDICTS_DOC + (_ALLOWED_DOC if row.allowlist else "") + ".",
        remediation=row.remediation,
        references=row.references,
        facts=(KEXINIT,),
        params=params,
    )


def _list_verdict(row: ListCheck, facts: Facts, params: dict[str, Any]) -> Verdict:
    """Judge the KEXINIT lists a check reads against its policy table and parameters."""
    check_id, what = row.id, Message(row.what)
    kexinit = facts[KEXINIT]
    names = policy.offered(kexinit, POLICY[check_id].lists)
    findings = policy.judge(check_id, names, params)
    status = policy.worst(findings)
    allowed = params.get("allowed")
    if allowed is not None:
        expected: dict[str, Any] = {"allowed": allowed}
    else:
        verdicts = policy.effective_verdicts(check_id, params)
        expected = {"not_offered": sorted(name for name, verdict in verdicts.items() if verdict != "pass")}
    evidence = registry.evidence(names, expected, findings=[f.to_dict() for f in findings])
    if status == "pass":
        return Verdict.of(Status.PASS, evidence, "ssh.none_offered", what=what)
    flagged = [f.algorithm for f in findings if f.verdict == status]
    lesser = [f.algorithm for f in findings if f.verdict != status]
    if lesser:
        return Verdict.of(
            Status(status),
            evidence,
            "ssh.offered_also",
            what=what,
            names=flagged,
            lesser=lesser,
        )
    return Verdict.of(Status(status), evidence, "ssh.offered", what=what, names=flagged)


LIST_CHECKS: tuple[ListCheck, ...] = (
    ListCheck(
        "SSH-KEX-001",
        what="ssh.what.weak_kex",
        title="No weak key-exchange methods offered",
        category="key-exchange",
        severity="high",
        rationale="1024-bit groups and SHA-1 exchange hashes no longer protect the session: RFC 9142 "
        "says group1-sha1 and group-exchange-sha1 SHOULD NOT and rsa1024-sha1 MUST NOT be used, keeps "
        "group14-sha1 only for transition, and NIST SP 800-131A disallows SHA-1 signatures over the "
        "exchange hash.",
        remediation="Offer curve25519-sha256, sntrup761x25519-sha512/mlkem768x25519-sha256 and "
        "diffie-hellman-group14-sha256/group16-sha512 only (OpenSSH: `KexAlgorithms`).",
        references=(policy.RFC9142, policy.SP800_131A, policy.BSI_SSH),
        allowlist=True,
    ),
    ListCheck(
        "SSH-KEX-002",
        what="ssh.what.nist_kex",
        title="Key exchange over NIST P-curves",
        category="key-exchange",
        severity="low",
        rationale="ECDH over NIST P-curves is still acceptable but curve25519 is preferred; a strict "
        "profile can make these a failure.",
        remediation="Prefer curve25519-sha256 and drop ecdh-sha2-nistp* from `KexAlgorithms` where "
        "clients allow.",
        references=(policy.RFC9142, policy.BSI_SSH),
        allowlist=False,
    ),
    ListCheck(
        "SSH-ENC-001",
        what="ssh.what.weak_ciphers",
        title="No weak ciphers offered",
        category="encryption",
        severity="high",
        rationale="CBC mode, 64-bit block ciphers (3DES, Blowfish, CAST), RC4 and `none` allow plaintext "
        "recovery or offer no confidentiality.",
        remediation="Offer chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com "
        "and aes*-ctr only (OpenSSH: `Ciphers`).",
        references=(policy.BSI_SSH, policy.SP800_131A, policy.RFC8758, policy.CVE_2008_5161),
        allowlist=True,
    ),
    ListCheck(
        "SSH-MAC-001",
        what="ssh.what.weak_macs",
        title="No weak message authentication codes offered",
        category="integrity",
        severity="medium",
        rationale="MD5 and truncated 96-bit MACs fail; SHA-1 MACs and 64-bit tags warn (BSI TR-02102-4 "
        "dropped HMAC-SHA1 in 2020).",
        remediation="Offer hmac-sha2-256-etm@openssh.com, hmac-sha2-512-etm@openssh.com (and the non-etm "
        "SHA-2 forms for old clients) only (OpenSSH: `MACs`).",
        references=(policy.BSI_SSH, policy.SP800_131A, policy.RFC6151),
        allowlist=True,
    ),
    ListCheck(
        "SSH-HKEY-004",
        what="ssh.what.nist_hostkeys",
        title="Host keys over NIST P-curves (ECDSA)",
        category="host-key",
        severity="low",
        rationale="ECDSA over NIST P-curves is still approved (FIPS 186-5) but Ed25519 is preferred: "
        "every ECDSA signature needs a fresh secret nonce, and a biased or repeated one reveals the host "
        "key, while Ed25519 derives its nonce deterministically. Graded like NIST-curve key exchange "
        "(SSH-KEX-002); a strict profile can make these a failure.",
        remediation="Offer an Ed25519 host key (`ssh-keygen -t ed25519`, `HostKey`) and drop "
        "ecdsa-sha2-nistp* from `HostKeyAlgorithms` (remove the ECDSA `HostKey`) where clients allow; "
        "update known_hosts and the inventory pins.",
        references=(policy.RFC5656, policy.FIPS186_5, policy.RFC8709, policy.CVE_2024_31497),
        allowlist=False,
    ),
    ListCheck(
        "SSH-HKEY-001",
        what="ssh.what.weak_hostkeys",
        title="No DSA or SHA-1 RSA host-key signatures",
        category="host-key",
        severity="high",
        rationale="ssh-dss is 1024-bit DSA over SHA-1 and ssh-rsa signs with SHA-1; a client negotiating "
        "them authenticates the server with a broken hash.",
        remediation="Remove DSA host keys and offer rsa-sha2-512/rsa-sha2-256 instead of ssh-rsa "
        "(OpenSSH: `HostKeyAlgorithms`, `HostKey`).",
        references=(policy.RFC8332, policy.FIPS186_5, policy.SP800_131A),
        allowlist=True,
    ),
)
registry.table(LIST_CHECKS, check=check, meta=_list_meta, evaluate=_list_verdict)


STRICT_KEX_MITIGATES = f"strict key exchange ({STRICT_KEX_MARKER}) is offered"


@check(
    "SSH-KEX-003",
    title="Strict key exchange against Terrapin (CVE-2023-48795)",
    category="key-exchange",
    severity="medium",
    rationale="With chacha20-poly1305, or a CBC cipher next to an encrypt-then-MAC MAC, an attacker in "
    "the path can drop packets at the start of the encrypted session unnoticed (Terrapin) unless both "
    "sides use strict key exchange (`kex-strict-s-v00@openssh.com`). When the server offers strict key "
    "exchange the susceptible algorithms stay in the evidence as `mitigated`. Profile parameter: "
    "`verdicts` maps a susceptible algorithm (or glob) to pass/warn/fail when strict key exchange is "
    "absent.",
    remediation="Upgrade to a release with strict key exchange (OpenSSH 9.6+, Dropbear 2024.84+, or a "
    "patched distribution build); until then remove chacha20-poly1305@openssh.com and the CBC ciphers "
    "(or the *-etm MACs).",
    references=(policy.TERRAPIN, policy.TERRAPIN_ADVISORY, policy.OPENSSH_STRICT_KEX),
    facts=(KEXINIT,),
    params={"verdicts": policy.default_verdicts("SSH-KEX-003")},
)
def check_terrapin(facts: Facts, params: dict[str, Any]) -> Verdict:
    kexinit = facts[KEXINIT]
    names = policy.offered(kexinit, POLICY["SSH-KEX-003"].lists)
    findings = policy.judge("SSH-KEX-003", names, params)
    strict = STRICT_KEX_MARKER in kexinit["kex_algorithms"]
    if strict:
        findings = policy.mitigated(findings, STRICT_KEX_MITIGATES)
    evidence = registry.evidence(
        {"strict_kex": strict, "susceptible": [f.algorithm for f in findings]},
        {"strict_kex": True},
        findings=[f.to_dict() for f in findings],
    )
    if strict:
        return Verdict.of(Status.PASS, evidence, "ssh.strict_kex")
    if not findings:
        return Verdict.of(Status.PASS, evidence, "ssh.no_terrapin_exposure")
    status = policy.worst(findings)
    flagged = [f.algorithm for f in findings if f.verdict == status]
    return Verdict.of(Status(status), evidence, "ssh.terrapin_exposed", names=flagged)


@check(
    "SSH-KEX-004",
    title="Post-quantum hybrid key exchange offered",
    category="key-exchange",
    severity="low",
    rationale="Traffic recorded today can be decrypted once a large quantum computer exists; hybrid "
    "methods (sntrup761x25519, mlkem768x25519) keep the classical guarantee and add a post-quantum one. "
    "Parameters: `hybrid_methods` (names that count) and `verdict_if_absent` (warn or fail).",
    remediation="Upgrade to OpenSSH 9.0+ (sntrup761x25519-sha512@openssh.com) or 9.9+ "
    "(mlkem768x25519-sha256) and list the hybrid first in `KexAlgorithms`.",
    references=(policy.RFC9142, "draft-ietf-sshm-mlkem-hybrid-kex", "draft-josefsson-ntruprime-ssh"),
    facts=(KEXINIT,),
    params={"hybrid_methods": list(PQ_HYBRID_KEX), "verdict_if_absent": "warn"},
)
def check_pq_hybrid(facts: Facts, params: dict[str, Any]) -> Verdict:
    kex = facts[KEXINIT]["kex_algorithms"]
    present = [name for name in kex if name in params["hybrid_methods"]]
    evidence = registry.evidence(present, {"any_of": params["hybrid_methods"]})
    if present:
        return Verdict.of(Status.PASS, evidence, "ssh.hybrid_offered", names=present)
    status = Status(params["verdict_if_absent"])
    return Verdict.of(status, evidence, "ssh.hybrid_absent")


def _keys_of(facts: Facts, blob_types: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Host-key entries whose algorithms carry one of ``blob_types``: (read, failed)."""
    entries = [e for e in facts[HOST_KEYS] if blob_type_of(e["algorithms"][0]) in blob_types]
    return [e for e in entries if "error" not in e], [e for e in entries if "error" in e]


@check(
    "SSH-HKEY-002",
    title="RSA host keys are large enough",
    category="host-key",
    severity="high",
    rationale="RSA below 2048 bits is disallowed (NIST SP 800-131A); below 3072 bits it falls short of "
    "128-bit security that BSI TR-02102-4 asks for. Parameters: `fail_below_bits`, `warn_below_bits`.",
    remediation="Generate a new host key (`ssh-keygen -t rsa -b 3072`, or prefer Ed25519) and update "
    "clients' known_hosts and the inventory pins.",
    references=(policy.SP800_131A, policy.BSI_SSH),
    facts=(HOST_KEYS,),
    params={"fail_below_bits": 2048, "warn_below_bits": 3072},
)
def check_rsa_size(facts: Facts, params: dict[str, Any]) -> Verdict:
    keys, failed = _keys_of(facts, {"ssh-rsa", "ssh-rsa-cert-v01@openssh.com"})
    if failed:
        first = failed[0]
        said = {"algorithm": first["algorithms"][0], "error": first["error"]}
        raise Undetermined(message=Message("ssh.rsa_key_unreadable", said))
    if not keys:
        raise NotApplicable(message=Message("ssh.no_rsa_key"))
    bits = min(key["bits"] for key in keys)
    evidence = registry.evidence(
        [{"bits": k["bits"], "fingerprint": k["fingerprint"]} for k in keys],
        {"min_bits": params["warn_below_bits"]},
    )
    for status, limit in ((Status.FAIL, params["fail_below_bits"]), (Status.WARN, params["warn_below_bits"])):
        if bits < limit:
            return Verdict.of(status, evidence, "ssh.rsa_bits_below", bits=bits, limit=limit)
    return Verdict.of(Status.PASS, evidence, "ssh.rsa_bits", bits=bits)


@check(
    "SSH-HKEY-003",
    title="Host keys match the inventory's pins",
    category="host-key",
    severity="critical",
    rationale="A host key other than the one the agency registered means a replaced server, a "
    "misrouted address or an interception. Without pins the check is skipped. Parameter "
    "`unpinned_extra_keys` (warn or fail): the status when a pinned key is present but the server "
    "also offers keys nobody pinned.",
    remediation="If the key change was planned, update the inventory pins (`ssh-keygen -lf` of the new "
    "public key); otherwise treat the server as compromised until explained.",
    references=("RFC 4251 §4.1", "RFC 4253 §8"),
    facts=(HOST_KEYS, PINS),
    params={"unpinned_extra_keys": "warn"},
)
def check_pins(facts: Facts, params: dict[str, Any]) -> Verdict:
    pins = set(facts[PINS])
    entries = facts[HOST_KEYS]
    keys = [e for e in entries if "error" not in e]
    failed = [e for e in entries if "error" in e]
    pinned = [k["fingerprint"] for k in keys if k["fingerprint"] in pins]
    unpinned = [k["fingerprint"] for k in keys if k["fingerprint"] not in pins]
    evidence = registry.evidence(
        [{"algorithms": k["algorithms"], "fingerprint": k["fingerprint"]} for k in keys],
        sorted(pins),
        unpinned=unpinned,
    )
    if keys and not pinned:
        return Verdict.of(Status.FAIL, evidence, "ssh.pins_mismatch", fingerprints=unpinned)
    if failed:
        first = failed[0]
        said = {"algorithm": first["algorithms"][0], "error": first["error"]}
        raise Undetermined(message=Message("ssh.host_key_unreadable", said))
    if not keys:
        raise Undetermined(message=Message("ssh.no_host_key"))
    if unpinned:
        return Verdict.of(
            Status(params["unpinned_extra_keys"]),
            evidence,
            "ssh.pins_extra",
            fingerprints=unpinned,
        )
    return Verdict.of(Status.PASS, evidence, "ssh.pins_match", count=len(keys))


@check(
    "SSH-AUTH-001",
    title="No password-based authentication offered",
    category="authentication",
    severity="high",
    rationale="Passwords and keyboard-interactive logins can be guessed and phished; public keys or "
    "certificates cannot. Learnt from a 'none' authentication request (RFC 4252 §5.2) for a user that "
    "should not exist; a server that accepts 'none' needs no credentials at all. Parameters: "
    "`forbidden_methods`, `username` (the account named in the request).",
    remediation="OpenSSH: `PasswordAuthentication no` and `KbdInteractiveAuthentication no`; "
    "Dropbear: `-s`. Distribute public keys or an SSH CA instead.",
    references=("RFC 4252 §5.2", policy.BSI_SSH),
    facts=(AUTH_METHODS,),
    params={
        "forbidden_methods": ["none", "password", "keyboard-interactive"],
        "username": auth.DEFAULT_USERNAME,
    },
)
def check_auth_methods(facts: Facts, params: dict[str, Any]) -> Verdict:
    methods = facts[AUTH_METHODS]
    forbidden = [m for m in methods if m in params["forbidden_methods"]]
    evidence = registry.evidence(methods, {"none_of": params["forbidden_methods"]})
    if forbidden:
        return Verdict.of(Status.FAIL, evidence, "ssh.auth_forbidden", methods=forbidden)
    if not methods:
        return Verdict.of(Status.PASS, evidence, "ssh.auth_nothing")
    return Verdict.of(Status.PASS, evidence, "ssh.auth_only", methods=methods)
