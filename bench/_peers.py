"""What every peer comparison shares: the peers' environments, timing a run, alternating pairs.

Each peer is installed as the comparison runs, in an environment of its own
(ssh-audit and sslyze pin dependencies that conflict with ours and with each
other): ``peer_venv`` makes ``build/peers/<name>`` with pip, ``apt_install``
installs a Debian package when it is missing (with the same policy-rc.d guard
as the Makefile, so apt starts no system service).

A run is timed from outside, as an operator would see it: wall clock from
start to exit, CPU seconds and peak RSS from ``wait4`` (the child and every
descendant it reaped; RSS is the largest single process). Two more CPU
figures are read from /proc before and after: ``tool_cpu``, processes of
the tool that the command did not start (blackbox_exporter's daemon), added
to the tool's CPU; and ``server_cpu``, the testbed servers the tool probed
(their cost is politeness towards agencies' servers), reported apart. And the
TCP connections the machine accepted meanwhile (``/proc/net/snmp``
PassiveOpens: on an otherwise quiet loopback testbed, the connections the
tool opened).

``alternate`` runs the two sides A B A B ... so a drift of this shared
machine's speed falls on both; ``compare`` gives the medians and the median
of the pair-by-pair ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _measure as measure

PEERS_DIR = ROOT / "build" / "peers"
POLICY_RC = Path("/usr/sbin/policy-rc.d")
RUN_TIMEOUT_S = 900.0  # one side of one pair; a peer that hangs longer is killed and the run fails


def log(message: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peer_venv(name: str, requirements: Sequence[str]) -> Path:
    """``build/peers/<name>/bin``, with ``requirements`` installed by pip (once; a stamp names them)."""
    home = PEERS_DIR / name
    stamp = home / ".installed"
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted:
        return home / "bin"
    log(f"installing {' '.join(requirements)} into {home}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "-q", *requirements],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    stamp.write_text(wanted)
    return home / "bin"


def apt_install(*packages: str) -> None:
    """Install the Debian packages that are missing; no system service is started."""
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if not missing:
        return
    log(f"installing Debian packages: {' '.join(missing)}")
    made_policy = not POLICY_RC.exists()
    if made_policy:
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdin=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
    finally:
        if made_policy:
            POLICY_RC.unlink(missing_ok=True)


def passive_opens() -> int:
    """TCP connections this machine has accepted since boot (/proc/net/snmp, Tcp: PassiveOpens)."""
    lines = [
        line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Tcp:")
    ]
    header, values = lines[0], lines[1]
    return int(values[header.index("PassiveOpens")])


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # the tool: the command and the descendants it reaped, plus ``tool_cpu``
    rss_mib: float  # the largest single process of the command
    server_cpu_s: float  # the servers it probed, with the per-connection children they reaped
    connections: int  # TCP connections accepted on the machine during the run
    returncode: int
    output: str = field(default="", repr=False)


def run_timed(
    argv: Sequence[str],
    *,
    tool_cpu: Callable[[], float] = lambda: 0.0,
    server_cpu: Callable[[], float] = lambda: 0.0,
    env: dict[str, str] | None = None,
    timeout_s: float = RUN_TIMEOUT_S,
    ok_codes: Sequence[int] = (0,),
) -> Run:
    """Run ``argv`` to its end and measure it; a code outside ``ok_codes`` raises with its output.

    ``os.wait4`` gives the child's CPU including every descendant it reaped,
    and the peak RSS of the largest process among them.
    """
    tool_before, server_before, opens_before = tool_cpu(), server_cpu(), passive_opens()
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        killer = threading.Timer(timeout_s, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    tool, server = tool_cpu() - tool_before, server_cpu() - server_before
    if process.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(map(str, argv[:3]))} … exited {process.returncode}:\n{text[-3000:]}")
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime + tool,
        rss_mib=usage.ru_maxrss / 1024,
        server_cpu_s=server,
        connections=passive_opens() - opens_before,
        returncode=process.returncode,
        output=text,
    )


PYTHON = ROOT / ".venv" / "bin" / "python"
SWEEP_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "INTEROP_PROGRESS_INTERVAL": "0"}
SWEEP_OK = (0, 1)  # 1: findings (the testbeds serve non-conformant servers on purpose)


def sweep_argv(inventory: Path, profile: str | Path, store: Path, concurrency: int, *more: str) -> list[str]:
    """Our side, as an operator runs it: ``interop sweep run --engine local`` printing JSON."""
    return [
        str(PYTHON),
        "-m",
        "orchestrator.cli",
        "sweep",
        "run",
        "--inventory",
        str(inventory),
        "--profile",
        str(profile),
        "--engine",
        "local",
        "--store",
        str(store),
        "--concurrency",
        str(concurrency),
        "--json",
        *more,
    ]


def run_sweep(argv: Sequence[str], store: Path, *, server_cpu: Callable[[], float]) -> Run:
    """One timed run of ``argv`` (a ``sweep_argv``) into a fresh ``store``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    return run_timed(argv, server_cpu=server_cpu, env={**os.environ, **SWEEP_ENV}, ok_codes=SWEEP_OK)


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def processes_cpu(pids: Sequence[int]) -> Callable[[], float]:
    """CPU of running processes (servers, a daemon), including the per-connection children they reaped."""
    return lambda: measure.own_and_reaped_cpu_s(list(pids))


