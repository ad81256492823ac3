"""Benchmark: what one probe costs under concurrency, client and server side, per kind of endpoint.

Starts the testbed for a synthetic slice, then for each kind of endpoint
(protocol/behaviour) probes up to ``--probes`` of them at ``--concurrency``
in this process (plain asyncio, no engine, no store) and reads the CPU this
process and the testbed's servers of that protocol used. Alone, a probe's
CPU is dominated by grpcio's per-connection polling while it waits; under
concurrency that is shared, so this is the marginal cost a sweep pays.

``--without PREFIX`` (repeatable) drops the checks whose id starts with it,
e.g. ``--without GRPC-INTR`` for the gRPC probe without the interop cases.

    .venv/bin/python bench/probe_cost.py
    .venv/bin/python bench/probe_cost.py --kinds grpc/conformant+interop --without GRPC-INTR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _measure as measure
from orchestrator.inventory.synthetic import write_generated
from orchestrator.profiles import load_profile
from orchestrator.testbed.fleet import start_fleet
from probes.runner import run_probe

# ``+interop``: endpoints that declare grpc.testing.TestService, so the interop cases run.
DEFAULT_KINDS = (
    "grpc/conformant",
    "grpc/conformant+interop",
    "grpc/slow",
    "grpc/slow+interop",
    "ssh/default",
    "ssh/hardened",
)
SERVER_KINDS = {"grpc": ("grpc",), "ssh": ("openssh", "dropbear")}


async def probe_many(refs, selection, options, concurrency: int) -> tuple[float, int, int]:
    gate = asyncio.Semaphore(concurrency)
    unreachable = errors = 0

    async def one(ref) -> None:
        nonlocal unreachable, errors
        async with gate:
            report = await run_probe(ref.to_target(), selection, options)
            unreachable += report.unreachable is not None
            errors += sum(1 for result in report.results if result.status.value == "error")

    started = time.perf_counter()
    await asyncio.gather(*(one(ref) for ref in refs))
    return time.perf_counter() - started, unreachable, errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slice", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default="spbe-baseline")
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS))
    parser.add_argument("--probes", type=int, default=200, help="at most this many endpoints per kind")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--without", action="append", default=[], metavar="PREFIX")
    args = parser.parse_args()

    profile = load_profile(args.profile)
    selection = {c: s for c, s in profile.selection.items() if not c.startswith(tuple(args.without))}
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    report: dict = {
        "benchmark": "probe_cost",
        "date": now,
        "machine": measure.machine(),
        "loadavg_start": measure.loadavg(),
        "concurrency": args.concurrency,
        "without": args.without,
        "checks": len(selection),
        "bench_command": " ".join([".venv/bin/python", *sys.argv]),
        "kinds": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
        inventory = Path(tmp) / "inventory.yaml"
        write_generated(inventory, args.seed, slice_endpoints=args.slice)
        with start_fleet(inventory, Path(tmp) / "testbed", key_dir=Path(tmp) / "keys") as fleet:
            by_kind = defaultdict(list)
            for ref in fleet.endpoints():
                by_kind[measure.endpoint_kind(ref)].append(ref)
            fleet_ids = [(p.pid, measure.read_stat(p.pid).start) for p in fleet.processes]
            for kind in args.kinds:
                refs = by_kind[kind][: args.probes]
                servers = [p.pid for p in fleet.processes if p.kind in SERVER_KINDS[kind.split("/")[0]]]
                server_before, client_before = measure.own_and_reaped_cpu_s(servers), time.process_time()
                busy_before = measure.machine_busy_s()
                wall, unreachable, errors = asyncio.run(
                    probe_many(refs, selection, profile.options, args.concurrency)
                )
                time.sleep(0.2)  # servers reap their per-connection children
                client = time.process_time() - client_before
                server = measure.own_and_reaped_cpu_s(servers) - server_before
                busy = measure.machine_busy_s() - busy_before
                n = len(refs)
                report["kinds"][kind] = {
                    "probes": n,
                    "unreachable": unreachable,
                    "error_results": errors,
                    "wall_s": round(wall, 2),
                    "probes_per_s": round(n / wall, 1),
                    "client_cpu_ms": round(1000 * client / n, 1),
                    "server_cpu_ms": round(1000 * server / n, 1),
                    "machine_cpu_ms": round(1000 * busy / n, 1),
                }
                print(kind, report["kinds"][kind], file=sys.stderr)
        report["testbed_leftovers"] = measure.still_alive(fleet_ids)
    report["loadavg_end"] = measure.loadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
