"""Section ``tls`` of bench/peers.py: our TLS checks against sslyze on ``grpcs://`` endpoints of the testbed.

The testbed is a slice of the synthetic national inventory with every gRPC
endpoint ``grpcs://`` (its SSH endpoints dropped), served by ``start_fleet``:
a test CA issues each agency's certificate (``<agency>.testbed.localhost``,
SANs for the name and the host address) and is written to the inventory's
``ca_file``. Whatever certificate problems the fleet serves (expired, wrong
name, weak key, TLS 1.0 ...) are in the comparison as they come.

* Ours: ``interop sweep run --engine local`` with a profile the bench writes,
  ``extends: spbe-baseline`` and ``include: ["TLS-*"]`` (no gRPC checks),
  ``--concurrency 10 --per-host 10``.
* Peer: sslyze 6.3.1 in its own venv, one process over every target
  (``--targets_in``, ``--json_out``), only the scan commands that match our
  checks: ``--tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --certinfo`` with the
  test CA as ``--certinfo_ca_file``, and ``--mozilla_config disable``
  (sslyze otherwise adds every command Mozilla's "intermediate"
  configuration needs). SSL 2.0/3.0 are left out on both sides: we have no
  check for them (Python's OpenSSL cannot send either ClientHello), so
  timing sslyze's would charge it for work we skip. sslyze's command line has
  no concurrency setting: it scans 10 servers at once with up to 5
  connections each; ours runs 10 endpoints at once (the per-host limit
  raised to 10 because 25 endpoints share a testbed address, where sslyze
  limits per address and port).

Agreement (per endpoint): TLS versions accepted, the certificate's
not_after, and the validity verdicts both make (chain to the test CA, name,
expiry). sslyze does not report ALPN.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _peers as peers
from orchestrator.inventory.model import dump_inventory
from orchestrator.inventory.synthetic import generate
from orchestrator.testbed.fleet import Fleet, start_fleet

SSLYZE = "sslyze==6.3.1"
SEED = 12
ENDPOINTS, SMOKE_ENDPOINTS = 200, 8
OWN_HOST_OCTET = 212  # see _own_address
CONCURRENCY = 10  # sslyze's fixed number of servers scanned at once
WALL_TARGET = 5.0

# sslyze scan command -> the protocol version it tests (the JSON's key is the command's name).
VERSION_COMMANDS = {
    "tls_1_0_cipher_suites": "TLSv1",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}
SSLYZE_FLAGS = (
    "--tlsv1",
    "--tlsv1_1",
    "--tlsv1_2",
    "--tlsv1_3",
    "--certinfo",
    "--mozilla_config",
    "disable",
    "--quiet",
)

PROFILE = """\
name: tls-only
title: TLS checks of the baseline
description: The TLS checks of spbe-baseline alone, to compare with sslyze.
extends: spbe-baseline
include: ["TLS-*"]
"""


# -- the testbed ----------------------------------------------------------------------------


def write_inventory(path: Path, endpoints: int) -> int:
    """A national slice with every gRPC endpoint grpcs:// and no SSH: ``endpoints`` of them.

    The first endpoint of each certificate problem the inventory has (its
    ``testbed-tls`` tag) is always in, so even a smoke run compares them; the
    rest are the first endpoints of the slice.
    """
    wanted = endpoints * 3 + 200
    while True:
        document = generate(SEED, slice_endpoints=wanted, grpcs_share=1.0, ca_file="testbed-ca.pem")
        tls = [
            {
                **application,
                "endpoints": [e for e in application["endpoints"] if e["url"].startswith("grpcs://")],
            }
            for application in document["applications"]
        ]
        tls = [application for application in tls if application["endpoints"]]
        if len(tls) >= endpoints:
            break
        wanted *= 2
    first_of_kind = {}
    for index, application in enumerate(tls):
        first_of_kind.setdefault(_problem(application["endpoints"][0]), index)
    chosen = sorted(first_of_kind.values())[:endpoints]
    chosen += [index for index in range(len(tls)) if index not in chosen][: endpoints - len(chosen)]
    applications = [_own_address(tls[index]) for index in sorted(chosen)]
    used = {application["agency"] for application in applications}
    document["agencies"] = [a for a in document["agencies"] if a["code"] in used]
    document["applications"] = applications
    dump_inventory(
        document, path, header=f"{endpoints} grpcs:// endpoints of the synthetic inventory, seed {SEED}"
    )
    return endpoints


def _own_address(application: dict) -> dict:
    """The application's endpoints moved from 127.a.b.1 to 127.a.b.OWN_HOST_OCTET.

    Other testbeds on the machine serve the synthetic inventory's own
    addresses, and gRPC servers bind with SO_REUSEPORT: a second fleet on the
    same address and port would silently share its connections with ours.
    """
    moved = []
    for endpoint in application["endpoints"]:
        scheme, rest = endpoint["url"].split("://", 1)
        host, port = rest.rsplit(":", 1)
        moved.append({**endpoint, "url": f"{scheme}://{host.rsplit('.', 1)[0]}.{OWN_HOST_OCTET}:{port}"})
    return {**application, "endpoints": moved}


def _problem(endpoint: dict) -> str:
    return next(
        (tag.split("=", 1)[1] for tag in endpoint.get("tags", ()) if tag.startswith("testbed-tls=")), "valid"
    )


def sslyze_targets(fleet: Fleet) -> list[str]:
    """``name:port{address}``: SNI and certificate name as our probe uses them, connecting to the address."""
    return [f"{ref.server_name or ref.host}:{ref.port}{{{ref.host}}}" for ref in fleet.endpoints()]


# -- the two sides --------------------------------------------------------------------------


@dataclass
class Setup:
    workdir: Path
    inventory: Path
    profile: Path
    targets: Path
    ca_file: Path
    sslyze: Path
    server_pids: list[int] = field(default_factory=list)

    @property
    def store(self) -> Path:
        return self.workdir / "results.db"

    @property
    def sslyze_json(self) -> Path:
        return self.workdir / "sslyze.json"

    def ours_argv(self) -> list[str]:
        return peers.sweep_argv(
            self.inventory, self.profile, self.store, CONCURRENCY, "--per-host", str(CONCURRENCY)
        )

    def peer_argv(self) -> list[str]:
        return [
            str(self.sslyze),
            "--targets_in",
            str(self.targets),
            "--json_out",
            str(self.sslyze_json),
            *SSLYZE_FLAGS,
            "--certinfo_ca_file",
            str(self.ca_file),
        ]

    def run_ours(self) -> peers.Run:
        return peers.run_sweep(self.ours_argv(), self.store, server_cpu=peers.processes_cpu(self.server_pids))

    def run_peer(self) -> peers.Run:
        self.sslyze_json.unlink(missing_ok=True)
        return peers.run_timed(self.peer_argv(), server_cpu=peers.processes_cpu(self.server_pids))


# -- what each side saw, per endpoint -------------------------------------------------------

VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# Our label of a legacy version -> its name in VERSIONS.
LEGACY_LABELS = {"TLS 1.0": "TLSv1", "TLS 1.1": "TLSv1.1"}
# What a default client (TLS 1.2 and 1.3 offered) negotiating this version says about the two.
NEGOTIATED_SAYS = {"TLSv1.3": {"TLSv1.3": True}, "TLSv1.2": {"TLSv1.2": True, "TLSv1.3": False}}
# Our checks whose pass makes a certificate "valid" as sslyze's path validation means it:
# a chain to the CA within its validity period (OpenSSL's verification) and the name.
VALIDITY_CHECKS = ("TLS-CERT-001", "TLS-CERT-002")
SSLYZE_KEY_TYPES = {
    "RSAPublicKey": "RSA",
    "EllipticCurvePublicKey": "EC",
    "ECPublicKey": "EC",
    "Ed25519PublicKey": "Ed25519",
    "DSAPublicKey": "DSA",
}
SUPPLIED_CA = "Supplied CA file"


@dataclass
class Observed:
    """One endpoint as one side saw it; None: that side did not determine it."""

    versions: dict[str, bool | None] = field(default_factory=lambda: dict.fromkeys(VERSIONS))
    not_after: dt.datetime | None = None
    key: str | None = None  # "EC 256", "RSA 1024"
    valid: bool | None = None  # chain to the test CA, within validity, for the name used
    why: str = ""  # why not valid, as the side says it
    alpn: str | None = None  # only ours: sslyze does not report ALPN


def _time(text: str | None) -> dt.datetime | None:
    return None if not text else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def ours_observed(store: Path) -> dict[tuple[str, int], Observed]:
    """From the store of our sweep: the facts summary and the statuses of the validity checks."""
    seen: dict[tuple[str, int], Observed] = {}
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT e.endpoint_id, e.url, o.facts FROM outcomes o "
            "JOIN endpoints e USING (sweep_id, endpoint_id)"
        ).fetchall()
        statuses: dict[str, dict[str, tuple[str, str]]] = {}
        for endpoint, check, status, reason in connection.execute(
            "SELECT endpoint_id, check_id, status, reason FROM results"
        ):
            statuses.setdefault(endpoint, {})[check] = (status, reason)
    finally:
        connection.close()
    for endpoint, url, facts in rows:
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        tls = json.loads(facts or "{}").get("tls", {})
        observed = Observed(not_after=_time(tls.get("not_after")), alpn=tls.get("alpn"))
        observed.versions.update(NEGOTIATED_SAYS.get(tls.get("version"), {}))
        for label, verdict in tls.get("legacy", {}).items():
            observed.versions[LEGACY_LABELS[label]] = verdict == "accepted"
        if tls.get("key_type"):
            observed.key = f"{tls['key_type']} {tls['key_bits']}"
        checks = statuses.get(endpoint, {})
        verdicts = [checks.get(check, ("error", "not run")) for check in VALIDITY_CHECKS]
        if all(status in ("pass", "fail") for status, _ in verdicts):
            observed.valid = all(status == "pass" for status, _ in verdicts)
            observed.why = "; ".join(reason for status, reason in verdicts if status == "fail")
        seen[host, int(port)] = observed
    return seen


def _command(scan: dict, name: str) -> dict | None:
    attempt = scan.get(name) or {}
    return attempt.get("result") if attempt.get("status") == "COMPLETED" else None


def sslyze_observed(path: Path) -> dict[tuple[str, int], Observed]:
    """From sslyze's JSON: each version command's verdict, the leaf and the supplied CA's validation."""
    seen: dict[tuple[str, int], Observed] = {}
    for server in json.loads(path.read_text())["server_scan_results"]:
        location = server["server_location"]
        observed = Observed()
        scan = server.get("scan_result") or {}
        for command, version in VERSION_COMMANDS.items():
            result = _command(scan, command)
            if result is not None:
                observed.versions[version] = result["is_tls_version_supported"]
        certificate = _command(scan, "certificate_info")
        if certificate and certificate["certificate_deployments"]:
            deployment = certificate["certificate_deployments"][0]
            leaf = deployment["received_certificate_chain"][0]
            observed.not_after = _time(leaf["not_valid_after"])
            key = leaf["public_key"]
            observed.key = f"{SSLYZE_KEY_TYPES.get(key['algorithm'], key['algorithm'])} {key['key_size']}"
            for validation in deployment["path_validation_results"]:
                if validation["trust_store"]["name"] == SUPPLIED_CA:
                    observed.valid = validation["was_validation_successful"]
                    observed.why = validation.get("validation_error") or ""
        seen[location["ip_address"], location["port"]] = observed
    return seen


