"""Bringing Ray up ends, one way or the other (issue 7, section 5).

Joining a cluster that is not there (nothing listening, a silent listener, a
server that is not a Ray GCS) ends in exit 2 naming the address, with nothing
probed; the issue's contract is 30 s, enforced here by each test's timeout
with room for a loaded machine's interpreter start. An embedded node that
does not come up is tried once more after a clean-up and then ends in exit 2
saying which process failed, with nothing left running.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest

from orchestrator.engine import EngineError
from orchestrator.engine.ray_start import describe_failed_start, parse_address
from orchestrator.testbed.process import free_port
from tests.sweep.support import (
    Planned,
    cli,
    connections_to,
    start_grpc_fleet,
    stop_process,
    sweep_ids,
    write_inventory,
    write_profile,
)


@pytest.fixture(scope="module")
def not_ray_grpc(tmp_path_factory):
    fleet = start_grpc_fleet(tmp_path_factory.mktemp("not-ray"), {"127.0.0.61": 1}, name="not-ray")
    yield fleet.urls[0].removeprefix("grpc://")
    fleet.stop()


@pytest.fixture
def silent_listener():
    """Accepts TCP connections (the kernel completes the handshake) and never says anything."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_joining(address: str, tmp_path: Path, quiet_listener):
    """``interop sweep run --ray-address ADDRESS`` over an inventory whose one endpoint counts connections."""
    inventory = write_inventory(
        tmp_path / "inventory.yaml", [Planned(f"grpc://127.0.0.1:{quiet_listener.getsockname()[1]}")]
    )
    store_path = tmp_path / "results.db"
    process = cli(
        "run", "--inventory", str(inventory), "--profile", str(write_profile(tmp_path / "p.yaml")),
        "--store", str(store_path), "--ray-address", address,
    )  # fmt: skip
    try:
        _out, err = process.communicate(timeout=55)
    finally:
        stop_process(process)
    assert sweep_ids(store_path) == [], "a sweep was recorded"
    assert connections_to(quiet_listener) == 0, "something was probed"
    return process.returncode, " ".join(err.split())


JOIN_CASES = {
    "nothing listening": (lambda request: f"127.0.0.1:{free_port()}", "nothing accepts connections there"),
    "a silent listener": (
        lambda request: request.getfixturevalue("silent_listener"),
        "something accepts connections there but gave no answer as a Ray GCS within 10 s",
    ),
    "an HTTP server": (
        lambda request: request.getfixturevalue("http_server"),
        "something accepts connections there but does not speak gRPC",
    ),
    "a gRPC server that is not Ray": (
        lambda request: request.getfixturevalue("not_ray_grpc"),
        "a gRPC server answers there, but it is not a Ray GCS",
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(JOIN_CASES))
def test_joining_a_cluster_that_is_not_there_ends_in_exit_2(case, request, tmp_path, quiet_listener):
    make_address, reason = JOIN_CASES[case]
    address = make_address(request)
    code, err = run_joining(address, tmp_path, quiet_listener)
    assert code == 2, err
    assert f"cannot join the Ray cluster at {address}: {reason}" in err
    assert "Traceback" not in err and "Failed to connect to GCS" not in err


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("nonsense", "give HOST:PORT"),
        ("127.0.0.1:", "give HOST:PORT"),
        ("127.0.0.1:70000", "give HOST:PORT"),
        ("::1:6379", "put an IPv6 address in brackets"),
        ("[::g]:6379", "[::g] is not an IPv6 address"),
    ],
)
def test_a_malformed_address_is_refused_before_anything(address, problem):
    with pytest.raises(EngineError, match=re.escape(f"--ray-address {address!r}: {problem}")):
        parse_address(address)


def test_well_formed_addresses():
    assert parse_address("127.0.0.1:6379") == ("127.0.0.1", 6379)
    assert parse_address("[::1]:6379") == ("::1", 6379)
    assert parse_address("ray-head.example.go.id:6380") == ("ray-head.example.go.id", 6380)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.timeout(120)
