"""Serve a whole inventory on this machine: every endpoint a real socket behaving as its tag says.

    with start_fleet("inventory.yaml", workdir) as fleet:
        ...                       # probe fleet.inventory's endpoints
    # everything stopped by pid, namespaces deleted

Which process serves which endpoint, and how, is planned in ``fleet_plan.py``;
this module starts that plan and stops it.

grpcs endpoints: a ``TestCA`` in ``workdir/tls`` issues one certificate per
server name (the agency's ``<agency>.testbed.localhost``) and TLS problem
(``fleet_plan.TLS_PROBLEMS``: expired, self-signed, ...) and its PEM is
written to every ``ca_file`` the inventory names, so pass the inventory as a
path when those files do not exist yet (validation requires them). Endpoints
tagged ``testbed-tls=tls1.0`` are served through one nginx per namespace
(``nginx.legacy_terminator_config``).

SSH host keys are made once per type in ``key_dir`` and shared. SSH has no
injected latency. The fleet's sshd runs without re-exec
(``sshd.no_reexec_flags``): same answers, a third of the CPU per connection.

Everything started is recorded in the run's ledger (``ledger.py``) the moment
it exists; ``Fleet.stop()`` and ``interop testbed down`` clean up from it.
Readiness is read from ``/proc/<pid>/net/tcp`` (sockets in LISTEN), not by
connecting: each connection to an sshd costs it a fork.

With ``use_netns=True`` every host gets a network namespace of its own (see
``netns.py``); hosts must then be addresses of ``netns.NETWORK``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from orchestrator.inventory import EndpointRef, Inventory, load_inventory
from orchestrator.testbed import netns, nginx, sshd
from orchestrator.testbed.fleet_plan import (
    GRPC_LISTENERS_PER_PROCESS,
    TLS_PROBLEMS,
    WRONG_NAME,
    FleetError,
    FleetPlan,
    SshFlavour,
    certificate_key,
    check_endpoints,
    grpc_address,
    grpc_specs,
    plan_fleet,
)
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.ledger import CleanupReport, Ledger, clean_up
from orchestrator.testbed.pki import Issued, TestCA

TESTBED_CA_NAME = "SPBE Testbed Root CA"
START_TIMEOUT_S = 180.0


# -- certificates and keys ------------------------------------------------------


# ``ca_file: <path>`` in block or flow style, quoted or not; comments are cut off first.
_CA_FILE = re.compile(
    r"""(?:^|[\s{,])ca_file:[ \t]*(?:"([^"]+)"|'([^']+)'|([^\s,}'"][^,}]*?))[ \t]*(?:[,}]|$)"""
)
_COMMENT = re.compile(r"(?:^|\s)#.*")


def document_ca_files(path: Path) -> list[Path]:
    """The ``ca_file`` paths an inventory file names, found in its text before validation wants them to exist.

    A scan, not a parse (parsing a national inventory twice costs seconds):
    a path it misses is reported by validation as a missing CA file, and the
    CA is written to every grpcs endpoint's ``ca_file`` again once loaded.
    """
    text = path.read_text(encoding="utf-8")
    if "grpcs://" not in text:
        return []
    found: dict[Path, None] = {}
    for line in text.splitlines():
        if "ca_file" not in line:
            continue
        for match in _CA_FILE.finditer(_COMMENT.sub("", line)):
            value = Path(next(group for group in match.groups() if group).strip()).expanduser()
            found[value if value.is_absolute() else path.resolve().parent / value] = None
    return list(found)


def _is_testbed_ca(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return bool(names) and names[0].value == TESTBED_CA_NAME


def publish_ca(ca: TestCA, ca_files: Iterable[Path]) -> None:
    """Write the CA where the inventory expects it; never over a CA that is not a testbed's."""
    for path in ca_files:
        if path.exists() and not _is_testbed_ca(path):
            raise FleetError(
                f"{path} exists and is not a testbed CA ({TESTBED_CA_NAME}): refusing to overwrite it"
            )
    for path in ca_files:
        if path.parent.is_dir():  # else validation reports the missing file: no directories made up
            path.write_bytes(ca.ca_pem)


