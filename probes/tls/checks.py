"""The checks of the TLS family over what ``probes.tls.gather`` observes."""

from __future__ import annotations

from typing import Any

from probes import registry
from probes.errors import NotApplicable, Undetermined
from probes.facts import Facts
from probes.messages import Message
from probes.model import Status, Verdict
from probes.tls.facts import ALPN, CHAIN, HOSTNAME, LEAF, LEGACY_VERSIONS, NEGOTIATED
from probes.tls.strength import key_strength

check = registry.family("tls")

MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")

# TLS 1.2 cipher suites (OpenSSL names) that NIST SP 800-52r2 §3.3.1 prefers:
# ephemeral key exchange and an AEAD mode. Every TLS 1.3 suite qualifies.
FORWARD_SECRET_PREFIXES = ("ECDHE-", "DHE-")
AEAD_MARKERS = ("GCM", "CHACHA20", "CCM")

WEAK_SIGNATURE_HASHES = frozenset({"md2", "md4", "md5", "sha1"})

# (forward secret, AEAD) of a TLS 1.2 suite that is not both -> what its reason says it lacks.
SUITE_LACKS = {
    (True, False): "tls.suite_lacks_aead",
    (False, True): "tls.suite_lacks_fs",
    (False, False): "tls.suite_lacks_both",
}

_NIST_52 = "NIST SP 800-52 Rev. 2, Guidelines for TLS Implementations (2019)"
_RFC_8996 = "RFC 8996: Deprecating TLS 1.0 and TLS 1.1"
_RFC_9113 = 'RFC 9113 §3.2: HTTP/2 over TLS uses ALPN "h2" (was RFC 7540 §3.3)'
_GRPC_H2 = "gRPC over HTTP/2 protocol (PROTOCOL-HTTP2.md): TLS with ALPN h2"
_CABF_BR = "CA/Browser Forum Baseline Requirements for TLS server certificates"
_NIST_57 = "NIST SP 800-57 Part 1 Rev. 5, Table 2 (security strengths)"
_NIST_131A = "NIST SP 800-131A Rev. 2 (at least 112-bit security)"


def _negotiated(facts: Facts) -> dict[str, Any]:
    value: dict[str, Any] = facts[NEGOTIATED]
    if value["version"] is None:
        raise Undetermined(value["failure"])
    return value


