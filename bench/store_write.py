"""Benchmark: how fast the results store records a sweep, and what reading it costs.

Simulates the national sweep's write pattern: one writer streaming finished
endpoints with ``record_many`` in batches, each endpoint carrying one result
per check with realistic evidence. Then times the reads the CLI does
(``progress``, ``summary``, a full ``results`` scan, ``diff`` against a second
sweep) and reports peak RSS, which must not grow with the number of results.

    .venv/bin/python bench/store_write.py                  # 30,000 endpoints x 20 checks
    .venv/bin/python bench/store_write.py --endpoints 2000 --no-diff
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import Recording, Store
from probes.model import CheckResult, ProbeReport, Severity, Status

PROVINCES = ("Aceh", "Sumatera Utara", "Jawa Barat", "Jawa Timur", "Bali", "Papua", "DKI Jakarta")
STATUS_WEIGHTS = ((Status.PASS, 70), (Status.FAIL, 10), (Status.WARN, 8), (Status.ERROR, 4), (Status.SKIP, 8))


def make_endpoints(count: int) -> list[EndpointMeta]:
    endpoints = []
    for i in range(count):
        scheme = ("ssh", "grpcs", "grpc")[i % 3]
        url = f"{scheme}://app{i}.agency{i % 620}.go.id:{22 if scheme == 'ssh' else 443}"
        endpoints.append(
            EndpointMeta(
                endpoint_id=url,
                url=url,
                protocol="ssh" if scheme == "ssh" else "grpc",
                agency=f"agency-{i % 620}",
                agency_level=("kementerian", "provinsi", "kabupaten", "kota")[i % 4],
                province=PROVINCES[(i % 620) % len(PROVINCES)],  # an agency sits in one province
                application=f"app-{i}",
                vantage=None if i % 10 else "dc-jakarta",
            )
        )
    return endpoints


def make_report(url: str, checks: int, rng: random.Random) -> ProbeReport:
    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    results = []
    for n in range(checks):
        status = rng.choices(statuses, weights)[0]
        results.append(
            CheckResult(
                check_id=f"SSH-KEX-{n:03d}",
                status=status,
                severity=Severity.HIGH,
                reason=f"server offers diffie-hellman-group1-sha1 ({status.value})",
                evidence={
                    "observed": [
                        "curve25519-sha256",
                        "diffie-hellman-group14-sha256",
                        "diffie-hellman-group1-sha1",
                    ],
                    "expected": "no SHA-1 key exchange (RFC 9142)",
                },
                duration_s=0.0123,
            )
        )
    return ProbeReport(
        target=url,
        results=results,
        duration_s=0.42,
        facts={"banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "kex": ["curve25519-sha256"]},
    )


def record_sweep(
    store: Store, endpoints: list[EndpointMeta], checks: int, batch: int, seed: int
) -> tuple[str, float]:
    rng = random.Random(seed)
    sweep_id = store.create_sweep(
        inventory_path="inventory.yaml",
        inventory_hash="sha256:bench",
        inventory_name="national",
        profile="spbe-baseline",
        profile_hash="sha256:bench",
        engine="bench",
        endpoints=endpoints,
        options={"batch": batch},
    )
    # Reports are built per batch, outside the timed call: we measure the
    # store, not the generator, and memory holds one batch at a time.
    elapsed = 0.0
    for i in range(0, len(endpoints), batch):
        recordings = [
            Recording(e.endpoint_id, make_report(e.endpoint_id, checks, rng), worker="w1")
            for e in endpoints[i : i + batch]
        ]
        started = time.perf_counter()
        store.record_many(sweep_id, recordings)
        elapsed += time.perf_counter() - started
    store.set_state(sweep_id, "complete")
    return sweep_id, elapsed


def timed(label: str, fn):
    started = time.perf_counter()
    value = fn()
    print(f"  {label:<28} {time.perf_counter() - started:7.2f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=30_000)
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--no-wal", action="store_true", help="rollback journal instead of WAL")
    parser.add_argument("--no-diff", action="store_true", help="skip the second sweep and the diff")
    parser.add_argument("--path", help="database file (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.path) if args.path else Path(tmp) / "results.db"
        store = Store(path, wal=not args.no_wal)
        endpoints = make_endpoints(args.endpoints)
        rows = args.endpoints * args.checks

        sweep_a, elapsed = record_sweep(store, endpoints, args.checks, args.batch, seed=1)
        print(
            f"recorded {args.endpoints} endpoints x {args.checks} checks = {rows} result rows"
            f" in batches of {args.batch} ({'rollback journal' if args.no_wal else 'WAL'}):"
        )
        print(
            f"  {elapsed:.2f} s  ->  {rows / elapsed:,.0f} result rows/s,"
            f" {args.endpoints / elapsed:,.0f} endpoints/s"
        )

        print("reads:")
        timed("progress (cached)", lambda: store.progress(sweep_a))
        timed("summary", lambda: store.summary(sweep_a))
        scanned = timed("results scan", lambda: sum(1 for _ in store.results(sweep_a)))
        assert scanned == rows, (scanned, rows)
        timed("pending", lambda: store.pending(sweep_a))
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS after recording and reading one sweep: {peak_mib:.0f} MiB")
        if not args.no_diff:
            # The diff's lists hold every changed (endpoint, check): its memory is
            # the size of the answer (large here, as statuses are drawn at random).
            sweep_b, _ = record_sweep(store, endpoints, args.checks, args.batch, seed=2)
            diff = timed("diff of two sweeps", lambda: store.diff(sweep_a, sweep_b))
            print(
                f"  diff: {len(diff.regressions)} regressions, {len(diff.fixes)} fixes,"
                f" {len(diff.changed)} changed"
            )
        store.close()
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        print(f"database size {size / 2**20:.1f} MiB for {1 if args.no_diff else 2} sweep(s)")


if __name__ == "__main__":
    main()