def test_an_embedded_node_that_does_not_come_up_is_retried_once_then_explained(tmp_path, quiet_listener):
    inventory = write_inventory(
        tmp_path / "inventory.yaml", [Planned(f"grpc://127.0.0.1:{quiet_listener.getsockname()[1]}")]
    )
    store_path = tmp_path / "results.db"
    # No time for the GCS to publish its port: every start fails the same way.
    process = cli(
        "run", "--inventory", str(inventory), "--profile", str(write_profile(tmp_path / "p.yaml")),
        "--store", str(store_path), "--num-cpus", "1",
        env={"RAY_gcs_server_port_wait_time_s": "0"},
    )  # fmt: skip
    try:
        _, err = process.communicate(timeout=100)
    finally:
        stop_process(process)
    kept = re.search(r"Ray's files of the last attempt are kept in (\S+)", err)
    try:
        assert process.returncode == 2, err
        assert "cannot start an embedded Ray node (2 attempts)" in err
        assert "embedded Ray node did not start; trying once more" in err
        for attempt in (1, 2):
            assert f"attempt {attempt}: Timed out waiting for file" in err
        assert err.count("the gcs_server did not come up") >= 2
        assert "Traceback" not in err
        assert kept, err
        # Nothing of either attempt is left running, and nothing was probed or recorded.
        attempts = set(re.findall(r"(/\S*/interop-ray-[^/\s]+)/session_", err))
        assert len(attempts) == 2 and kept.group(1) in attempts, attempts
        assert [pid for directory in attempts for pid in _processes_mentioning(directory)] == []
        assert sweep_ids(store_path) == []
        assert connections_to(quiet_listener) == 0
    finally:
        if kept:
            shutil.rmtree(kept.group(1), ignore_errors=True)


# -- what a failed start says (from a session directory laid out as Ray writes it) --------


def _session(temp_dir: Path, logs: dict[str, str]) -> Path:
    log_dir = temp_dir / "session_2026-12-04_10-00-00_000000_1" / "logs"
    log_dir.mkdir(parents=True)
    for name, text in logs.items():
        (log_dir / name).write_text(text)
    (temp_dir / "session_latest").symlink_to(log_dir.parent)
    return log_dir


def test_a_raylet_that_did_not_register_is_named_with_its_logs_and_its_agents(tmp_path):
    log_dir = _session(
        tmp_path,
        {
            "raylet.out": "x" * 5000
            + "\nagent_manager.cc:81: Monitor agent process with name dashboard_agent",
            "raylet.err": "",
            "dashboard_agent.log": "importing ray.dashboard ...\n",
            "gcs_server.out": "GCS started\n",
            "monitor.err": "Traceback: monitor crashed\n",
        },
    )
    error = Exception(
        "The current node timed out during startup. This could happen because some of the raylet "
        "failed to startup or the GCS has become overloaded."
    )
    text = describe_failed_start(tmp_path, error)
    assert text.startswith("The current node timed out during startup.")
    assert "the raylet did not come up" in text
    assert f"--- end of {log_dir / 'raylet.out'}\n" in text
    assert "Monitor agent process with name dashboard_agent" in text
    assert len(text.split(f"--- end of {log_dir / 'raylet.out'}\n")[1].split("\n--- ")[0]) <= 1500
    assert f"--- end of {log_dir / 'dashboard_agent.log'}" in text
    assert f"--- end of {log_dir / 'monitor.err'}\nTraceback: monitor crashed" in text  # any error output
    assert "gcs_server.out" not in text and "raylet.err" not in text  # not the suspect / empty


def test_a_start_that_wrote_no_session_says_so(tmp_path):
    text = describe_failed_start(tmp_path, RuntimeError("Failed to start GCS"))
    assert "the gcs_server did not come up" in text
    assert f"(Ray wrote no session under {tmp_path})" in text
