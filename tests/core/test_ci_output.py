"""What a CI log gets from ``interop``: nothing folded, skips that name options, foreign options refused.

Every command runs as a child process with its output piped, as a CI job
runs it, without COLUMNS or anything else that would make Rich believe in a
terminal. A line longer than any terminal (a deep path, a long reason) must
come out whole, because a ``FILE:LINE:`` or a reason cut in two cannot be
searched for or copied back.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.testbed.process import free_port

REPO = Path(__file__).resolve().parents[2]
# Anything that would make Rich or Typer size the output for a terminal.
TERMINAL_HINTS = ("COLUMNS", "LINES", "TTY_COMPATIBLE", "FORCE_COLOR", "TERMINAL_WIDTH", "GITHUB_ACTIONS")
PIN = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


def piped_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in TERMINAL_HINTS}


def interop(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        cwd=REPO,
        env=piped_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def deep(tmp_path) -> Path:
    """A directory whose path alone is longer than 200 characters."""
    path = tmp_path.joinpath(*(["a-directory-with-a-rather-long-name"] * 6))
    path.mkdir(parents=True)
    assert len(str(path)) > 200
    return path


def whole_line(text: str, needle: str) -> str:
    """The one line of ``text`` that holds all of ``needle``."""
    lines = [line for line in text.splitlines() if needle in line]
    assert lines, f"{needle!r} is not whole on any line of:\n{text}"
    return lines[0]


# -- 1. nothing folded off a terminal -------------------------------------------------


def test_inventory_problems_keep_file_line_whole(deep):
    inventory = deep / "inventory.yaml"
    inventory.write_text(
        "version: 1\nscope: {networks: [127.0.0.0/8]}\nagencies:\n"
        '  - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}\n'
        'applications:\n  - id: app\n    name: App\n    agency: "32.73"\n    endpoints:\n'
        "      - {url: ftp://127.0.0.1:21}\n"
    )
    result = interop("inventory", "validate", str(inventory))
    assert result.returncode == 2, result.stderr
    assert len(whole_line(result.stderr, f"{inventory}:10: applications[0].endpoints[0].url:")) > 200
    whole_line(result.stderr, f"error: 1 problem in {inventory}: nothing runs on an invalid inventory")


def test_profiles_show_and_its_errors_are_not_folded(deep):
    description = "A profile whose description is one long sentence " + "and goes on " * 20 + "until here."
    profile = deep / "profile.yaml"
    profile.write_text(f"name: long\ndescription: {description}\ninclude: ['SSH-KEX-*']\n")
    shown = interop("profiles", "show", str(profile))
    assert shown.returncode == 0, shown.stderr
    assert whole_line(shown.stdout, description).strip() == description
    # A check's title sits whole on its row.
    whole_line(shown.stdout, "Strict key exchange against Terrapin (CVE-2023-48795)")

    broken = deep / "broken.yaml"
    broken.write_text("name: broken\nchecks:\n  NOPE-001: {}\n")
    refused = interop("profiles", "show", str(broken))
    assert refused.returncode == 2
    assert whole_line(refused.stderr, f"error: {broken}:3").startswith("error: ")


def test_a_bad_option_value_is_one_plain_line():
    value = "y" * 250
    result = interop("check", "ssh://127.0.0.1:1", "--fail-on", value)
    assert result.returncode == 2
    line = whole_line(result.stderr, "Invalid value for '--fail-on'")
    assert value in line and "│" not in result.stderr  # click's own line, not a folded box


def test_check_table_keeps_every_reason_on_its_row(default_sshd):
    url = f"ssh://127.0.0.1:{default_sshd.port}"
    as_json = json.loads(interop("check", url, "--json").stdout)
    table = interop("check", url, "--verbose")
    assert table.returncode == as_json["exit_code"], table.stderr
    reasons = {result["reason"] for result in as_json["results"]}
    assert max(map(len, reasons)) > 100  # long enough that a fold would show
    rows = table.stdout.splitlines()
    for result in as_json["results"]:
        whole = [row for row in rows if result["check_id"] in row and result["reason"] in row]
        assert whole, (result, table.stdout)
    assert "→  exit" in whole_line(table.stdout, "→  exit")


def test_serve_prints_its_lines_whole(deep):
    store = deep / "results.db"
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "serve",
            "--store",
            str(store),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=REPO,
        env=piped_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Bounded: serve prints two lines at start, then waits for a signal.
        lines = [server.stderr.readline() for _ in range(2)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert f"no results store at {store} yet:" in lines[0], lines
    assert f"serving metrics of {store} on http://127.0.0.1:{port}/metrics" in lines[1], lines


# -- 3. skip reasons of a command line name its options --------------------------------


def test_check_without_pins_says_which_option_pins(hardened_sshd):
    result = interop("check", f"ssh://127.0.0.1:{hardened_sshd.port}", "--json", "--only", "SSH-HKEY-*")
    report = json.loads(result.stdout)
    skipped = {r["check_id"]: r for r in report["results"] if r["status"] == "skip"}
    assert "SSH-HKEY-003" in skipped, report
    reason = skipped["SSH-HKEY-003"]["reason"]
    assert reason == "no host key pinned: give --pin or --known-hosts", reason
    assert skipped["SSH-HKEY-003"]["evidence"] == {"missing_expectation": "pins"}


def test_grpc_check_without_expectations_names_service_agency_and_application(grpc_server):
    target = grpc_server.target("ok")
    result = interop("check", f"grpc://127.0.0.1:{target.port}", "--json", "--only", "GRPC-*")
    results = json.loads(result.stdout)["results"]
    reasons = {r["check_id"]: r["reason"] for r in results if r["status"] == "skip"}
    assert reasons["GRPC-HLTH-002"] == "no gRPC services declared: give --service", reasons
    assert reasons["GRPC-IDEN-002"] == "no agency or application given: give --agency and --application"
    assert not [reason for reason in reasons.values() if "inventory" in reason], reasons


# -- 5. an option that means nothing for the scheme is refused --------------------------


@pytest.mark.parametrize(
    "url, option",
    [
        ("grpc://127.0.0.1:{port}", ["--pin", PIN]),
        ("grpcs://127.0.0.1:{port}", ["--pin", PIN]),
        ("ssh://127.0.0.1:{port}", ["--service", "grpc.health.v1.Health"]),
    ],
)
def test_an_option_foreign_to_the_scheme_exits_2_and_probes_nothing(url, option):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        result = interop("check", url.format(port=port), *option)
        assert result.returncode == 2, result.stdout + result.stderr
        assert whole_line(result.stderr, option[0]).startswith("error: "), result.stderr
        assert "Traceback" not in result.stderr
        with pytest.raises(TimeoutError):
            listener.accept()
