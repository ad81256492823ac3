"""Stores for the HTML report tests, filled directly with ProbeReport objects (no probe runs).

``small_store`` is a handful of endpoints with server-supplied text that tries
to become markup everywhere a server can put text (banner, reason, evidence,
certificate subject, service name) and in inventory names and a waiver.
``national_store`` is a synthetic national inventory (620 agencies in 38
provinces, ~33k endpoints) for the size bounds.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.inventory.regions import provinces
from orchestrator.store import Recording, Store, SweepState
from orchestrator.waivers import Waivers, load_waivers
from probes import registry
from probes.model import CheckResult, ProbeReport, Status

P, F, W, E, S = Status.PASS, Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP

# Would change the title, set a flag or fetch something if it ever became markup or script.
PAYLOAD = (
    '<script>document.title="PWNED";window.__pwned=1</script>'
    '<img src="x.png" onerror="window.__pwned=2">'
    '<svg onload="window.__pwned=3"></svg>'
    '</pre></td></tr></table><b id="injected">bold</b>'
)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

SSH = ("SSH-BANNER-001", "SSH-KEX-001", "SSH-KEX-002", "SSH-ENC-001")
TLS = ("TLS-PROTO-001", "TLS-CERT-003", "TLS-ALPN-001")
GRPC = ("GRPC-HLTH-001", "GRPC-REFL-001", "GRPC-IDEN-001")

# url -> (agency, level, province, application, statuses, days of certificate left)
SMALL_ENDPOINTS: dict[str, tuple[str, str, str, str, dict[str, Status], int | None]] = {
    "ssh://127.0.0.1:2222": (
        "KEMENKES",
        "pusat",
        "31",
        "satusehat",
        dict(zip(SSH, (P, F, W, P), strict=True)),
        None,
    ),
    "grpcs://127.0.0.1:50443": (
        "KEMENKES",
        "pusat",
        "31",
        "satusehat",
        dict(zip(TLS + GRPC, (P, W, P, P, F, P), strict=True)),
        200,
    ),
    "ssh://127.0.0.1:2224": ("KEMENKES", "pusat", "31", "sisdmk", dict.fromkeys(SSH, E), None),
    "grpc://localhost:50052": (
        "32",
        "provinsi",
        "32",
        "sapawarga",
        dict(zip(GRPC, (P, E, F), strict=True)),
        None,
    ),
    "ssh://127.0.0.1:2273": (
        "32.73",
        "kota",
        "32",
        "simpeg" + PAYLOAD,
        dict(zip(SSH, (P, F, F, F), strict=True)),
        None,
    ),
    "grpcs://127.0.0.1:50473": (
        "32.73",
        "kota",
        "32",
        "simpeg" + PAYLOAD,
        dict(zip(TLS + GRPC, (P, F, F, F, P, W), strict=True)),
        12,
    ),
    "grpcs://127.0.0.1:50474": (
        "32.73",
        "kota",
        "32",
        "sipd",
        dict(zip(TLS + GRPC, (P, P, P, P, P, P), strict=True)),
        -3,
    ),
    "ssh://127.0.0.1:1101": (
        "11.01",
        "kabupaten",
        "11",
        "simda",
        dict(zip(SSH, (P, P, P, P), strict=True)),
        None,
    ),
}
UNREACHABLE = "ssh://127.0.0.1:2224"
HOSTILE_URLS = ("ssh://127.0.0.1:2273", "grpcs://127.0.0.1:50473")
# The previous sweep had these statuses instead: one regression, one fix.
PREVIOUS = {("ssh://127.0.0.1:2222", "SSH-KEX-001"): P, ("ssh://127.0.0.1:2273", "SSH-BANNER-001"): F}

INVENTORY_NAMES = {
    "agencies": {
        "KEMENKES": "Kementerian Kesehatan",
        "32": "Provinsi Jawa Barat",
        "32.73": "Kota Bandung " + PAYLOAD,
        "11.01": "Kabupaten Aceh Selatan",
    },
    "applications": {},
}

WAIVERS = textwrap.dedent(
    """\
    waivers:
      - id: W-2026-001
        check: SSH-KEX-002
        agency: "32.73"
        justification: 'Vendor appliance {payload}'
        approver: Kepala Diskominfo
        expires: 2027-03-31
      - id: W-2026-014
        check: TLS-ALPN-001
        agency: "32.73"
        justification: Gateway upgrade scheduled
        approver: Sekretaris Diskominfo
        expires: 2026-11-20
      - id: W-2025-009
        check: TLS-CERT-003
        agency: "32.73"
        justification: Expired long ago
        approver: Kepala Diskominfo
        expires: 2026-01-31
    """
)


@dataclass
class Built:
    store_path: Path
    waivers_path: Path
    previous: str
    current: str

    def waivers(self) -> Waivers:
        return load_waivers(self.waivers_path, as_of=NOW.date())


def _facts(url: str, days_left: int | None, hostile: bool) -> dict:
    if url == UNREACHABLE:
        return {}
    if url.startswith("ssh://"):
        banner = "SSH-2.0-" + (PAYLOAD if hostile else "OpenSSH_9.2p1 Debian-2+deb12u3")
        return {"ssh": {"banner": banner, "software": "OpenSSH", "version": "9.2p1"}}
    facts: dict = {"grpc": {"connection": "ready", "health": "SERVING"}}
    if days_left is not None:
        facts["tls"] = {
            "version": "TLSv1.3",
            "subject": "CN=api.go.id" + (PAYLOAD if hostile else ""),
            "issuer": "CN=SPBE Test CA",
            "not_after": (NOW + timedelta(days=days_left, hours=1)).isoformat(),
        }
    return facts


def _report(url: str, statuses: dict[str, Status], days_left: int | None) -> ProbeReport:
    hostile = url in HOSTILE_URLS
    results = []
    for check_id, status in statuses.items():
        check = registry.get_check(check_id)
        reason = f"{check_id} {status.value} on {url}"
        evidence = {"observed": status.value, "expected": "pass"}
        if hostile and status is not P:
            reason = "server said: " + PAYLOAD
            evidence = {"observed": {"service": "spbe." + PAYLOAD, "banner": PAYLOAD}, "expected": "<none>"}
        results.append(CheckResult(check_id, status, check.severity, reason, evidence, 0.01))
    return ProbeReport(
        target=url,
        results=results,
        duration_s=0.2,
        unreachable="connection refused" if url == UNREACHABLE else None,
        facts=_facts(url, days_left, hostile),
    )


def _new_sweep(store: Store, name: str, records: list[EndpointMeta], started: datetime) -> str:
    return store.create_sweep(
        inventory_path="/nonexistent/inventory.yaml",  # names come from INVENTORY_NAMES
        inventory_hash="sha256:test",
        inventory_name=name,
        profile="spbe-baseline",
        profile_hash="sha256:profile",
        engine="local",
        endpoints=records,
        options={},
        started_at=started,
    )


def small_store(directory: Path) -> Built:
    store_path = directory / "small.db"
    waivers_path = directory / "waivers.yaml"
    waivers_path.write_text(WAIVERS.format(payload=PAYLOAD.replace("'", "''")), encoding="utf-8")
    records = [
        EndpointMeta(url, url, url.split("://")[0].replace("grpcs", "grpc"), agency, level, province, app)
        for url, (agency, level, province, app, _, _) in SMALL_ENDPOINTS.items()
    ]
    ids = []
    with Store(store_path) as store:
        for started, changes in ((NOW - timedelta(days=7), PREVIOUS), (NOW - timedelta(minutes=30), {})):
            sweep_id = _new_sweep(store, "nasional", records, started)
            for url, (_, _, _, _, statuses, days_left) in SMALL_ENDPOINTS.items():
                statuses = {c: changes.get((url, c), s) for c, s in statuses.items()}
                store.record(sweep_id, url, _report(url, statuses, days_left))
            store.set_state(sweep_id, SweepState.COMPLETE)
            ids.append(sweep_id)
    return Built(store_path, waivers_path, ids[0], ids[1])


# -- a national-size sweep ----------------------------------------------------

BIG_AGENCY = "KEMENKEU"
NATIONAL_CHECKS = ("SSH-KEX-001", "SSH-KEX-002", "TLS-CERT-003")


def national_store(directory: Path, *, agencies: int = 620, endpoints: int = 33_000) -> tuple[Path, str]:
    """One complete sweep: ``agencies`` agencies over the 38 provinces, one very large.

    Every endpoint has three results, about half of them findings (~50k),
    and a certificate, so every capped list overflows.
    """
    rng = random.Random(620)
    province_codes = sorted(provinces())
    codes = [BIG_AGENCY] + [f"{province_codes[i % 38]}.{71 + i // 38:02d}" for i in range(agencies - 1)]
    records = []
    for n in range(endpoints):
        # A quarter of all endpoints belong to the one big ministry.
        agency = BIG_AGENCY if n % 4 == 0 else codes[1 + n % (agencies - 1)]
        province = "31" if agency == BIG_AGENCY else agency[:2]
        url = f"grpcs://10.{n // 65536}.{n // 256 % 256}.{n % 256}:443"
        records.append(EndpointMeta(url, url, "grpc", agency, "kota", province, f"app-{n % 997}"))
    store_path = directory / "national.db"
    with Store(store_path) as store:
        sweep_id = _new_sweep(store, "nasional-besar", records, NOW - timedelta(hours=2))
        batch = []
        for record in records:
            statuses = [rng.choice((P, P, F, W, E)) for _ in NATIONAL_CHECKS]
            results = [
                CheckResult(
                    check_id,
                    status,
                    registry.get_check(check_id).severity,
                    f"{check_id} {status.value}",
                    {"observed": status.value, "expected": "pass"},
                    0.0,
                )
                for check_id, status in zip(NATIONAL_CHECKS, statuses, strict=True)
            ]
            not_after = NOW + timedelta(days=rng.randint(-120, 500))
            facts = {"tls": {"subject": "CN=x", "not_after": not_after.isoformat(), "version": "TLSv1.3"}}
            batch.append(Recording(record.endpoint_id, ProbeReport(record.url, results, 0.1, None, facts)))
            if len(batch) == 2000:
                store.record_many(sweep_id, batch)
                batch = []
        store.record_many(sweep_id, batch)
        store.set_state(sweep_id, SweepState.COMPLETE)
    return store_path, sweep_id
