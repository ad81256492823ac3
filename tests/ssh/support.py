"""Helpers shared by the SSH and hostile-server tests: selections, probing, ssh-keygen."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

from orchestrator.testbed.sshd import DROPBEARKEY, SSH_KEYGEN
from probes.model import ProbeReport, Target
from probes.runner import CheckSettings, ProbeOptions, default_selection, run_probe

# The check ids the unauthenticated SSH probe owns.
OWN_PREFIXES = ("SSH-BANNER-", "SSH-KEX-", "SSH-ENC-", "SSH-MAC-", "SSH-HKEY-", "SSH-AUTH-")


def own_selection(**params: dict) -> dict[str, CheckSettings]:
    """Our checks with default settings; ``params`` merges overrides per check id (``SSH_KEX_002=...``)."""
    selection = {cid: s for cid, s in default_selection().items() if cid.startswith(OWN_PREFIXES)}
    for key, override in params.items():
        check_id = key.replace("_", "-")
        current = selection[check_id]
        selection[check_id] = CheckSettings(current.severity, {**current.params, **override})
    return selection


def probe(port: int, pins: tuple[str, ...] = (), selection=None, **options: float) -> ProbeReport:
    target = Target("ssh", "127.0.0.1", port, pins=tuple(pins))
    return asyncio.run(run_probe(target, selection or own_selection(), ProbeOptions(**options)))


def statuses(report: ProbeReport) -> dict[str, str]:
    return {result.check_id: result.status.value for result in report.results}


def result(report: ProbeReport, check_id: str):
    return next(r for r in report.results if r.check_id == check_id)


def keygen_display(public_key: Path) -> str:
    """``ssh-keygen -lf`` output without the comment: ``<bits> SHA256:<fp> (<TYPE>)``."""
    out = subprocess.run(
        [SSH_KEYGEN, "-lf", str(public_key)], check=True, capture_output=True, text=True, timeout=30
    ).stdout.split()
    return f"{out[0]} {out[1]} {out[-1]}"


def keygen_fingerprint(public_key: Path) -> str:
    return keygen_display(public_key).split()[1]


def dropbear_public(private_key: Path) -> Path:
    """Write the OpenSSH-format public key of a Dropbear host key next to it."""
    out = subprocess.run(
        [DROPBEARKEY, "-y", "-f", str(private_key)], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith(("ssh-", "ecdsa-")))
    public = private_key.with_name(private_key.name + ".pub")
    public.write_text(line + "\n")
    return public


def capture(port: int, send: bytes = b"SSH-2.0-capture\r\n", max_bytes: int = 65536) -> bytes:
    """The raw bytes a server sends first: identification line and its KEXINIT packet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(send)
        data = b""
        while len(data) < max_bytes:
            chunk = sock.recv(4096)
            if not chunk:
                raise AssertionError(f"server closed after {len(data)} bytes")
            data += chunk
            line_end = data.find(b"\n")
            if line_end >= 0 and len(data) >= line_end + 5:
                length = int.from_bytes(data[line_end + 1 : line_end + 5], "big")
                if len(data) >= line_end + 5 + length:
                    return data
        raise AssertionError("server sent too much before its first packet")


def host_certificate(key: Path, ca: Path) -> Path:
    """Sign ``key``'s public half with CA ``ca`` (made once) as a host certificate: ``<key>-cert.pub``."""
    if not ca.exists():
        subprocess.run([SSH_KEYGEN, "-q", "-N", "", "-t", "ed25519", "-f", str(ca)], check=True, timeout=30)
    cert = key.with_name(key.name + "-cert.pub")
    if not cert.exists():
        subprocess.run(
            [SSH_KEYGEN, "-q", "-s", str(ca), "-I", "host", "-h", str(key) + ".pub"],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return cert


# Words a verdict can take inside evidence, ranked like statuses; anything else (mitigated …) ranks 0.
VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2}


def evidence_verdicts(evidence) -> list[str]:
    """Every ``verdict`` or ``status`` value anywhere in an evidence tree."""
    if isinstance(evidence, dict):
        own = [
            value
            for key, value in evidence.items()
            if key in ("verdict", "status") and isinstance(value, str)
        ]
        return own + [v for value in evidence.values() for v in evidence_verdicts(value)]
    if isinstance(evidence, (list, tuple)):
        return [v for value in evidence for v in evidence_verdicts(value)]
    return []


def disagreements(report: ProbeReport) -> list[str]:
    """Results whose evidence carries a verdict worse than the result's own status."""
    found = []
    for r in report.results:
        if r.status.value not in VERDICT_RANK:
            continue  # error, skip, waived: no verdict to disagree with
        own_rank = VERDICT_RANK[r.status.value]
        worse = [v for v in evidence_verdicts(r.evidence) if VERDICT_RANK.get(v, 0) > own_rank]
        if worse:
            found.append(f"{r.check_id} {r.status.value} carries {sorted(set(worse))}")
    return found