def issue_certificates(ca: TestCA, endpoints: Iterable[EndpointRef]) -> dict[tuple[str, str], Issued]:
    """One certificate per server name and TLS problem, naming it and the addresses it is served on."""
    hosts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ref in endpoints:
        if ref.scheme == "grpcs":
            hosts[certificate_key(ref)].add(ref.host)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    issued = {}
    for (name, problem_name), addresses in hosts.items():
        problem = TLS_PROBLEMS[problem_name]
        try:
            ipaddress.ip_address(name)
            dns: tuple[str, ...] = ()
        except ValueError:
            dns = (name,)
        ips = sorted(addresses)
        if problem.wrong_name:
            dns, ips = (WRONG_NAME,), []
        issued[(name, problem_name)] = ca.issue(
            name if problem_name == "valid" else f"{name}.{problem_name}",
            dns_names=dns,
            ip_addresses=ips,
            not_before=now + dt.timedelta(days=problem.not_before_days),
            not_after=now + dt.timedelta(days=problem.not_after_days),
            key=problem.key,
            self_signed=problem.self_signed,
        )
    return issued


def make_host_keys(key_dir: Path, flavours: Iterable[SshFlavour]) -> dict[tuple[str, str, int | None], Path]:
    """Every host key the flavours need, generated in parallel once and reused from ``key_dir``."""
    wanted = {(f.server, key_type, bits) for f in flavours for key_type, bits in f.keys}

    def make(item: tuple[str, str, int | None]) -> Path:
        server, key_type, bits = item
        if server == "openssh":
            return sshd.host_key(key_dir / "openssh", key_type, bits)
        return sshd.dropbear_key(key_dir / "dropbear", key_type, bits)

    ordered = sorted(wanted, key=lambda k: (k[0], k[1], k[2] or 0))
    with ThreadPoolExecutor(max_workers=max(1, len(ordered))) as pool:
        return dict(zip(ordered, pool.map(make, ordered), strict=True))


# -- processes --------------------------------------------------------------------


@dataclass
class FleetProcess:
    name: str
    kind: str  # grpc / openssh / dropbear
    command: list[str]
    namespace: str | None
    addresses: tuple[tuple[str, int], ...]
    log_path: Path
    popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""


def _launch(process: FleetProcess, ledger: Ledger, workdir: Path) -> None:
    argv = process.command
    if process.namespace is not None:
        argv = netns.exec_argv(process.namespace, argv)
    with open(process.log_path, "ab") as log:
        process.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "LC_ALL": "C"},
            start_new_session=True,  # a Ctrl-C at the terminal reaches `up`, which stops them in order
        )
    ledger.process(process.pid, process.command, process.name)


V4_MAPPED = "0000000000000000FFFF0000"  # ::ffff:0:0/96 as /proc/net/tcp6 writes it


def _proc_net_hex(host: str, port: int) -> str:
    # /proc/net/tcp prints the address as the native-endian u32 of the network-order bytes.
    (number,) = struct.unpack("=I", socket.inet_aton(host))
    return f"{number:08X}:{port:04X}"


def listening(pid: int | None = None) -> set[str]:
    """``ADDR:PORT`` (as /proc/net/tcp writes them) of every IPv4 socket in LISTEN, in ``pid``'s namespace.

    grpcio listens on IPv4 addresses through IPv6 sockets (``[::ffff:127.1.0.1]``),
    which only /proc/net/tcp6 shows: those count as their IPv4 address.
    """
    base = "/proc/net" if pid is None else f"/proc/{pid}/net"
    found = set()
    for table_name in ("tcp", "tcp6"):
        try:
            with open(f"{base}/{table_name}") as table:
                next(table)
                for line in table:
                    fields = line.split(None, 4)
                    if fields[3] == "0A":
                        address = fields[1]
                        found.add(address[len(V4_MAPPED) :] if address.startswith(V4_MAPPED) else address)
        except OSError:
            pass
    return found


def wait_listening(processes: Sequence[FleetProcess], timeout_s: float) -> None:
    """Until every process listens on all its addresses; a process that exits fails with its log."""
    pending = {id(p): p for p in processes}
    deadline = time.monotonic() + timeout_s
    while pending:
        tables: dict[str | None, set[str]] = {}
        for process in list(pending.values()):
            assert process.popen is not None
            if process.popen.poll() is not None:
                raise FleetError(
                    f"{process.name} exited with {process.popen.returncode} before listening:\n"
                    f"{process.log_tail()}"
                )
            if process.namespace not in tables:
                tables[process.namespace] = listening(None if process.namespace is None else process.pid)
            table = tables[process.namespace]
            if all(_proc_net_hex(h, p) in table for h, p in process.addresses):
                del pending[id(process)]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(sorted(p.name for p in pending.values())[:10])
            raise FleetError(f"not listening after {timeout_s:g} s: {names}")
        time.sleep(0.1)


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB; zeros when it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


