"""Unauthenticated SSH probe: identification, algorithms, host keys, auth methods.

Connections, in order:

1. identification lines and the server's KEXINIT (our own wire code); the
   same connection then runs a key exchange far enough to read the host
   key of the server's first host-key type;
2. one more connection per further host-key type (RSA, ECDSA, DSA …), each
   offering only that type, concurrently;
3. a paramiko connection that asks for "none" authentication to learn the
   offered methods, concurrently with 2.

Facts: ``ssh.banner``, ``ssh.kexinit``, ``ssh.host_keys``,
``ssh.auth_methods`` and ``ssh.pins`` (the inventory's expected host-key
fingerprints). ``ctx.facts.summary["ssh"]`` carries what reports show.
Algorithm verdicts come from ``probes.ssh.algorithms.POLICY``; see that
module for the ``verdicts`` / ``allowed`` parameters a profile may set.
"""

from __future__ import annotations

import asyncio
from typing import Any

from probes import registry
from probes.errors import NotApplicable, Undetermined, describe_error
from probes.facts import Facts, ProbeContext
from probes.model import Status, Verdict
from probes.ssh import algorithms, auth, wire
from probes.ssh.algorithms import POLICY, PQ_HYBRID_KEX, STRICT_KEX_MARKER
from probes.ssh.hostkeys import blob_type_of, normalise_pin
from probes.ssh.transport import ClearSession

FAMILY = "ssh"
BANNER = "ssh.banner"
KEXINIT = "ssh.kexinit"
HOST_KEYS = "ssh.host_keys"
AUTH_METHODS = "ssh.auth_methods"
PINS = "ssh.pins"

OWN_FACTS = (BANNER, KEXINIT, HOST_KEYS, AUTH_METHODS, PINS)
MAX_PARALLEL_KEY_FETCHES = 4


# --- gathering -------------------------------------------------------------


async def gather(ctx: ProbeContext) -> None:
    if not ctx.wants(*OWN_FACTS):
        return  # only other SSH gatherers' checks are selected
    facts = ctx.facts
    target = ctx.target
    summary: dict[str, Any] = facts.summary.setdefault("ssh", {})
    if target.pins:
        facts.set(PINS, [normalise_pin(pin) for pin in target.pins])
    else:
        facts.not_applicable(PINS, "the inventory pins no host key for this endpoint")

    # Unreachable propagates from here: the target does not answer at all.
    session = await ClearSession.open(target.host, target.port, ctx.connect_timeout_s, ctx.read_timeout_s)
    try:
        async with facts.collecting(BANNER, KEXINIT, HOST_KEYS, AUTH_METHODS):
            ident = await session.read_identification()
            facts.set(BANNER, _banner_fact(ident.banner, ident.pre_banner_lines))
            summary.update(_banner_summary(facts.get(BANNER)))
            kexinit = await session.read_kexinit()
            facts.set(KEXINIT, kexinit.to_dict())
            summary.update(_kexinit_summary(kexinit))
        if not facts.has(KEXINIT):
            return  # the reason is recorded on every fact; nothing else can work
        tasks = []
        if ctx.wants(HOST_KEYS):
            tasks.append(_gather_host_keys(ctx, session, kexinit, summary))
        else:
            session.close()
        if ctx.wants(AUTH_METHODS):
            tasks.append(_gather_auth_methods(ctx, summary))
        await asyncio.gather(*tasks)
    finally:
        session.close()


