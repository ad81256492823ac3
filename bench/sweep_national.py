"""Benchmark: sweep a synthetic inventory served by the loopback testbed on this same machine.

Starts the testbed (``start_fleet``) in this process, runs the sweep as the
operator would (``python -m orchestrator.cli sweep run ... --json``) in a
child process, and samples /proc meanwhile: the sweep's driver and its Ray
processes (CPU, RSS, PSS), the testbed's servers (CPU including the sshd
children they reaped), and whatever else ran on the machine. Then stops the
testbed, checks that no process it or the sweep started is left, and prints
one JSON line of results.

    .venv/bin/python bench/sweep_national.py --full                          # 32,919 endpoints, Ray
    .venv/bin/python bench/sweep_national.py --slice 5000 --grpcs-share 0    # without TLS, as before
    .venv/bin/python bench/sweep_national.py --slice 5000 --engine local
    .venv/bin/python bench/sweep_national.py --inventory examples/demo-inventory.yaml
    .venv/bin/python bench/sweep_national.py --slice 3000 --latency-ms 200 --per-host 8 --alone 3

``--alone N`` first probes N endpoints of every (protocol, behaviour) of the
inventory one at a time on the same testbed: what one probe costs alone
(wall, client CPU, server CPU). From it: the mean probe time over the
inventory's mix, the concurrency-limited ideal throughput
(concurrency / mean probe time) and the fraction of it the sweep achieved.

Bounded: the sweep gets ``--timeout-s`` (then SIGINT, which keeps results
and marks the sweep interrupted; SIGKILL if it does not stop). Only loopback
traffic: the synthetic inventories' scope is 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

from bench import _measure as measure
from orchestrator.inventory.synthetic import GRPCS_SHARE, write_generated
from orchestrator.testbed.fleet import Fleet, start_fleet


def prepare_inventory(args: argparse.Namespace, workdir: Path) -> tuple[Path, str]:
    """The inventory file and how it was made (for the report)."""
    if args.inventory:
        return Path(args.inventory).resolve(), str(args.inventory)
    path = workdir / "inventory.yaml"
    options = (
        {"grpcs_share": args.grpcs_share}
        if args.full
        else {"slice_endpoints": args.slice, "grpcs_share": args.grpcs_share}
    )
    write_generated(path, args.seed, **options)
    with open(path, encoding="utf-8") as header:
        return path, header.readline().split(": ", 1)[1].strip()  # the command the file's header names


def sweep_command(args: argparse.Namespace, inventory: Path, store: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "sweep",
        "run",
        "--inventory",
        str(inventory),
        "--profile",
        args.profile,
        "--store",
        str(store),
        "--engine",
        args.engine,
        "--json",
        "--no-summary",
    ]
    for flag, value in (
        ("--concurrency", args.concurrency),
        ("--per-host", args.per_host),
        ("--num-cpus", args.num_cpus),
    ):
        if value is not None:
            command += [flag, str(value)]
    return command


# -- one probe at a time -------------------------------------------------------------


def endpoint_kind(ref) -> str:
    """``measure.endpoint_kind`` with the TLS side: ``…/grpcs``, or ``…/grpcs-refused`` where the gRPC
    client refuses the certificate and the gRPC checks end early (``TlsProblem.grpc_refused``)."""
    from orchestrator.testbed.fleet_plan import TLS_PROBLEMS, tls_problem_of

    if ref.scheme != "grpcs":
        return measure.endpoint_kind(ref)
    refused = TLS_PROBLEMS[tls_problem_of(ref)].grpc_refused
    return measure.endpoint_kind(ref) + ("/grpcs-refused" if refused else "/grpcs")


def probe_alone(fleet: Fleet, profile_name: str, per_class: int) -> dict[str, dict]:
    """Wall, client CPU and server CPU of single probes, per kind of endpoint (``measure.endpoint_kind``)."""
    from orchestrator.profiles import load_profile
    from probes.runner import run_probe

    profile = load_profile(profile_name)
    servers = [p.pid for p in fleet.processes]
    classes: dict[str, list] = defaultdict(list)
    for ref in fleet.endpoints():
        classes[endpoint_kind(ref)].append(ref)

    async def one_class(refs) -> dict:
        walls = []
        client = server = 0.0
        for ref in refs[:per_class]:
            server_before = measure.own_and_reaped_cpu_s(servers)
            cpu_before, started = time.process_time(), time.perf_counter()
            report = await run_probe(ref.to_target(), profile.selection, profile.options)
            walls.append(time.perf_counter() - started)
            client += time.process_time() - cpu_before
            time.sleep(0.05)  # noqa: ASYNC251 - nothing else runs on this loop; let the server reap its per-connection children before reading
            server += measure.own_and_reaped_cpu_s(servers) - server_before
            if report.unreachable:
                raise RuntimeError(f"{ref.url} unreachable in the alone measurement: {report.unreachable}")
        n = len(walls)
        return {
            "probes": n,
            "wall_s_mean": round(statistics.fmean(walls), 3),
            "wall_s_max": round(max(walls), 3),
            "client_cpu_ms": round(1000 * client / n, 1),
            "server_cpu_ms": round(1000 * server / n, 1),
        }

    async def run_all() -> dict[str, dict]:
        return {name: await one_class(refs) for name, refs in sorted(classes.items())}

    results = asyncio.run(run_all())
    for name, refs in classes.items():
        results[name]["endpoints"] = len(refs)
    return results


def ideal(alone: dict[str, dict], fleet: Fleet, concurrency: int, per_host: int) -> dict:
    """Concurrency-limited ideal for this inventory's mix, and the per-host bound on the wall time."""
    total = sum(c["endpoints"] for c in alone.values())
    mean = sum(c["endpoints"] * c["wall_s_mean"] for c in alone.values()) / total
    host_work: Counter = Counter()
    for ref in fleet.endpoints():
        host_work[ref.host] += alone[endpoint_kind(ref)]["wall_s_mean"]
    return {
        "mean_probe_s": round(mean, 3),
        "ideal_endpoints_per_s": round(concurrency / mean, 2),
        "ideal_wall_s": round(total * mean / concurrency, 1),
        "per_host_bound_wall_s": round(max(host_work.values()) / per_host, 1),
        "hosts": len(host_work),
    }


