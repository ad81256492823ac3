"""Section ``ssh`` of bench/peers.py: our SSH checks against ``ssh-audit -T --skip-rate-test -j``.

The testbed: real servers on loopback, each endpoint on an address of its own
(127.x.y.1, so neither side's per-host limit serialises anything), in a mix
of the kinds an agency runs (``MIX``): OpenSSH 9.2 with Debian's defaults,
the testbed's hardened and legacy profiles (without re-exec, as the fleet
runs them; up to 16 listen sockets per sshd), Dropbear (one process per
endpoint, see ``DROPBEAR_KEYS``) and TinySSH (one ``systemd-socket-activate``
per endpoint). Every server is stopped by pid at the end.

Both sides run as an operator would run them, at the same concurrency
(``CONCURRENCY``: our ``--concurrency``, ssh-audit's ``--threads``): ours is
``interop sweep run --engine local`` with the baseline profile's SSH checks
into a fresh store; the peer is ssh-audit 3.9.0 from PyPI in its own venv.
The servers' CPU (including their per-connection children) is added to each
side's CPU and shown as "Server CPU": what each tool costs the servers.

Agreement: per endpoint kind, the algorithms ssh-audit fails next to those
our policy fails (read from our sweep's stored evidence), every difference
looked up in ``probes.ssh.vs_ssh_audit.DIFFERENCES``; and the host-key
fingerprints of both sides (ours from an in-process probe after the timed
runs), which must be identical.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _peers as peers
from orchestrator.store import Store
from orchestrator.testbed import fleet as fleet_mod
from orchestrator.testbed import sshd
from orchestrator.testbed.process import ServerProcess
from probes import registry
from probes.model import Target
from probes.runner import CheckSettings, ProbeOptions, run_probe
from probes.ssh import policy, vs_ssh_audit

SCALES = (50, 300)
SMOKE_SCALE = 5
CONCURRENCY = 32
PORT = 2222
SSH_AUDIT = "ssh-audit==3.9.0"

# Endpoint kind -> share of the endpoints. OpenSSH's defaults dominate, as on agencies' servers.
MIX: dict[str, float] = {"default": 0.4, "hardened": 0.2, "legacy": 0.2, "dropbear": 0.12, "tinyssh": 0.08}
FLEET_KINDS = ("default", "hardened", "legacy")  # served by orchestrator.testbed.fleet, 16 per sshd
# Dropbear runs one process per endpoint, as on a real server: it admits 5 unauthenticated connections per
# client address per process (MAX_UNAUTH_PER_IP), and every probe here comes from 127.0.0.1, so the fleet's
# ten endpoints per dropbear would share one budget of 5 and refuse the rest.
DROPBEAR_KEYS = (("ed25519", None), ("rsa", 2048))  # the fleet's "dropbear" flavour
KIND_LABELS = {
    "default": "OpenSSH 9.2, Debian's defaults",
    "hardened": "OpenSSH 9.2, hardened",
    "legacy": "OpenSSH 9.2, legacy",
    "dropbear": "Dropbear 2022.83",
    "tinyssh": "TinySSH 20230101",
}
# Checks whose evidence lists judged algorithms, and the ssh-audit category their lists are.
POLICY_KINDS = {
    check_id: next(kind for kind, lists in vs_ssh_audit.KINDS.items() if set(lists) & set(list_policy.lists))
    for check_id, list_policy in policy.POLICY.items()
    if check_id != vs_ssh_audit.TERRAPIN_CHECK
}


@dataclass(frozen=True)
class Endpoint:
    kind: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"ssh://{self.host}:{self.port}"


@dataclass
class Testbed:
    endpoints: list[Endpoint]
    fleet: fleet_mod.Fleet | None = None
    single: list[ServerProcess] = field(default_factory=list)  # one process per endpoint: Dropbear, TinySSH

    @property
    def pids(self) -> list[int]:
        fleet_pids = [p.pid for p in self.fleet.processes] if self.fleet else []
        return fleet_pids + [server.pid for server in self.single]

    def stop(self) -> None:
        for server in self.single:
            server.stop()
        if self.fleet is not None:
            self.fleet.stop()


def plan(count: int) -> list[Endpoint]:
    """``count`` endpoints in the proportions of ``MIX`` (at least one of each kind), one address each."""
    shares = {kind: max(1, round(count * share)) for kind, share in MIX.items()}
    shares["default"] += count - sum(shares.values())
    kinds = [kind for kind, n in shares.items() for _ in range(n)]
    return [Endpoint(kind, f"127.{40 + i // 250}.{i % 250}.1", PORT) for i, kind in enumerate(kinds)]


def inventory_yaml(endpoints: Iterable[Endpoint]) -> str:
    lines = [
        "version: 1",
        "scope: {networks: [127.0.0.0/8]}",
        "agencies:",
        '  - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}',
        "applications:",
    ]
    for index, endpoint in enumerate(endpoints):
        lines += [
            f"  - id: ssh-{index:04d}",
            f"    name: SSH {index} ({endpoint.kind})",
            '    agency: "32.73"',
            "    endpoints:",
            f"      - {{url: {endpoint.url}, tags: [testbed={endpoint.kind}]}}",
        ]
    return "\n".join(lines) + "\n"


PROFILE_YAML = """name: bench-ssh
title: The baseline's SSH checks
extends: spbe-baseline
include: ["SSH-*"]
"""


def start_testbed(endpoints: list[Endpoint], workdir: Path) -> Testbed:
    testbed = Testbed(endpoints)
    try:
        served = [e for e in endpoints if e.kind in FLEET_KINDS]
        fleet_inventory = workdir / "fleet-inventory.yaml"
        fleet_inventory.write_text(inventory_yaml(served))
        testbed.fleet = fleet_mod.start_fleet(fleet_inventory, workdir / "fleet", key_dir=workdir / "keys")
        tinyssh_keys = sshd.tinyssh_keydir(workdir / "keys")
        dropbear_keys = [
            sshd.dropbear_key(workdir / "keys" / "dropbear", t, bits) for t, bits in DROPBEAR_KEYS
        ]
        for endpoint in endpoints:
            name = f"{endpoint.kind}-{endpoint.host}"
            if endpoint.kind == "tinyssh":
                testbed.single.append(
                    sshd.start_tinyssh(
                        workdir / "single", tinyssh_keys, endpoint.port, endpoint.host, name=name
                    )
                )
            elif endpoint.kind == "dropbear":
                testbed.single.append(
                    sshd.start_dropbear(
                        workdir / "single", dropbear_keys, endpoint.port, endpoint.host, name=name
                    )
                )
    except BaseException:
        testbed.stop()
        raise
    return testbed


# -- the two sides --------------------------------------------------------------------


@dataclass
class Commands:
    """How each side runs on one testbed; the peer's last JSON and our last store are kept for agreement."""

    workdir: Path
    testbed: Testbed
    peer_bin: Path
    runs: int = 0
    last_store: Path | None = None
    last_peer_json: str = ""

    def __post_init__(self) -> None:
        self.inventory = self.workdir / "inventory.yaml"
        self.inventory.write_text(inventory_yaml(self.testbed.endpoints))
        self.profile = self.workdir / "profile.yaml"
        self.profile.write_text(PROFILE_YAML)
        self.targets = self.workdir / "targets.txt"
        self.targets.write_text("".join(f"{e.host}:{e.port}\n" for e in self.testbed.endpoints))

    def ours_argv(self, store: Path) -> list[str]:
        return peers.sweep_argv(self.inventory, self.profile, store, CONCURRENCY)

    def peer_argv(self) -> list[str]:
        return [
            str(self.peer_bin / "ssh-audit"),
            "-T",
            str(self.targets),
            "--skip-rate-test",
            "-j",
            "--threads",
            str(CONCURRENCY),
        ]

    def ours(self) -> peers.Run:
        self.runs += 1
        store = self.workdir / f"store-{self.runs}.db"
        run = peers.run_sweep(self.ours_argv(store), store, server_cpu=peers.processes_cpu(self.testbed.pids))
        self.last_store = store
        return run

    def peer(self) -> peers.Run:
        # ssh-audit exits 3 when a target has failures; an output that is not JSON fails in agreement().
        run = peers.run_timed(
            self.peer_argv(), server_cpu=peers.processes_cpu(self.testbed.pids), ok_codes=(0, 1, 2, 3)
        )
        self.last_peer_json = run.output
        (self.workdir / "ssh-audit.out").write_text(run.output)
        return run