# -- agreement --------------------------------------------------------------------------------

FACTS = (*VERSIONS, "not_after", "key", "valid")
FACT_TITLES = {
    "TLSv1": "TLS 1.0 accepted",
    "TLSv1.1": "TLS 1.1 accepted",
    "TLSv1.2": "TLS 1.2 accepted",
    "TLSv1.3": "TLS 1.3 accepted",
    "not_after": "certificate not_after",
    "key": "certificate key (type, bits)",
    "valid": "certificate valid (chain to the test CA, validity period, name)",
}
# Facts we leave undetermined on purpose, and why (shown in the agreement).
NOT_ASKED = {
    "TLSv1.2": "we do not ask a server that negotiates TLS 1.3 with a default client whether it would also "
    "take TLS 1.2: no check of ours depends on it (TLS-PROTO-001 wants 1.2 *or newer*), and it "
    "would cost every endpoint one more handshake",
}
# Differences understood and deliberate: (fact, ours, sslyze's, words in our reason) -> why.
EXPLAINED: dict[tuple[str, Any, Any, str], str] = {
    (
        "valid",
        False,
        True,
        "key too weak",
    ): "we verify at OpenSSL security level 2, as Python and Debian clients do by default, so an RSA-1024 "
    "leaf fails the chain: the clients of the service would refuse it (NIST SP 800-131A disallows "
    "keys under 112 bits). sslyze's path validation (cryptography's verifier) does not judge key "
    "size; both sides report the same key (RSA 1024), and our TLS-KEY-001 fails it too",
}