# -- the sweep ------------------------------------------------------------------------


def run_sweep_process(
    command: list[str], workdir: Path, fleet: Fleet, timeout_s: float, interval_s: float
) -> dict:
    servers = [p.pid for p in fleet.processes]
    kinds: dict[str, list[int]] = defaultdict(list)
    for server in fleet.processes:
        kinds[server.kind].append(server.pid)
    kind_before = {kind: measure.own_and_reaped_cpu_s(pids) for kind, pids in kinds.items()}
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    stdout_path, stderr_path = workdir / "sweep.stdout", workdir / "sweep.stderr"
    testbed_before = measure.own_and_reaped_cpu_s(servers)
    busy_before, bench_before = measure.machine_busy_s(), time.process_time()
    started = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
    sampler = measure.TreeSampler(process.pid, set(servers), interval_s).start()
    interrupted = False
    rusage = None
    while True:  # wait4 ourselves: its rusage counts the driver and what it reaped
        pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() - started > timeout_s and not interrupted:
            interrupted = True
            process.send_signal(signal.SIGINT)  # the sweep keeps its results and stops Ray
            kill_at = time.monotonic() + 120
        if interrupted and time.monotonic() > kill_at:
            process.kill()
        time.sleep(0.1)
    wall = time.monotonic() - started
    sampler.stop()
    sampler.sample()  # processes that outlived the driver, if any
    testbed_cpu = measure.own_and_reaped_cpu_s(servers) - testbed_before
    testbed_by_kind = {
        kind: round(measure.own_and_reaped_cpu_s(pids) - kind_before[kind], 1) for kind, pids in kinds.items()
    }
    busy = measure.machine_busy_s() - busy_before
    bench_cpu = time.process_time() - bench_before
    tree_cpu = sampler.tree_cpu_s()
    sweep_cpu = sum(tree_cpu.values())
    try:
        outcome = json.loads(stdout_path.read_text())
    except ValueError:
        outcome = {"error": "no JSON outcome", "stderr": stderr_path.read_text()[-2000:]}
    return {
        "exit_code": process.returncode,
        "timed_out": interrupted,
        "wall_s": round(wall, 1),
        "outcome": outcome,
        "sweep_cpu_s": round(sweep_cpu, 1),
        "sweep_cpu_by_process": tree_cpu,
        "sweep_rusage_cpu_s": round(rusage.ru_utime + rusage.ru_stime, 1),
        "testbed_cpu_s": round(testbed_cpu, 1),
        "testbed_cpu_s_by_kind": testbed_by_kind,
        "bench_cpu_s": round(bench_cpu, 1),
        "other_cpu_s": round(max(0.0, busy - sweep_cpu - testbed_cpu - bench_cpu), 1),
        "machine_busy_cpu_s": round(busy, 1),
        "busiest_other_processes": sampler.busiest_others(),
        "driver_peak_rss_mib": round(sampler.root_hwm_kib / 1024, 1),
        "ray_rss_peak_mib": round(sampler.children_rss_peak / 2**20, 1),
        "ray_pss_peak_mib": round(sampler.children_pss_peak / 2**20, 1),
        "ray_processes": len({k for k in sampler.processes if k[0] != process.pid}),
        "testbed_rss_peak_mib": round(sampler.ours_rss_peak / 2**20, 1),
        "sweep_leftovers": sampler.leftovers(),
    }