@dataclass
class Sides:
    ours: list[Run]
    peer: list[Run]


def alternate(ours: Callable[[], Run], peer: Callable[[], Run], reps: int) -> Sides:
    """A B A B ...: ``reps`` pairs, ours first in odd pairs and the peer first in even ones."""
    sides = Sides([], [])
    for index in range(reps):
        order = (("ours", ours), ("peer", peer)) if index % 2 == 0 else (("peer", peer), ("ours", ours))
        for name, side in order:
            run = side()
            getattr(sides, name).append(run)
            log(
                f"  pair {index + 1}/{reps} {name}: {run.wall_s:.2f} s wall, {run.cpu_s:.2f} CPU-s, "
                f"{run.connections} connections"
            )
    return sides


FIGURES = ("wall_s", "cpu_s", "rss_mib", "server_cpu_s", "connections")


def compare(sides: Sides) -> dict:
    """Medians of each side and the median of the pair-by-pair peer/ours ratios (>1: we do better)."""

    def medians(runs: list[Run]) -> dict[str, float]:
        return {name: statistics.median(getattr(run, name) for run in runs) for name in FIGURES}

    ratios = {}
    for name in FIGURES:
        pairs = [
            getattr(p, name) / getattr(o, name)
            for o, p in zip(sides.ours, sides.peer, strict=True)
            if getattr(o, name) > 0
        ]
        ratios[name] = statistics.median(pairs) if pairs else None
    return {
        "ours": medians(sides.ours),
        "peer": medians(sides.peer),
        "peer_over_ours": ratios,
        "pairs": len(sides.ours),
        "runs": {"ours": [_brief(r) for r in sides.ours], "peer": [_brief(r) for r in sides.peer]},
    }


def _brief(run: Run) -> dict:
    data = asdict(run)
    data.pop("output")
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in data.items()}


# -- what a section of bench/peers.py returns ----------------------------------------------


@dataclass
class Options:
    smoke: bool  # a few endpoints, each peer once, nothing judged: the benchmark keeps working
    reps: int  # alternating pairs per comparison
    workdir: Path  # scratch space of this run (testbeds, stores, peer outputs)
    scales: tuple[int, ...] | None = None  # endpoint counts instead of the section's own


@dataclass
class Target:
    """One target of issue 12, e.g. "wall ratio >= 5": ``met`` is None when a smoke run judges nothing."""

    name: str
    value: float | None
    goal: str
    met: bool | None


@dataclass
class Comparison:
    label: str  # "SSH, 300 endpoints"
    ours: str  # what ran on our side (the command, briefly)
    peer: str  # what ran on the peer's side
    endpoints: int
    result: dict  # compare(sides)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Section:
    name: str  # "ssh", "grpc", "tls"
    comparisons: list[Comparison]
    agreement: str  # Markdown: where the two sides' verdicts agree and where not, and why
    agreement_ok: bool  # every difference is explained (the smoke test asserts this)
    facts: dict = field(default_factory=dict)  # versions, testbed shape


def ratio_target(name: str, value: float | None, minimum: float, smoke: bool) -> Target:
    met = None if smoke or value is None else value >= minimum
    return Target(name, value, f">= {minimum:g}", met)
