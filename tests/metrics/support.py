"""Stores filled directly for the metrics tests: real check ids, realistic facts, no probes run.

Reports carry every check the probe runner records for the scheme (the
registry's checks of the scheme's families, skipped families as ``skip``),
with the registry's severities, and the facts the SSH and TLS probes put in
``facts.summary`` (``host_keys`` entries, the leaf certificate's ``not_after``).
"""

from __future__ import annotations

import hashlib
import urllib.parse
from datetime import UTC, datetime

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import Recording, Store, SweepState
from probes import registry
from probes.messages import render
from probes.model import CheckResult, ProbeReport, Status, Target
from probes.runner import applicable, default_selection
from probes.ssh.hostkeys import sha256_fingerprint

# Checks of probes.ssh.authenticated: skipped without credentials in the inventory.
AUTHENTICATED = ("SSH-CONF-001", "SSH-CONF-002", "SSH-CONF-003", "SSH-CONF-004")


def fingerprint(seed: str) -> str:
    """A real SHA256 fingerprint of a (made-up) key blob."""
    return sha256_fingerprint(hashlib.sha512(seed.encode()).digest())


def endpoint(url: str, agency: str, level: str, province: str, application: str) -> EndpointMeta:
    scheme = url.partition("://")[0]
    return EndpointMeta(
        endpoint_id=url,
        url=url,
        protocol="grpc" if scheme in ("grpc", "grpcs") else scheme,
        agency=agency,
        agency_level=level,
        province=province,
        application=application,
    )


def checks_for(url: str) -> dict[str, str]:
    """check id -> severity of every check the runner records for this URL's scheme."""
    parsed = urllib.parse.urlsplit(url)
    target = Target(parsed.scheme, parsed.hostname or "127.0.0.1", parsed.port or 22)
    return {check_id: s.severity.value for check_id, s in applicable(target, default_selection()).items()}


def report(
    url: str,
    statuses: dict[str, Status] | None = None,
    *,
    facts: dict | None = None,
    unreachable: str | None = None,
    duration_s: float = 0.4,
) -> ProbeReport:
    """Every applicable check: ``statuses`` where given, else pass (skip for the scheme's skipped
    families and the authenticated SSH checks; error for everything when unreachable)."""
    statuses = statuses or {}
    scheme = url.partition("://")[0]
    skipped_families = registry.SCHEMES[scheme].skips
    results = []
    for check_id, severity in checks_for(url).items():
        family = registry.get_check(check_id).protocol
        if family in skipped_families:
            status, reason = Status.SKIP, render(skipped_families[family], "en")
        elif unreachable is not None:
            status, reason = Status.ERROR, f"target unreachable: {unreachable}"
        elif check_id in statuses:
            status, reason = statuses[check_id], f"{check_id} observed {statuses[check_id].value}"
        elif check_id in AUTHENTICATED:
            status, reason = Status.SKIP, "no credentials for this endpoint in the inventory"
        else:
            status, reason = Status.PASS, "as expected"
        results.append(
            CheckResult(check_id, status, severity, reason, {"observed": reason, "expected": "pass"}, 0.002)
        )
    return ProbeReport(
        target=url, results=results, duration_s=duration_s, unreachable=unreachable, facts=facts or {}
    )


def ssh_facts(keys: dict[str, str]) -> dict:
    """``facts.summary`` of the SSH probe with host keys by type (``{"ssh-ed25519": seed, ...}``)."""
    labels = {
        "ssh-ed25519": ("ED25519", 256, ["ssh-ed25519"]),
        "ssh-rsa": ("RSA", 3072, ["rsa-sha2-512", "rsa-sha2-256"]),
        "ecdsa-sha2-nistp256": ("ECDSA", 256, ["ecdsa-sha2-nistp256"]),
    }
    host_keys = []
    for key_type, seed in keys.items():
        label, bits, algorithms = labels[key_type]
        fp = fingerprint(seed)
        host_keys.append(
            {
                "algorithms": algorithms,
                "type": key_type,
                "label": label,
                "bits": bits,
                "fingerprint": fp,
                "display": f"{bits} {fp} ({label})",
            }
        )
    return {
        "ssh": {
            "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
            "protocol": "2.0",
            "software": "OpenSSH",
            "version": "9.2p1",
            "pre_banner_lines": 0,
            "kex": ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "ecdh-sha2-nistp256"],
            "host_key_algorithms": [a for key in host_keys for a in key["algorithms"]],
            "ciphers": ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
            "macs": ["hmac-sha2-256-etm@openssh.com"],
            "compression": ["none", "zlib@openssh.com"],
            "host_keys": host_keys,
            "auth_methods": ["publickey"],
        }
    }