def _explanation(name: str, mine: Any, theirs: Any, our_reason: str) -> str | None:
    return next(
        (
            why
            for (fact, ours, peer, words), why in EXPLAINED.items()
            if (fact, ours, peer) == (name, mine, theirs) and words in our_reason
        ),
        None,
    )


def _fact(observed: Observed, name: str) -> Any:
    return observed.versions[name] if name in observed.versions else getattr(observed, name)


@dataclass
class Agreement:
    counts: dict[str, dict[str, int]]
    differences: list[str]  # Markdown lines, unexplained first
    unexplained: int
    markdown: str = ""


def compare_sides(
    ours: dict[tuple[str, int], Observed],
    sslyze: dict[tuple[str, int], Observed],
    tags: dict[tuple[str, int], str],
) -> Agreement:
    """Per endpoint and fact: identical, deliberately not asked by us, explained, or unexplained."""
    counts = {
        name: dict.fromkeys(("identical", "not_asked", "explained", "unexplained"), 0) for name in FACTS
    }
    unexplained: list[str] = []
    explained: list[str] = []
    for address in sorted(set(ours) | set(sslyze)):
        where = f"{address[0]}:{address[1]} ({tags.get(address, 'valid')})"
        if address not in ours or address not in sslyze:
            unexplained.append(f"- {where}: only {'ours' if address in ours else 'sslyze'} has a result")
            continue
        for name in FACTS:
            mine, theirs = _fact(ours[address], name), _fact(sslyze[address], name)
            if mine == theirs:
                counts[name]["identical"] += 1
            elif mine is None and name in NOT_ASKED:
                counts[name]["not_asked"] += 1
            elif (why := _explanation(name, mine, theirs, ours[address].why)) is not None:
                counts[name]["explained"] += 1
                explained.append(f"- {where}: {FACT_TITLES[name]}: ours {mine}, sslyze {theirs} — {why}")
            else:
                counts[name]["unexplained"] += 1
                why = (
                    f" (ours: {ours[address].why or '–'}; sslyze: {sslyze[address].why or '–'})"
                    if name == "valid"
                    else ""
                )
                unexplained.append(
                    f"- **unexplained** {where}: {FACT_TITLES[name]}: ours {mine}, sslyze {theirs}{why}"
                )
    return Agreement(counts, unexplained + explained, len(unexplained))


