"""A short real sweep history over servers on loopback, for running the dashboards' PromQL.

Inventory ``nasional`` (four agencies, eight endpoints; agency ``32.73`` has
an endpoint of every kind):

* ``32.73`` (kota): a hardened sshd whose host key is pinned in the inventory,
  a grpcs:// server whose certificate expires in 7 days, a plaintext grpc:// server;
* ``32`` (provinsi): a legacy sshd;
* ``32.04`` (kabupaten): a grpcs:// server with an expired certificate (critical: rated Kurang);
* ``KEMENKES`` (pusat): a grpc:// server, a refused port and a listener that never speaks.

Sweeps, each ``interop sweep run`` in a child process: the first complete;
then the pinned sshd restarts with a new host key and the second completes
(host key changed, pin failing); the third is killed (SIGKILL, by pid) once
every endpoint but the silent one is recorded, so it stays ``running`` with
its live row (workers, in flight). A waivers file has one waiver in force
and one expired.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator.store import Store, SweepState
from orchestrator.testbed import sshd
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.process import free_port, free_ports

INVENTORY = "nasional"
AGENCY = "32.73"  # has ssh://, grpcs:// and grpc:// endpoints
HOST = "127.0.0.1"
SWEEP_TIMEOUT_S = 120
KILL_WAIT_S = 60
# The silent listener holds the third sweep open for this long at most (the kill comes well before).
SLOW_DEADLINE_S = 90


@dataclass(frozen=True)
class History:
    store: Path
    waivers: Path
    complete: tuple[str, str]
    running: str


def _sweep_argv(workdir: Path, profile: Path) -> list[str]:
    # No retries: the refused and silent endpoints end at once; --per-host: every server is on 127.0.0.1.
    return [
        sys.executable,
        "-m",
        "orchestrator.cli",
        "sweep",
        "run",
        "--inventory",
        str(workdir / "nasional.yaml"),
        "--profile",
        str(profile),
        "--store",
        str(workdir / "results.db"),
        "--engine",
        "local",
        "--retries",
        "0",
        "--per-host",
        "16",
        "--json",
        "--no-summary",
    ]


def _profile(path: Path, deadline_s: float) -> Path:
    path.write_text(
        f'name: dashboards\ninclude: ["*"]\n'
        f"probe: {{deadline_s: {deadline_s}, connect_timeout_s: 2, read_timeout_s: 2}}\n"
    )
    return path


def _run_sweep(workdir: Path, profile: Path) -> str:
    done = subprocess.run(
        _sweep_argv(workdir, profile), capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(workdir / "results.db", create=False) as store:
        return store.list_sweeps(1, inventory_name=INVENTORY)[0].id


def _newest_sweep_waiting_on_one(store_path: Path, known: set[str]):
    """The new sweep's id once all its endpoints but one are recorded and its live row names a worker."""
    with Store(store_path, create=False) as store:
        newest = store.list_sweeps(1, inventory_name=INVENTORY)
        if not newest or newest[0].id in known:
            return None
        progress, live = store.progress(newest[0].id), store.live(newest[0].id)
        ready = progress.done == progress.total - 1 and live is not None and live.workers >= 1
        return newest[0].id if ready else None


