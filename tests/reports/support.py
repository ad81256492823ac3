"""A small results store for report tests: 3 agencies in 2 provinces, two sweeps.

Results are recorded directly (no probes run) with check ids from the
registry. The statuses are a table, so tests can compute expected scores.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import Store, SweepState
from probes import registry
from probes.model import CheckResult, ProbeReport, Status

P, F, W, E, S = Status.PASS, Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP

HOSTILE = "<script>alert(1)</script> \"quoted\" 'single' & ]]> \n second line \x00\x1b[31m \u202e end \U0001f600 \ufffd"

INVENTORY = textwrap.dedent(
    """\
    version: 1
    scope:
      networks: [127.0.0.0/8]
      domains: [localhost]
    agencies:
      - {code: KEMENKES, name: Kementerian Kesehatan, level: pusat, province: "31"}
      - {code: "32", name: Provinsi Jawa Barat, level: provinsi, province: "32"}
      - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}
    applications:
      - id: kemenkes-satusehat
        name: SATUSEHAT Platform
        agency: KEMENKES
        endpoints:
          - url: grpcs://127.0.0.1:50443
          - url: ssh://127.0.0.1:2222
      - id: kemenkes-sisdmk
        name: SISDMK
        agency: KEMENKES
        endpoints:
          - url: ssh://127.0.0.1:2224
      - id: jabar-sapawarga
        name: Sapawarga Jawa Barat
        agency: "32"
        endpoints:
          - url: grpc://localhost:50052
      - id: 32-73-simpeg
        name: SIMPEG Kota Bandung
        agency: "32.73"
        endpoints:
          - url: ssh://127.0.0.1:2273
          - url: grpcs://127.0.0.1:50473
    """
)

# endpoint url -> (agency, level, province, application)
ENDPOINTS = {
    "grpcs://127.0.0.1:50443": ("KEMENKES", "pusat", "31", "kemenkes-satusehat"),
    "ssh://127.0.0.1:2222": ("KEMENKES", "pusat", "31", "kemenkes-satusehat"),
    "ssh://127.0.0.1:2224": ("KEMENKES", "pusat", "31", "kemenkes-sisdmk"),
    "grpc://localhost:50052": ("32", "provinsi", "32", "jabar-sapawarga"),
    "ssh://127.0.0.1:2273": ("32.73", "kota", "32", "32-73-simpeg"),
    "grpcs://127.0.0.1:50473": ("32.73", "kota", "32", "32-73-simpeg"),
}
UNREACHABLE = "ssh://127.0.0.1:2224"

SSH = ("SSH-BANNER-001", "SSH-KEX-001", "SSH-KEX-002", "SSH-ENC-001", "SSH-MAC-001", "SSH-HKEY-003")
TLS = ("TLS-PROTO-001", "TLS-PROTO-002", "TLS-CERT-003", "TLS-CERT-004", "TLS-ALPN-001")
GRPC = ("GRPC-HLTH-001", "GRPC-REFL-001", "GRPC-IDEN-001", "GRPC-INTR-012")

# The current sweep's statuses: endpoint -> {check: status}.
CURRENT: dict[str, dict[str, Status]] = {
    "grpcs://127.0.0.1:50443": dict(zip(TLS + GRPC, (P, P, P, W, P, P, F, P, S), strict=True)),
    "ssh://127.0.0.1:2222": dict(zip(SSH, (P, F, W, P, P, P), strict=True)),
    "ssh://127.0.0.1:2224": dict.fromkeys(SSH, E),
    "grpc://localhost:50052": dict(zip(GRPC, (P, E, F, S), strict=True)),
    "ssh://127.0.0.1:2273": dict(zip(SSH, (P, F, F, F, W, P), strict=True)),
    "grpcs://127.0.0.1:50473": dict(zip(TLS + GRPC, (P, F, P, W, F, P, P, P, S), strict=True)),
}
# The previous sweep differs on a few results.
PREVIOUS_CHANGES = {
    ("ssh://127.0.0.1:2222", "SSH-KEX-001"): P,  # now fail: a regression
    ("ssh://127.0.0.1:2273", "SSH-HKEY-003"): F,  # now pass: a fix
    ("grpc://localhost:50052", "GRPC-IDEN-001"): P,  # now fail: a regression in another agency
}


@dataclass
class Built:
    store_path: Path
    inventory_path: Path
    previous: str
    current: str


def _facts(url: str, days_left: int, now: datetime) -> dict:
    if url == UNREACHABLE:
        return {}
    if url.startswith("ssh://"):
        banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
        if url.endswith(":2273"):
            banner = "SSH-2.0-" + HOSTILE
        return {
            "ssh": {"banner": banner, "software": "OpenSSH", "version": "9.2p1", "kex": ["curve25519-sha256"]}
        }
    facts = {"grpc": {"connection": "ready", "health": "SERVING"}}
    if url.startswith("grpcs://"):
        not_after = now + timedelta(days=days_left, hours=1)
        agency = ENDPOINTS[url][0]
        facts["tls"] = {
            "version": "TLSv1.3",
            "subject": f"CN=api.{agency.lower()}.go.id",
            "issuer": "CN=SPBE Test CA",
            "not_after": not_after.isoformat(),
        }
    return facts


def _report(url: str, statuses: dict[str, Status], now: datetime, days_left: int) -> ProbeReport:
    results = []
    for check_id, status in statuses.items():
        check = registry.get_check(check_id)
        reason = f"{check_id} {status.value} on {url}"
        evidence = {"observed": status.value, "expected": "pass"}
        if url.endswith(":2273") and status is F:
            reason = "server said: " + HOSTILE
            evidence = {"observed": HOSTILE, "expected": "<none>"}
        results.append(CheckResult(check_id, status, check.severity, reason, evidence, 0.01))
    return ProbeReport(
        target=url,
        results=results,
        duration_s=0.2,
        unreachable="connection refused" if url == UNREACHABLE else None,
        facts=_facts(url, days_left, now),
    )


def build(directory: Path, *, now: datetime | None = None) -> Built:
    now = now or datetime.now(UTC)
    inventory_path = directory / "inventory.yaml"
    inventory_path.write_text(INVENTORY, encoding="utf-8")
    store_path = directory / "results.db"
    records = [
        EndpointMeta(url, url, url.split("://")[0].replace("grpcs", "grpc"), agency, level, province, app)
        for url, (agency, level, province, app) in ENDPOINTS.items()
    ]
    ids = []
    with Store(store_path) as store:
        for offset, changes in ((timedelta(days=7), PREVIOUS_CHANGES), (timedelta(0), {})):
            sweep_id = store.create_sweep(
                inventory_path=str(inventory_path),
                inventory_hash="sha256:test",
                inventory_name="nasional",
                profile="spbe-baseline",
                profile_hash="sha256:profile",
                engine="local",
                endpoints=records,
                options={},
                started_at=now - offset - timedelta(minutes=5),
            )
            for url, statuses in CURRENT.items():
                statuses = {c: changes.get((url, c), s) for c, s in statuses.items()}
                days_left = 20 if url == "grpcs://127.0.0.1:50473" else 200
                store.record(sweep_id, url, _report(url, statuses, now, days_left))
            store.set_state(sweep_id, SweepState.COMPLETE)
            ids.append(sweep_id)
    return Built(store_path, inventory_path, ids[0], ids[1])