def agreement_markdown(
    agreement: Agreement,
    ours: dict[tuple[str, int], Observed],
    sslyze: dict[tuple[str, int], Observed],
    tags: dict[tuple[str, int], str],
) -> str:
    lines = [
        f"**TLS: agreement with sslyze** over {len(tags)} grpcs:// endpoints, per endpoint and fact.",
        "",
        "| Fact | Identical | Not asked by us (deliberate) | Different, explained | Different, unexplained |",
        "|---|---|---|---|---|",
    ]
    for name in FACTS:
        count = agreement.counts[name]
        lines.append(
            f"| {FACT_TITLES[name]} | {count['identical']} | {count['not_asked']} | "
            f"{count['explained']} | {count['unexplained']} |"
        )
    lines += [
        "",
        "By the certificate problem the testbed serves (`testbed-tls` tag; `valid`: none):",
        "",
        "| Problem | Endpoints | Valid: ours / sslyze | Ours says | sslyze says |",
        "|---|---|---|---|---|",
    ]
    by_tag: dict[str, list[tuple[str, int]]] = {}
    for address, tag in sorted(tags.items()):
        by_tag.setdefault(tag, []).append(address)
    for tag, addresses in sorted(by_tag.items()):
        mine = [ours[a] for a in addresses if a in ours]
        theirs = [sslyze[a] for a in addresses if a in sslyze]
        valid = f"{sum(o.valid is True for o in mine)} / {sum(o.valid is True for o in theirs)}"
        example = next((a for a in addresses if a in ours and a in sslyze), None)
        said = (_clip(ours[example].why) or "–", _clip(sslyze[example].why) or "–") if example else ("–", "–")
        lines.append(f"| {tag} | {len(addresses)} | {valid} | {said[0]} | {said[1]} |")
    lines += [
        "",
        "Not asked by us: " + "; ".join(f"{FACT_TITLES[k]}: {v}" for k, v in NOT_ASKED.items()) + ".",
        (
            "ALPN is not compared: sslyze does not report it (ours selected `h2` on "
            f"{sum(o.alpn == 'h2' for o in ours.values())} of {len(ours)} endpoints)."
        ),
        "SSL 2.0/3.0 are not compared: we have no check for them (see the notes).",
    ]
    if agreement.differences:
        lines += ["", "Differences:", "", *agreement.differences[:40]]
        if len(agreement.differences) > 40:
            lines.append(f"- … and {len(agreement.differences) - 40} more")
    else:
        lines += ["", "No difference: every fact both sides determine is identical."]
    return "\n".join(lines)


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the section ------------------------------------------------------------------------------


