"""Helpers for sweep tests: real gRPC and SSH servers on loopback addresses,
inventories and profiles written into tmp directories, and process helpers.

Endpoints are spread over several loopback addresses (127.0.0.N) because the
engine's per-host limit keys on the address: one address would serialise a
whole sweep to ``per_host`` probes at a time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Before anything imports Ray (cluster fixtures do): no usage reporting, loopback only.
import orchestrator.engine.ray_engine  # noqa: F401  (sets RAY_* in os.environ)
from orchestrator.engine.ray_start import describe_failed_start, gcs_wait, kill_processes
from orchestrator.processes import descendants
from orchestrator.store import Store
from orchestrator.testbed.grpc_server import RunningGrpcServers, start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.process import free_ports

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# Agencies used by generated inventories: (code, level, province). Endpoints
# are dealt to them in turn, so summaries have several provinces.
AGENCIES = (
    ("32.73", "kota", "32"),
    ("91", "provinsi", "91"),
    ("KEMENKES", "pusat", "31"),
)

# Checks every test profile runs: cheap, stable, and covering both protocols.
SWEEP_CHECKS = ("SSH-BANNER-*", "SSH-KEX-*", "GRPC-HLTH-*", "GRPC-REFL-*")
GRPC_CHECKS = 8  # GRPC-HLTH-001..004, GRPC-REFL-001..004
SSH_CHECKS = 5  # SSH-BANNER-001, SSH-KEX-001..004


@dataclass(frozen=True)
class Planned:
    url: str
    vantage: str | None = None
    agency: int = 0  # index into AGENCIES


def write_inventory(path: Path, endpoints: Iterable[Planned], *, extra_lines: Iterable[str] = ()) -> Path:
    """A valid inventory with one application per agency, loopback scope."""
    endpoints = list(endpoints)
    lines = ["version: 1", "scope: {networks: [127.0.0.0/8]}", "agencies:"]
    for code, level, province in AGENCIES:
        lines.append(f'  - {{code: "{code}", name: Agency {code}, level: {level}, province: "{province}"}}')
    lines.append("applications:")
    for index, (code, _, _) in enumerate(AGENCIES):
        mine = [e for e in endpoints if e.agency % len(AGENCIES) == index]
        if not mine:
            continue
        lines += [
            f"  - id: app-{index}",
            f"    name: Application {index}",
            f'    agency: "{code}"',
            "    endpoints:",
        ]
        for endpoint in mine:
            vantage = f", vantage: {endpoint.vantage}" if endpoint.vantage else ""
            lines.append(f"      - {{url: {endpoint.url}{vantage}}}")
    lines += list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_profile(path: Path, include: Iterable[str] = SWEEP_CHECKS) -> Path:
    patterns = ", ".join(f'"{p}"' for p in include)
    path.write_text(
        f"name: sweep-test\ninclude: [{patterns}]\nprobe: {{deadline_s: 10, connect_timeout_s: 2}}\n"
    )
    return path


@dataclass
class GrpcFleet:
    """One server process; each loopback host gets its own spec and ports."""

    servers: RunningGrpcServers
    urls_by_host: dict[str, list[str]]

    @property
    def urls(self) -> list[str]:
        return [url for urls in self.urls_by_host.values() for url in urls]

    def stop(self) -> None:
        self.servers.stop()


def start_grpc_fleet(
    workdir: Path, hosts: dict[str, int], latency_s: float = 0.0, name: str = "fleet"
) -> GrpcFleet:
    specs = [
        GrpcServerSpec(
            name=f"{name}-{host}",
            host=host,
            ports=free_ports(count, host),
            latency_s=latency_s,
        )
        for host, count in hosts.items()
    ]
    servers = start_grpc_servers(specs, workdir, name=name)
    return GrpcFleet(servers, {spec.host: [f"grpc://{spec.host}:{p}" for p in spec.ports] for spec in specs})


def planned(urls: Iterable[str], vantage: str | None = None) -> list[Planned]:
    return [Planned(url, vantage, index) for index, url in enumerate(urls)]


# -- store helpers --------------------------------------------------------------


def sweep_ids(store_path: Path) -> list[str]:
    if not store_path.exists():
        return []
    with Store(store_path, create=False) as store:
        return [s.id for s in store.list_sweeps(None)]


def outcome_count(store_path: Path) -> int:
    """Outcomes recorded so far, across sweeps (0 while the store does not exist)."""
    if not store_path.exists():
        return 0
    import sqlite3

    conn = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # tables not created yet
    finally:
        conn.close()


def wait_until(condition: Callable[[], object], timeout_s: float, what: str, interval_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# -- processes ------------------------------------------------------------------


# Every node on loopback; no dashboard (it wants the fixed port 8265).
RAY_NODE_DEFAULTS = {"node_ip_address": "127.0.0.1", "include_dashboard": False}
CLUSTER_ATTEMPTS = 2
CLUSTER_GCS_WAIT_S = "50"  # per attempt; both attempts fit the modules' timeout


def start_cluster(head: dict, workers: Iterable[dict] = ()):
    """A multi-node Ray cluster on this machine (``ray.cluster_utils.Cluster``); stop it with ``stop_cluster``.

    Its sessions live in a directory of its own, not the shared /tmp/ray, so
    no other Ray on the machine can get in its way. Bringing Ray up is the
    test's environment, not its subject: a start that fails (a GCS that never
    published its port was seen once on a CI runner) is cleaned up by pid and
    tried once more, and the GCS log goes into the output so the cause can be
    read.
    """
    from ray.cluster_utils import Cluster

    workers = list(workers)
    for attempt in range(1, CLUSTER_ATTEMPTS + 1):
        before = descendants(os.getpid())
        temp_dir = tempfile.mkdtemp(prefix="ray-test-")  # short: Ray's socket paths must fit 107 bytes
        try:
            with gcs_wait(CLUSTER_GCS_WAIT_S):
                head_args = {**RAY_NODE_DEFAULTS, "temp_dir": temp_dir, **head}
                cluster = Cluster(initialize_head=True, connect=False, head_node_args=head_args)
                for node in workers:  # worker nodes take the head's temp_dir
                    cluster.add_node(**{**RAY_NODE_DEFAULTS, **node})
                cluster.wait_for_nodes()
            cluster.test_temp_dir = temp_dir
            return cluster
        except Exception as exc:  # Ray raises many types for "cannot start"
            log = describe_failed_start(Path(temp_dir), exc)
            kill_processes(descendants(os.getpid()) - before)
            shutil.rmtree(temp_dir, ignore_errors=True)
            message = f"Ray cluster did not start (attempt {attempt} of {CLUSTER_ATTEMPTS}): {log}"
            if attempt == CLUSTER_ATTEMPTS:
                raise RuntimeError(message) from exc
            print(message, file=sys.stderr)
    raise AssertionError("unreachable")


def stop_cluster(cluster) -> None:
    cluster.shutdown()
    shutil.rmtree(cluster.test_temp_dir, ignore_errors=True)


def listening_sockets(pids: set[int]) -> list[tuple[str, int]]:
    """(local address, pid) of every listening TCP socket owned by one of ``pids``."""
    output = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in output.splitlines():
        fields = line.split()
        local = fields[3]
        for part in line.split("pid=")[1:]:
            pid = int(part.split(",")[0])
            if pid in pids:
                found.append((local, pid))
    return found


def is_loopback(local: str) -> bool:
    address = local.rsplit(":", 1)[0].strip("[]")
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``interop sweep ARGS`` as a child process."""
    return subprocess.Popen(
        [PYTHON, "-m", "orchestrator.cli", "sweep", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def connections_to(listener: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1