async def _gather_host_keys(
    ctx: ProbeContext, first: ClearSession, kexinit: wire.KexInit, summary: dict[str, Any]
) -> None:
    # Algorithms that share a key blob type (ssh-rsa, rsa-sha2-256, rsa-sha2-512)
    # show the same key: one key exchange per blob type is enough.
    by_type: dict[str, list[str]] = {}
    for algorithm in kexinit.server_host_key_algorithms:
        by_type.setdefault(blob_type_of(algorithm), []).append(algorithm)
    limit = asyncio.Semaphore(MAX_PARALLEL_KEY_FETCHES)

    async def fetch(index: int, algorithms_of_type: list[str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"algorithms": algorithms_of_type}
        try:
            async with limit:
                if index == 0:
                    key = await first.fetch_host_key(kexinit, algorithms_of_type[0])
                else:
                    async with await _open_again(ctx) as session:
                        await session.read_identification()
                        server_kexinit = await session.read_kexinit()
                        key = await session.fetch_host_key(server_kexinit, algorithms_of_type[0])
            entry.update(key.to_dict())
        except Exception as exc:  # noqa: BLE001 - one key's failure is recorded, the others go on
            entry["error"] = describe_error(exc)
        finally:
            if index == 0:
                first.close()
        return entry

    async with ctx.facts.collecting(HOST_KEYS):
        entries = await asyncio.gather(*(fetch(i, algs) for i, algs in enumerate(by_type.values())))
        ctx.facts.set(HOST_KEYS, list(entries))
        summary["host_keys"] = list(entries)


async def _open_again(ctx: ProbeContext) -> ClearSession:
    target = ctx.target
    return await ClearSession.open(target.host, target.port, ctx.connect_timeout_s, ctx.read_timeout_s)


async def _gather_auth_methods(ctx: ProbeContext, summary: dict[str, Any]) -> None:
    username = ctx.params.get("SSH-AUTH-001", {}).get("username") or auth.DEFAULT_USERNAME
    async with ctx.facts.collecting(AUTH_METHODS):
        methods = await auth.offered_methods(
            ctx.target.host, ctx.target.port, username, ctx.connect_timeout_s, ctx.read_timeout_s
        )
        ctx.facts.set(AUTH_METHODS, methods)
        summary["auth_methods"] = methods


def _banner_fact(banner: wire.Banner, pre_banner: list[str]) -> dict[str, Any]:
    software = wire.parse_software(banner.software_version)
    return {
        "raw": banner.raw,
        "protocol": banner.protocol,
        "software_version": banner.software_version,
        "software": software.product,
        "version": software.version,
        "comments": banner.comments,
        "pre_banner_lines": pre_banner,
    }


def _banner_summary(banner: dict[str, Any]) -> dict[str, Any]:
    return {
        "banner": banner["raw"],
        "protocol": banner["protocol"],
        "software": banner["software"],
        "version": banner["version"],
        "pre_banner_lines": len(banner["pre_banner_lines"]),
    }


def _kexinit_summary(kexinit: wire.KexInit) -> dict[str, Any]:
    return {
        "kex": list(kexinit.kex_algorithms),
        "host_key_algorithms": list(kexinit.server_host_key_algorithms),
        "ciphers": algorithms.offered(kexinit.to_dict(), algorithms.CIPHER_LISTS),
        "macs": algorithms.offered(kexinit.to_dict(), algorithms.MAC_LISTS),
        "compression": sorted(
            set(kexinit.compression_client_to_server) | set(kexinit.compression_server_to_client)
        ),
    }


registry.register_gatherer(FAMILY, gather)


# --- checks ------------------------------------------------------------------

_POLICY_PARAMS_DOC = (
    " Profile parameters: `verdicts` maps an algorithm (or glob) to pass/warn/fail over the "
    "built-in table; `allowed` (a list, or null) fails anything offered outside it."
)


@registry.check(
    "SSH-BANNER-001",
    title="Server speaks SSH protocol 2.0",
    protocol=FAMILY,
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
    evidence = {"observed": version, "expected": params["accepted"], "banner": banner["raw"]}
    if version in params["accepted"]:
        return Verdict(Status.PASS, f"server announces SSH protocol {version}", evidence)
    if version in params.get("tolerated", []):
        return Verdict(Status.WARN, f"server announces protocol {version}: it also accepts SSH-1", evidence)
    return Verdict(Status.FAIL, f"server announces protocol {version!r}, not 2.0", evidence)


def _list_verdict(check_id: str, facts: Facts, params: dict[str, Any], what: str) -> Verdict:
    """Judge the KEXINIT lists a check reads against its policy table and parameters."""
    kexinit = facts[KEXINIT]
    names = algorithms.offered(kexinit, POLICY[check_id].lists)
    findings = algorithms.judge(check_id, names, params)
    status = algorithms.worst(findings)
    allowed = params.get("allowed")
    if allowed is not None:
        expected: dict[str, Any] = {"allowed": allowed}
    else:
        verdicts = algorithms.effective_verdicts(check_id, params)
        expected = {"not_offered": sorted(name for name, verdict in verdicts.items() if verdict != "pass")}
    evidence = {"observed": names, "expected": expected, "findings": [f.to_dict() for f in findings]}
    if status == "pass":
        return Verdict(Status.PASS, f"no {what} offered", evidence)
    flagged = [f.algorithm for f in findings if f.verdict == status]
    reason = f"{what} offered: {', '.join(flagged)}"
    lesser = [f.algorithm for f in findings if f.verdict != status]
    if lesser:
        reason += f"; also discouraged: {', '.join(lesser)}"
    return Verdict(Status(status), reason, evidence)


def _list_check(check_id: str, *, what: str, title: str, category: str, severity: str, rationale: str,
                remediation: str, references: tuple[str, ...], allowlist: bool) -> None:
    params: dict[str, Any] = {"verdicts": algorithms.default_verdicts(check_id)}
    if allowlist:
        params["allowed"] = None

    def evaluate(facts: Facts, params: dict[str, Any]) -> Verdict:
        return _list_verdict(check_id, facts, params, what)

    registry.check(
        check_id, title=title, protocol=FAMILY, category=category, severity=severity,
        rationale=rationale + _POLICY_PARAMS_DOC, remediation=remediation, references=references,
        facts=(KEXINIT,), params=params,
    )(evaluate)


_list_check(
    "SSH-KEX-001",
    what="weak key-exchange methods",
    title="No weak key-exchange methods offered",
    category="key-exchange",
    severity="high",
    rationale="1024-bit groups and SHA-1 exchange hashes no longer protect the session: RFC 9142 says "
    "group1-sha1 and group-exchange-sha1 SHOULD NOT and rsa1024-sha1 MUST NOT be used, keeps group14-sha1 "
    "only for transition, and NIST SP 800-131A disallows SHA-1 signatures over the exchange hash.",
    remediation="Offer curve25519-sha256, sntrup761x25519-sha512/mlkem768x25519-sha256 and "
    "diffie-hellman-group14-sha256/group16-sha512 only (OpenSSH: `KexAlgorithms`).",
    references=(algorithms.RFC9142, algorithms.SP800_131A, algorithms.BSI_SSH),
    allowlist=True,
)
_list_check(
    "SSH-KEX-002",
    what="NIST-curve ECDH methods",
    title="Key exchange over NIST P-curves",
    category="key-exchange",
    severity="low",
    rationale="ECDH over NIST P-curves is still acceptable but curve25519 is preferred; a strict "
    "profile can make these a failure.",
    remediation="Prefer curve25519-sha256 and drop ecdh-sha2-nistp* from `KexAlgorithms` where "
    "clients allow.",
    references=(algorithms.RFC9142, algorithms.BSI_SSH),
    allowlist=False,
)
_list_check(
    "SSH-ENC-001",
    what="weak ciphers",
    title="No weak ciphers offered",
    category="encryption",
    severity="high",
    rationale="CBC mode, 64-bit block ciphers (3DES, Blowfish, CAST), RC4 and `none` allow plaintext "
    "recovery or offer no confidentiality.",
    remediation="Offer chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com "
    "and aes*-ctr only (OpenSSH: `Ciphers`).",
    references=(algorithms.BSI_SSH, algorithms.SP800_131A, algorithms.RFC8758, algorithms.CVE_2008_5161),
    allowlist=True,
)
_list_check(
    "SSH-MAC-001",
    what="weak MACs",
    title="No weak message authentication codes offered",
    category="integrity",
    severity="medium",
    rationale="MD5 and truncated 96-bit MACs fail; SHA-1 MACs and 64-bit tags warn (BSI TR-02102-4 "
    "dropped HMAC-SHA1 in 2020).",
    remediation="Offer hmac-sha2-256-etm@openssh.com, hmac-sha2-512-etm@openssh.com (and the non-etm "
    "SHA-2 forms for old clients) only (OpenSSH: `MACs`).",
    references=(algorithms.BSI_SSH, algorithms.SP800_131A, algorithms.RFC6151),
    allowlist=True,
)
_list_check(
    "SSH-HKEY-004",
    what="NIST-curve ECDSA host-key algorithms",
    title="Host keys over NIST P-curves (ECDSA)",
    category="host-key",
    severity="low",
    rationale="ECDSA over NIST P-curves is still approved (FIPS 186-5) but Ed25519 is preferred: every "
    "ECDSA signature needs a fresh secret nonce, and a biased or repeated one reveals the host key, while "
    "Ed25519 derives its nonce deterministically. Graded like NIST-curve key exchange (SSH-KEX-002); a "
    "strict profile can make these a failure.",
    remediation="Offer an Ed25519 host key (`ssh-keygen -t ed25519`, `HostKey`) and drop ecdsa-sha2-nistp* "
    "from `HostKeyAlgorithms` (remove the ECDSA `HostKey`) where clients allow; update known_hosts and the "
    "inventory pins.",
    references=(algorithms.RFC5656, algorithms.FIPS186_5, algorithms.RFC8709, algorithms.CVE_2024_31497),
    allowlist=False,
)
_list_check(
    "SSH-HKEY-001",
    what="weak host-key algorithms",
    title="No DSA or SHA-1 RSA host-key signatures",
    category="host-key",
    severity="high",
    rationale="ssh-dss is 1024-bit DSA over SHA-1 and ssh-rsa signs with SHA-1; a client negotiating them "
    "authenticates the server with a broken hash.",
    remediation="Remove DSA host keys and offer rsa-sha2-512/rsa-sha2-256 instead of ssh-rsa "
    "(OpenSSH: `HostKeyAlgorithms`, `HostKey`).",
    references=(algorithms.RFC8332, algorithms.FIPS186_5, algorithms.SP800_131A),
    allowlist=True,
)


STRICT_KEX_MITIGATES = f"strict key exchange ({STRICT_KEX_MARKER}) is offered"


@registry.check(
    "SSH-KEX-003",
    title="Strict key exchange against Terrapin (CVE-2023-48795)",
    protocol=FAMILY,
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
    references=(algorithms.TERRAPIN, algorithms.TERRAPIN_ADVISORY, algorithms.OPENSSH_STRICT_KEX),
    facts=(KEXINIT,),
    params={"verdicts": algorithms.default_verdicts("SSH-KEX-003")},
)
def check_terrapin(facts: Facts, params: dict[str, Any]) -> Verdict:
    kexinit = facts[KEXINIT]
    names = algorithms.offered(kexinit, POLICY["SSH-KEX-003"].lists)
    findings = algorithms.judge("SSH-KEX-003", names, params)
    strict = STRICT_KEX_MARKER in kexinit["kex_algorithms"]
    if strict:
        findings = algorithms.mitigated(findings, STRICT_KEX_MITIGATES)
    evidence = {
        "observed": {"strict_kex": strict, "susceptible": [f.algorithm for f in findings]},
        "expected": {"strict_kex": True},
        "findings": [f.to_dict() for f in findings],
    }
    if strict:
        return Verdict(Status.PASS, "strict key exchange is offered", evidence)
    if not findings:
        return Verdict(Status.PASS, "no Terrapin-susceptible cipher or MAC offered", evidence)
    status = algorithms.worst(findings)
    flagged = ", ".join(f.algorithm for f in findings if f.verdict == status)
    return Verdict(Status(status), f"no strict key exchange while offering {flagged}", evidence)


@registry.check(
    "SSH-KEX-004",
    title="Post-quantum hybrid key exchange offered",
    protocol=FAMILY,
    category="key-exchange",
    severity="low",
    rationale="Traffic recorded today can be decrypted once a large quantum computer exists; hybrid "
    "methods (sntrup761x25519, mlkem768x25519) keep the classical guarantee and add a post-quantum one. "
    "Parameters: `hybrid_methods` (names that count) and `verdict_if_absent` (warn or fail).",
    remediation="Upgrade to OpenSSH 9.0+ (sntrup761x25519-sha512) or 9.9+ (mlkem768x25519-sha256) and "
    "list the hybrid first in `KexAlgorithms`.",
    references=(algorithms.RFC9142, "draft-ietf-sshm-mlkem-hybrid-kex", "draft-josefsson-ntruprime-ssh"),
    facts=(KEXINIT,),
    params={"hybrid_methods": list(PQ_HYBRID_KEX), "verdict_if_absent": "warn"},
)
def check_pq_hybrid(facts: Facts, params: dict[str, Any]) -> Verdict:
    kex = facts[KEXINIT]["kex_algorithms"]
    present = [name for name in kex if name in params["hybrid_methods"]]
    evidence = {"observed": present, "expected": {"any_of": params["hybrid_methods"]}}
    if present:
        return Verdict(Status.PASS, f"hybrid key exchange offered: {', '.join(present)}", evidence)
    status = Status(params["verdict_if_absent"])
    return Verdict(status, "no post-quantum hybrid key exchange offered", evidence)


def _keys_of(facts: Facts, blob_types: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Host-key entries whose algorithms carry one of ``blob_types``: (read, failed)."""
    entries = [e for e in facts[HOST_KEYS] if blob_type_of(e["algorithms"][0]) in blob_types]
    return [e for e in entries if "error" not in e], [e for e in entries if "error" in e]


@registry.check(
    "SSH-HKEY-002",
    title="RSA host keys are large enough",
    protocol=FAMILY,
    category="host-key",
    severity="high",
    rationale="RSA below 2048 bits is disallowed (NIST SP 800-131A); below 3072 bits it falls short of "
    "128-bit security that BSI TR-02102-4 asks for. Parameters: `fail_below_bits`, `warn_below_bits`.",
    remediation="Generate a new host key (`ssh-keygen -t rsa -b 3072`, or prefer Ed25519) and update "
    "clients' known_hosts and the inventory pins.",
    references=(algorithms.SP800_131A, algorithms.BSI_SSH),
    facts=(HOST_KEYS,),
    params={"fail_below_bits": 2048, "warn_below_bits": 3072},
)
def check_rsa_size(facts: Facts, params: dict[str, Any]) -> Verdict:
    keys, failed = _keys_of(facts, {"ssh-rsa", "ssh-rsa-cert-v01@openssh.com"})
    if failed:
        first = failed[0]
        raise Undetermined(f"RSA host key ({first['algorithms'][0]}) could not be read: {first['error']}")
    if not keys:
        raise NotApplicable("no RSA host key offered")
    bits = min(key["bits"] for key in keys)
    evidence = {
        "observed": [{"bits": k["bits"], "fingerprint": k["fingerprint"]} for k in keys],
        "expected": {"min_bits": params["warn_below_bits"]},
    }
    if bits < params["fail_below_bits"]:
        return Verdict(Status.FAIL, f"{bits}-bit RSA host key (below {params['fail_below_bits']})", evidence)
    if bits < params["warn_below_bits"]:
        return Verdict(Status.WARN, f"{bits}-bit RSA host key (below {params['warn_below_bits']})", evidence)
    return Verdict(Status.PASS, f"{bits}-bit RSA host key", evidence)


@registry.check(
    "SSH-HKEY-003",
    title="Host keys match the inventory's pins",
    protocol=FAMILY,
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
    evidence = {
        "observed": [{"algorithms": k["algorithms"], "fingerprint": k["fingerprint"]} for k in keys],
        "expected": sorted(pins),
        "unpinned": unpinned,
    }
    if keys and not pinned:
        reason = f"no offered host key matches a pin (server offers {', '.join(unpinned)})"
        return Verdict(Status.FAIL, reason, evidence)
    if failed:
        first = failed[0]
        raise Undetermined(f"host key for {first['algorithms'][0]} could not be read: {first['error']}")
    if not keys:
        raise Undetermined("the server offered no host key")
    if unpinned:
        return Verdict(Status(params["unpinned_extra_keys"]),
                       f"pinned key present, but unpinned keys offered too: {', '.join(unpinned)}", evidence)
    return Verdict(Status.PASS, f"all {len(keys)} host keys match the pins", evidence)


@registry.check(
    "SSH-AUTH-001",
    title="No password-based authentication offered",
    protocol=FAMILY,
    category="authentication",
    severity="high",
    rationale="Passwords and keyboard-interactive logins can be guessed and phished; public keys or "
    "certificates cannot. Learnt from a 'none' authentication request (RFC 4252 §5.2) for a user that "
    "should not exist; a server that accepts 'none' needs no credentials at all. Parameters: "
    "`forbidden_methods`, `username` (the account named in the request).",
    remediation="OpenSSH: `PasswordAuthentication no` and `KbdInteractiveAuthentication no`; "
    "Dropbear: `-s`. Distribute public keys or an SSH CA instead.",
    references=("RFC 4252 §5.2", algorithms.BSI_SSH),
    facts=(AUTH_METHODS,),
    params={
        "forbidden_methods": ["none", "password", "keyboard-interactive"],
        "username": auth.DEFAULT_USERNAME,
    },
)
def check_auth_methods(facts: Facts, params: dict[str, Any]) -> Verdict:
    methods = facts[AUTH_METHODS]
    forbidden = [m for m in methods if m in params["forbidden_methods"]]
    evidence = {"observed": methods, "expected": {"none_of": params["forbidden_methods"]}}
    if forbidden:
        return Verdict(Status.FAIL, f"server offers {', '.join(forbidden)} authentication", evidence)
    return Verdict(Status.PASS, f"server offers only {', '.join(methods) or 'no methods'}", evidence)
