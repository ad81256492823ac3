"""Section ``grpc`` of bench/peers.py: gRPC health, ours vs Prometheus' blackbox_exporter.

The servers: grpc-go's own health service (``orchestrator.testbed.go_health``),
one process per transport serving every endpoint on its own 127.x.y.1
address, plaintext and TLS (a certificate of ``TestCA`` naming
``HEALTH_NAME``; both sides verify it against the test CA).

Ours: ``interop sweep run --engine local`` with a health-only profile
(``GRPC-HLTH-001`` alone: Health/Check of the empty service name is SERVING)
at ``CONCURRENCY``. The peer: Debian's ``prometheus-blackbox-exporter`` with
a ``grpc`` prober module per transport, started once on 127.0.0.1 and driven
through ``/probe?module=…&target=…`` by a small asyncio HTTP client (this
file, ``drive``) keeping ``CONCURRENCY`` requests in flight, as Prometheus
would. The peer's CPU is the exporter's (through ``tool_cpu``) plus the
driver's, which does Prometheus' part; its RSS is the exporter's. The peer's
wall time is the driver's, from its interpreter's start: the exporter itself
is already running, as in real life. Each comparison also runs both sides on
one endpoint, so the table can give the rate once running as well as whole
runs (see ``steady_state``).
Our full baseline profile on the same plaintext endpoints is a row "for scale".

Both resident: ``interop serve --inventory … --profile health-only`` answering
``/probe?target=URL`` (``orchestrator.service.probe``), driven by the same
driver at the same concurrency as the exporter, alternating with it. Both
sides are then daemons that are already running and both pay the driver:
the comparison a cold command cannot make. CPU is each daemon's plus the
driver's; the daemons' own is in the notes.

Agreement: every endpoint that blackbox reports ``probe_success 1`` is one
where our GRPC-HLTH-001 passes, and the other way round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _peers as peers

CONCURRENCY = 32
SCALES = (200, 1000)
SMOKE_SCALE = 6
HEALTH_NAME = "health.spbe.test"  # the name in the fleet's certificate; both sides verify it
HEALTH_CHECK = "GRPC-HLTH-001"
PROBE_TIMEOUT_S = 5
DRIVER_TIMEOUT_S = 600.0
EXPORTER = "/usr/bin/prometheus-blackbox-exporter"
FIRST_OCTET = {"plaintext": 160, "tls": 170}  # 127.<octet>.x.1: the two fleets never share an address
SCHEME = {"plaintext": "grpc", "tls": "grpcs"}


# -- the servers -------------------------------------------------------------------------


@dataclass
class Fleets:
    binary: Path
    ca_path: Path
    cert: object  # pki.Issued
    running: dict[str, object]  # transport -> go_health.HealthFleet


def start_fleets(workdir: Path, count: int) -> Fleets:
    from orchestrator.testbed import go_health
    from orchestrator.testbed.pki import TestCA

    binary = go_health.build(log=peers.log)
    ca = TestCA(workdir / "ca")
    cert = ca.issue("go-health", dns_names=(HEALTH_NAME,), ip_addresses=())
    running = {}
    try:
        for transport, octet in FIRST_OCTET.items():
            running[transport] = go_health.start_fleet(
                binary,
                workdir / "servers",
                count,
                first_octet=octet,
                tls=cert if transport == "tls" else None,
                name=f"go-health-{transport}",
            )
    except Exception:
        for fleet in running.values():
            fleet.stop()
        raise
    return Fleets(binary, cert.ca_path, cert, running)


# -- our side ----------------------------------------------------------------------------


def write_inventory(path: Path, endpoints: list[tuple[str, int]], transport: str, ca_path: Path) -> None:
    tls = f", server_name: {HEALTH_NAME}, ca_file: {ca_path}" if transport == "tls" else ""
    lines = [
        "version: 1",
        "scope: {networks: [127.0.0.0/8], domains: [localhost]}",
        "agencies:",
        "  - {code: BENCH, name: Bench, level: pusat, province: '31'}",
        "applications:",
        "  - id: bench-health",
        "    name: Bench health",
        "    agency: BENCH",
        "    endpoints:",
    ]
    lines += [
        f"      - {{url: '{SCHEME[transport]}://{host}:{port}', services: [grpc.health.v1.Health]{tls}}}"
        for host, port in endpoints
    ]
    path.write_text("\n".join(lines) + "\n")


HEALTH_PROFILE = f"""name: health-only
title: gRPC health only
description: Health/Check of the empty service name, nothing else (what blackbox_exporter's grpc prober asks).
include: ["{HEALTH_CHECK}"]
"""


def sweep_argv(inventory: Path, profile: str, store: Path) -> list[str]:
    return peers.sweep_argv(inventory, profile, store, CONCURRENCY)


def our_verdicts(store: Path) -> dict[str, str]:
    """url -> GRPC-HLTH-001's status in the store's one sweep."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT e.url, r.status FROM results r JOIN endpoints e USING (sweep_id, endpoint_id) "
            "WHERE r.check_id = ?",
            (HEALTH_CHECK,),
        ).fetchall()
    return dict(rows)


