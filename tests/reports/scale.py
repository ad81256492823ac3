"""Scale check of the reports (not part of the test suite): a national sweep, every format.

    python -m tests.reports.scale generate DIR   # synthetic national inventory + one sweep in DIR/results.db
    python -m tests.reports.scale again DIR SEED # one more sweep of it, a week later (trend, changes)
    python -m tests.reports.scale measure DIR    # time and peak RSS of each format, each in a fresh process

The sweep is written straight into a Store (no probes run): every endpoint of
the synthetic national inventory (``orchestrator.inventory.synthetic``, ~33k endpoints)
gets up to 20 results with realistic check ids, reasons and evidence, drawn
from a fixed seed.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.inventory import load_inventory
from orchestrator.inventory.synthetic import write_generated
from orchestrator.store import Recording, Store, SweepState
from orchestrator.testbed.pki import TestCA
from probes import registry
from probes.model import CheckResult, ProbeReport, Status

CHECKS_PER_ENDPOINT = 20
STATUS_WEIGHTS = {Status.PASS: 60, Status.FAIL: 14, Status.WARN: 8, Status.ERROR: 4, Status.SKIP: 14}
UNREACHABLE_SHARE = 0.02
FORMATS = ("json", "junit", "sarif", "md", "csv", "html")


def _family_checks() -> dict[str, list[str]]:
    checks = registry.checks()
    by_prefix = {prefix: [c for c in checks if c.startswith(prefix)] for prefix in ("SSH-", "TLS-", "GRPC-")}
    return {
        "ssh": by_prefix["SSH-"][:CHECKS_PER_ENDPOINT],
        "grpc": by_prefix["GRPC-"][:CHECKS_PER_ENDPOINT],
        "grpcs": (by_prefix["TLS-"] + by_prefix["GRPC-"])[:CHECKS_PER_ENDPOINT],
    }


def _report(url: str, scheme: str, checks: list[str], rng: random.Random) -> ProbeReport:
    severities = registry.checks()
    if rng.random() < UNREACHABLE_SHARE:
        results = [
            CheckResult(c, Status.ERROR, severities[c].severity, "connection refused", {}, 0.0)
            for c in checks
        ]
        return ProbeReport(url, results, 3.0, unreachable="connection refused")
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=len(checks))
    results = [
        CheckResult(
            check_id,
            status,
            severities[check_id].severity,
            f"{check_id}: server offered diffie-hellman-group1-sha1, ssh-rsa ({status.value})",
            {
                "observed": ["diffie-hellman-group1-sha1", "curve25519-sha256", "ecdh-sha2-nistp256"],
                "expected": "no SHA-1 key exchange",
                "offending": ["diffie-hellman-group1-sha1"],
            },
            0.02,
        )
        for check_id, status in zip(checks, statuses, strict=True)
    ]
    facts: dict = {}
    if scheme == "ssh":
        facts["ssh"] = {
            "banner": "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3",
            "software": "OpenSSH",
            "version": "8.4p1",
            "kex": ["curve25519-sha256", "diffie-hellman-group14-sha1"] * 4,
        }
    else:
        facts["grpc"] = {"connection": "ready", "health": "SERVING"}
        if scheme == "grpcs":
            facts["tls"] = {
                "version": "TLSv1.3",
                "subject": f"CN={url.split('//')[1].split(':')[0]}",
                "issuer": "CN=Testbed CA",
                "not_after": f"2026-{rng.randint(1, 12):02d}-15T00:00:00+00:00",
            }
    return ProbeReport(url, results, 0.5, facts=facts)


def generate(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # The inventory names this CA file; validation reads it as a PEM bundle.
    (directory / "testbed-ca.pem").write_bytes(TestCA(directory / "ca").ca_pem)
    write_generated(directory / "national.yaml", 1, grpcs_share=0.3)
    record_sweep(directory, seed=7)


def record_sweep(directory: Path, seed: int) -> None:
    """One more synthetic sweep of the inventory in DIR (other statuses per seed), a week after the last."""
    inventory_path = directory / "national.yaml"
    started = time.monotonic()
    inventory = load_inventory(inventory_path)
    refs = list(inventory.endpoints())
    records = [
        EndpointMeta(r.endpoint_id, r.url, r.protocol, r.agency, r.agency_level, r.province, r.application)
        for r in refs
    ]
    checks = _family_checks()
    rng = random.Random(seed)
    with Store(directory / "results.db") as store:
        last = store.list_sweeps(1)
        started_at = last[0].started_at + timedelta(days=7) if last else datetime.now(UTC)
        sweep_id = store.create_sweep(
            inventory_path=str(inventory_path),
            inventory_hash=inventory.content_hash,
            inventory_name="national",
            profile="spbe-baseline",
            profile_hash="sha256:scale",
            engine="synthetic",
            endpoints=records,
            options={},
            started_at=started_at,
        )
        batch = []
        for ref in refs:
            batch.append(Recording(ref.endpoint_id, _report(ref.url, ref.scheme, checks[ref.scheme], rng)))
            if len(batch) == 1000:
                store.record_many(sweep_id, batch)
                batch.clear()
        store.record_many(sweep_id, batch)
        store.set_state(sweep_id, SweepState.COMPLETE)
        progress = store.progress(sweep_id)
    print(
        json.dumps(
            {
                "sweep": sweep_id,
                "endpoints": len(refs),
                "results": sum(progress.by_status.values()),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )


def measure_one(directory: Path, fmt: str) -> None:
    """Build and write one report in this process; print time and peak RSS."""
    from orchestrator.reports import write_report
    from orchestrator.reports.build import build_report

    started = time.monotonic()
    out = directory / f"report.{fmt}"
    with Store(directory / "results.db", create=False) as store:
        sweep_id = store.list_sweeps(1)[0].id
        model = build_report(store, sweep_id)
        built = time.monotonic() - started
        with out.open("w", encoding="utf-8", newline="") as stream:
            write_report(model, fmt, stream)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "format": fmt,
                "build_s": round(built, 1),
                "total_s": round(time.monotonic() - started, 1),
                "peak_rss_mib": round(peak_mib),
                "output_mib": round(out.stat().st_size / 2**20, 1),
            }
        )
    )


def main(argv: list[str]) -> None:
    command, directory = argv[0], Path(argv[1])
    if command == "generate":
        generate(directory)
    elif command == "again":
        record_sweep(directory, seed=int(argv[2]))
    elif command == "one":
        measure_one(directory, argv[2])
    elif command == "measure":
        for fmt in FORMATS:
            subprocess.run(
                [sys.executable, "-m", "tests.reports.scale", "one", str(directory), fmt], check=True
            )
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
