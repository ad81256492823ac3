"""SSH algorithm policy as data, and the functions that apply it.

``POLICY`` maps a check id to the KEXINIT name-lists it reads and a table
``algorithm (or glob) -> Rule(verdict, reason, references)``. A check's
status is the worst verdict among the algorithms the server offers.

Profiles tune a check through its parameters (the defaults are in each
check's ``params``):

``verdicts``
    ``{algorithm-or-glob: "fail" | "warn" | "pass"}`` merged over the table:
    a strict profile sets ``{"ecdh-sha2-nistp256": "fail"}`` on SSH-KEX-002,
    a lenient one ``{"hmac-sha1": "pass"}`` on SSH-MAC-001. Any algorithm
    may be named, not only those in the table. The profile's entries win
    over the table's (``{"ecdsa-sha2-nistp*": "fail"}`` covers the table's
    exact ECDSA names); within each, an exact name wins over a glob, and
    among globs the first listed wins.
``allowed``
    ``null`` (no allowlist) or a list of algorithms/globs: anything offered
    that matches none of them fails, whatever the table says.

A rule with ``only_with`` applies only when the server also offers a name
matching one of those globs in the check's lists (Terrapin: an
encrypt-then-MAC MAC is exploitable only next to a CBC cipher).

A finding a server has neutralised (the Terrapin findings once strict key
exchange is offered) keeps its place in the evidence with the verdict
``mitigated`` and the reason, so a passing check never carries a ``fail``.

Extension markers that travel in the key-exchange list
(``ext-info-s``, ``kex-strict-s-v00@openssh.com`` …) are never judged.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from typing import Any

RFC9142 = "RFC 9142 (SSH key exchange method updates)"
SP800_131A = "NIST SP 800-131A Rev. 2 (transitioning cryptographic algorithms)"
BSI_SSH = "BSI TR-02102-4 (use of Secure Shell)"
RFC8758 = "RFC 8758 (deprecating RC4 in SSH)"
RFC8332 = "RFC 8332 (RSA keys with SHA-256/512 in SSH)"
FIPS186_5 = "NIST FIPS 186-5 (digital signature standard; DSA removed)"
CVE_2008_5161 = "CVE-2008-5161 (SSH CBC-mode plaintext recovery)"
SWEET32 = "CVE-2016-2183 (SWEET32: 64-bit block ciphers)"
RFC6151 = "RFC 6151 (MD5 and HMAC-MD5 security considerations)"
TERRAPIN = "CVE-2023-48795 (Terrapin prefix truncation)"
OPENSSH_STRICT_KEX = "OpenSSH PROTOCOL: kex-strict-s-v00@openssh.com"
TERRAPIN_ADVISORY = "GHSA-45x7-px36-x8w8 (Terrapin: encrypt-then-MAC needs CBC to be exploitable)"
RFC5656 = "RFC 5656 (elliptic curve algorithms in SSH)"
RFC8709 = "RFC 8709 (Ed25519 and Ed448 public key algorithms for SSH)"
RFC6979 = "RFC 6979 (deterministic DSA and ECDSA nonces)"
CVE_2024_31497 = "CVE-2024-31497 (biased ECDSA P-521 nonces reveal the private key)"

VERDICT_ORDER = {"pass": 0, "warn": 1, "fail": 2}
# Evidence-only verdict: the finding stands, but the server neutralises it.
MITIGATED = "mitigated"

# Names in the key-exchange list that signal extensions, not algorithms.
EXTENSION_MARKERS = frozenset(
    {
        "ext-info-s",
        "ext-info-c",
        "kex-strict-s-v00@openssh.com",
        "kex-strict-c-v00@openssh.com",
        "kexguess2@matt.ucc.asn.au",
    }
)
STRICT_KEX_MARKER = "kex-strict-s-v00@openssh.com"

CIPHER_LISTS = ("encryption_client_to_server", "encryption_server_to_client")
MAC_LISTS = ("mac_client_to_server", "mac_server_to_client")
CBC_CIPHERS = ("*-cbc", "rijndael-cbc@lysator.liu.se")
ETM_MACS = ("*-etm@openssh.com",)


@dataclass(frozen=True)
class Rule:
    verdict: str  # "fail" or "warn" ("pass" only appears through profile overrides)
    reason: str
    references: tuple[str, ...] = ()
    only_with: tuple[str, ...] = ()  # globs: the rule applies only if one of them is offered too


@dataclass(frozen=True)
class ListPolicy:
    lists: tuple[str, ...]  # KEXINIT name-lists the check reads
    rules: dict[str, Rule]


_SHA1_KEX = (
    "SHA-1 exchange hash, which the host key signs: RFC 9142 keeps it only for transition and names "
    "group14-sha256 instead; NIST SP 800-131A disallows SHA-1 for signatures"
)

POLICY: dict[str, ListPolicy] = {
    "SSH-KEX-001": ListPolicy(
        ("kex_algorithms",),
        {
            "diffie-hellman-group1-sha1": Rule(
                "fail",
                "1024-bit MODP group with SHA-1 (RFC 9142: SHOULD NOT; within reach of precomputation)",
                (RFC9142, SP800_131A),
            ),
            "diffie-hellman-group14-sha1": Rule("fail", _SHA1_KEX, (RFC9142, SP800_131A, BSI_SSH)),
            "diffie-hellman-group-exchange-sha1": Rule(
                "fail", "group exchange hashed with SHA-1 (RFC 9142: SHOULD NOT)", (RFC9142, SP800_131A)
            ),
            "rsa1024-sha1": Rule(
                "fail", "1024-bit RSA key transport with SHA-1 (RFC 9142: MUST NOT)", (RFC9142,)
            ),
            "gss-group1-sha1-*": Rule(
                "fail", "GSS-API key exchange over the 1024-bit group with SHA-1", (RFC9142,)
            ),
            "gss-group14-sha1-*": Rule("fail", "GSS-API key exchange with SHA-1", (RFC9142,)),
            "gss-gex-sha1-*": Rule("fail", "GSS-API group exchange with SHA-1", (RFC9142,)),
        },
    ),
    "SSH-KEX-002": ListPolicy(
        ("kex_algorithms",),
        {
            name: Rule(
                "warn",
                "ECDH over a NIST P-curve: acceptable, but curve25519 is preferred "
                "(simpler constant-time implementations, no unexplained curve constants)",
                (RFC9142, BSI_SSH),
            )
            for name in ("ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521")
        },
    ),
    # Terrapin: these fail when the strict-kex marker is absent and are
    # "mitigated" when it is present. EtM is exploitable only with CBC (with CTR
    # the deleted packet desynchronises the keystream and the connection dies).
    "SSH-KEX-003": ListPolicy(
        CIPHER_LISTS + MAC_LISTS,
        {
            "chacha20-poly1305@openssh.com": Rule(
                "fail",
                "ChaCha20-Poly1305 without strict key exchange is open to Terrapin prefix truncation",
                (TERRAPIN, OPENSSH_STRICT_KEX),
            ),
            "*-etm@openssh.com": Rule(
                "fail",
                "encrypt-then-MAC next to a CBC cipher, without strict key exchange, is open to Terrapin "
                "prefix truncation",
                (TERRAPIN, TERRAPIN_ADVISORY, OPENSSH_STRICT_KEX),
                only_with=CBC_CIPHERS,
            ),
            **{
                cbc: Rule(
                    "fail",
                    "CBC cipher next to an encrypt-then-MAC MAC, without strict key exchange, is "
                    "open to Terrapin prefix truncation",
                    (TERRAPIN, TERRAPIN_ADVISORY, OPENSSH_STRICT_KEX),
                    only_with=ETM_MACS,
                )
                for cbc in CBC_CIPHERS
            },
        },
    ),
    "SSH-ENC-001": ListPolicy(
        CIPHER_LISTS,
        {
            "none": Rule("fail", "no encryption at all", (BSI_SSH,)),
            # 64-bit blocks are the weakness in every mode (3des-ctr, blowfish-ctr …), not only CBC.
            "3des-*": Rule(
                "fail", "Triple DES: 64-bit block, disallowed by NIST after 2023", (SP800_131A, SWEET32)
            ),
            "blowfish-*": Rule("fail", "Blowfish: 64-bit block cipher", (SWEET32, BSI_SSH)),
            "cast128-*": Rule("fail", "CAST-128: 64-bit block cipher", (SWEET32, BSI_SSH)),
            "idea-*": Rule("fail", "IDEA: 64-bit block cipher", (SWEET32, BSI_SSH)),
            "des-cbc*": Rule("fail", "single DES: 56-bit key", (SP800_131A,)),
            "arcfour*": Rule("fail", "RC4 keystream biases; RFC 8758 forbids it in SSH", (RFC8758,)),
            "*-cbc": Rule(
                "fail", "CBC mode in SSH allows plaintext recovery; use CTR or GCM", (CVE_2008_5161, BSI_SSH)
            ),
            "rijndael-cbc@lysator.liu.se": Rule(
                "fail", "pre-standard alias of AES-256-CBC", (CVE_2008_5161, BSI_SSH)
            ),
        },
    ),
    "SSH-MAC-001": ListPolicy(
        MAC_LISTS,
        {
            "none": Rule("fail", "no message integrity at all", (BSI_SSH,)),
            "hmac-md5*": Rule(
                "fail", "HMAC-MD5: MD5 is broken and must not be relied upon", (RFC6151, BSI_SSH)
            ),
            "hmac-sha1-96*": Rule("fail", "96-bit truncated HMAC-SHA1", (SP800_131A, BSI_SSH)),
            "*-96": Rule("fail", "96-bit truncated MAC", (BSI_SSH,)),
            "hmac-sha1": Rule(
                "warn",
                "HMAC-SHA1: BSI TR-02102-4 no longer recommends SHA-1 based MACs",
                (BSI_SSH, SP800_131A),
            ),
            "hmac-sha1-etm@openssh.com": Rule(
                "warn",
                "HMAC-SHA1 (encrypt-then-MAC): SHA-1 based MACs are no longer recommended",
                (BSI_SSH, SP800_131A),
            ),
            "umac-64*": Rule("warn", "64-bit authentication tag", (BSI_SSH,)),
            "hmac-ripemd160*": Rule("warn", "RIPEMD-160 MAC: not in current recommendations", (BSI_SSH,)),
        },
    ),
    "SSH-HKEY-001": ListPolicy(
        ("server_host_key_algorithms",),
        {
            "ssh-dss": Rule(
                "fail", "DSA host key: 1024-bit DSA with SHA-1, removed from FIPS 186-5", (FIPS186_5,)
            ),
            "ssh-dss-cert-v01@openssh.com": Rule("fail", "DSA certificate host key", (FIPS186_5,)),
            "ssh-rsa": Rule(
                "fail", "RSA signatures over SHA-1; offer rsa-sha2-256/512 instead", (RFC8332, SP800_131A)
            ),
            "ssh-rsa-cert-v01@openssh.com": Rule(
                "fail", "RSA certificate signed over SHA-1", (RFC8332, SP800_131A)
            ),
            "x509v3-sign-rsa": Rule("fail", "X.509 RSA signature over SHA-1", (SP800_131A,)),
            "x509v3-sign-dss": Rule("fail", "X.509 DSA signature over SHA-1", (FIPS186_5,)),
        },
    ),
    # The host-key counterpart of SSH-KEX-002: same curves, same grade.
    "SSH-HKEY-004": ListPolicy(
        ("server_host_key_algorithms",),
        {
            name: Rule(
                "warn",
                "ECDSA over a NIST P-curve: acceptable, but Ed25519 is preferred (a biased or "
                "repeated ECDSA nonce reveals the host key, Ed25519 derives its nonce deterministically; "
                "no unexplained curve constants)",
                (RFC5656, FIPS186_5, RFC8709, RFC6979, CVE_2024_31497),
            )
            for curve in ("nistp256", "nistp384", "nistp521")
            for name in (
                f"ecdsa-sha2-{curve}",
                f"ecdsa-sha2-{curve}-cert-v01@openssh.com",
                f"x509v3-ecdsa-sha2-{curve}",
            )
        },
    ),
}

# SSH-KEX-004: hybrid key exchange resisting a future quantum computer.
PQ_HYBRID_KEX = (
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
)


def default_verdicts(check_id: str) -> dict[str, str]:
    """The table of a check as ``{algorithm: verdict}``: the ``verdicts`` parameter default."""
    return {name: rule.verdict for name, rule in POLICY[check_id].rules.items()}


def effective_verdicts(check_id: str, params: dict[str, Any]) -> dict[str, str]:
    """The table's verdicts with the profile's ``verdicts`` laid over them."""
    return {**default_verdicts(check_id), **(params.get("verdicts") or {})}


def _verdict_sources(check_id: str, params: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The verdict tables ``judge`` consults in turn: the profile's own entries, then the check's table."""
    table = default_verdicts(check_id)
    # Profiles arrive merged over the defaults: their own entries are those the table lacks or differs on.
    given = params.get("verdicts") or {}
    own = {key: verdict for key, verdict in given.items() if table.get(key) != verdict}
    return own, table