# -- agreement -----------------------------------------------------------------------------


def peer_reports(output: str) -> dict[str, dict]:
    """ssh-audit's JSON per ``host:port``: one list for several targets (or one object for a single one)."""
    document, end = json.JSONDecoder().raw_decode(output.lstrip())
    if output.lstrip()[end:].strip():
        raise ValueError(f"ssh-audit printed more than its JSON: {output.lstrip()[end:][:500]!r}")
    reports = document if isinstance(document, list) else [document]
    return {report["target"]: report for report in reports}


KEY_SIZE_NOTE = "modulus"  # in ssh-audit's notes on a key's size


def peer_fails(report: dict) -> dict[str, set[str]]:
    """Per category, the algorithms ssh-audit gives a fail note.

    Size notes on a key whose size is the operator's choice (an entry with
    ``keysize``: RSA) are left out, as in vs_ssh_audit: SSH-HKEY-002 judges
    sizes. DSA's note stays: its 1024 bits are the algorithm's own.
    """
    fails: dict[str, set[str]] = {kind: set() for kind in vs_ssh_audit.KINDS}
    for kind in vs_ssh_audit.KINDS:
        for entry in report.get(kind, []):
            notes = [
                note
                for note in entry.get("notes", {}).get("fail", [])
                if not ("keysize" in entry and KEY_SIZE_NOTE in note)
            ]
            if notes:
                fails[kind].add(entry["algorithm"])
    return fails