def ours_runner(
    argv_for: Callable[[Path], list[str]], store: Path, fleet: Callable[[], float], probing_s: list[float]
) -> Callable[[], peers.Run]:
    """One sweep from a fresh store; the sweep's own probing time (its ``elapsed_s``: after start-up,
    inventory and store set-up) goes to ``probing_s``."""

    def run() -> peers.Run:
        result = peers.run_sweep(argv_for(store), store, server_cpu=fleet)
        probing_s.append(float(re.search(r'"elapsed_s": ([0-9.]+)', result.output).group(1)))
        return result

    return run


# -- the peer ----------------------------------------------------------------------------


def exporter_config(ca_path: Path) -> str:
    return f"""modules:
  grpc_plaintext:
    prober: grpc
    timeout: {PROBE_TIMEOUT_S}s
    grpc:
      tls: false
      preferred_ip_protocol: ip4
  grpc_tls:
    prober: grpc
    timeout: {PROBE_TIMEOUT_S}s
    grpc:
      tls: true
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: {ca_path}
        server_name: {HEALTH_NAME}
"""


@dataclass
class Exporter:
    """A resident prober answering ``/probe``: blackbox_exporter, or ``interop serve`` (``start_resident``)."""

    process: subprocess.Popen
    address: str
    version: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_daemon(argv: list[str], port: int, log_path: Path, version: str, ready_s: float) -> Exporter:
    """``argv`` listening on 127.0.0.1:``port``, its output in ``log_path``; stopped again if it never listens."""
    from orchestrator.testbed.process import wait_for_port

    with open(log_path, "ab") as log:  # the process keeps its own copy of the descriptor
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    daemon = Exporter(process, f"127.0.0.1:{port}", version)
    try:
        wait_for_port("127.0.0.1", port, ready_s, process)
    except Exception:
        daemon.stop()
        raise
    return daemon


