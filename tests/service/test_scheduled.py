"""``interop serve`` with a schedule: it sweeps the fleet itself; /status, /metrics and /readyz show the scheduler.

The service starts on an empty store with ``--every 1h``: the first sweep (a
child process, local engine) runs at once. The scheduler itself (resume
after SIGTERM, never two at once, compaction) is tested in its own files;
here: that ``serve`` wires it in, serves what it sweeps, and stops it.
"""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

from orchestrator.testbed.process import free_port, wait_for_port
from tests.service.conftest import OWN, bearer, serve_argv

SWEEP_DEADLINE_S = 180.0


def wait_for_status(client: httpx.Client, token: str, done, what: str, timeout_s: float = SWEEP_DEADLINE_S):
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get("/status", headers=bearer(token)).json()
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {status['scheduler']}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def scheduled(fleet, tokens, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("scheduled")
    port = free_port()
    argv = serve_argv(
        workdir / "results.db",
        port,
        "--tokens",
        str(tokens.path),
        "--inventory",
        str(fleet.inventory),
        "--profile",
        str(fleet.profile),
        "--every",
        "1h",
        "--engine",
        "local",
    )
    log = open(workdir / "serve.log", "w+")  # noqa: SIM115 - open while the fixture yields; closed in finally
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
    )
    try:
        wait_for_port("127.0.0.1", port, 60, process)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            yield process, client, workdir / "serve.log"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log.close()


def test_the_service_sweeps_on_its_schedule_and_shows_it(scheduled, tokens):
    _process, client, _log_path = scheduled
    operator = tokens.by_name["operator"]
    status = wait_for_status(
        client,
        operator,
        lambda s: (s["scheduler"]["last_sweep"] or {}).get("state") == "complete",
        "the first scheduled sweep",
    )
    scheduler = status["scheduler"]
    assert scheduler["alive"] is True and scheduler["runs"]["complete"] == 1 and scheduler["next_run"]
    assert scheduler["schedule"]["every_s"] == 3600
    assert [sweep["id"] for sweep in status["sweeps"]] == [scheduler["last_sweep"]["id"]]

    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["checks"]["scheduler"] == "alive"

    exposition = client.get("/metrics", headers=bearer(operator)).text
    assert 'interop_scheduler_up{inventory="inventory"} 1.0' in exposition
    assert 'interop_scheduler_last_sweep_state{inventory="inventory",state="complete"} 1.0' in exposition
    own = client.get("/metrics", headers=bearer(tokens.by_name["own"])).text
    assert "interop_scheduler_" not in own and f'agency="{OWN}"' in own

    report = client.get(f"/reports/latest/agency/{OWN}.json", headers=bearer(tokens.by_name["own"])).json()
    assert report["sweep"]["id"] == scheduler["last_sweep"]["id"]


def test_sigterm_stops_the_scheduler_and_the_service(scheduled, tokens):
    process, client, log_path = scheduled
    wait_for_status(
        client,
        tokens.by_name["operator"],
        lambda s: s["scheduler"]["last_sweep"] is not None,
        "a scheduled sweep",
    )
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=90) == 0
    log = log_path.read_text()
    assert "inventory.yaml scheduled: every 1h" in log
    assert "stopped" in log and "Traceback" not in log