def prepare(workdir: Path, endpoints: int, fleet: Fleet, sslyze_bin: Path) -> Setup:
    profile, targets = workdir / "tls-only.yaml", workdir / "sslyze-targets.txt"
    profile.write_text(PROFILE)
    targets.write_text("\n".join(sslyze_targets(fleet)) + "\n")
    servers = [process.pid for process in fleet.processes]
    return Setup(
        workdir, workdir / "inventory.yaml", profile, targets, fleet.ca_path, sslyze_bin / "sslyze", servers
    )


def sslyze_version(sslyze_bin: Path) -> str:
    command = "from importlib.metadata import version; print(version('sslyze'))"
    return peers.subprocess.run(
        [str(sslyze_bin / "python"), "-c", command], capture_output=True, text=True, check=True
    ).stdout.strip()


def compare_one(
    options: peers.Options, endpoints: int, sslyze_bin: Path
) -> tuple[peers.Comparison, Agreement, dict]:
    workdir = options.workdir / f"tls-{endpoints}"
    workdir.mkdir(parents=True, exist_ok=True)
    write_inventory(workdir / "inventory.yaml", endpoints)
    with start_fleet(workdir / "inventory.yaml", workdir / "testbed") as fleet:
        tags = {(ref.host, ref.port): ref.tag_value("testbed-tls") or "valid" for ref in fleet.endpoints()}
        setup = prepare(workdir, endpoints, fleet, sslyze_bin)
        peers.log(f"tls: {endpoints} grpcs endpoints up in {fleet.startup_s:.1f} s; {options.reps} pairs")
        sides = peers.alternate(setup.run_ours, setup.run_peer, options.reps)
        ours, theirs = ours_observed(setup.store), sslyze_observed(setup.sslyze_json)
    agreement = compare_sides(ours, theirs, tags)
    agreement.markdown = agreement_markdown(agreement, ours, theirs, tags)
    result = peers.compare(sides)
    ratio = result["peer_over_ours"]
    comparison = peers.Comparison(
        label=f"TLS, {endpoints} endpoints",
        endpoints=endpoints,
        result=result,
        ours=f"interop sweep run --engine local --profile tls-only.yaml (TLS-*) --concurrency {CONCURRENCY} "
        f"--per-host {CONCURRENCY}",
        peer=f"sslyze {' '.join(SSLYZE_FLAGS)} --certinfo_ca_file CA --targets_in FILE --json_out FILE",
        targets=[peers.ratio_target("wall ratio (throughput)", ratio["wall_s"], WALL_TARGET, options.smoke)],
        notes=[
            (
                f"CPU ratio (sslyze / ours, the tools alone): {peers.fmt_ratio(ratio['cpu_s'])}; "
                f"the servers' CPU: ours {result['ours']['server_cpu_s']:.2f} s, "
                f"sslyze {result['peer']['server_cpu_s']:.2f} s."
            ),
            (
                f"Concurrency: sslyze's command line has no setting for it; it scans 10 servers at once with up to "
                f"5 connections to each. Ours: {CONCURRENCY} endpoints at once (--per-host {CONCURRENCY}, since 25 "
                "testbed endpoints share an address where sslyze limits per address and port), one connection at a "
                "time per endpoint: the verifying handshake (and an unverified one where the chain fails, to read "
                "the certificate), then one offering TLS 1.0 to 1.1 (and one more where a legacy version is "
                "accepted)."
            ),
            (
                "Scan commands: the protocol versions our checks judge (TLS 1.0-1.3) and --certinfo; "
                "--mozilla_config disable. SSL 2.0/3.0 are left out: we have no check for them (Python's OpenSSL "
                "cannot send such a ClientHello), so sslyze would be timed for work we do not do. sslyze "
                "enumerates every cipher suite of each version (one connection per suite): that is how it "
                'answers "version accepted"; we make one handshake per version we judge.'
            ),
        ],
    )
    facts = {
        "sslyze": sslyze_version(sslyze_bin),
        "endpoints": endpoints,
        "problems": {tag: sum(1 for t in tags.values() if t == tag) for tag in sorted(set(tags.values()))},
    }
    return comparison, agreement, facts