# -- the fleet ------------------------------------------------------------------------


@dataclass
class Fleet:
    """A running testbed. ``stop()`` (or leaving the ``with`` block) ends every process and namespace."""

    run_id: str
    workdir: Path
    inventory: Inventory
    plan: FleetPlan
    ledger: Ledger
    latency_s: float = 0.0
    topology: netns.Topology | None = None
    ca_path: Path | None = None
    processes: list[FleetProcess] = field(default_factory=list)
    startup_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per start-up phase
    stopped: CleanupReport | None = None

    def endpoints(self) -> list[EndpointRef]:
        return list(self.inventory.endpoints())

    def resources(self) -> dict[str, int]:
        """Processes and memory: RSS counts shared pages once per process, PSS shares them out."""
        rss = pss = 0
        for process in self.processes:
            process_rss, process_pss = _memory_kib(process.pid)
            rss, pss = rss + process_rss, pss + process_pss
        return {"processes": len(self.processes), "rss_bytes": rss * 1024, "pss_bytes": pss * 1024}

    def probe_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run where the endpoints can be reached: the probe namespace, or as it is on loopback."""
        return netns.exec_argv(self.topology.probe, argv) if self.topology else list(argv)

    def stop(self) -> CleanupReport:
        if self.stopped is None:
            report = clean_up(self.ledger)
            for process in self.processes:
                if process.popen is not None:
                    try:
                        process.popen.wait(timeout=5)  # reap: our children stay zombies otherwise
                    except subprocess.TimeoutExpired:
                        report.leftovers.append(f"{process.name} (pid {process.pid}) did not exit")
            self.ledger.close()
            if report.clean:
                self.ledger.path.unlink(missing_ok=True)
            self.stopped = report
        return self.stopped

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prepare_workdir(workdir: Path) -> Ledger:
    """A ledger for a new run; leftovers of an earlier run in ``workdir`` are refused or cleaned up."""
    workdir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.in_dir(workdir)
    if ledger.path.exists():
        live = ledger.live_processes()
        if live:
            raise FleetError(
                f"{workdir} belongs to a running testbed ({len(live)} processes, e.g. pid "
                f"{live[0].pid}): stop it, or run `interop testbed down --workdir {workdir}`"
            )
        report = clean_up(ledger)  # namespaces a killed run left behind
        if not report.clean:
            raise FleetError(f"cannot clean up an earlier run in {workdir}: {'; '.join(report.leftovers)}")
        ledger.path.unlink()
    return ledger


def _load(inventory: Inventory | str | os.PathLike, tls_dir: Path) -> tuple[Inventory, TestCA | None]:
    """The validated inventory and, when it has grpcs endpoints, the CA now written to their ca_files."""
    ca = None
    if not isinstance(inventory, Inventory):
        path = Path(inventory)
        early = document_ca_files(path)
        if early:  # validation needs them to exist
            ca = TestCA(tls_dir, name=TESTBED_CA_NAME)
            publish_ca(ca, early)
        inventory = load_inventory(path)
    tls = [ref for ref in inventory.endpoints() if ref.scheme == "grpcs"]
    if tls:
        ca = ca or TestCA(tls_dir, name=TESTBED_CA_NAME)
        publish_ca(ca, list(dict.fromkeys(Path(ref.ca_file) for ref in tls if ref.ca_file)))
    return inventory, ca


def start_fleet(
    inventory: Inventory | str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    latency_s: float = 0.0,
    use_netns: bool = False,
    key_dir: str | os.PathLike | None = None,
    timeout_s: float = START_TIMEOUT_S,
    grpc_per_process: int = GRPC_LISTENERS_PER_PROCESS,
) -> Fleet:
    """Start a server for every endpoint of ``inventory``; return once every address listens.

    ``latency_s`` delays every gRPC call (this kernel has no netem).
    ``key_dir`` holds the SSH host keys (default ``workdir/keys``); point
    several runs at one directory to generate the RSA keys only once.
    """
    started = mark = time.monotonic()
    timings: dict[str, float] = {}

    def phase_done(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        timings[name], mark = now - mark, now

    workdir = Path(workdir).resolve()
    ledger = prepare_workdir(workdir)
    run_id = secrets.token_hex(3)
    ledger.run(run_id)
    fleet: Fleet | None = None
    try:
        loaded, ca = _load(inventory, workdir / "tls")
        refs = list(loaded.endpoints())
        check_endpoints(refs, use_netns)
        topology = netns.plan(run_id, [r.host for r in refs]) if use_netns else None
        namespace_of = topology.namespace_of if topology else (lambda host: None)
        plan = plan_fleet(refs, namespace_of, grpc_per_process)
        fleet = Fleet(
            run_id,
            workdir,
            loaded,
            plan,
            ledger,
            latency_s,
            topology,
            ca.ca_path if ca is not None else None,
            timings=timings,
        )
        phase_done("inventory")
        if topology is not None:
            netns.create(topology, ledger.namespace)
            phase_done("namespaces")
        certificates = issue_certificates(ca, refs) if ca is not None else {}
        phase_done("certificates")
        fleet.processes = _processes(
            plan, workdir, Path(key_dir or workdir / "keys").resolve(), latency_s, certificates
        )
        phase_done("configs and keys")
        for process in fleet.processes:
            _launch(process, ledger, workdir)
        phase_done("launch")
        wait_listening(fleet.processes, timeout_s)
        phase_done("listening")
    except BaseException:
        if fleet is not None:
            fleet.stop()
        else:
            clean_up(ledger)
            ledger.close()
        raise
    fleet.startup_s = time.monotonic() - started
    return fleet


def _processes(
    plan: FleetPlan,
    workdir: Path,
    key_dir: Path,
    latency_s: float,
    certificates: dict[tuple[str, str], Issued],
) -> list[FleetProcess]:
    """What to run for the plan; writes the spec and config files."""
    logs, configs = workdir / "logs", workdir / "config"
    logs.mkdir(exist_ok=True)
    configs.mkdir(exist_ok=True)
    processes = []
    for group in plan.grpc:
        specs = grpc_specs(group, latency_s, certificates)
        spec_file = configs / f"{group.name}.json"
        spec_file.write_text(_json_specs(specs))
        command = [sys.executable, "-m", "orchestrator.testbed.grpc_server", str(spec_file)]
        addresses = tuple(grpc_address(r) for r in group.endpoints)
        processes.append(
            FleetProcess(group.name, "grpc", command, group.namespace, addresses, logs / f"{group.name}.log")
        )
    for terminator in plan.terminators:
        prefix = workdir / terminator.name
        prefix.mkdir(exist_ok=True)
        routes = [
            nginx.Route((r.host, r.port), grpc_address(r), certificates[certificate_key(r)])
            for r in terminator.endpoints
        ]
        config = configs / f"{terminator.name}.conf"
        config.write_text(nginx.legacy_terminator_config(prefix, routes))
        command = [nginx.NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config)]
        addresses = tuple((r.host, r.port) for r in terminator.endpoints)
        processes.append(
            FleetProcess(
                terminator.name,
                "nginx",
                command,
                terminator.namespace,
                addresses,
                logs / f"{terminator.name}.log",
            )
        )
    keys = make_host_keys(key_dir, {g.flavour for g in plan.ssh}) if plan.ssh else {}
    for ssh_group in plan.ssh:
        flavour = ssh_group.flavour
        host_keys = [keys[(flavour.server, key_type, bits)] for key_type, bits in flavour.keys]
        if flavour.server == "openssh":
            sshd.ensure_privsep_dir()
            config = configs / f"{ssh_group.name}.conf"
            profile = flavour.profile or "default"
            config.write_text(sshd.openssh_config(profile, host_keys, list(ssh_group.addresses)))
            command = [sshd.SSHD, "-D", "-e", *sshd.no_reexec_flags(), "-f", str(config)]
        else:
            command = sshd.dropbear_argv(host_keys, list(ssh_group.addresses))
        processes.append(
            FleetProcess(
                ssh_group.name,
                flavour.server,
                command,
                ssh_group.namespace,
                ssh_group.addresses,
                logs / f"{ssh_group.name}.log",
            )
        )
    return processes


def _json_specs(specs: Sequence[GrpcServerSpec]) -> str:
    return json.dumps([spec.to_dict() for spec in specs])