def our_fails(store_path: Path, urls: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """Per endpoint URL and category, the algorithms our checks fail, from the sweep's stored evidence."""
    fails = {url: {kind: set() for kind in vs_ssh_audit.KINDS} for url in urls}
    with Store(store_path, create=False, read_only=True) as store:
        sweep_id = store.list_sweeps(limit=1)[0].id
        for row in store.results(sweep_id):
            findings = row.evidence.get("findings") or []
            for finding in findings:
                if finding.get("verdict") != "fail":
                    continue
                kind = POLICY_KINDS.get(row.check_id) or _terrapin_kind(finding["algorithm"])
                fails[row.url][kind].add(finding["algorithm"])
    return fails


def _terrapin_kind(algorithm: str) -> str:
    return "mac" if algorithm.endswith("-etm@openssh.com") else "enc"


def explain(kind: str, algorithm: str, offered: tuple[str, ...]) -> vs_ssh_audit.Difference | None:
    """The DIFFERENCES row covering ``algorithm``: a plain row of its kind, else a Terrapin row whose
    names are all ``offered`` (the server's ciphers and MACs: Terrapin rows judge them together)."""
    for row in vs_ssh_audit.DIFFERENCES:
        if not row.without_strict_kex and row.kind == kind and algorithm in row.algorithms:
            return row
    for row in vs_ssh_audit.DIFFERENCES:
        if row.without_strict_kex and algorithm in row.algorithms and set(row.algorithms) <= set(offered):
            return row
    return None


async def our_fingerprints(endpoints: list[Endpoint]) -> dict[str, set[tuple[str, str]]]:
    """``(key type, SHA256:…)`` of every host key, per endpoint, from our probe run in-process."""
    selection = {
        "SSH-HKEY-002": CheckSettings(registry.get_check("SSH-HKEY-002").severity)
    }  # gathers host keys
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(endpoint: Endpoint) -> tuple[str, set[tuple[str, str]]]:
        async with limit:
            report = await run_probe(Target("ssh", endpoint.host, endpoint.port), selection, ProbeOptions())
        keys = report.facts.get("ssh", {}).get("host_keys", [])
        return endpoint.url, {(key["type"], key["fingerprint"]) for key in keys if "fingerprint" in key}

    return dict(await asyncio.gather(*(one(e) for e in endpoints)))


def peer_fingerprints(report: dict) -> set[tuple[str, str]]:
    return {
        (entry["hostkey"], f"SHA256:{entry['hash']}")
        for entry in report.get("fingerprints", [])
        if entry.get("hash_alg") == "SHA256"
    }


@dataclass
class Agreement:
    markdown: str
    ok: bool
    endpoints_agreeing: int  # same fails, or every difference explained, and identical fingerprints


def agreement(testbed: Testbed, peer_output: str, store_path: Path) -> Agreement:
    reports = peer_reports(peer_output)
    ours = our_fails(store_path, [e.url for e in testbed.endpoints])
    fingerprints = asyncio.run(our_fingerprints(testbed.endpoints))
    kind_fails: dict[str, tuple[dict, dict]] = {}
    kind_offered: dict[
        str, tuple[str, ...]
    ] = {}  # ciphers and MACs each kind offers (Terrapin rows need them)
    unexplained: list[str] = []
    fingerprint_problems: list[str] = []
    identical = explained_only = 0
    for endpoint in testbed.endpoints:
        address = f"{endpoint.host}:{endpoint.port}"
        report = reports.get(address)
        if report is None:
            unexplained.append(f"{address}: no ssh-audit report")
            continue
        theirs, mine = peer_fails(report), ours[endpoint.url]
        offered = tuple(
            entry["algorithm"] for category in ("enc", "mac") for entry in report.get(category, [])
        )
        problems = []
        for kind in vs_ssh_audit.KINDS:
            for algorithm in sorted(theirs[kind] ^ mine[kind]):
                row = explain(kind, algorithm, offered)
                if row is None:
                    side = "ssh-audit" if algorithm in theirs[kind] else "we"
                    problems.append(
                        f"{address} ({endpoint.kind}): {kind} `{algorithm}`: only {side} fail it, "
                        "no row in DIFFERENCES"
                    )
        kind_fails.setdefault(endpoint.kind, (theirs, mine))
        kind_offered.setdefault(endpoint.kind, offered)
        if kind_fails[endpoint.kind] != (theirs, mine):
            problems.append(
                f"{address} ({endpoint.kind}): fails differ from the other {endpoint.kind} endpoints"
            )
        same_keys = peer_fingerprints(report) == fingerprints[endpoint.url]
        if not same_keys:
            fingerprint_problems.append(
                f"{address} ({endpoint.kind}): ssh-audit "
                f"{sorted(peer_fingerprints(report))} vs ours {sorted(fingerprints[endpoint.url])}"
            )
        unexplained += problems
        if not problems and same_keys:
            if theirs == mine:
                identical += 1
            else:
                explained_only += 1
    lines = [
        (
            "**SSH agreement with ssh-audit 3.9.0** (algorithms each side *fails*; key-size notes left out, "
            "SSH-HKEY-002 judges sizes)."
        ),
        "",
        "| Endpoint kind | Endpoints | Category | ssh-audit fails | our policy fails | Difference explained |",
        "|---|---|---|---|---|---|",
    ]
    counts = Counter(e.kind for e in testbed.endpoints)
    reasons: dict[str, int] = {}  # a DIFFERENCES row's reason -> its number under the table
    for kind, (theirs, mine) in kind_fails.items():
        for category in vs_ssh_audit.KINDS:
            if not theirs[category] and not mine[category]:
                continue
            by_reason: dict[str, list[str]] = defaultdict(list)
            for algorithm in sorted(theirs[category] ^ mine[category]):
                row = explain(category, algorithm, kind_offered[kind])
                key = f"({reasons.setdefault(row.reason, len(reasons) + 1)})" if row else "UNEXPLAINED"
                by_reason[key].append(algorithm)
            explained = "; ".join(f"{_names(set(names))}: {key}" for key, names in by_reason.items())
            lines.append(
                f"| {KIND_LABELS[kind]} | {counts[kind]} | {category} | {_names(theirs[category])} "
                f"| {_names(mine[category])} | {explained or 'same'} |"
            )
    lines += [""] + [f"({number}) {reason}" for reason, number in reasons.items()]
    total = len(testbed.endpoints)
    lines += [
        "",
        (
            f"Endpoints agreeing: {identical + explained_only} of {total} ({identical} with identical "
            f"fails, {explained_only} where every difference is a deliberate policy difference with its reason "
            "in `probes/ssh/vs_ssh_audit.py`, rendered in docs/checks.md). Host-key fingerprints identical on "
            f"{total - len(fingerprint_problems)} of {total} endpoints."
        ),
    ]
    for problem in unexplained + fingerprint_problems:
        lines.append(f"- **Unexplained:** {problem}")
    ok = not unexplained and not fingerprint_problems
    return Agreement("\n".join(lines), ok, identical + explained_only)


def _names(names: set[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "–"


# -- the section -----------------------------------------------------------------------------


def compare_on(
    count: int, options: peers.Options, peer_bin: Path, judge: bool
) -> tuple[peers.Comparison, Agreement]:
    workdir = options.workdir / f"ssh-{count}"
    workdir.mkdir(parents=True, exist_ok=True)
    endpoints = plan(count)
    testbed = start_testbed(endpoints, workdir)
    try:
        peers.log(f"ssh: {count} endpoints up ({len(testbed.pids)} server processes)")
        commands = Commands(workdir, testbed, peer_bin)
        result = peers.compare(peers.alternate(commands.ours, commands.peer, options.reps))
        assert commands.last_store is not None
        agreed = agreement(testbed, commands.last_peer_json, commands.last_store)
    finally:
        testbed.stop()
    ratio = result["peer_over_ours"]
    per_server = {side: result[side]["connections"] / count for side in ("ours", "peer")}
    targets = []
    if judge:
        targets = [
            peers.ratio_target("wall ratio", ratio["wall_s"], 5, options.smoke),
            peers.ratio_target("CPU ratio", ratio["cpu_s"], 10, options.smoke),
            peers.Target(
                "connections per server, peer / ours",
                ratio["connections"],
                "> 1",
                None if options.smoke or ratio["connections"] is None else ratio["connections"] > 1,
            ),
        ]
    notes = [
        f"Concurrency {CONCURRENCY} on both sides (our `--concurrency`, ssh-audit's `--threads`). CPU is the "
        f"tools'; the servers' is its own column (ratio {peers.fmt_ratio(ratio['server_cpu_s'])}). "
        "Connections per "
        f"server: ours {per_server['ours']:.1f}, ssh-audit {per_server['peer']:.1f}. Mix: "
        + ", ".join(f"{n} {KIND_LABELS[k]}" for k, n in Counter(e.kind for e in endpoints).items())
        + "."
    ]
    comparison = peers.Comparison(
        label=f"SSH, {count} endpoints",
        ours=" ".join(["interop", *commands.ours_argv(Path("STORE"))[3:]]),
        peer=" ".join(["ssh-audit", *commands.peer_argv()[1:]]),
        endpoints=count,
        result=result,
        targets=targets,
        notes=notes,
    )
    return comparison, agreed


def run(options: peers.Options) -> peers.Section:
    peers.apt_install("openssh-server", "dropbear-bin", "tinysshd", "systemd")
    peer_bin = peers.peer_venv("ssh-audit", [SSH_AUDIT])
    scales = (SMOKE_SCALE,) if options.smoke else (options.scales or SCALES)
    comparisons, agreements = [], []
    for count in scales:
        comparison, agreed = compare_on(count, options, peer_bin, judge=count == max(scales))
        comparisons.append(comparison)
        agreements.append((count, agreed))
    markdown = "\n\n".join(f"*{count} endpoints.* {agreed.markdown}" for count, agreed in agreements)
    facts = {
        "ssh_audit": SSH_AUDIT,
        "concurrency": CONCURRENCY,
        "mix": {kind: KIND_LABELS[kind] for kind in MIX},
        "shares": MIX,
        "endpoints_agreeing": {count: agreed.endpoints_agreeing for count, agreed in agreements},
    }
    return peers.Section("ssh", comparisons, markdown, all(a.ok for _, a in agreements), facts)