def grpcs_facts(not_after: str, name: str = "api.testbed.localhost") -> dict:
    """``facts.summary`` of the TLS and gRPC probes of a grpcs:// endpoint."""
    return {
        "tls": {
            "chain_valid": True,
            "version": "TLSv1.3",
            "cipher": "TLS_AES_256_GCM_SHA384",
            "alpn": "h2",
            "subject": f"CN={name}",
            "issuer": "CN=spbe-interop testbed CA",
            "dns_names": [name],
            "ip_addresses": [],
            "not_before": "2025-03-01T12:00:00+00:00",
            "not_after": not_after,
            "key_type": "EC",
            "key_bits": 256,
            "curve": "secp256r1",
            "signature_algorithm": "ecdsa-with-SHA256",
            "legacy": {"TLS 1.0": "refused", "TLS 1.1": "refused"},
        },
        "grpc": {"connection": "ready", "health": "SERVING"},
    }


def add_sweep(
    store: Store,
    inventory: str,
    items: list[tuple[EndpointMeta, ProbeReport | None, str | None]],
    *,
    started: str,
    state: SweepState = SweepState.COMPLETE,
    profile: str = "spbe-baseline",
) -> str:
    """A sweep of ``items`` (endpoint, report or None if not probed yet, error class)."""
    sweep_id = store.create_sweep(
        inventory_path=f"/srv/interop/{inventory}.yaml",
        inventory_hash="sha256:" + hashlib.sha256(inventory.encode()).hexdigest(),
        inventory_name=inventory,
        profile=profile,
        profile_hash="sha256:0",
        engine="local",
        endpoints=[record for record, _, _ in items],
        options={},
        started_at=datetime.fromisoformat(started).replace(tzinfo=UTC),
    )
    recordings = [
        Recording(record.endpoint_id, rep, 1, error_class, "worker-1")
        for record, rep, error_class in items
        if rep is not None
    ]
    store.record_many(sweep_id, recordings)
    if state is not SweepState.RUNNING:
        store.set_state(sweep_id, state)
    return sweep_id


# Label values an inventory should never hold, but a store may.
LONG = "x" * 5000
HOSTILE_INVENTORY = 'hostile "inventory"\n'
HOSTILE_AGENCIES = [
    'Dinas "Kominfo" \\ Kota',
    "line one\nline two\r\n# TYPE interop_endpoint_up counter",
    "tab\there\x00nul\x7fdel",
    "Kabupaten Sleman — ✓ Daerah Istimewa 日本",
    LONG + "-a",
    LONG + "-b",  # same first 5000 characters: must stay a separate series
    "",
]


def add_hostile_sweep(store: Store) -> tuple[str, list[EndpointMeta]]:
    """A complete sweep of inventory ``HOSTILE_INVENTORY``: one SSH endpoint per hostile agency."""
    records = [
        EndpointMeta(
            endpoint_id=f'ssh://127.4.0.{n + 1}:22/"{agency[:40]}"',
            url=f"ssh://127.4.0.{n + 1}:22",
            protocol="ssh",
            agency=agency,
            agency_level='kota"\n',
            province="32\\",
            application=agency[::-1][:300],
        )
        for n, agency in enumerate(HOSTILE_AGENCIES)
    ]
    sweep_id = add_sweep(
        store, HOSTILE_INVENTORY, [(r, report(r.url), None) for r in records], started="2026-02-01T00:00:00"
    )
    return sweep_id, records
