"""Benchmark: the results store's size after N sweeps, kept in full or with retention (``--keep``).

Starts the testbed for the inventory (default: the demo's ~1,000 endpoints)
in this process and sweeps it N times into two stores, alternating so both
see the same machine: ``full.db`` keeps every sweep, ``retained.db`` is
compacted after each sweep as ``interop serve --keep K`` does
(``orchestrator.store.compact``: the K newest complete sweeps in full, older
ones reduced to each result's endpoint, check, status and severity, space
given back with an incremental vacuum). Sizes are the database file plus its
WAL after each step. At the end a copy of ``full.db`` is compacted once
(``once.db``): the trend and the changes of a report of the newest sweep,
and the diffs of consecutive sweeps, must read the same from it as from
``full.db``.

    .venv/bin/python bench/store_retention.py                          # 10 sweeps, keep 2
    .venv/bin/python bench/store_retention.py --sweeps 4 --keep 1      # a slice

Bounded: no new sweep starts after ``--max-minutes``; what was measured is
reported with the number of sweeps it covers. Sweeps use the local engine
(``--engine ray`` works too). Only loopback traffic: the inventory's scope is
127.0.0.0/8. Prints progress on stderr and one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

from orchestrator.reports.build import build_report
from orchestrator.store import Store
from orchestrator.store.compact import compact_store, store_bytes
from orchestrator.sweep import run_sweep
from orchestrator.testbed.fleet import start_fleet

MIB = 2**20
NATIONAL_ROWS = 1_210_000  # result rows of a national sweep (docs/benchmarks.md, section 4)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def result_rows(path: Path, sweep_id: str) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM results WHERE sweep_id = ?", (sweep_id,)).fetchone()[0]


def history_view(path: Path) -> dict:
    """What history reads: the newest report's trend and changes, the diffs of consecutive sweeps."""
    with Store(path, read_only=True) as store:
        sweeps = [s.id for s in reversed(store.list_sweeps(None))]
        report = build_report(store, sweeps[-1], lang="en")
        diffs = []
        for a, b in itertools.pairwise(sweeps):
            diff = store.diff(a, b)
            diffs.append([len(diff.regressions), len(diff.fixes), len(diff.changed)])
        return {
            "trend": [(p["index"], p["predicate"]) for p in report["trend"]],
            "changes": report["changes"]["by_endpoint_counts"] if report["changes"] else None,
            "diffs": diffs,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inventory", type=Path, default=ROOT / "examples" / "demo-inventory.yaml")
    parser.add_argument("--profile", default="spbe-baseline")
    parser.add_argument("--sweeps", type=int, default=10)
    parser.add_argument("--keep", type=int, default=2)
    parser.add_argument("--engine", default="local")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="start no sweep after this")
    parser.add_argument("--workdir", type=Path, help="keep the stores here (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="store-retention-") as tmp:
        workdir = (args.workdir or Path(tmp)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        full, retained = workdir / "full.db", workdir / "retained.db"
        for path in (full, retained):
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
        deadline = time.monotonic() + args.max_minutes * 60
        steps = []
        with start_fleet(args.inventory, workdir / "testbed") as fleet:
            log(f"testbed: {len(fleet.processes)} server processes for {args.inventory.name}")
            for n in range(1, args.sweeps + 1):
                if time.monotonic() > deadline:
                    log(f"--max-minutes reached: stopping after {n - 1} sweeps")
                    break
                started = time.monotonic()
                a = run_sweep(args.inventory, args.profile, full, args.engine)
                b = run_sweep(args.inventory, args.profile, retained, args.engine)
                compaction = compact_store(retained, args.keep)
                step = {
                    "sweep": n,
                    "states": [a.state.value, b.state.value],
                    "result_rows": result_rows(full, a.sweep_id),
                    "full_bytes": store_bytes(full),
                    "retained_bytes": store_bytes(retained),
                    "compacted": len(compaction.compacted),
                    "wall_s": round(time.monotonic() - started, 1),
                }
                steps.append(step)
                log(
                    f"sweep {n}: full {step['full_bytes'] / MIB:.1f} MiB, with --keep {args.keep} "
                    f"{step['retained_bytes'] / MIB:.1f} MiB ({step['wall_s']} s for both sweeps)"
                )
        once = workdir / "once.db"
        once.unlink(missing_ok=True)
        with sqlite3.connect(full) as source, sqlite3.connect(once) as copy:
            source.backup(copy)
        compact_store(once, args.keep)
        once_bytes = store_bytes(once)
        views = [history_view(full), history_view(once)]

    if not steps:
        log("no sweep ran")
        return 1
    last = steps[-1]
    full_per_sweep = last["full_bytes"] / len(steps)
    rows = sum(step["result_rows"] for step in steps) / len(steps)
    compacted = len(steps) - min(args.keep, len(steps))
    # Compacted sweeps cost what the retained store holds beyond its K full sweeps.
    kept_bytes = min(args.keep, len(steps)) * full_per_sweep  # the K full sweeps, at the mean size
    per_compacted = (last["retained_bytes"] - kept_bytes) / compacted if compacted else None
    result = {
        "inventory": args.inventory.name,
        "sweeps": len(steps),
        "keep": args.keep,
        "result_rows_per_sweep": round(rows),
        "full_mib": round(last["full_bytes"] / MIB, 1),
        "retained_mib": round(last["retained_bytes"] / MIB, 1),
        "full_compacted_once_mib": round(once_bytes / MIB, 1),
        "full_mib_per_sweep": round(full_per_sweep / MIB, 2),
        "compacted_mib_per_sweep": round(per_compacted / MIB, 2) if per_compacted is not None else None,
        "bytes_per_row_full": round(full_per_sweep / rows),
        "bytes_per_row_compacted": round(per_compacted / rows) if per_compacted is not None else None,
        "national_sweep_mib_full": round(full_per_sweep / rows * NATIONAL_ROWS / MIB),
        "national_sweep_mib_compacted": round(per_compacted / rows * NATIONAL_ROWS / MIB)
        if per_compacted is not None
        else None,
        "history_same_after_compaction": views[0] == views[1],
        "steps": steps,
    }
    print(json.dumps(result))
    return 0 if result["history_same_after_compaction"] else 1


if __name__ == "__main__":
    sys.exit(main())