def _verdict_of(name: str, sources: tuple[dict[str, str], ...]) -> tuple[str, str] | None:
    """``(key, verdict)`` deciding ``name``: the first source with a key that applies to it."""
    for source in sources:
        key = _match(source, name)
        if key is not None:
            return key, source[key]
    return None


def _match(table: dict[str, Any], name: str) -> str | None:
    """The key of ``table`` that applies to ``name``: exact first, then the first glob."""
    if name in table:
        return name
    globs = (key for key in table if any(c in key for c in "*?["))
    return next((key for key in globs if fnmatch.fnmatchcase(name, key)), None)


def offered(kexinit: dict[str, Any], lists: tuple[str, ...]) -> list[str]:
    """Names offered in the given KEXINIT lists, in order, once each, without markers."""
    seen: dict[str, None] = {}
    for list_name in lists:
        for name in kexinit.get(list_name, []):
            if name not in EXTENSION_MARKERS:
                seen.setdefault(name, None)
    return list(seen)


@dataclass(frozen=True)
class Finding:
    algorithm: str
    verdict: str
    reason: str
    references: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "verdict": self.verdict,
            "reason": self.reason,
            "references": list(self.references),
        }


def _offered_any(names: list[str], globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) for name in names for glob in globs)


def judge(check_id: str, names: list[str], params: dict[str, Any]) -> list[Finding]:
    """Findings (verdict warn or fail) for the offered ``names`` under a check's policy and params.

    A sweep meets the same few configurations again and again: each is judged once (globs are slow to match).
    """
    verdicts, allowed = params.get("verdicts") or {}, params.get("allowed")
    key = (tuple(verdicts.items()), None if allowed is None else tuple(allowed))
    return list(_judge(check_id, tuple(names), key))


