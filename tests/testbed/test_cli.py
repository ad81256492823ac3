"""``interop testbed up/down``: signals stop it cleanly, and ``down`` cleans up after a SIGKILL."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import testbed as cli_testbed
from orchestrator.processes import alive as _alive
from orchestrator.testbed.ledger import LEDGER_NAME, Ledger, existing_namespaces
from tests.testbed.test_fleet import TINY
from tests.testbed.test_netns import TWO_HOSTS

TESTBED = [sys.executable, "-m", "orchestrator.cli", "testbed"]


def start_up(inventory: Path, workdir: Path, key_dir: Path, *extra: str) -> subprocess.Popen:
    """``up`` in a subprocess, returned once it says it is ready."""
    process = subprocess.Popen(
        [
            *TESTBED,
            "up",
            "--inventory",
            str(inventory),
            "--workdir",
            str(workdir),
            "--key-dir",
            str(key_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = b""
    deadline = time.monotonic() + 60
    while cli_testbed.READY.encode() not in output:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"`up` did not get ready:\n{output.decode(errors='replace')}")
        if select.select([process.stdout], [], [], 0.5)[0]:
            output += os.read(process.stdout.fileno(), 65536)  # unbuffered: select sees what is left
    return process


def test_down_cleans_up_after_a_killed_up(tmp_path: Path, key_dir: Path):
    inventory, workdir = tmp_path / "two-hosts.yaml", tmp_path / "work"
    inventory.write_text(TWO_HOSTS)
    up = start_up(inventory, workdir, key_dir, "--netns")
    ledger = Ledger.in_dir(workdir)
    pids = [p.pid for p in ledger.processes()]
    namespaces = ledger.namespaces()
    assert len(pids) == 4 and len(namespaces) == 4  # hub, two hosts, probe

    up.kill()  # SIGKILL: no chance to clean up
    up.wait(timeout=10)
    up.stdout.close()

    assert all(_alive(pid) for pid in pids)
    assert set(namespaces) <= existing_namespaces()

    down = subprocess.run(
        [*TESTBED, "down", "--workdir", str(workdir)], capture_output=True, text=True, timeout=60
    )

    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped 4 processes" in down.stdout and "removed 4 namespaces" in down.stdout
    assert not [pid for pid in pids if _alive(pid)]
    assert not set(namespaces) & existing_namespaces()
    assert not (workdir / LEDGER_NAME).exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_up_and_everything_it_started(tmp_path: Path, key_dir: Path, sig: signal.Signals):
    inventory, workdir = tmp_path / "tiny.yaml", tmp_path / "work"
    inventory.write_text(TINY)
    up = start_up(inventory, workdir, key_dir, "--latency-ms", "20")
    pids = [p.pid for p in Ledger.in_dir(workdir).processes()]
    assert len(pids) == 3 and all(_alive(pid) for pid in pids)

    up.send_signal(sig)
    rest = up.communicate(timeout=30)[0].decode()

    assert up.returncode == 0, rest
    assert "stopped 3 processes" in rest
    assert not [pid for pid in pids if _alive(pid)]
    assert not (workdir / LEDGER_NAME).exists()


def test_a_running_up_is_neither_doubled_nor_torn_down(tmp_path: Path, key_dir: Path):
    inventory, workdir = tmp_path / "tiny.yaml", tmp_path / "work"
    inventory.write_text(TINY)
    first = start_up(inventory, workdir, key_dir)
    try:
        second = subprocess.run(
            [*TESTBED, "up", "--inventory", str(inventory), "--workdir", str(workdir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "belongs to a running testbed" in second.stderr
        down = subprocess.run(
            [*TESTBED, "down", "--workdir", str(workdir)], capture_output=True, text=True, timeout=60
        )
        assert down.returncode == 2
        assert f"still runs under pid {first.pid}" in down.stderr
        assert all(_alive(p.pid) for p in Ledger.in_dir(workdir).processes())
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0


def test_down_without_state_says_so(tmp_path: Path):
    result = CliRunner().invoke(cli_testbed.testbed_app, ["down", "--workdir", str(tmp_path)])
    assert result.exit_code == 0
    assert "nothing to clean up" in result.output


@pytest.mark.parametrize("command", [[], ["up"], ["down"]])
def test_every_command_has_help(command: list[str]):
    result = CliRunner().invoke(cli_testbed.testbed_app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