def timeline(store: Path) -> dict:
    """When endpoints finished (from the store), probe durations under load, result rows."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT o.finished_at, e.protocol, o.duration_s, o.attempts, o.worker FROM outcomes o "
            "JOIN endpoints e USING (sweep_id, endpoint_id)"
        ).fetchall()
        results = db.execute("SELECT count(*) FROM results").fetchone()[0]
        errors = db.execute(
            "SELECT check_id, substr(reason, 1, 80), count(*) FROM results WHERE status = 'error' "
            "GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"
        ).fetchall()
    finally:
        db.close()
    if not rows:
        return {"result_rows": results}
    times = sorted(datetime.fromisoformat(r[0]).timestamp() for r in rows)
    first = times[0]

    def at(fraction: float) -> float:
        return round(times[min(len(times) - 1, int(fraction * len(times)))] - first, 1)

    durations: dict[str, list[float]] = defaultdict(list)
    for _, protocol, duration, _, _ in rows:
        durations[protocol].append(duration)
    middle = at(0.95) - at(0.05)
    return {
        "result_rows": results,
        "finished_s_after_first": {"p05": at(0.05), "p50": at(0.5), "p95": at(0.95), "p100": at(1.0)},
        "steady_endpoints_per_s": round(0.9 * len(times) / middle, 2) if middle > 0 else None,
        "probe_s_under_load": {p: round(statistics.fmean(d), 3) for p, d in sorted(durations.items())},
        "retried_endpoints": sum(1 for r in rows if r[3] > 1),
        "top_errors": [{"check": c, "reason": r, "count": n} for c, r, n in errors],
        "workers": len({r[4] for r in rows}),
    }


def store_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.parent.glob(store.name + "*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--full", action="store_true", help="the national inventory (27,400 applications)")
    what.add_argument("--slice", type=int, default=1000, help="a slice of about N endpoints (default 1000)")
    what.add_argument("--inventory", help="an inventory file the testbed can serve")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--grpcs-share",
        type=float,
        default=GRPCS_SHARE,
        help=f"share of gRPC endpoints on grpcs:// (default {GRPCS_SHARE}, the generator's)",
    )
    parser.add_argument("--profile", default="spbe-baseline")
    parser.add_argument("--engine", choices=("ray", "local"), default="ray")
    parser.add_argument("--concurrency", type=int, help="default: the engine's (256)")
    parser.add_argument("--per-host", type=int, help="default: the engine's (2)")
    parser.add_argument("--num-cpus", type=int)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every gRPC response")
    parser.add_argument(
        "--alone",
        type=int,
        default=0,
        metavar="N",
        help="first probe N endpoints per (protocol, behaviour) one at a time",
    )
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="bound on the sweep")
    parser.add_argument("--interval-s", type=float, default=1.0, help="sampling interval")
    parser.add_argument("--workdir", help="default: a temporary directory, removed at the end")
    args = parser.parse_args()

    from orchestrator.engine.limits import Limits

    concurrency = args.concurrency or Limits().concurrency
    per_host = args.per_host or Limits().per_host
    report: dict = {
        "benchmark": "sweep",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": measure.machine(),
        "loadavg_start": measure.loadavg(),
        "engine": args.engine,
        "concurrency": concurrency,
        "per_host": per_host,
        "latency_ms": args.latency_ms,
        "profile": args.profile,
        "bench_command": " ".join([".venv/bin/python", *sys.argv]),
    }
    with tempfile.TemporaryDirectory(prefix="bench-sweep-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        inventory, made_by = prepare_inventory(args, workdir)
        report["inventory"] = made_by
        store = workdir / "results.db"
        fleet = start_fleet(
            inventory, workdir / "testbed", latency_s=args.latency_ms / 1000, key_dir=workdir / "keys"
        )
        fleet_ids = [(p.pid, measure.read_stat(p.pid).start) for p in fleet.processes]
        try:
            report["endpoints"] = len(fleet.endpoints())
            report["testbed"] = {
                "startup_s": round(fleet.startup_s, 1),
                "processes": len(fleet.processes),
                "kinds": dict(Counter(p.kind for p in fleet.processes)),
            }
            print(
                f"testbed: {report['endpoints']} endpoints on {len(fleet.processes)} processes, "
                f"up in {fleet.startup_s:.1f} s",
                file=sys.stderr,
            )
            if args.alone:
                alone = probe_alone(fleet, args.profile, args.alone)
                report["alone"] = alone
                report["ideal"] = ideal(alone, fleet, concurrency, per_host)
                print(json.dumps({"alone": alone, "ideal": report["ideal"]}, indent=1), file=sys.stderr)
            command = sweep_command(args, inventory, store)
            report["sweep_command"] = " ".join(command)
            print(f"sweep: {report['sweep_command']}", file=sys.stderr)
            report.update(run_sweep_process(command, workdir, fleet, args.timeout_s, args.interval_s))
        finally:
            stopped = fleet.stop()
        report["testbed_leftovers"] = measure.still_alive(fleet_ids) + list(stopped.leftovers)
        report["store_mib"] = round(store_bytes(store) / 2**20, 1) if store.exists() else None
        if store.exists():
            report.update(timeline(store))
    outcome = report.get("outcome", {})
    probed = outcome.get("probed") or 0
    endpoints = report["endpoints"]
    report["probing_s"] = outcome.get("elapsed_s")
    report["endpoints_per_s"] = round(probed / outcome["elapsed_s"], 2) if outcome.get("elapsed_s") else None
    report["endpoints_per_s_wall"] = round(probed / report["wall_s"], 2) if report.get("wall_s") else None
    report["sweep_cpu_ms_per_endpoint"] = round(1000 * report["sweep_cpu_s"] / endpoints, 1)
    report["testbed_cpu_ms_per_endpoint"] = round(1000 * report["testbed_cpu_s"] / endpoints, 1)
    if "ideal" in report and report["endpoints_per_s"]:
        ideal_rate = report["ideal"]["ideal_endpoints_per_s"]
        report["fraction_of_ideal"] = round(report["endpoints_per_s"] / ideal_rate, 3)
        if report.get("steady_endpoints_per_s"):
            report["steady_fraction_of_ideal"] = round(report["steady_endpoints_per_s"] / ideal_rate, 3)
    report["loadavg_end"] = measure.loadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
