"""TLS probe for ``grpcs://`` targets: version, cipher, ALPN, certificate.

grpcio's client exposes no TLS details, so this probe opens its own
connections with Python's ``ssl`` (driven through memory BIOs, see
``handshake.py``):

1. a verifying handshake with Python's default client settings (TLS 1.2+,
   OpenSSL security level 2) against ``target.ca_file`` or the system
   store, offering ALPN ``h2`` (and ``http/1.1``): chain validity, version,
   cipher, ALPN, leaf;
2. if the chain did not verify, the same handshake without verification,
   to read the certificate anyway;
3. one handshake per legacy version (TLS 1.0, 1.1), capped at that version
   with every cipher OpenSSL has at security level 0, so a server that
   still accepts it can say so. When the local OpenSSL cannot even send
   such a ClientHello, the fact fails with "could not test" (status
   ``error``), never ``pass``.

The host name is matched here against the certificate's SANs, not inside
OpenSSL, so a bad chain and a wrong name are reported apart.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from probes import net, registry
from probes.errors import NotApplicable, ProbeError, Undetermined, Unreachable, describe_error
from probes.facts import Facts, ProbeContext
from probes.model import Status, Verdict
from probes.tls.certificate import clip, describe_certificate, key_strength, match_hostname
from probes.tls.handshake import Handshake, LocalLimitation, client_context, handshake

FAMILY = "tls"

NEGOTIATED = "tls.negotiated"
ALPN = "tls.alpn"
CHAIN = "tls.chain"
LEAF = "tls.leaf"
HOSTNAME = "tls.hostname"
MODERN_FACTS = (NEGOTIATED, ALPN, CHAIN, LEAF, HOSTNAME)

# h2 first; http/1.1 too, as browsers do, so a server without h2 names what
# it speaks instead of aborting the handshake with no_application_protocol.
OFFERED_ALPN = ("h2", "http/1.1")
# Everything the local OpenSSL still has, at security level 0, so an old
# protocol version can be put to the server at all.
LEGACY_CIPHERS = "ALL:@SECLEVEL=0"
# fact -> (check id, label, version to offer alone)
LEGACY_VERSIONS: dict[str, tuple[str, str, ssl.TLSVersion]] = {
    "tls.legacy.tls1_0": ("TLS-PROTO-002", "TLS 1.0", ssl.TLSVersion.TLSv1),
    "tls.legacy.tls1_1": ("TLS-PROTO-003", "TLS 1.1", ssl.TLSVersion.TLSv1_1),
}
ALL_FACTS = MODERN_FACTS + tuple(LEGACY_VERSIONS)

MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")

# OpenSSL X509_V_ERR_* codes -> the short reason an operator acts on.
VERIFY_REASONS = {
    2: "unknown CA",
    7: "bad signature",
    9: "not yet valid",
    10: "expired",
    18: "self-signed",
    19: "self-signed CA not trusted",
    20: "unknown CA",
    21: "unknown CA",
    22: "chain too long",
    23: "revoked",
    24: "invalid CA",
    26: "unsuitable purpose",
    27: "untrusted",
    28: "rejected",
    62: "hostname mismatch",
    66: "leaf key too weak",
    67: "CA key too weak",
    68: "signature digest too weak",
}

# TLS 1.2 cipher suites (OpenSSL names) that NIST SP 800-52r2 §3.3.1 prefers:
# ephemeral key exchange and an AEAD mode. Every TLS 1.3 suite qualifies.
FORWARD_SECRET_PREFIXES = ("ECDHE-", "DHE-")
AEAD_MARKERS = ("GCM", "CHACHA20", "CCM")

WEAK_SIGNATURE_HASHES = frozenset({"md2", "md4", "md5", "sha1"})

# OpenSSL names a TLS alert the server sent "..._ALERT_..." (protocol_version,
# handshake_failure): the server answered in TLS and refused what a default
# client offers, a definite answer about the versions it accepts. Any other
# failure (bytes that are not TLS, a closed connection) says nothing about them.
SERVER_ALERT_MARKER = "_ALERT_"


class ReconnectFailed(ProbeError):
    """A later connection failed after the first one worked: a per-fact error."""


class _Gathering:
    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.facts = ctx.facts
        self.target = ctx.target
        self.name = ctx.target.server_name or ctx.target.host
        self.connected_once = False
        self.summary: dict[str, Any] = {}

    async def attempt(self, context: ssl.SSLContext) -> Handshake:
        """Connect and run one handshake; only the first connection may be Unreachable."""
        try:
            reader, writer = await net.open_connection(
                self.target.host, self.target.port, self.ctx.connect_timeout_s
            )
        except Unreachable as exc:
            if not self.connected_once:
                raise
            raise ReconnectFailed(f"a later connection failed: {exc}") from exc
        self.connected_once = True
        # Python sends no SNI for an IP literal, as RFC 6066 requires.
        return await handshake(reader, writer, context, self.name, self.ctx.read_timeout_s)

    async def modern(self) -> None:
        verified: Handshake | None = None
        if self.ctx.wants(CHAIN):
            try:
                context = client_context(verify=True, cafile=self.target.ca_file, alpn=OFFERED_ALPN)
            except (OSError, ssl.SSLError) as exc:
                self.facts.fail(CHAIN, f"cannot load CA bundle {self.target.ca_file}: {describe_error(exc)}")
            else:
                verified = await self.attempt(context)
                self.record_chain(verified)
        result = verified
        needs_leaf = self.ctx.wants(NEGOTIATED, ALPN, LEAF, HOSTNAME)
        if needs_leaf and (verified is None or isinstance(verified.error, ssl.SSLCertVerificationError)):
            result = await self.attempt(client_context(verify=False, alpn=OFFERED_ALPN))
        if result is None:
            return
        if result.completed:
            self.record_session(result)
        else:
            reason = f"no TLS 1.2+ handshake: {describe_error(result.error)}"
            refused = SERVER_ALERT_MARKER in str(getattr(result.error, "reason", "") or "")
            self.facts.set(NEGOTIATED, {"version": None, "failure": reason, "refused_by_server": refused})
            for name in (CHAIN, ALPN, LEAF, HOSTNAME):
                self.facts.fail(name, reason)
            self.summary["handshake_failure"] = reason

    def record_chain(self, result: Handshake) -> None:
        bundle = self.target.ca_file or "system trust store"
        if result.completed:
            self.facts.set(CHAIN, {"valid": True, "trust": bundle})
        elif isinstance(result.error, ssl.SSLCertVerificationError):
            code = result.error.verify_code
            self.facts.set(
                CHAIN,
                {
                    "valid": False,
                    "trust": bundle,
                    "reason": VERIFY_REASONS.get(code, "verification failed"),
                    "verify_code": code,
                    "verify_message": clip(str(result.error.verify_message), 200),
                },
            )
        # Any other failure is the server refusing our handshake: recorded by modern().
        self.summary["chain_valid"] = self.facts.get(CHAIN, {}).get("valid")

    def record_session(self, result: Handshake) -> None:
        self.facts.set(
            NEGOTIATED,
            {"version": result.version, "cipher": result.cipher, "cipher_bits": result.cipher_bits},
        )
        self.facts.set(ALPN, {"selected": result.alpn, "offered": list(OFFERED_ALPN)})
        self.summary.update(version=result.version, cipher=result.cipher, alpn=result.alpn)
        if not result.peer_der:
            for name in (LEAF, HOSTNAME):
                self.facts.fail(name, "the server presented no certificate")
            return
        try:
            leaf = describe_certificate(result.peer_der)
        except ValueError as exc:
            for name in (LEAF, HOSTNAME):
                self.facts.fail(name, f"the server's certificate could not be parsed: {clip(str(exc), 200)}")
            return
        self.facts.set(LEAF, leaf)
        matched = match_hostname(self.name, leaf["dns_names"], leaf["ip_addresses"])
        self.facts.set(
            HOSTNAME,
            {
                "name": self.name,
                "matched_by": matched,
                "dns_names": leaf["dns_names"],
                "ip_addresses": leaf["ip_addresses"],
            },
        )
        self.summary.update(
            {
                key: leaf[key]
                for key in (
                    "subject", "issuer", "dns_names", "ip_addresses", "not_before", "not_after",
                    "key_type", "key_bits", "curve", "signature_algorithm",
                )
            }
        )

    async def legacy(self, fact: str) -> None:
        _, label, version = LEGACY_VERSIONS[fact]
        async with self.facts.collecting(fact):
            try:
                context = client_context(verify=False, version=version, ciphers=LEGACY_CIPHERS)
                result = await self.attempt(context)
            except (LocalLimitation, ValueError, ssl.SSLError) as exc:
                self.facts.fail(fact, f"could not test {label}: {describe_error(exc)}")
                return
            except (ConnectionResetError, BrokenPipeError):
                # Our ClientHello went out; dropping the connection is a refusal.
                self.facts.set(fact, {"accepted": False, "detail": "connection reset by the server"})
                return
            if result.completed:
                value = {"accepted": True, "version": result.version, "cipher": result.cipher}
            else:
                value = {"accepted": False, "detail": describe_error(result.error)}
            self.facts.set(fact, value)
            self.summary.setdefault("legacy", {})[label] = "accepted" if result.completed else "refused"


async def gather_tls(ctx: ProbeContext) -> None:
    wanted = [name for name in ALL_FACTS if ctx.wants(name)]
    if not wanted:
        return
    gathering = _Gathering(ctx)
    try:
        # A failure here (timeout, reset, cap) means the server cannot be
        # talked to at all: every wanted fact fails with that reason.
        async with ctx.facts.collecting(*wanted):
            if ctx.wants(*MODERN_FACTS):
                await gathering.modern()
            legacy = [fact for fact in LEGACY_VERSIONS if ctx.wants(fact)]
            await asyncio.gather(*(gathering.legacy(fact) for fact in legacy))
    finally:
        ctx.facts.summary.setdefault("tls", {}).update(gathering.summary)


registry.register_gatherer(FAMILY, gather_tls)


# ---------------------------------------------------------------- checks

_NIST_52 = "NIST SP 800-52 Rev. 2, Guidelines for TLS Implementations (2019)"
_RFC_8996 = "RFC 8996: Deprecating TLS 1.0 and TLS 1.1"
_RFC_9113 = "RFC 9113 §3.2: HTTP/2 over TLS uses ALPN \"h2\" (was RFC 7540 §3.3)"
_GRPC_H2 = "gRPC over HTTP/2 protocol (PROTOCOL-HTTP2.md): TLS with ALPN h2"
_CABF_BR = "CA/Browser Forum Baseline Requirements for TLS server certificates"
_NIST_57 = "NIST SP 800-57 Part 1 Rev. 5, Table 2 (security strengths)"
_NIST_131A = "NIST SP 800-131A Rev. 2 (at least 112-bit security)"


def _negotiated(facts: Facts) -> dict[str, Any]:
    value = facts[NEGOTIATED]
    if value["version"] is None:
        raise Undetermined(value["failure"])
    return value


@registry.check(
    "TLS-PROTO-001",
    title="A default client negotiates TLS 1.2 or newer",
    protocol=FAMILY,
    category="protocol",
    severity="high",
    rationale="TLS 1.2 is the minimum for government systems; a server that cannot complete a TLS 1.2+ "
    "handshake with a standard client either runs only deprecated versions or is not interoperable.",
    remediation="Enable TLS 1.2 and TLS 1.3 on the endpoint with current cipher suites.",
    references=(_NIST_52 + " §3.1", _RFC_8996),
    facts=(NEGOTIATED,),
)
def tls_version_modern(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[NEGOTIATED]
    expected = "TLS 1.2 or TLS 1.3"
    if value["version"] in MODERN_VERSIONS:
        evidence = {"observed": value["version"], "expected": expected}
        return Verdict(Status.PASS, f"negotiated {value['version']}", evidence)
    return Verdict(
        Status.FAIL,
        value.get("failure") or f"negotiated {value['version']}",
        {"observed": value["version"], "expected": expected, "failure": value.get("failure")},
    )


def _legacy_check(check_id: str, fact: str, label: str) -> None:
    @registry.check(
        check_id,
        title=f"{label} is refused",
        protocol=FAMILY,
        category="protocol",
        severity="high",
        rationale=f"{label} lacks modern cipher suites and has known weaknesses; RFC 8996 deprecates it and "
        "NIST SP 800-52r2 forbids it for government servers.",
        remediation=f"Disable {label} (and older) on the endpoint: make TLS 1.2 the minimum version.",
        references=(_RFC_8996, _NIST_52 + " §3.1"),
        facts=(fact,),
    )
    def evaluate(facts: Facts, params: dict[str, Any]) -> Verdict:
        value = facts[fact]
        if value["accepted"]:
            return Verdict(
                Status.FAIL,
                f"the server accepted a {label} handshake ({value.get('cipher')})",
                {"observed": f"{label} accepted", "expected": "refused", "cipher": value.get("cipher")},
            )
        return Verdict(
            Status.PASS,
            f"the server refused {label}",
            {"observed": "refused", "expected": "refused", "detail": value.get("detail")},
        )


for _fact, (_check_id, _label, _) in LEGACY_VERSIONS.items():
    _legacy_check(_check_id, _fact, _label)


@registry.check(
    "TLS-PROTO-004",
    title="TLS 1.3 is supported",
    protocol=FAMILY,
    category="protocol",
    severity="medium",
    rationale="NIST SP 800-52r2 requires government TLS servers to support TLS 1.3 since 1 January 2024; "
    "it removes legacy key exchanges and encrypts more of the handshake.",
    remediation="Enable TLS 1.3 alongside TLS 1.2 (OpenSSL 1.1.1+ supports it).",
    references=(_NIST_52 + " §3.1",),
    facts=(NEGOTIATED,),
)
def tls13_supported(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[NEGOTIATED]
    if value["version"] is None and value.get("refused_by_server"):
        # The server refused, in TLS, a client that offered TLS 1.3: it does not support it.
        evidence = {"observed": None, "expected": "TLSv1.3", "failure": value["failure"]}
        return Verdict(Status.WARN, f"a client offering TLS 1.3 was refused ({value['failure']})", evidence)
    version = _negotiated(facts)["version"]
    evidence = {"observed": version, "expected": "TLSv1.3"}
    if version == "TLSv1.3":
        return Verdict(Status.PASS, "negotiated TLS 1.3", evidence)
    return Verdict(Status.WARN, f"a client offering TLS 1.3 got {version}", evidence)


@registry.check(
    "TLS-PROTO-005",
    title="The negotiated cipher suite has forward secrecy and an AEAD mode",
    protocol=FAMILY,
    category="cipher",
    severity="medium",
    rationale="Ephemeral (EC)DHE key exchange protects past sessions if the server key leaks; AEAD modes "
    "(GCM, ChaCha20-Poly1305, CCM) avoid the CBC padding attacks. NIST SP 800-52r2 prefers such suites.",
    remediation="Order the server's TLS 1.2 cipher suites to prefer ECDHE with AES-GCM or ChaCha20-Poly1305.",
    references=(_NIST_52 + " §3.3.1",),
    facts=(NEGOTIATED,),
)
def tls_cipher_strong(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[NEGOTIATED]
    if value["version"] is None and value.get("refused_by_server"):
        raise NotApplicable("the server refused every TLS 1.2+ handshake: no suite to judge (see TLS-PROTO-001)")
    value = _negotiated(facts)
    cipher = value.get("cipher") or ""
    expected = "ECDHE/DHE key exchange with an AEAD mode"
    if value["version"] == "TLSv1.3":
        return Verdict(Status.PASS, f"TLS 1.3 suite {cipher}", {"observed": cipher, "expected": expected})
    forward_secret = cipher.startswith(FORWARD_SECRET_PREFIXES)
    aead = any(marker in cipher for marker in AEAD_MARKERS)
    evidence = {"observed": cipher, "expected": expected, "forward_secrecy": forward_secret, "aead": aead}
    if forward_secret and aead:
        return Verdict(Status.PASS, f"negotiated {cipher}", evidence)
    missing = [name for name, ok in (("forward secrecy", forward_secret), ("an AEAD mode", aead)) if not ok]
    return Verdict(Status.WARN, f"negotiated {cipher}, which lacks {' and '.join(missing)}", evidence)


@registry.check(
    "TLS-ALPN-001",
    title="ALPN selects h2",
    protocol=FAMILY,
    category="alpn",
    severity="medium",
    rationale="gRPC runs over HTTP/2, which over TLS is negotiated with ALPN \"h2\"; current gRPC clients "
    "(grpc-go since 1.67, among others) refuse servers that do not select it.",
    remediation="Enable ALPN with \"h2\" on the TLS terminator in front of the gRPC service.",
    references=(_RFC_9113, _GRPC_H2),
    facts=(ALPN,),
)
def alpn_h2(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[ALPN]
    evidence = {"observed": value["selected"], "expected": "h2", "offered": value["offered"]}
    if value["selected"] == "h2":
        return Verdict(Status.PASS, "the server selected h2", evidence)
    if value["selected"] is None:
        return Verdict(Status.FAIL, "the server selected no ALPN protocol", evidence)
    return Verdict(Status.FAIL, f"the server selected {value['selected']!r}", evidence)


@registry.check(
    "TLS-CERT-001",
    title="The certificate chain verifies against the configured trust store",
    protocol=FAMILY,
    category="certificate",
    severity="high",
    rationale="Clients refuse a chain they cannot build to a trusted CA, or one signed with keys or digests "
    "below their security level (OpenSSL level 2, the Debian and Python default).",
    remediation="Serve the full chain (leaf and intermediates) issued by a CA the clients trust, with "
    "current keys and SHA-256 or better signatures.",
    references=(_NIST_52 + " §3.5", _CABF_BR),
    facts=(CHAIN,),
)
def chain_valid(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[CHAIN]
    expected = f"a chain to a CA in {value['trust']}"
    if value["valid"]:
        return Verdict(Status.PASS, "the chain verifies", {"observed": "valid", "expected": expected})
    return Verdict(
        Status.FAIL,
        f"the chain does not verify: {value['reason']} ({value['verify_message']})",
        {
            "observed": value["reason"],
            "expected": expected,
            "verify_code": value["verify_code"],
            "verify_message": value["verify_message"],
        },
    )


@registry.check(
    "TLS-CERT-002",
    title="The certificate names the endpoint",
    protocol=FAMILY,
    category="certificate",
    severity="high",
    rationale="A client checks the name it connected to against the certificate's subjectAltName; a "
    "mismatch fails every verifying client and invites interception.",
    remediation="Issue the certificate with a subjectAltName entry (DNS name or IP address) for every name "
    "clients use to reach the endpoint.",
    references=("RFC 9525 / RFC 6125: service identity in TLS", _CABF_BR + " §7.1.2.7.12"),
    facts=(HOSTNAME,),
)
def hostname_matches(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[HOSTNAME]
    evidence = {
        "observed": {"dns_names": value["dns_names"], "ip_addresses": value["ip_addresses"]},
        "expected": value["name"],
        "matched_by": value["matched_by"],
    }
    if value["matched_by"]:
        return Verdict(Status.PASS, f"{value['name']} matches {value['matched_by']}", evidence)
    return Verdict(
        Status.FAIL,
        f"hostname mismatch: no subjectAltName covers {value['name']}",
        {**evidence, "reason": "hostname mismatch"},
    )


@registry.check(
    "TLS-CERT-003",
    title="The certificate is within its validity period",
    protocol=FAMILY,
    category="certificate",
    severity="critical",
    rationale="An expired (or not yet valid) certificate is refused by every verifying client: the service "
    "is down for them.",
    remediation="Renew the certificate now and automate renewal (for example with ACME).",
    references=(_NIST_52 + " §3.5", _CABF_BR + " §6.3.2"),
    facts=(LEAF,),
)
def not_expired(facts: Facts, params: dict[str, Any]) -> Verdict:
    leaf = facts[LEAF]
    evidence = {
        "observed": {"not_before": leaf["not_before"], "not_after": leaf["not_after"]},
        "expected": "not_before <= now < not_after",
        "days_remaining": leaf["days_remaining"],
    }
    if leaf["not_yet_valid"]:
        return Verdict(Status.FAIL, f"not valid before {leaf['not_before']}", evidence)
    if leaf["days_remaining"] <= 0:
        return Verdict(Status.FAIL, f"expired on {leaf['not_after']}", evidence)
    return Verdict(Status.PASS, f"valid until {leaf['not_after']}", evidence)


@registry.check(
    "TLS-CERT-004",
    title="The certificate does not expire soon",
    protocol=FAMILY,
    category="certificate",
    severity="medium",
    rationale="Renewing before the last weeks leaves time to fix a failed renewal before clients break.",
    remediation="Renew the certificate and automate renewal well ahead of expiry.",
    references=(_NIST_52 + " §3.5",),
    facts=(LEAF,),
    params={"warn_days": 30},
)
def not_expiring_soon(facts: Facts, params: dict[str, Any]) -> Verdict:
    leaf = facts[LEAF]
    warn_days = params.get("warn_days", 30)
    days = leaf["days_remaining"]
    evidence = {"observed": days, "expected": f">= {warn_days} days", "not_after": leaf["not_after"]}
    if days < warn_days:
        return Verdict(Status.WARN, f"{days:g} days of validity left (threshold {warn_days})", evidence)
    return Verdict(Status.PASS, f"{days:g} days of validity left", evidence)


@registry.check(
    "TLS-CERT-005",
    title="The certificate is not signed with SHA-1 or MD5",
    protocol=FAMILY,
    category="certificate",
    severity="high",
    rationale="SHA-1 and MD5 signatures can be forged by collision attacks; CAs stopped issuing them and "
    "clients at default security levels reject them.",
    remediation="Reissue the certificate with a SHA-256 (or stronger) signature.",
    references=(_NIST_131A + " §9", _CABF_BR + " §7.1.3.2"),
    facts=(LEAF,),
)
def signature_hash_strong(facts: Facts, params: dict[str, Any]) -> Verdict:
    leaf = facts[LEAF]
    digest = leaf["signature_hash"]
    evidence = {"observed": leaf["signature_algorithm"], "expected": "SHA-256 or stronger", "hash": digest}
    if digest in WEAK_SIGNATURE_HASHES:
        return Verdict(Status.FAIL, f"signed with {leaf['signature_algorithm']}", evidence)
    if digest == "unknown":
        raise Undetermined(f"unrecognised signature algorithm {leaf['signature_oid']}")
    return Verdict(Status.PASS, f"signed with {leaf['signature_algorithm']}", evidence)


@registry.check(
    "TLS-KEY-001",
    title="The certificate key is strong enough",
    protocol=FAMILY,
    category="key",
    severity="high",
    rationale="Keys below 112 bits of security (RSA under 2048 bits, curves under P-224) are disallowed "
    "by NIST SP 800-131A. RSA-2048 (112 bits) stays acceptable through 2030; set warn_below_bits to 128 "
    "to flag keys that need replacing before then. EC P-256 and up give 128 bits or more.",
    remediation="Reissue the certificate with an EC P-256/P-384 key, or RSA of 2048 (better 3072) bits.",
    references=(_NIST_57, _NIST_131A, _NIST_52 + " §3.5.1", _CABF_BR + " §6.1.5"),
    facts=(LEAF,),
    params={"min_bits": 112, "warn_below_bits": 112},
)
def key_strong(facts: Facts, params: dict[str, Any]) -> Verdict:
    leaf = facts[LEAF]
    strength = key_strength(leaf["key_type"], leaf["key_bits"], leaf["curve"])
    described = f"{leaf['key_type']} {leaf['curve'] or leaf['key_bits']}"
    min_bits = params.get("min_bits", 112)
    warn_below = params.get("warn_below_bits", 112)
    evidence = {
        "observed": {"key_type": leaf["key_type"], "key_bits": leaf["key_bits"], "curve": leaf["curve"]},
        "expected": f">= {min_bits} bits of security",
        "security_bits": strength,
    }
    if strength is None:
        return Verdict(Status.WARN, f"unrecognised key {described}: strength unknown", evidence)
    if strength < min_bits:
        return Verdict(Status.FAIL, f"{described} gives {strength} bits of security", evidence)
    if strength < warn_below:
        return Verdict(Status.WARN, f"{described} gives {strength} bits of security", evidence)
    return Verdict(Status.PASS, f"{described} gives {strength} bits of security", evidence)