@functools.lru_cache(maxsize=4096)
def _judge(
    check_id: str,
    names: tuple[str, ...],
    params_key: tuple[tuple[tuple[str, str], ...], tuple[str, ...] | None],
) -> tuple[Finding, ...]:
    verdicts, allowed = params_key
    return tuple(_judge_uncached(check_id, list(names), {"verdicts": dict(verdicts), "allowed": allowed}))


def _judge_uncached(check_id: str, names: list[str], params: dict[str, Any]) -> list[Finding]:
    rules = POLICY[check_id].rules
    sources = _verdict_sources(check_id, params)
    allowed = params.get("allowed")
    findings = []
    for name in names:
        if allowed is not None and not any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed):
            findings.append(Finding(name, "fail", "not in the profile's allowlist"))
            continue
        decided = _verdict_of(name, sources)
        if decided is None:
            continue
        key, verdict = decided
        if verdict not in VERDICT_ORDER:
            raise ValueError(f"{check_id}: verdict {verdict!r} for {key} is not pass, warn or fail")
        if verdict == "pass":
            continue
        rule_key = _match(rules, name)
        rule = rules[rule_key] if rule_key is not None else None
        if rule is not None and rule.only_with and not _offered_any(names, rule.only_with):
            continue
        if rule is not None and rule.verdict == verdict:
            findings.append(Finding(name, verdict, rule.reason, rule.references))
        else:
            reason = rule.reason if rule is not None else "listed by the profile"
            findings.append(
                Finding(
                    name,
                    verdict,
                    f"{reason} (verdict set by profile)",
                    rule.references if rule is not None else (),
                )
            )
    return findings


def mitigated(findings: list[Finding], reason: str) -> list[Finding]:
    """The same findings, neutralised: verdict ``mitigated`` with ``reason`` (references kept)."""
    return [Finding(f.algorithm, MITIGATED, reason, f.references) for f in findings]


def worst(findings: list[Finding]) -> str:
    return max((f.verdict for f in findings), key=VERDICT_ORDER.__getitem__, default="pass")