@check(
    "TLS-PROTO-001",
    title="A default client negotiates TLS 1.2 or newer",
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
        evidence = registry.evidence(value["version"], expected)
        return Verdict.of(Status.PASS, evidence, "tls.negotiated", name=value["version"])
    evidence = registry.evidence(value["version"], expected, failure=value.get("failure"))
    if value.get("failure"):
        return Verdict(Status.FAIL, value["failure"], evidence)
    return Verdict.of(Status.FAIL, evidence, "tls.negotiated", name=value["version"])


# A row of the legacy-version table: (fact, (check id, label, version)), as in ``LEGACY_VERSIONS``.
LegacyRow = tuple[str, tuple[str, str, Any]]


def _legacy_meta(row: LegacyRow) -> dict[str, Any]:
    fact, (check_id, label, _) = row
    return dict(
        id=check_id,
        title=f"{label} is refused",
        category="protocol",
        severity="high",
        rationale=f"{label} lacks modern cipher suites and has known weaknesses; RFC 8996 deprecates it and "
        "NIST SP 800-52r2 forbids it for government servers.",
        remediation=f"Disable {label} (and older) on the endpoint: make TLS 1.2 the minimum version.",
        references=(_RFC_8996, _NIST_52 + " §3.1"),
        facts=(fact,),
    )


def _legacy_verdict(row: LegacyRow, facts: Facts, params: dict[str, Any]) -> Verdict:
    fact, (_, label, _) = row
    value = facts[fact]
    if value["accepted"]:
        cipher = value.get("cipher")
        evidence = registry.evidence(f"{label} accepted", "refused", cipher=cipher)
        return Verdict.of(Status.FAIL, evidence, "tls.legacy_accepted", label=label, cipher=cipher)
    evidence = registry.evidence("refused", "refused", detail=value.get("detail"))
    return Verdict.of(Status.PASS, evidence, "tls.legacy_refused", label=label)


registry.table(LEGACY_VERSIONS.items(), check=check, meta=_legacy_meta, evaluate=_legacy_verdict)


@check(
    "TLS-PROTO-004",
    title="TLS 1.3 is supported",
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
        evidence = registry.evidence(None, "TLSv1.3", failure=value["failure"])
        return Verdict.of(Status.WARN, evidence, "tls.tls13_refused", failure=value["failure"])
    version = _negotiated(facts)["version"]
    evidence = registry.evidence(version, "TLSv1.3")
    if version == "TLSv1.3":
        return Verdict.of(Status.PASS, evidence, "tls.negotiated", name="TLS 1.3")
    return Verdict.of(Status.WARN, evidence, "tls.tls13_got", version=version)


@check(
    "TLS-PROTO-005",
    title="The negotiated cipher suite has forward secrecy and an AEAD mode",
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
        raise NotApplicable(message=Message("tls.no_suite"))
    value = _negotiated(facts)
    cipher = value.get("cipher") or ""
    expected = "ECDHE/DHE key exchange with an AEAD mode"
    if value["version"] == "TLSv1.3":
        return Verdict.of(Status.PASS, registry.evidence(cipher, expected), "tls.suite13", cipher=cipher)
    forward_secret = cipher.startswith(FORWARD_SECRET_PREFIXES)
    aead = any(marker in cipher for marker in AEAD_MARKERS)
    evidence = registry.evidence(cipher, expected, forward_secrecy=forward_secret, aead=aead)
    if forward_secret and aead:
        return Verdict.of(Status.PASS, evidence, "tls.negotiated", name=cipher)
    lacking = SUITE_LACKS[forward_secret, aead]
    return Verdict.of(Status.WARN, evidence, lacking, cipher=cipher)


@check(
    "TLS-ALPN-001",
    title="ALPN selects h2",
    category="alpn",
    severity="medium",
    rationale='gRPC runs over HTTP/2, which over TLS is negotiated with ALPN "h2"; current gRPC clients '
    "(grpc-go since 1.67, among others) refuse servers that do not select it.",
    remediation='Enable ALPN with "h2" on the TLS terminator in front of the gRPC service.',
    references=(_RFC_9113, _GRPC_H2),
    facts=(ALPN,),
)
def alpn_h2(facts: Facts, params: dict[str, Any]) -> Verdict:
    value = facts[ALPN]
    evidence = registry.evidence(value["selected"], "h2", offered=value["offered"])
    if value["selected"] == "h2":
        return Verdict.of(Status.PASS, evidence, "tls.alpn_selected", protocol="h2")
    if value["selected"] is None:
        return Verdict.of(Status.FAIL, evidence, "tls.alpn_none")
    return Verdict.of(Status.FAIL, evidence, "tls.alpn_selected_other", protocol=value["selected"])


@check(
    "TLS-CERT-001",
    title="The certificate chain verifies against the configured trust store",
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
        return Verdict.of(Status.PASS, registry.evidence("valid", expected), "tls.chain_ok")
    evidence = registry.evidence(
        value["reason"], expected, verify_code=value["verify_code"], verify_message=value["verify_message"]
    )
    said = {"reason": value["reason"], "detail": value["verify_message"]}
    return Verdict.of(Status.FAIL, evidence, "tls.chain_bad", **said)


@check(
    "TLS-CERT-002",
    title="The certificate names the endpoint",
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
    observed = {"dns_names": value["dns_names"], "ip_addresses": value["ip_addresses"]}
    if value["matched_by"]:
        evidence = registry.evidence(observed, value["name"], matched_by=value["matched_by"])
        return Verdict.of(
            Status.PASS,
            evidence,
            "tls.name_matches",
            name=value["name"],
            matched_by=value["matched_by"],
        )
    evidence = registry.evidence(
        observed, value["name"], matched_by=value["matched_by"], reason="hostname mismatch"
    )
    return Verdict.of(Status.FAIL, evidence, "tls.name_mismatch", name=value["name"])


@check(
    "TLS-CERT-003",
    title="The certificate is within its validity period",
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
    evidence = registry.evidence(
        {"not_before": leaf["not_before"], "not_after": leaf["not_after"]},
        "not_before <= now < not_after",
        days_remaining=leaf["days_remaining"],
    )
    if leaf["not_yet_valid"]:
        return Verdict.of(Status.FAIL, evidence, "tls.not_yet_valid", date=leaf["not_before"])
    if leaf["days_remaining"] <= 0:
        return Verdict.of(Status.FAIL, evidence, "tls.expired", date=leaf["not_after"])
    return Verdict.of(Status.PASS, evidence, "tls.valid_until", date=leaf["not_after"])


@check(
    "TLS-CERT-004",
    title="The certificate does not expire soon",
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
    evidence = registry.evidence(days, f">= {warn_days} days", not_after=leaf["not_after"])
    if days < warn_days:
        return Verdict.of(Status.WARN, evidence, "tls.days_left_below", days=days, threshold=warn_days)
    return Verdict.of(Status.PASS, evidence, "tls.days_left", days=days)


@check(
    "TLS-CERT-005",
    title="The certificate is not signed with SHA-1 or MD5",
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
    evidence = registry.evidence(leaf["signature_algorithm"], "SHA-256 or stronger", hash=digest)
    if digest == "unknown":
        raise Undetermined(message=Message("tls.signature_unknown", {"oid": leaf["signature_oid"]}))
    status = Status.FAIL if digest in WEAK_SIGNATURE_HASHES else Status.PASS
    return Verdict.of(status, evidence, "tls.signed_with", algorithm=leaf["signature_algorithm"])


@check(
    "TLS-KEY-001",
    title="The certificate key is strong enough",
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
    evidence = registry.evidence(
        {"key_type": leaf["key_type"], "key_bits": leaf["key_bits"], "curve": leaf["curve"]},
        f">= {min_bits} bits of security",
        security_bits=strength,
    )
    if strength is None:
        return Verdict.of(Status.WARN, evidence, "tls.key_unknown", key=described)
    status = Status.FAIL if strength < min_bits else Status.WARN if strength < warn_below else Status.PASS
    return Verdict.of(status, evidence, "tls.key_strength", key=described, bits=strength)
