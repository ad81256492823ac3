"""``interop check`` against servers that are not what the URL says: an exact exit code each, never 0.

A gate that cannot look must not say "conformant". Each case is a server on
loopback (silent, garbage, a reset, HTTP/1.1, SSH, TLS where plaintext is
expected and the reverse, a TLS handshake then silence, an endless
pre-banner, a banner then silence, SSH-1.5, an HTTP/2 server that hangs up
under a call, OpenSSH, nginx in front of a stopped backend) probed as
ssh://, grpc:// and grpcs:// under the baseline profile, failing at high.

Expected codes: 4 (undetermined) where nothing at or above high could be
judged; 1 where the server gave a definite answer that fails a high check —
a banner of SSH-1.5, bytes that are not TLS on a grpcs:// port (TLS-PROTO-001:
a default client cannot negotiate TLS), and nginx answering 502 or
UNAVAILABLE for its stopped backend (GRPC-HLTH-001: not serving).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.cli import app
from orchestrator.outcome import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNDETERMINED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    worst,
)
from orchestrator.testbed.process import free_port
from tests.hostile.conftest import check, runner
from tests.schemas import validated

U, F = EXIT_UNDETERMINED, EXIT_FINDINGS


@dataclass(frozen=True)
class Case:
    server: str
    scheme: str
    exit: int

    @property
    def id(self) -> str:
        return f"{self.server}-{self.scheme}"


# server -> expected exit code per scheme; "-" where probing it that way makes no sense.
MATRIX: dict[str, dict[str, int | str]] = {
    "silent": {"ssh": U, "grpc": U, "grpcs": U},
    "garbage": {"ssh": U, "grpc": U, "grpcs": F},
    "reset": {"ssh": U, "grpc": U, "grpcs": U},
    "reset_at_once": {"ssh": U, "grpc": U, "grpcs": U},
    "http1_reply": {"ssh": U, "grpc": U, "grpcs": F},
    "endless_lines": {"ssh": U, "grpc": U, "grpcs": F},
    "banner_then_silence": {"ssh": U, "grpc": U, "grpcs": F},
    "ssh1_banner": {"ssh": F, "grpc": U, "grpcs": F},
    "h2_hangup": {"ssh": U, "grpc": U, "grpcs": F},
    "tls_then_close": {"ssh": U, "grpc": U, "grpcs": U},
    "tls_then_silence": {"ssh": U, "grpc": U, "grpcs": U},
    "sshd": {"ssh": "-", "grpc": U, "grpcs": F},
    "nginx_plain": {"ssh": "-", "grpc": F, "grpcs": F},
    "nginx_status": {"ssh": "-", "grpc": F, "grpcs": "-"},
    "nginx_tls": {"ssh": "-", "grpc": U, "grpcs": F},
}
CASES = [
    Case(server, scheme, code)
    for server, codes in MATRIX.items()
    for scheme, code in codes.items()
    if code != "-"
]
# A case that must end undetermined gets no answer that helps, so it waits
# briefly; one that must end in a finding is answered at once (see conftest).
PATIENCE = {EXIT_UNDETERMINED: "brief", EXIT_FINDINGS: "patient"}


def test_no_case_of_the_matrix_may_pass_the_gate():
    assert CASES and all(case.exit != EXIT_OK for case in CASES)
    assert {case.exit for case in CASES} <= set(PATIENCE)


def run_case(case: Case, port: int, profiles, hostile_ca):
    args = [f"{case.scheme}://127.0.0.1:{port}", "--profile", str(profiles[PATIENCE[case.exit]])]
    if case.scheme == "grpcs":
        args += ["--ca", str(hostile_ca.ca_path)]
    return check(*args)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_exit_code(case: Case, start_server, profiles, hostile_ca):
    checked = run_case(case, start_server(case.server), profiles, hostile_ca)

    assert checked.exit_code == case.exit, checked.output
    report = checked.report
    assert report["exit_code"] == case.exit
    assert report["unreachable"] is None  # something accepted every connection
    if case.exit == EXIT_UNDETERMINED:
        assert report["findings"] == 0 and report["undetermined"] > 0
    else:
        assert report["findings"] > 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("listener, said", [("plain", "status: 502"), ("status", "backend unavailable")])
def test_nginx_answering_for_a_stopped_backend_fails_the_health_checks(
    listener, said, nginx_without_backend, profiles
):
    url = f"grpc://127.0.0.1:{nginx_without_backend.port(listener)}"
    checked = check(url, "--profile", str(profiles["patient"]))

    assert checked.exit_code == EXIT_FINDINGS
    for check_id in ("GRPC-HLTH-001", "GRPC-HLTH-003"):
        assert checked.status(check_id) == "fail", checked.result(check_id)
    health = checked.result("GRPC-HLTH-001")
    assert "answered UNAVAILABLE (the service is not serving" in health["reason"] and said in health["reason"]
    # nginx answered every call: nothing the endpoint probe asked is left undetermined.
    assert not [
        r["check_id"]
        for r in checked.report["results"]
        if r["status"] == "error" and not r["check_id"].startswith("GRPC-INTR-")
    ]


@pytest.mark.timeout(60)
def test_a_call_lost_with_its_connection_stays_undetermined(start_server, profiles):
    """An HTTP/2 server that hangs up under a call gave no answer: error, never a verdict."""
    checked = check(f"grpc://127.0.0.1:{start_server('h2_hangup')}", "--profile", str(profiles["patient"]))

    assert checked.exit_code == EXIT_UNDETERMINED
    health = checked.result("GRPC-HLTH-001")
    assert health["status"] == "error"
    assert health["reason"].startswith("/grpc.health.v1.Health/Check: UNAVAILABLE: ")


@pytest.mark.timeout(60)
def test_unusable_ca_bundle_is_a_usage_error(start_server, profiles, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not a certificate\n")
    port = start_server("tls_then_close")
    checked = check(f"grpcs://127.0.0.1:{port}", "--ca", str(garbage), "--profile", str(profiles["brief"]))

    assert checked.exit_code == EXIT_USAGE
    assert f"--ca {garbage}: not a CA bundle" in checked.output


def interop_command() -> list[str]:
    script = shutil.which("interop", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "orchestrator.cli"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "server, scheme, expected",
    [("silent", "ssh", EXIT_UNDETERMINED), ("nginx_plain", "grpc", EXIT_FINDINGS)],
)
def test_the_installed_command_exits_the_same(server, scheme, expected, start_server, profiles):
    """The console script as a CI job runs it: the table's last line says the code in words."""
    patience = PATIENCE[expected]
    completed = subprocess.run(
        [
            *interop_command(),
            "check",
            f"{scheme}://127.0.0.1:{start_server(server)}",
            "--profile",
            str(profiles[patience]),
        ],
        capture_output=True,
        text=True,
        timeout=100,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == expected, completed.stdout + completed.stderr
    last_line = completed.stdout.strip().splitlines()[-1]
    words = {EXIT_UNDETERMINED: "undetermined: ", EXIT_FINDINGS: "findings: "}[expected]
    assert f"→  exit {expected} ({words}" in last_line, last_line
    assert "at or above high" in last_line


def gate(*args: str) -> tuple[int, dict]:
    """``interop gate ARGS --json FILE`` in this process: the exit code and the validated document."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "gate.json"
        result = runner.invoke(app, ["gate", *args, "--json", str(path)], catch_exceptions=False)
        document = validated(json.loads(path.read_text())) if path.exists() else {}
    return result.exit_code, document


@pytest.mark.timeout(120)
@pytest.mark.parametrize("expected", sorted(PATIENCE))
def test_one_gate_over_the_matrix_gives_each_target_its_code_and_the_worst_wins(
    expected, start_server, profiles, hostile_ca
):
    """Every case of one expected code in a single gate: per-target codes as in the table, then ``worst``."""
    cases = [case for case in CASES if case.exit == expected]
    urls = {f"{case.scheme}://127.0.0.1:{start_server(case.server)}": case for case in cases}

    code, document = gate(
        *urls,
        "--profile",
        str(profiles[PATIENCE[expected]]),
        "--ca",
        str(hostile_ca.ca_path),
        "--per-host",
        "16",
    )

    got = {target["target"]: target["exit_code"] for target in document["targets"]}
    assert got == {url: case.exit for url, case in urls.items()}
    assert code == document["exit_code"] == worst(got.values()) == expected


@pytest.mark.timeout(120)
def test_a_gate_over_mixed_targets_exits_by_precedence(start_server, profiles, hostile_ca):
    """Findings (1) outrank undetermined (4); an unreachable target (3) outranks both."""
    finding = f"ssh://127.0.0.1:{start_server('ssh1_banner')}"
    unknown = f"ssh://127.0.0.1:{start_server('silent')}"
    closed = f"ssh://127.0.0.1:{free_port()}"
    brief = ("--profile", str(profiles["brief"]))

    assert gate(unknown, *brief)[0] == EXIT_UNDETERMINED
    assert gate(finding, unknown, *brief)[0] == EXIT_FINDINGS
    code, document = gate(finding, unknown, closed, *brief)
    assert code == EXIT_UNREACHABLE
    assert document["targets_by_exit_code"] == {"0": 0, "1": 1, "2": 0, "3": 1, "4": 1}
    assert document["explanation"].startswith(f"unreachable: 1 of 3 targets, e.g. {closed}: ")