def start_exporter(workdir: Path, ca_path: Path) -> Exporter:
    from orchestrator.testbed.process import free_port

    peers.apt_install("prometheus-blackbox-exporter")
    config = workdir / "blackbox.yml"
    config.write_text(exporter_config(ca_path))
    port = free_port()
    argv = [EXPORTER, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"]
    return start_daemon(argv, port, workdir / "blackbox.log", exporter_version(), 15)


def start_resident(workdir: Path, inventory: Path, profile: Path) -> Exporter:
    """``interop serve`` probing ``inventory``'s endpoints on request with ``profile``: ours, resident."""
    from orchestrator.testbed.process import free_port

    port = free_port()
    argv = [str(peers.PYTHON), "-m", "orchestrator.cli", "serve", "--store", str(workdir / "no-store.db")]
    argv += ["--listen", f"127.0.0.1:{port}", "--inventory", str(inventory), "--profile", str(profile)]
    return start_daemon(argv, port, workdir / "serve.log", "interop serve", 60)


def exporter_version() -> str:
    done = subprocess.run([EXPORTER, "--version"], capture_output=True, text=True, timeout=30)
    return (done.stdout or done.stderr).splitlines()[0].strip() if (done.stdout or done.stderr) else "?"


def peer_runner(
    exporter: Exporter,
    module: str,
    targets: Path,
    out: Path,
    fleet: Callable[[], float],
    exporter_cpu_s: list[float],
) -> Callable[[], peers.Run]:
    """One driven pass. Its CPU is the driver's (Prometheus' part, which an operator pays for as well)
    and the exporter's; the exporter's alone also goes to ``exporter_cpu_s``."""
    argv = [
        str(peers.PYTHON),
        str(Path(__file__).resolve()),
        "drive",
        "--exporter",
        exporter.address,
        "--module",
        module,
        "--targets",
        str(targets),
        "--out",
        str(out),
        "--concurrency",
        str(CONCURRENCY),
    ]
    exporter_cpu = peers.processes_cpu([exporter.process.pid])

    def run() -> peers.Run:
        before = exporter_cpu()
        result = peers.run_timed(argv, tool_cpu=exporter_cpu, server_cpu=fleet)
        exporter_cpu_s.append(exporter_cpu() - before)
        # The exporter is the peer's prober: its peak RSS since it started (a long-running daemon).
        peak_mib = peers.measure.status_kib(exporter.process.pid, "VmHWM") / 1024
        return replace(result, rss_mib=peak_mib)

    return run


# -- the driver: Prometheus' part, a bounded asyncio HTTP/1.1 client ---------------------


async def _scrape(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str) -> str:
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"X-Prometheus-Scrape-Timeout-Seconds: {PROBE_TIMEOUT_S}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    headers = dict(line.lower().split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
    if b"content-length" in headers:
        return (await reader.readexactly(int(headers[b"content-length"]))).decode()
    body = b""  # Go's net/http chunks answers it does not know the length of
    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
        body += (await reader.readexactly(size + 2))[:-2]
    await reader.readuntil(b"\r\n")
    return body.decode()


def probe_success(body: str) -> int:
    for line in body.splitlines():
        if line.startswith(("probe_success ", "interop_probe_success ")):
            return int(float(line.split()[1]))
    raise ValueError("no probe_success in the exporter's answer")


async def _drive(exporter: str, module: str, targets: list[str], concurrency: int) -> dict[str, int]:
    host, port = exporter.rsplit(":", 1)
    queue = list(reversed(targets))
    results: dict[str, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue:
                target = queue.pop()
                params = {"module": module, "target": target} if module else {"target": target}
                path = "/probe?" + urlencode(params)
                results[target] = probe_success(await _scrape(reader, writer, exporter, path))
        finally:
            writer.close()

    async with asyncio.timeout(DRIVER_TIMEOUT_S):
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(targets)))))
    return results


