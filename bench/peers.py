"""Benchmark: spbe-interop against the tools an operator would pick instead, on the same servers.

    .venv/bin/python bench/peers.py                 # every section, 5 alternating pairs each
    .venv/bin/python bench/peers.py --only ssh --reps 3
    .venv/bin/python bench/peers.py --smoke         # a few endpoints, each peer once (run by make test)

Sections (each a module ``bench/peers_<name>.py`` with ``run(Options) -> Section``):

* ``ssh``: ``interop sweep run`` with the baseline profile's SSH checks vs
  ``ssh-audit -T --skip-rate-test -j`` on 50 and 300 endpoints of the testbed
  (OpenSSH with Debian's defaults, hardened and legacy; Dropbear; TinySSH);
* ``grpc``: health-only sweeps vs blackbox_exporter's ``grpc`` prober driven
  through ``/probe`` at the same concurrency, plaintext and TLS, 200 and
  1,000 endpoints; our full baseline on the same endpoints for scale;
* ``tls``: our TLS checks vs sslyze on 200 ``grpcs://`` endpoints.

The peers install themselves as the benchmark runs (``bench/_peers.py``).
Every side runs as a whole process; pairs alternate (A B, B A, ...) and the
tables give medians and the median pair-by-pair ratio peer/ours (above 1: we
are faster, use less CPU or memory, open fewer connections). Prints one table
of ratios and the agreement of the two sides' verdicts, then one JSON line;
``--md FILE`` writes the Markdown that docs/benchmarks.md holds.
Only loopback traffic; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _peers as peers

SECTIONS = ("ssh", "grpc", "tls")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="Run only this section (repeatable; default: all)."
    )
    parser.add_argument("--reps", type=int, default=5, help="Alternating pairs per comparison (default 5).")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="A few endpoints, each side once, no target judged: checks the benchmark still works.",
    )
    parser.add_argument(
        "--scale", type=int, action="append", help="Endpoint count instead of the sections' own (repeatable)."
    )
    parser.add_argument("--md", type=Path, help="Write the Markdown tables here.")
    parser.add_argument("--json", type=Path, help="Write every figure as JSON here.")
    parser.add_argument("--workdir", type=Path, help="Scratch directory (default: a temporary one, removed).")
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def ratio_table(sections: list[peers.Section]) -> str:
    lines = [
        (
            "| Comparison | Endpoints | Ours: wall / CPU / RSS | Peer: wall / CPU / RSS | Wall ×  | CPU × | "
            "RSS × | Connections per server (ours / peer) | Server CPU (ours / peer) |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for section in sections:
        for comparison in section.comparisons:
            ours, peer = comparison.result["ours"], comparison.result["peer"]
            ratio = comparison.result["peer_over_ours"]
            per_server = comparison.endpoints or 1
            lines.append(
                f"| {comparison.label} | {comparison.endpoints} "
                f"| {fmt(ours['wall_s'], ' s')} / {fmt(ours['cpu_s'], ' s')} / {fmt(ours['rss_mib'], ' MiB', 0)} "
                f"| {fmt(peer['wall_s'], ' s')} / {fmt(peer['cpu_s'], ' s')} / {fmt(peer['rss_mib'], ' MiB', 0)} "
                f"| **{fmt(ratio['wall_s'])}** | **{fmt(ratio['cpu_s'])}** | {fmt(ratio['rss_mib'])} "
                f"| {ours['connections'] / per_server:.1f} / {peer['connections'] / per_server:.1f} "
                f"| {fmt(ours['server_cpu_s'], ' s')} / {fmt(peer['server_cpu_s'], ' s')} |"
            )
    return "\n".join(lines)


def target_table(sections: list[peers.Section]) -> str:
    lines = ["| Comparison | Target | Value | Met? |", "|---|---|---|---|"]
    for section in sections:
        for comparison in section.comparisons:
            for target in comparison.targets:
                met = {None: "not judged (smoke)", True: "**yes**", False: "**no**"}[target.met]
                lines.append(
                    f"| {comparison.label} | {target.name} {target.goal} | {fmt(target.value)} | {met} |"
                )
    return "\n".join(lines)


def markdown(sections: list[peers.Section], header: dict) -> str:
    parts = [
        f"Command: `{header['command']}`  \nMachine: {header['machine']}  \nDate: {header['date']}",
        (
            "Ratios are peer / ours, the median of the pair-by-pair ratios: above 1, spbe-interop is faster, "
            "uses less CPU or memory. CPU is the tool's (its processes, and blackbox_exporter's daemon); the "
            "servers' CPU is its own column."
        ),
        ratio_table(sections),
        target_table(sections),
    ]
    for section in sections:
        for comparison in section.comparisons:
            parts.append(f"**{comparison.label}.** Ours: `{comparison.ours}`. Peer: `{comparison.peer}`.")
            parts.extend(comparison.notes)
        parts.append(section.agreement)
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reps = 1 if args.smoke else args.reps
    names = args.only or list(SECTIONS)
    header = {
        "command": "python bench/peers.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.node()}: {peers.measure.machine()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    with tempfile.TemporaryDirectory(prefix="interop-peers-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        options = peers.Options(
            smoke=args.smoke, reps=reps, workdir=workdir, scales=tuple(args.scale) if args.scale else None
        )
        sections = []
        for name in names:
            peers.log(f"section {name}")
            module = importlib.import_module(f"bench.peers_{name}")
            sections.append(module.run(options))
    text = markdown(sections, header)
    print(text)
    if args.md:
        args.md.write_text(text)
    document = {**header, "sections": [asdict(section) for section in sections]}
    if args.json:
        args.json.write_text(json.dumps(document, indent=2, default=str))
    print(json.dumps(document, default=str))
    missed = [t for s in sections for c in s.comparisons for t in c.targets if t.met is False]
    unexplained = [s.name for s in sections if not s.agreement_ok]
    if unexplained:
        peers.log(f"unexplained disagreements in: {', '.join(unexplained)}")
    return 1 if unexplained or missed else 0


if __name__ == "__main__":
    sys.exit(main())
