"""TLS gatherer for ``grpcs://`` targets: version, cipher, ALPN, certificate.

grpcio's client exposes no TLS details, so this probe opens its own
connections with Python's ``ssl`` (driven through memory BIOs, see
``handshake.py``):

1. a verifying handshake with Python's default client settings (TLS 1.2+,
   OpenSSL security level 2) against ``target.ca_file`` or the system
   store, offering ALPN ``h2`` (and ``http/1.1``): chain validity, version,
   cipher, ALPN, leaf;
2. if the chain did not verify, the same handshake without verification,
   to read the certificate anyway;
3. one handshake offering the legacy versions (TLS 1.0 to 1.1) with every
   cipher OpenSSL has at security level 0, so a server that still accepts
   one can say so; refused, it settles both. A version accepted, the
   others are asked alone, capped at that version. When the local OpenSSL
   cannot even send such a ClientHello, the fact fails with "could not
   test" (status ``error``), never ``pass``.

Client contexts are shared between probes (``handshake.client_context``):
building one costs more than the handshake.

The host name is matched here against the certificate's SANs, not inside
OpenSSL, so a bad chain and a wrong name are reported apart.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from probes import net
from probes.errors import ProbeError, Unreachable, describe_error
from probes.facts import ProbeContext
from probes.tls.certificate import clip, describe_certificate, match_hostname
from probes.tls.facts import ALPN, CHAIN, HOSTNAME, LEAF, LEGACY_VERSIONS, NEGOTIATED
from probes.tls.handshake import Handshake, LocalLimitation, client_context, handshake, offers_hello

MODERN_FACTS = (NEGOTIATED, ALPN, CHAIN, LEAF, HOSTNAME)

# h2 first; http/1.1 too, as browsers do, so a server without h2 names what
# it speaks instead of aborting the handshake with no_application_protocol.
OFFERED_ALPN = ("h2", "http/1.1")
# Everything the local OpenSSL still has, at security level 0, so an old
# protocol version can be put to the server at all.
LEGACY_CIPHERS = "ALL:@SECLEVEL=0"
ALL_FACTS = MODERN_FACTS + tuple(LEGACY_VERSIONS)
# What ``SSLObject.version()`` calls each legacy version.
VERSION_NAMES = {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1"}

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
        if result.error is None:
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
                    "subject",
                    "issuer",
                    "dns_names",
                    "ip_addresses",
                    "not_before",
                    "not_after",
                    "key_type",
                    "key_bits",
                    "curve",
                    "signature_algorithm",
                )
            }
        )

    async def legacy_versions(self, facts: list[str]) -> None:
        alone = await self.legacy_together(facts) if len(facts) > 1 else facts
        await asyncio.gather(*(self.legacy(fact) for fact in alone))

    async def legacy_together(self, facts: list[str]) -> list[str]:
        """Offer every legacy version in one ClientHello; returns the facts still to ask alone.

        A server answers a ClientHello with the highest version it supports up
        to the client's (RFC 5246 Appendix E.1), so one refused handshake
        offering TLS 1.0 to 1.1 says both are refused: one connection instead
        of two for the servers that are as they should be. A version accepted
        is recorded and the others asked alone. Only when the local OpenSSL can
        offer each version by itself: otherwise a refusal would not cover the
        version it left out.
        """
        versions = [LEGACY_VERSIONS[fact][2] for fact in facts]
        try:
            each = [client_context(verify=False, version=v, ciphers=LEGACY_CIPHERS) for v in versions]
            if not all(offers_hello(context) for context in each):
                return facts
            context = client_context(
                verify=False, version=min(versions), up_to=max(versions), ciphers=LEGACY_CIPHERS
            )
        except (ValueError, ssl.SSLError):
            return facts
        offered = " to ".join(LEGACY_VERSIONS[fact][1] for fact in (facts[0], facts[-1]))
        async with self.facts.collecting(*facts):
            try:
                result = await self.attempt(context)
            except LocalLimitation:
                return facts
            except (ConnectionResetError, BrokenPipeError):
                for fact in facts:
                    self.record_legacy(fact, False, f"connection reset by the server (offered {offered})")
                return []
            if result.error is not None:
                for fact in facts:
                    self.record_legacy(fact, False, f"{describe_error(result.error)} (offered {offered})")
                return []
            accepted = [fact for fact in facts if VERSION_NAMES[LEGACY_VERSIONS[fact][2]] == result.version]
            for fact in accepted:
                self.record_legacy(fact, True, result=result)
            return [fact for fact in facts if fact not in accepted]
        return []  # the handshake failed (timeout, cap): every fact has that reason

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
                self.record_legacy(fact, False, "connection reset by the server")
                return
            detail = None if result.error is None else describe_error(result.error)
            self.record_legacy(fact, result.completed, detail, result)

    def record_legacy(
        self, fact: str, accepted: bool, detail: str | None = None, result: Handshake | None = None
    ) -> None:
        if accepted and result is not None:
            value = {"accepted": True, "version": result.version, "cipher": result.cipher}
        else:
            value = {"accepted": False, "detail": detail}
        self.facts.set(fact, value)
        label = LEGACY_VERSIONS[fact][1]
        self.summary.setdefault("legacy", {})[label] = "accepted" if accepted else "refused"


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
            if legacy:
                await gathering.legacy_versions(legacy)
    finally:
        ctx.facts.summary.setdefault("tls", {}).update(gathering.summary)