def drive_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="peers_grpc.py drive")
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--module", default="", help="blackbox_exporter's module; none for interop serve")
    parser.add_argument("--targets", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args(argv)
    targets = args.targets.read_text().split()
    results = asyncio.run(_drive(args.exporter, args.module, targets, args.concurrency))
    args.out.write_text(json.dumps(results))
    return 0


# -- comparisons -------------------------------------------------------------------------


@dataclass
class Agreement:
    label: str
    endpoints: int
    both_ok: int
    both_failed: int
    only_ours: list[str]  # we pass, blackbox fails
    only_peer: list[str]  # blackbox succeeds, we do not pass

    @property
    def ok(self) -> bool:
        return not self.only_ours and not self.only_peer and self.both_ok == self.endpoints


def agreement_of(
    label: str, endpoints: list[tuple[str, int]], transport: str, ours: dict[str, str], peer: dict[str, int]
) -> Agreement:
    both_ok = both_failed = 0
    only_ours, only_peer = [], []
    for host, port in endpoints:
        url, target = f"{SCHEME[transport]}://{host}:{port}", f"{host}:{port}"
        we_pass, they_pass = ours.get(url) == "pass", peer.get(target) == 1
        if we_pass and they_pass:
            both_ok += 1
        elif not we_pass and not they_pass:
            both_failed += 1
        else:
            (only_ours if we_pass else only_peer).append(
                f"{target} (ours {ours.get(url)}, blackbox {peer.get(target)})"
            )
    return Agreement(label, len(endpoints), both_ok, both_failed, only_ours, only_peer)


def per_probe_ms(seconds: float, probes: int) -> str:
    return f"{seconds / probes * 1000:.2f} ms"


def steady_state(whole: dict, single: dict, count: int) -> dict:
    """Per-probe wall and CPU once both sides are running: (N endpoints - 1 endpoint) / (N - 1).

    Subtracting a one-endpoint run removes what each side pays once per run:
    for ours the interpreter, imports, inventory and store set-up (~0.5 s);
    for the peer its driver's start (the exporter is a daemon, already up).
    """
    figures = {}
    for side in ("ours", "peer"):
        wall = (whole[side]["wall_s"] - single[side]["wall_s"]) / (count - 1)
        cpu = (whole[side]["cpu_s"] - single[side]["cpu_s"]) / (count - 1)
        figures[side] = {
            "probes_per_s": 1 / wall if wall > 0 else None,
            "cpu_ms_per_probe": cpu * 1000,
            "fixed_wall_s": single[side]["wall_s"],
            "fixed_cpu_s": single[side]["cpu_s"],
        }
    ours, peer = figures["ours"], figures["peer"]
    figures["throughput_ratio"] = (
        ours["probes_per_s"] / peer["probes_per_s"] if ours["probes_per_s"] and peer["probes_per_s"] else None
    )
    figures["cpu_ratio"] = (
        peer["cpu_ms_per_probe"] / ours["cpu_ms_per_probe"] if ours["cpu_ms_per_probe"] > 0 else None
    )
    return figures


@dataclass
class Workload:
    inventory: Path
    targets: Path
    out: Path


def workload(work: Path, endpoints: list[tuple[str, int]], transport: str, ca_path: Path) -> Workload:
    work.mkdir(parents=True, exist_ok=True)
    inventory, targets = work / "inventory.yaml", work / "targets.txt"
    write_inventory(inventory, endpoints, transport, ca_path)
    targets.write_text("".join(f"{host}:{port}\n" for host, port in endpoints))
    return Workload(inventory, targets, work / "blackbox.json")


def health_comparison(
    options: peers.Options, fleets: Fleets, exporter: Exporter, transport: str, count: int
) -> tuple[peers.Comparison, Agreement]:
    fleet = fleets.running[transport]
    endpoints = fleet.endpoints[:count]
    work = options.workdir / f"{transport}-{count}"
    profile, store = work / "health-only.yaml", work / "results.db"
    whole, single = (
        workload(work, endpoints, transport, fleets.ca_path),
        workload(work / "one", endpoints[:1], transport, fleets.ca_path),
    )
    profile.write_text(HEALTH_PROFILE)
    fleet_cpu = peers.processes_cpu([fleet.pid])
    exporter_cpu: list[float] = []
    probing: list[float] = []
    module = f"grpc_{transport}"
    ours = ours_runner(lambda s: sweep_argv(whole.inventory, str(profile), s), store, fleet_cpu, probing)
    peer = peer_runner(exporter, module, whole.targets, whole.out, fleet_cpu, exporter_cpu)
    peers.log(f"grpc health {transport}, {count} endpoints, {options.reps} pair(s)")
    result = peers.compare(peers.alternate(ours, peer, options.reps))
    label = f"gRPC health {transport}, {count} endpoints"
    agreement = agreement_of(
        label, endpoints, transport, our_verdicts(store), json.loads(whole.out.read_text())
    )
    peers.log(f"grpc health {transport}, 1 endpoint (what a run costs once), {options.reps} pair(s)")
    fixed = peers.compare(
        peers.alternate(
            ours_runner(lambda s: sweep_argv(single.inventory, str(profile), s), store, fleet_cpu, []),
            peer_runner(exporter, module, single.targets, single.out, fleet_cpu, []),
            options.reps,
        )
    )
    steady = steady_state(result, fixed, count)
    result["steady_state"] = steady
    wall_ours, wall_peer = result["ours"]["wall_s"], result["peer"]["wall_s"]
    exporter_s = statistics.median(exporter_cpu)
    notes = [
        (
            f"Whole runs: ours {count / wall_ours:.0f} probes/s, blackbox {count / wall_peer:.0f} probes/s; CPU per "
            f"probe: ours {per_probe_ms(result['ours']['cpu_s'], count)} (the sweep command), blackbox "
            f"{per_probe_ms(result['peer']['cpu_s'], count)} = exporter {per_probe_ms(exporter_s, count)} + "
            f"driver {per_probe_ms(result['peer']['cpu_s'] - exporter_s, count)} (the driver does what Prometheus "
            f"would: one HTTP request per probe). The peer's RSS is the exporter's peak since it started."
        ),
        (
            f"Once running (N endpoints minus a run of one): ours {steady['ours']['probes_per_s'] or 0:.0f} "
            f"probes/s and {steady['ours']['cpu_ms_per_probe']:.2f} ms CPU per probe, blackbox "
            f"{steady['peer']['probes_per_s'] or 0:.0f} probes/s and {steady['peer']['cpu_ms_per_probe']:.2f} ms; "
            f"what a run costs once: ours {steady['ours']['fixed_wall_s']:.2f} s / "
            f"{steady['ours']['fixed_cpu_s']:.2f} CPU-s (interpreter, imports, inventory, store), blackbox "
            f"{steady['peer']['fixed_wall_s']:.2f} s / {steady['peer']['fixed_cpu_s']:.2f} CPU-s (its exporter "
            f"is a daemon, already running)."
        ),
        (
            f"grpc-go server CPU per probe: ours {per_probe_ms(result['ours']['server_cpu_s'], count)}, blackbox "
            f"{per_probe_ms(result['peer']['server_cpu_s'], count)}; our sweep's own probing phase (its elapsed_s): "
            f"{count / statistics.median(probing):.0f} probes/s."
        ),
    ]
    ratio = result["peer_over_ours"]
    targets_ = [
        peers.ratio_target("throughput ratio, whole runs", ratio["wall_s"], 1.0, options.smoke),
        peers.ratio_target("CPU ratio, whole runs", ratio["cpu_s"], 1.0, options.smoke),
        peers.ratio_target("throughput ratio, once running", steady["throughput_ratio"], 1.0, options.smoke),
        peers.ratio_target("CPU per probe ratio, once running", steady["cpu_ratio"], 1.0, options.smoke),
    ]
    comparison = peers.Comparison(
        label=label,
        ours=f"interop sweep run --profile health-only ({HEALTH_CHECK}) --engine local "
        f"--concurrency {CONCURRENCY}",
        peer=f"blackbox_exporter /probe?module={module} × {count}, {CONCURRENCY} in flight",
        endpoints=count,
        result=result,
        targets=targets_,
        notes=notes,
    )
    return comparison, agreement


def resident_comparison(
    options: peers.Options, fleets: Fleets, exporter: Exporter, transport: str, count: int
) -> tuple[peers.Comparison, Agreement]:
    """``interop serve``'s /probe against blackbox_exporter's, both resident, the same driver for both."""
    fleet = fleets.running[transport]
    endpoints = fleet.endpoints[:count]
    work = options.workdir / f"resident-{transport}-{count}"
    load = workload(work, endpoints, transport, fleets.ca_path)
    urls, ours_out, profile = work / "urls.txt", work / "ours.json", work / "health-only.yaml"
    urls.write_text("".join(f"{SCHEME[transport]}://{host}:{port}\n" for host, port in endpoints))
    profile.write_text(HEALTH_PROFILE)
    fleet_cpu = peers.processes_cpu([fleet.pid])
    module = f"grpc_{transport}"
    served = start_resident(work, load.inventory, profile)
    ours_daemon: list[float] = []
    peer_daemon: list[float] = []
    try:
        ours = peer_runner(served, "", urls, ours_out, fleet_cpu, ours_daemon)
        peer = peer_runner(exporter, module, load.targets, load.out, fleet_cpu, peer_daemon)
        ours()  # the first probes load what a running service has loaded (profile, inventory, TLS roots)
        peers.log(f"grpc health {transport}, {count} endpoints, both resident, {options.reps} pair(s)")
        result = peers.compare(peers.alternate(ours, peer, options.reps))
    finally:
        served.stop()
    label = f"gRPC health {transport}, {count} endpoints, both resident"
    verdicts = {url: "pass" if ok == 1 else "fail" for url, ok in json.loads(ours_out.read_text()).items()}
    agreement = agreement_of(label, endpoints, transport, verdicts, json.loads(load.out.read_text()))
    daemon_ours, daemon_peer = statistics.median(ours_daemon), statistics.median(peer_daemon)
    notes = [
        (
            f"Both daemons already running, driven alike: ours {count / result['ours']['wall_s']:.0f} probes/s, "
            f"blackbox {count / result['peer']['wall_s']:.0f} probes/s. CPU per probe, daemon alone: interop "
            f"serve {per_probe_ms(daemon_ours, count)}, blackbox_exporter {per_probe_ms(daemon_peer, count)} "
            f"(ratio {daemon_peer / daemon_ours:.2f}); the driver's "
            f"{per_probe_ms(result['ours']['cpu_s'] - daemon_ours, count)} on each side is in the CPU columns."
        )
    ]
    ratio = result["peer_over_ours"]
    comparison = peers.Comparison(
        label=label,
        ours=f"interop serve --inventory … --profile health-only, /probe?target=URL × {count}, "
        f"{CONCURRENCY} in flight",
        peer=f"blackbox_exporter /probe?module={module} × {count}, {CONCURRENCY} in flight",
        endpoints=count,
        result=result,
        targets=[
            peers.ratio_target("throughput ratio, both resident", ratio["wall_s"], 1.0, options.smoke),
            peers.ratio_target(
                "daemon CPU per probe ratio, both resident", daemon_peer / daemon_ours, 1.0, options.smoke
            ),
        ],
        notes=notes,
    )
    return comparison, agreement


def baseline_comparison(
    options: peers.Options, fleets: Fleets, exporter: Exporter, count: int
) -> peers.Comparison:
    """Our full baseline profile on the plaintext endpoints, against the same blackbox pass: for scale."""
    fleet = fleets.running["plaintext"]
    endpoints = fleet.endpoints[:count]
    work = options.workdir / f"baseline-{count}"
    load, store = workload(work, endpoints, "plaintext", fleets.ca_path), work / "results.db"
    fleet_cpu = peers.processes_cpu([fleet.pid])
    ours = ours_runner(lambda s: sweep_argv(load.inventory, "spbe-baseline", s), store, fleet_cpu, [])
    peer = peer_runner(exporter, "grpc_plaintext", load.targets, load.out, fleet_cpu, [])
    peers.log(f"grpc baseline for scale, {count} endpoints, 1 pair")
    result = peers.compare(peers.alternate(ours, peer, 1))
    return peers.Comparison(
        label=f"gRPC full baseline (for scale), {count} endpoints",
        ours=f"interop sweep run --profile spbe-baseline --engine local --concurrency {CONCURRENCY}",
        peer="blackbox_exporter /probe?module=grpc_plaintext (health only)",
        endpoints=count,
        result=result,
        notes=[
            (
                f"For scale, not a target: the baseline asks every gRPC check of the profile (health of each "
                f"service, Watch, List, reflection, descriptors, UNIMPLEMENTED behaviour, identity, latency), "
                f"blackbox one Health/Check. Ours {count / result['ours']['wall_s']:.0f} endpoints/s, "
                f"{per_probe_ms(result['ours']['cpu_s'], count)} CPU per endpoint."
            )
        ],
    )


def agreement_markdown(agreements: list[Agreement]) -> str:
    lines = [
        "**gRPC health agreement** (blackbox `probe_success 1` ⇔ our GRPC-HLTH-001 pass):",
        "",
        "| Comparison | Endpoints | Both SERVING | Both failed | Only ours pass | Only blackbox succeeds |",
        "|---|---|---|---|---|---|",
    ]
    for a in agreements:
        lines.append(
            f"| {a.label} | {a.endpoints} | {a.both_ok} | {a.both_failed} | {len(a.only_ours)} "
            f"| {len(a.only_peer)} |"
        )
    differences = [d for a in agreements for d in (*a.only_ours, *a.only_peer)]
    if differences:
        lines += ["", "Differences (unexplained):", *[f"- {d}" for d in differences[:20]]]
    else:
        lines += ["", "Every endpoint SERVING, and both tools say so for every one."]
    return "\n".join(lines)


def run(options: peers.Options) -> peers.Section:
    scales = (SMOKE_SCALE,) if options.smoke else (options.scales or SCALES)
    fleets = start_fleets(options.workdir / "grpc", max(scales))
    exporter = None
    try:
        exporter = start_exporter(options.workdir / "grpc", fleets.ca_path)
        comparisons, agreements = [], []
        for count in scales:
            for transport in ("plaintext", "tls"):
                for compare in (health_comparison, resident_comparison):
                    comparison, agreement = compare(options, fleets, exporter, transport, count)
                    comparisons.append(comparison)
                    agreements.append(agreement)
        comparisons.append(baseline_comparison(options, fleets, exporter, min(scales)))
        facts = {
            "exporter": exporter.version,
            "server": f"grpc-go health+reflection ({fleets.binary})",
            "concurrency": CONCURRENCY,
            "health_check": HEALTH_CHECK,
            "fleet_processes": len(fleets.running),
            "agreement": [
                {
                    "label": a.label,
                    "endpoints": a.endpoints,
                    "both_serving": a.both_ok,
                    "both_failed": a.both_failed,
                    "only_ours": a.only_ours,
                    "only_peer": a.only_peer,
                }
                for a in agreements
            ],
        }
    finally:
        if exporter is not None:
            exporter.stop()
        for fleet in fleets.running.values():
            fleet.stop()
    return peers.Section(
        "grpc", comparisons, agreement_markdown(agreements), all(a.ok for a in agreements), facts
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["drive"]:
        sys.exit(drive_main(sys.argv[2:]))
    sys.exit(f"usage: {sys.argv[0]} drive …  (the section runs from bench/peers.py --only grpc)")
