"""Unauthenticated SSH gatherer: identification, algorithms, host keys, auth methods.

Connections, in order:

1. identification lines and the server's KEXINIT (our own wire code); the
   same connection then runs a key exchange far enough to read the host
   key of the server's first host-key type and, where the server offers
   curve25519 and chacha20-poly1305 (``sealed.can_continue``: every
   maintained OpenSSH, Dropbear and TinySSH), finishes it and asks for
   "none" authentication to learn the offered methods;
2. one more connection per further host-key type (RSA, ECDSA, DSA …), each
   offering only that type, concurrently;
3. only for a server 1 cannot finish with: a paramiko connection that asks
   for "none" authentication, concurrently with 2.

So a server with N host-key types sees N connections, the fewest that show
every key: a connection's key exchange shows one.

Facts: ``ssh.banner``, ``ssh.kexinit``, ``ssh.host_keys``,
``ssh.auth_methods`` and ``ssh.pins`` (the inventory's expected host-key
fingerprints). ``ctx.facts.summary["ssh"]`` carries what reports show.
"""

from __future__ import annotations

import asyncio
from typing import Any

from probes.errors import Unreachable, describe_error
from probes.facts import ProbeContext
from probes.ssh import auth, policy, sealed, wire
from probes.ssh.facts import AUTH_METHODS, BANNER, HOST_KEYS, KEXINIT, PINS
from probes.ssh.hostkeys import blob_type_of, normalise_pin
from probes.ssh.transport import ClearSession, PhaseTimeout

OWN_FACTS = (BANNER, KEXINIT, HOST_KEYS, AUTH_METHODS, PINS)
MAX_PARALLEL_KEY_FETCHES = 4


async def gather(ctx: ProbeContext) -> None:
    if not ctx.wants(*OWN_FACTS):
        return  # only other SSH gatherers' checks are selected
    facts = ctx.facts
    target = ctx.target
    summary: dict[str, Any] = facts.summary.setdefault("ssh", {})
    if target.pins:
        facts.set(PINS, [normalise_pin(pin) for pin in target.pins])
    else:
        facts.missing_expectation(PINS, "pins")

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
        # Asking on the first connection needs its key exchange, which fetching the first key runs.
        on_first = ctx.wants(AUTH_METHODS) and ctx.wants(HOST_KEYS) and sealed.can_continue(kexinit)
        tasks = []
        if ctx.wants(HOST_KEYS):
            tasks.append(_gather_host_keys(ctx, session, kexinit, summary, auth_on_first=on_first))
        else:
            session.close()
        if ctx.wants(AUTH_METHODS) and not on_first:
            tasks.append(_gather_auth_methods(ctx, summary))
        await asyncio.gather(*tasks)
    finally:
        session.close()


async def _gather_host_keys(
    ctx: ProbeContext,
    first: ClearSession,
    kexinit: wire.KexInit,
    summary: dict[str, Any],
    auth_on_first: bool,
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
                if index == 0 and auth_on_first:
                    key = await first.fetch_host_key_and_continue(kexinit, algorithms_of_type[0])
                elif index == 0:
                    key = await first.fetch_host_key(kexinit, algorithms_of_type[0])
                else:
                    async with await _open_again(ctx) as session:
                        key = await session.fetch_host_key_at_once(kexinit, algorithms_of_type[0])
            entry.update(key.to_dict())
        except Exception as exc:  # noqa: BLE001 - one key's failure is recorded, the others go on
            entry["error"] = describe_error(exc)
        if index == 0:
            try:
                if auth_on_first:
                    await _auth_methods_on_first(ctx, first, summary, key_failed="error" in entry)
            finally:
                first.close()
        return entry

    async with ctx.facts.collecting(HOST_KEYS):
        entries = await asyncio.gather(*(fetch(i, algs) for i, algs in enumerate(by_type.values())))
        ctx.facts.set(HOST_KEYS, list(entries))
        summary["host_keys"] = list(entries)


async def _auth_methods_on_first(
    ctx: ProbeContext, first: ClearSession, summary: dict[str, Any], key_failed: bool
) -> None:
    """Ask on the first connection; where that fails short of a timeout, ask through paramiko as before."""
    async with ctx.facts.collecting(AUTH_METHODS):
        try:
            if key_failed:
                raise sealed.NotContinued("the key exchange of the first connection failed")
            methods = await first.auth_methods(_username(ctx))
        except (PhaseTimeout, Unreachable):
            raise
        except Exception:  # noqa: BLE001 - a server our encrypted phase does not suit: paramiko's turn
            first.close()
            methods = await _paramiko_methods(ctx)
        ctx.facts.set(AUTH_METHODS, methods)
        summary["auth_methods"] = methods


async def _open_again(ctx: ProbeContext) -> ClearSession:
    target = ctx.target
    return await ClearSession.open(target.host, target.port, ctx.connect_timeout_s, ctx.read_timeout_s)


def _username(ctx: ProbeContext) -> str:
    return ctx.params.get("SSH-AUTH-001", {}).get("username") or auth.DEFAULT_USERNAME


async def _paramiko_methods(ctx: ProbeContext) -> list[str]:
    return await auth.offered_methods(
        ctx.target.host, ctx.target.port, _username(ctx), ctx.connect_timeout_s, ctx.read_timeout_s
    )


async def _gather_auth_methods(ctx: ProbeContext, summary: dict[str, Any]) -> None:
    async with ctx.facts.collecting(AUTH_METHODS):
        methods = await _paramiko_methods(ctx)
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
        "ciphers": policy.offered(kexinit.to_dict(), policy.CIPHER_LISTS),
        "macs": policy.offered(kexinit.to_dict(), policy.MAC_LISTS),
        "compression": sorted(
            set(kexinit.compression_client_to_server) | set(kexinit.compression_server_to_client)
        ),
    }
