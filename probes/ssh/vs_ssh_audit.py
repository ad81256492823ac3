"""Where our algorithm policy deliberately grades unlike ssh-audit, and why (rendered into docs/checks.md).

``SSH_AUDIT`` records, per KEXINIT list kind, the verdict ssh-audit 3.9.0
gave each algorithm (the worst of its notes; key-size notes left out, as
SSH-HKEY-002 judges sizes). Measured on 2026-12-04 with
``ssh-audit -j --skip-rate-test`` against servers on loopback that all offer
strict key exchange: OpenSSH 9.2p1 with Debian's defaults, the testbed's
hardened and legacy profiles, and one offering every algorithm it still
supports (RSA, DSA, ECDSA P-256/384/521 and Ed25519 host keys, each with a
certificate); Dropbear 2022.83. Names no server here offers (``LOOKED_UP``)
come from ssh-audit's own algorithm table. ``SSH_AUDIT_WITHOUT_STRICT_KEX``
holds its Terrapin verdicts, measured against TinySSH 20230101 and paramiko
5.1 servers started with strict key exchange switched off.

``DIFFERENCES`` gives the reason for every disagreement; our side of each row
is computed from ``POLICY`` (``our_verdict``), never written down, and
tests/ssh/test_vs_ssh_audit.py fails when a difference has no row or a row
no longer differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from probes.ssh import policy
from probes.ssh.policy import CIPHER_LISTS, MAC_LISTS, POLICY, VERDICT_ORDER

SSH_AUDIT_VERSION = "3.9.0"
MEASURED = (
    "measured on 2026-12-04 with `ssh-audit -j` against OpenSSH 9.2p1 (Debian defaults, hardened, "
    "legacy, and every algorithm it supports with RSA, DSA, ECDSA and Ed25519 host keys and "
    "certificates), Dropbear 2022.83, TinySSH 20230101 and paramiko 5.1 servers without strict key "
    "exchange; names none of them offers were looked up in ssh-audit's algorithm table"
)

# ssh-audit's categories and the KEXINIT lists they correspond to.
KINDS: dict[str, tuple[str, ...]] = {
    "kex": ("kex_algorithms",),
    "key": ("server_host_key_algorithms",),
    "enc": CIPHER_LISTS,
    "mac": MAC_LISTS,
}

# The Terrapin check judges only what strict key exchange leaves open; it has its own rows.
TERRAPIN_CHECK = "SSH-KEX-003"

_KERBEROS = "toWM5Slw5Ew8Mqkay+al2g=="  # the Kerberos mechanism suffix of GSS-API key exchange names

SSH_AUDIT: dict[str, dict[str, str]] = {
    "kex": {
        "diffie-hellman-group1-sha1": "fail",
        "diffie-hellman-group14-sha1": "fail",
        "diffie-hellman-group-exchange-sha1": "fail",
        "diffie-hellman-group14-sha256": "warn",
        "diffie-hellman-group16-sha512": "warn",
        "diffie-hellman-group18-sha512": "warn",
        "diffie-hellman-group-exchange-sha256": "warn",
        "ecdh-sha2-nistp256": "fail",
        "ecdh-sha2-nistp384": "fail",
        "ecdh-sha2-nistp521": "fail",
        "curve25519-sha256": "warn",
        "curve25519-sha256@libssh.org": "warn",
        "sntrup761x25519-sha512": "pass",
        "sntrup761x25519-sha512@openssh.com": "pass",
        "kex-strict-s-v00@openssh.com": "pass",
        "kexguess2@matt.ucc.asn.au": "warn",
    },
    "key": {
        "ssh-ed25519": "pass",
        "ssh-ed25519-cert-v01@openssh.com": "pass",
        "rsa-sha2-256": "pass",
        "rsa-sha2-512": "pass",
        "rsa-sha2-256-cert-v01@openssh.com": "pass",
        "rsa-sha2-512-cert-v01@openssh.com": "pass",
        "ssh-rsa": "fail",
        "ssh-rsa-cert-v01@openssh.com": "fail",
        "ssh-dss": "fail",
        "ssh-dss-cert-v01@openssh.com": "fail",
        "ecdsa-sha2-nistp256": "fail",
        "ecdsa-sha2-nistp384": "fail",
        "ecdsa-sha2-nistp521": "fail",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com": "fail",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com": "fail",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com": "fail",
    },
    "enc": {
        "3des-cbc": "fail",
        "aes128-cbc": "warn",
        "aes192-cbc": "warn",
        "aes256-cbc": "warn",
        "aes128-ctr": "pass",
        "aes192-ctr": "pass",
        "aes256-ctr": "pass",
        "aes128-gcm@openssh.com": "pass",
        "aes256-gcm@openssh.com": "pass",
        "chacha20-poly1305@openssh.com": "pass",
    },
    "mac": {
        "hmac-md5": "fail",
        "hmac-md5-96": "fail",
        "hmac-md5-etm@openssh.com": "fail",
        "hmac-md5-96-etm@openssh.com": "fail",
        "hmac-sha1": "fail",
        "hmac-sha1-96": "fail",
        "hmac-sha1-etm@openssh.com": "fail",
        "hmac-sha1-96-etm@openssh.com": "fail",
        "hmac-sha2-256": "warn",
        "hmac-sha2-512": "warn",
        "hmac-sha2-256-etm@openssh.com": "pass",
        "hmac-sha2-512-etm@openssh.com": "pass",
        "umac-64@openssh.com": "warn",
        "umac-64-etm@openssh.com": "warn",
        "umac-128@openssh.com": "warn",
        "umac-128-etm@openssh.com": "pass",
    },
}

# Names in our table that no server here offers: ssh-audit's verdict from its algorithm table.
LOOKED_UP: dict[str, dict[str, str]] = {
    "kex": {
        "rsa1024-sha1": "fail",
        f"gss-group1-sha1-{_KERBEROS}": "fail",
        f"gss-group14-sha1-{_KERBEROS}": "fail",
        f"gss-gex-sha1-{_KERBEROS}": "fail",
    },
    "key": {
        "x509v3-sign-rsa": "fail",
        "x509v3-sign-dss": "fail",
        "x509v3-ecdsa-sha2-nistp256": "fail",
        "x509v3-ecdsa-sha2-nistp384": "fail",
        "x509v3-ecdsa-sha2-nistp521": "fail",
    },
    "enc": {
        "none": "fail",
        "des-cbc": "fail",
        "3des-ctr": "fail",
        "blowfish-cbc": "fail",
        "blowfish-ctr": "fail",
        "cast128-cbc": "fail",
        "cast128-ctr": "fail",
        "idea-cbc": "fail",
        "idea-ctr": "fail",
        "arcfour": "fail",
        "arcfour128": "fail",
        "arcfour256": "fail",
        "rijndael-cbc@lysator.liu.se": "fail",
    },
    "mac": {
        "none": "fail",
        "hmac-ripemd160": "fail",
        "hmac-ripemd160@openssh.com": "fail",
        "hmac-ripemd160-etm@openssh.com": "fail",
        "hmac-sha2-256-96": "warn",
        "hmac-sha2-512-96": "warn",
    },
}

# Terrapin (no strict key exchange): ssh-audit's verdicts for the names offered together.
SSH_AUDIT_WITHOUT_STRICT_KEX: dict[tuple[str, ...], str] = {
    ("chacha20-poly1305@openssh.com",): "warn",  # TinySSH
    ("aes128-cbc", "hmac-sha2-256-etm@openssh.com"): "warn",  # paramiko: aes128-cbc/-ctr, EtM and plain MACs
    ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"): "pass",  # paramiko: CTR and GCM only
}


@dataclass(frozen=True)
class Difference:
    kind: str  # a key of KINDS
    algorithms: tuple[str, ...]
    reason: str
    without_strict_kex: bool = False  # a Terrapin row: SSH_AUDIT_WITHOUT_STRICT_KEX, judged together


_PQ = (
    "Being classical is judged once per server, by SSH-KEX-004 (warn when no post-quantum hybrid is "
    "offered), not on every classical method: a server that offers sntrup761x25519 or mlkem768x25519 "
    "keeps curve25519 and finite-field groups for older clients without a warning."
)
_TERRAPIN = (
    "Without strict key exchange the prefix truncation is practical here, and the cure exists for "
    "every maintained server (OpenSSH 9.6, Dropbear 2024.84, or a distribution's patched build), so "
    "we fail; the check's medium severity keeps it from weighing like a broken algorithm."
)

DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "kex",
        ("ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521"),
        "RFC 9142 lists all three as SHOULD implement and NIST and BSI still approve the curves; "
        "no attack on them is known, only doubt about how their constants were chosen. We warn to "
        "record the preference for curve25519; spbe-strict fails them.",
    ),
    Difference(
        "key",
        tuple(
            f"{prefix}ecdsa-sha2-{curve}{suffix}"
            for curve in ("nistp256", "nistp384", "nistp521")
            for prefix, suffix in (("", ""), ("", "-cert-v01@openssh.com"), ("x509v3-", ""))
        ),
        "Same curves, same grade as the key exchange (SSH-KEX-002): FIPS 186-5 approves ECDSA over "
        "them. The practical risk of ECDSA is a biased or repeated nonce, which is why the finding "
        "prefers Ed25519; spbe-strict fails them.",
    ),
    Difference(
        "mac",
        ("hmac-sha1", "hmac-sha1-etm@openssh.com"),
        "HMAC needs SHA-1 only as a pseudo-random function, which collision attacks do not break "
        "(RFC 6194); NIST SP 800-131A still accepts HMAC-SHA-1. BSI no longer recommends it, so we "
        "warn; spbe-strict fails it.",
    ),
    Difference(
        "mac",
        ("hmac-ripemd160", "hmac-ripemd160@openssh.com", "hmac-ripemd160-etm@openssh.com"),
        "No attack on HMAC-RIPEMD160 is known; OpenSSH 7.6 dropped it for lack of use. We warn "
        "because it is outside current recommendations; spbe-strict fails it.",
    ),
    Difference(
        "mac",
        ("hmac-sha2-256-96", "hmac-sha2-512-96"),
        "Truncated SHA-2 MACs were never standardised for SSH (RFC 6668 defines full-length tags "
        "only) and no current client needs them, so offering them only lowers the tag length.",
    ),
    Difference(
        "mac",
        ("hmac-sha2-256", "hmac-sha2-512", "umac-128@openssh.com"),
        "Encrypt-and-MAC with a full-length SHA-2 HMAC or UMAC-128 has no practical attack when the "
        "cipher is CTR or GCM; the known attacks need CBC, which SSH-ENC-001 fails. RFC 6668 defines "
        "the SHA-2 MACs and many clients still lack the -etm forms.",
    ),
    Difference(
        "enc",
        ("aes128-cbc", "aes192-cbc", "aes256-cbc"),
        "CBC in SSH allows plaintext recovery (CVE-2008-5161) and, next to an encrypt-then-MAC MAC, "
        "Terrapin; every maintained client offers CTR, GCM or ChaCha20-Poly1305, so nothing needs CBC "
        "any more.",
    ),
    Difference(
        "kex",
        (
            "curve25519-sha256",
            "curve25519-sha256@libssh.org",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512",
            "diffie-hellman-group-exchange-sha256",
        ),
        _PQ,
    ),
    Difference(
        "kex",
        ("diffie-hellman-group14-sha256",),
        "The one method RFC 9142 says MUST be implemented; a 2048-bit group (112-bit strength) is "
        "acceptable through 2030 (NIST SP 800-57). " + _PQ,
    ),
    Difference(
        "kex",
        ("kexguess2@matt.ucc.asn.au",),
        "Dropbear's marker for a guessed first key-exchange packet, not a key exchange: markers are "
        "never judged.",
    ),
    Difference("enc", ("chacha20-poly1305@openssh.com",), _TERRAPIN, without_strict_kex=True),
    Difference(
        "enc",
        ("aes128-cbc", "hmac-sha2-256-etm@openssh.com"),
        "A CBC cipher next to an encrypt-then-MAC MAC (every such pair). " + _TERRAPIN,
        without_strict_kex=True,
    ),
)


def ssh_audit_verdict(kind: str, name: str) -> str | None:
    """ssh-audit's verdict, measured or looked up, with strict key exchange present."""
    return SSH_AUDIT[kind].get(name) or LOOKED_UP[kind].get(name)


