"""The ledger only ever signals what it started: a recycled pid is left alone."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from orchestrator.processes import alive as _alive
from orchestrator.processes import cmdline as _cmdline
from orchestrator.processes import start_ticks
from orchestrator.testbed.ledger import Ledger, clean_up


@pytest.fixture
def sleeper():
    process = subprocess.Popen(["sleep", "60"])
    # Popen returns once exec has begun; the kernel fills in the new command line a moment
    # later, and on a loaded machine the ledger could read it empty in between.
    deadline = time.monotonic() + 10
    while _cmdline(process.pid) != "sleep 60" and time.monotonic() < deadline:
        time.sleep(0.01)
    yield process
    process.kill()
    process.wait()


def test_stops_a_recorded_process_and_forgets_nothing(tmp_path: Path, sleeper):
    ledger = Ledger.in_dir(tmp_path)
    ledger.process(sleeper.pid, ["sleep", "60"], "sleeper")

    report = clean_up(ledger, grace_s=2)

    assert report.stopped == [sleeper.pid] and report.clean
    assert sleeper.wait(timeout=5) == -15  # SIGTERM was enough


def test_a_pid_running_something_else_is_left_alone(tmp_path: Path, sleeper):
    ledger = Ledger.in_dir(tmp_path)
    ledger.process(sleeper.pid, ["/usr/sbin/sshd", "-D"], "sshd-0")

    report = clean_up(ledger, grace_s=0.2)

    assert report.stopped == [] and _alive(sleeper.pid)


def test_a_pid_started_at_another_time_is_left_alone(tmp_path: Path, sleeper):
    ledger = Ledger.in_dir(tmp_path)
    ledger.path.write_text(
        json.dumps(
            {
                "kind": "process",
                "pid": sleeper.pid,
                "command": ["sleep", "60"],
                "ticks": start_ticks(sleeper.pid) - 1,
            }
        )
        + "\n"
    )

    report = clean_up(ledger, grace_s=0.2)

    assert report.stopped == [] and _alive(sleeper.pid)


def test_a_line_cut_short_by_a_kill_is_skipped(tmp_path: Path, sleeper):
    ledger = Ledger.in_dir(tmp_path)
    ledger.process(sleeper.pid, ["sleep", "60"])
    ledger.close()
    with open(ledger.path, "a") as handle:
        handle.write('{"kind": "process", "pid": 1, "comm')

    assert [p.pid for p in ledger.processes()] == [sleeper.pid]


def test_only_testbed_namespaces_are_recorded(tmp_path: Path):
    with pytest.raises(ValueError, match="spbe-"):
        Ledger.in_dir(tmp_path).namespace("default")
