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
