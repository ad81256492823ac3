"""Benchmark: ``interop gate`` as a CI job runs it, the whole command, on one healthy target and on ten.

Starts conformant gRPC servers (one process, ``--targets`` loopback
addresses, one port each) and a hardened OpenSSH on 127.0.0.1, then runs the installed ``interop`` console
script ``--runs`` times per case, in turn (one, ten, one, ten ...), and
reports the wall time of each case (min / median / max): Python start-up,
imports, probing and writing the JUnit, SARIF, Markdown and JSON files
included. Each run must exit 0 (the targets are conformant); a run that
does not is reported and fails the benchmark.

    .venv/bin/python bench/gate.py
    .venv/bin/python bench/gate.py --runs 9 --targets 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.sshd import host_key, start_openssh

INTEROP = Path(sys.executable).parent / "interop"


def gate_command(urls: list[str], out: Path) -> list[str]:
    files = [
        arg for name in ("junit", "sarif", "md", "json") for arg in (f"--{name}", str(out / f"gate.{name}"))
    ]
    return [str(INTEROP), "gate", *urls, *files]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return elapsed


def spread(samples: list[float]) -> dict[str, float]:
    return {
        "min": round(min(samples), 3),
        "median": round(statistics.median(samples), 3),
        "max": round(max(samples), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (after one warm-up each)")
    parser.add_argument("--targets", type=int, default=10, help="gRPC targets in the many-target case")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        # Each target on a host of its own (127.0.0.1, .2 ...), as a CI job's targets are: the gate's
        # per-host limit (2) would otherwise queue ten ports of one address.
        specs = [
            GrpcServerSpec(f"ok{i}", host=f"127.0.0.{i + 1}", identity=("32.73", f"app-{i}"))
            for i in range(args.targets)
        ]
        with (
            start_grpc_servers(specs, work / "grpc") as servers,
            start_openssh(work, "hardened", host_keys=[host_key(work / "keys", "ed25519")]) as sshd,
        ):
            grpc_urls = [f"grpc://{spec.host}:{spec.ports[0]}" for spec in servers.specs.values()]
            cases = {
                "one gRPC target": gate_command(grpc_urls[:1], work),
                "one SSH target": gate_command([f"ssh://127.0.0.1:{sshd.port}"], work),
                f"{args.targets} gRPC targets": gate_command(grpc_urls, work),
            }
            for argv in cases.values():
                timed(argv)  # warm-up: page cache, .pyc files
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for run in range(args.runs):
                for name, argv in cases.items():
                    samples[name].append(timed(argv))
                print(
                    f"run {run + 1}/{args.runs}: "
                    + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in samples.items()),
                    file=sys.stderr,
                )
    results = {name: spread(values) for name, values in samples.items()}
    many, one = results[f"{args.targets} gRPC targets"]["median"], results["one gRPC target"]["median"]
    print(json.dumps({"runs": args.runs, "wall_s": results, "many_over_one": round(many / one, 2)}))


if __name__ == "__main__":
    main()
