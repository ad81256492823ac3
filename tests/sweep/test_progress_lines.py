"""`interop sweep run` off a terminal: a progress line at a steady interval; its skips name the inventory.

The sweep runs as a child process with its output piped, as a CI job or
systemd runs it, against real gRPC servers on loopback that answer every
call after a pause (so the sweep lasts several intervals whatever the
machine's load).
"""

from __future__ import annotations

import re

import pytest

from orchestrator.cli.progress import progress_line
from orchestrator.store import Store
from tests.sweep.support import (
    cli,
    planned,
    start_grpc_fleet,
    stop_process,
    sweep_ids,
    write_inventory,
    write_profile,
)

LINE = re.compile(
    r"^progress (?P<done>\d+)/(?P<total>\d+) (?P<percent>\d+)% rate (?P<rate>\d+\.\d)/s "
    r"fail (?P<fail>\d+) error (?P<error>\d+) unreachable (?P<unreachable>\d+) "
    r"elapsed (?P<elapsed>\d+:\d\d:\d\d) eta (?P<eta>\d+:\d\d:\d\d|-)$"
)
ENDPOINTS = 4


@pytest.fixture(scope="module")
def slow_fleet(tmp_path_factory):
    # One host, one probe at a time (--per-host 1), 0.2 s before every call: several seconds in all.
    hosts = {"127.0.0.71": ENDPOINTS}
    fleet = start_grpc_fleet(tmp_path_factory.mktemp("slow"), hosts, latency_s=0.2, name="slow")
    yield fleet
    fleet.stop()


def run_sweep_piped(tmp_path, fleet, *options: str, env: dict[str, str] | None = None):
    inventory = write_inventory(tmp_path / "inventory.yaml", planned(fleet.urls))
    profile = write_profile(tmp_path / "profile.yaml", ("GRPC-HLTH-*",))
    store = tmp_path / "results.db"
    process = cli(
        "run",
        "-i",
        str(inventory),
        "-p",
        str(profile),
        "--store",
        str(store),
        "--engine",
        "local",
        "--per-host",
        "1",
        *options,
        env={"COLUMNS": "", **(env or {})},
    )
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        stop_process(process)
    assert process.returncode == 0, stdout + stderr
    return store, stderr


def test_off_a_terminal_progress_lines_come_at_the_interval(slow_fleet, tmp_path):
    store, stderr = run_sweep_piped(tmp_path, slow_fleet, "--progress-interval", "0.2")
    matches = [LINE.match(line) for line in stderr.splitlines() if line.startswith("progress ")]
    assert all(matches), stderr
    assert len(matches) >= 2, stderr
    for match in matches:
        assert int(match["total"]) == ENDPOINTS
        assert int(match["done"]) <= ENDPOINTS
        assert int(match["percent"]) == 100 * int(match["done"]) // ENDPOINTS
        assert int(match["fail"]) == int(match["error"]) == int(match["unreachable"]) == 0
    dones = [int(match["done"]) for match in matches]
    assert dones == sorted(dones)  # steady: never goes back
    assert "\x1b[" not in stderr  # no live bar drawn into a log

    # A sweep's skip for a missing expectation says where the inventory gives it.
    [sweep_id] = sweep_ids(store)
    with Store(store, read_only=True) as opened:
        reasons = {row.reason for row in opened.results(sweep_id, status="skip")}
    assert reasons == {"no gRPC services declared: the inventory gives no services: for this endpoint"}


def test_the_interval_comes_from_the_environment_and_0_turns_lines_off(slow_fleet, tmp_path):
    _, stderr = run_sweep_piped(tmp_path, slow_fleet, env={"INTEROP_PROGRESS_INTERVAL": "0"})
    assert not [line for line in stderr.splitlines() if line.startswith("progress ")], stderr
    assert "complete: 4/4 endpoints done" in stderr


def test_progress_line_format():
    line = progress_line(120, 1000, 100, 25.0, 3, 1, 2)
    assert line == "progress 120/1000 12% rate 4.0/s fail 3 error 1 unreachable 2 elapsed 0:00:25 eta 0:03:40"
    assert LINE.match(line)
    assert progress_line(0, 10, 0, 0.0, 0, 0, 0).endswith("eta -")
    assert LINE.match(progress_line(0, 0, 0, 3.0, 0, 0, 0))