def run(options: peers.Options) -> peers.Section:
    sslyze_bin = peers.peer_venv("sslyze", [SSLYZE])
    scales = (SMOKE_ENDPOINTS,) if options.smoke else options.scales or (ENDPOINTS,)
    comparisons, texts, facts, unexplained = [], [], {}, 0
    for endpoints in scales:
        comparison, agreement, scale_facts = compare_one(options, endpoints, sslyze_bin)
        comparisons.append(comparison)
        texts.append(agreement.markdown)
        facts[str(endpoints)] = scale_facts
        unexplained += agreement.unexplained
    return peers.Section("tls", comparisons, "\n\n".join(texts), unexplained == 0, facts)


# -- what our TLS probe costs per endpoint (``python bench/peers_tls.py cost``) --------------


async def _probe_all(refs: list, selection: dict, options: Any, concurrency: int) -> float:
    import asyncio
    import time

    from probes.runner import run_probe

    gate = asyncio.Semaphore(concurrency)

    async def one(ref: Any) -> None:
        async with gate:
            await run_probe(ref.to_target(), selection, options)

    started = time.perf_counter()
    await asyncio.gather(*(one(ref) for ref in refs))
    return time.perf_counter() - started


def probe_cost(
    endpoints: int, concurrency: int, rounds: int, workdir: Path, profile_name: str | None
) -> dict:
    """CPU of our TLS probe per endpoint, in this process (no engine, no store) and in the servers.

    The marginal cost a sweep pays for a grpcs:// endpoint's TLS checks; the
    first round warms imports and caches and is not counted.
    """
    import asyncio
    import time

    from bench import _measure as measure
    from orchestrator.profiles import load_profile

    write_inventory(workdir / "inventory.yaml", endpoints)
    (workdir / "tls-only.yaml").write_text(PROFILE)
    profile = load_profile(profile_name or str(workdir / "tls-only.yaml"))
    rows = []
    with start_fleet(workdir / "inventory.yaml", workdir / "testbed") as fleet:
        refs, servers = fleet.endpoints(), [p.pid for p in fleet.processes]
        for round_ in range(rounds + 1):
            server_before, client_before = measure.own_and_reaped_cpu_s(servers), time.process_time()
            wall = asyncio.run(_probe_all(refs, profile.selection, profile.options, concurrency))
            client = time.process_time() - client_before
            server = measure.own_and_reaped_cpu_s(servers) - server_before
            if round_:
                rows.append(
                    {
                        "wall_s": wall,
                        "client_ms": 1000 * client / len(refs),
                        "server_ms": 1000 * server / len(refs),
                    }
                )
    best = min(rows, key=lambda row: row["client_ms"])
    return {
        "endpoints": endpoints,
        "concurrency": concurrency,
        "profile": profile_name or "TLS-* only",
        "rounds": rows,
        "client_cpu_ms_per_endpoint_min": round(best["client_ms"], 2),
        "client_cpu_ms_per_endpoint_median": round(sorted(r["client_ms"] for r in rows)[len(rows) // 2], 2),
        "server_cpu_ms_per_endpoint_median": round(sorted(r["server_ms"] for r in rows)[len(rows) // 2], 2),
    }


def main(argv: list[str] | None = None) -> None:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="What our TLS probe costs per grpcs:// endpoint (CPU ms).")
    parser.add_argument("command", choices=["cost"])
    parser.add_argument("--endpoints", type=int, default=ENDPOINTS)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="A profile instead of the TLS checks alone (e.g. spbe-baseline).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="interop-tls-cost-") as scratch:
        print(
            json.dumps(probe_cost(args.endpoints, args.concurrency, args.rounds, Path(scratch), args.profile))
        )


if __name__ == "__main__":
    main()