def our_verdict(
    kind: str, names: tuple[str, ...], without_strict_kex: bool = False
) -> tuple[str, tuple[str, ...]]:
    """Our worst verdict for ``names`` offered together, and the checks that give it.

    With strict key exchange (the default) the Terrapin check's findings are
    mitigated, so the tables of the checks reading ``kind``'s lists decide;
    ``without_strict_kex`` asks the Terrapin check alone.
    """
    check_ids = (
        [TERRAPIN_CHECK]
        if without_strict_kex
        else [
            check_id
            for check_id, list_policy in POLICY.items()
            if check_id != TERRAPIN_CHECK and set(list_policy.lists) & set(KINDS[kind])
        ]
    )
    judged = {cid: policy.worst(policy.judge(cid, list(names), {})) for cid in check_ids}
    worst = max(judged.values(), key=VERDICT_ORDER.__getitem__, default="pass")
    return worst, tuple(check_id for check_id, verdict in judged.items() if verdict == worst != "pass")


def their_verdict(row: Difference) -> str:
    if row.without_strict_kex:
        return SSH_AUDIT_WITHOUT_STRICT_KEX[row.algorithms]
    verdicts = {ssh_audit_verdict(row.kind, name) for name in row.algorithms}
    known = {verdict for verdict in verdicts if verdict is not None}
    if len(verdicts) != 1 or len(known) != 1:
        raise ValueError(f"ssh-audit verdicts of {row.algorithms} are not one known verdict: {verdicts}")
    return known.pop()