def _kill_mid_sweep(workdir: Path, profile: Path, known: set[str]) -> str:
    log = workdir / "sweep-killed.log"
    with open(log, "wb") as out:
        child = subprocess.Popen(_sweep_argv(workdir, profile), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + KILL_WAIT_S
        while (sweep_id := _newest_sweep_waiting_on_one(workdir / "results.db", known)) is None:
            assert child.poll() is None, f"the sweep ended before it could be killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the sweep did not get going:\n{log.read_text()}"
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait(timeout=10)
    return sweep_id


def _waivers(path: Path) -> Path:
    in_a_year = dt.date.today() + dt.timedelta(days=365)
    path.write_text(
        "waivers:\n"
        f"  - {{id: W-DASH-001, check: SSH-MAC-001, agency: '32', justification: Replacement ordered,"
        f" approver: Diskominfo Jawa Barat, expires: {in_a_year.isoformat()}}}\n"
        "  - {id: W-DASH-002, check: GRPC-TLS-001, agency: KEMENKES, justification: Internal network,"
        " approver: Pusdatin Kemenkes, expires: 2020-01-01}\n"
    )
    return path


def _fingerprint(key: Path) -> str:
    done = subprocess.run(
        ["ssh-keygen", "-lf", str(key)], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.split()[1]


def _inventory(
    path: Path,
    ssh_pinned: int,
    pin: str,
    ssh_legacy: int,
    grpc: tuple[int, ...],
    ca: Path,
    refused: int,
    silent: int,
) -> Path:
    plain_a, plain_b, soon, expired = grpc
    tls = f'ca_file: "{ca}", server_name: localhost'
    path.write_text(f"""version: 1
scope: {{networks: [127.0.0.0/8]}}
agencies:
  - {{code: "32.73", name: Kota Bandung, level: kota, province: "32"}}
  - {{code: "32", name: Provinsi Jawa Barat, level: provinsi, province: "32"}}
  - {{code: "32.04", name: Kabupaten Bandung, level: kabupaten, province: "32"}}
  - {{code: KEMENKES, name: Kementerian Kesehatan, level: pusat, province: "31"}}
applications:
  - id: 32-73-portal
    name: Portal Kota Bandung
    agency: "32.73"
    endpoints:
      - {{url: "ssh://{HOST}:{ssh_pinned}", pins: ["{pin}"]}}
      - {{url: "grpcs://{HOST}:{soon}", {tls}}}
      - {{url: "grpc://{HOST}:{plain_a}"}}
  - id: 32-sapawarga
    name: Sapawarga
    agency: "32"
    endpoints:
      - {{url: "ssh://{HOST}:{ssh_legacy}"}}
  - id: 32-04-perizinan
    name: Perizinan Kabupaten Bandung
    agency: "32.04"
    endpoints:
      - {{url: "grpcs://{HOST}:{expired}", {tls}}}
  - id: kemenkes-satusehat
    name: SATUSEHAT
    agency: KEMENKES
    endpoints:
      - {{url: "grpc://{HOST}:{plain_b}"}}
      - {{url: "grpc://{HOST}:{refused}"}}
      - {{url: "grpc://{HOST}:{silent}"}}
""")
    return path


def make_history(workdir: Path) -> History:
    workdir.mkdir(parents=True, exist_ok=True)
    ca = TestCA(workdir / "tls")
    now = dt.datetime.now(dt.UTC)
    soon = ca.issue("soon", not_after=now + dt.timedelta(days=7))
    expired = ca.issue(
        "expired", not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=2)
    )
    ports = free_ports(4, HOST)
    specs = [
        GrpcServerSpec(name="plain", ports=ports[:2]),
        GrpcServerSpec(name="soon", ports=(ports[2],), tls=soon),
        GrpcServerSpec(name="expired", ports=(ports[3],), tls=expired),
    ]
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # accepts connections (backlog), never answers
    servers = []
    try:
        silent.bind((HOST, 0))
        silent.listen(16)
        servers.append(start_grpc_servers(specs, workdir / "grpc", name="dashboards"))
        first_key = sshd.host_key(workdir / "keys-before", "ed25519")
        pinned = sshd.start_openssh(workdir / "sshd", "hardened", host_keys=[first_key], name="sshd-pinned")
        servers.append(pinned)
        servers.append(sshd.start_openssh(workdir / "sshd", "legacy", name="sshd-legacy"))
        _inventory(
            workdir / "nasional.yaml",
            pinned.port,
            _fingerprint(first_key),
            servers[-1].port,
            ports,
            ca.ca_path,
            free_port(HOST),
            silent.getsockname()[1],
        )
        fast = _profile(workdir / "fast.yaml", deadline_s=5)  # the silent endpoint takes all of it
        first = _run_sweep(workdir, fast)
        # The pinned server is reinstalled: same address, another host key.
        pinned.stop()
        servers.append(
            sshd.start_openssh(
                workdir / "sshd",
                "hardened",
                port=pinned.port,
                name="sshd-rekeyed",
                host_keys=[sshd.host_key(workdir / "keys-after", "ed25519")],
            )
        )
        second = _run_sweep(workdir, fast)
        running = _kill_mid_sweep(workdir, _profile(workdir / "slow.yaml", SLOW_DEADLINE_S), {first, second})
    finally:
        for server in reversed(servers):
            server.stop()
        silent.close()
    with Store(workdir / "results.db", create=False) as store:
        states = [store.get_sweep(s).state for s in (first, second, running)]
    assert states == [SweepState.COMPLETE, SweepState.COMPLETE, SweepState.RUNNING], states
    return History(workdir / "results.db", _waivers(workdir / "waivers.yaml"), (first, second), running)
