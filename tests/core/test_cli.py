"""``interop check`` end to end against real servers: output, JSON and the exit-code contract."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.cli.checks_reference import DOC_FILES
from orchestrator.testbed.process import free_port
from tests.schemas import validated

runner = CliRunner()


def interop(*args: str):
    """``interop ARGS`` in this process; a check's JSON document is validated against its schema."""
    result = runner.invoke(app, list(args), catch_exceptions=False)
    if args[0] == "check" and "--json" in args and result.stdout.startswith("{"):
        validated(json.loads(result.stdout))
    return result


def fingerprint_of(public_key: Path) -> str:
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key)], check=True, capture_output=True, text=True
    )
    return listed.stdout.split()[1]


def test_hardened_server_passes_the_gate(hardened_sshd):
    result = interop("check", f"ssh://127.0.0.1:{hardened_sshd.port}")
    assert result.exit_code == 0, result.output
    assert "SSH-KEX-001" in result.output and "fail" not in result.output.split("→")[0].split("pass")[-1]


def test_password_logins_fail_the_gate_at_high_but_not_at_critical(default_sshd):
    url = f"ssh://127.0.0.1:{default_sshd.port}"
    failing = interop("check", url, "--json")
    assert failing.exit_code == 1
    report = json.loads(failing.output)
    statuses = {r["check_id"]: r["status"] for r in report["results"]}
    assert statuses["SSH-AUTH-001"] == "fail"
    assert report["exit_code"] == 1 and report["findings"] >= 1
    assert report["schema"] == "spbe-interop/check/v1"
    assert interop("check", url, "--fail-on", "critical").exit_code == 0


def test_pinned_host_key_mismatch_is_critical(hardened_sshd, tmp_path):
    url = f"ssh://127.0.0.1:{hardened_sshd.port}"
    real = fingerprint_of(Path(hardened_sshd.info["host_keys"][0] + ".pub"))
    matching = json.loads(interop("check", url, "--pin", real, "--json", "--only", "SSH-HKEY-*").output)
    assert {r["check_id"]: r["status"] for r in matching["results"]}["SSH-HKEY-003"] == "pass"
    wrong = "SHA256:" + "A" * 43
    result = interop("check", url, "--pin", wrong, "--json", "--fail-on", "critical")
    assert result.exit_code == 1
    pin_result = next(r for r in json.loads(result.output)["results"] if r["check_id"] == "SSH-HKEY-003")
    assert pin_result["status"] == "fail" and pin_result["severity"] == "critical"


def test_known_hosts_supplies_pins(hardened_sshd, tmp_path):
    public = Path(hardened_sshd.info["host_keys"][0] + ".pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{hardened_sshd.port} {public[0]} {public[1]}\n")
    result = interop("check", f"ssh://127.0.0.1:{hardened_sshd.port}", "--known-hosts", str(known), "--json")
    pin_result = next(r for r in json.loads(result.output)["results"] if r["check_id"] == "SSH-HKEY-003")
    assert pin_result["status"] == "pass"


def test_conformant_grpc_server(grpc_server):
    url = f"grpc://127.0.0.1:{grpc_server.port('ok')}"
    result = interop("check", url, "--agency", "32.73", "--application", "bdg-perizinan", "--json")
    report = json.loads(result.output)
    statuses = {r["check_id"]: r["status"] for r in report["results"]}
    assert result.exit_code == 0, [r for r in report["results"] if r["status"] not in ("pass", "skip")]
    assert statuses["GRPC-IDEN-002"] == "pass" and statuses["GRPC-HLTH-001"] == "pass"
    assert statuses["TLS-CERT-001"] == "skip"


def test_misregistered_grpc_endpoint_fails(grpc_server):
    url = f"grpc://127.0.0.1:{grpc_server.port('ok')}"
    result = interop("check", url, "--agency", "33.74", "--application", "smg-lain", "--json")
    assert result.exit_code == 1
    statuses = {r["check_id"]: r["status"] for r in json.loads(result.output)["results"]}
    assert statuses["GRPC-IDEN-002"] == "fail"


def test_unreachable_target_exits_3():
    port = free_port()
    result = interop("check", f"ssh://127.0.0.1:{port}", "--json")
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert report["unreachable"]
    statuses = {r["check_id"]: r["status"] for r in report["results"]}
    # Nothing is a pass or a fail when nothing answered; only what needs no
    # connection (no pins, no credentials configured) may be a skip.
    assert set(statuses.values()) <= {"error", "skip"}
    assert statuses["SSH-KEX-001"] == statuses["SSH-BANNER-001"] == "error"


def test_usage_errors_exit_2_and_probe_nothing(tmp_path):
    # A listener that records whether anyone connected: nothing may be probed on a usage error.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        bad_profile = tmp_path / "bad.yaml"
        bad_profile.write_text("name: bad\nchecks:\n  NOPE-001: {}\n")
        garbage = tmp_path / "garbage.pem"
        garbage.write_text("this is not a certificate\n")
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")],
            check=True,
            timeout=30,
        )
        public_key_only = tmp_path / "id.pub"  # the key a user may pass by mistake
        for args, says in (
            (["check", f"ssh://127.0.0.1:{port}", "--profile", str(bad_profile)], str(bad_profile)),
            (["check", f"http://127.0.0.1:{port}"], "http"),
            (["check", f"grpc://127.0.0.1:{port}", "--ca", str(tmp_path / "missing.pem")], "cannot read"),
            (["check", f"grpcs://127.0.0.1:{port}", "--ca", str(garbage)], "not a CA bundle"),
            (["check", f"grpcs://127.0.0.1:{port}", "--ca", str(tmp_path)], "cannot read"),
            (["check", f"ssh://127.0.0.1:{port}", "--pin", "MD5:aa"], "--pin"),
            (["check", f"ssh://127.0.0.1:{port}", "--user", "root"], "--user"),
            (
                ["check", f"ssh://127.0.0.1:{port}", "--user", "root", "--key", str(garbage)],
                "not a private key",
            ),
            (
                ["check", f"ssh://127.0.0.1:{port}", "--user", "root", "--key", str(public_key_only)],
                "not a private key",
            ),
            (
                ["check", f"ssh://127.0.0.1:{port}", "--user", "root", "--key", str(tmp_path / "nope")],
                "cannot read",
            ),
        ):
            result = interop(*args)
            assert result.exit_code == 2, (args, result.output)
            assert says in result.output and "Traceback" not in result.output, (args, result.output)
        try:
            listener.accept()
            connected = True
        except TimeoutError:
            connected = False
        assert not connected
    assert f"{bad_profile}:3" in interop("check", "ssh://127.0.0.1:1", "--profile", str(bad_profile)).output


def test_console_script_runs(hardened_sshd):
    # The installed entry point, as a CI job calls it.
    completed = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "check", f"ssh://127.0.0.1:{hardened_sshd.port}"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "SSH-BANNER-001" in completed.stdout


def test_profiles_and_checks_commands():
    listed = interop("profiles", "list")
    assert "spbe-baseline" in listed.output and "spbe-strict" in listed.output
    shown = json.loads(interop("profiles", "show", "spbe-strict", "--json").output)
    assert shown["extends"] == ["spbe-baseline"]
    assert interop("profiles", "show", "no-such-profile").exit_code == 2
    assert "SSH-KEX-001" in interop("checks", "list").output


@pytest.mark.parametrize("lang", sorted(DOC_FILES))
def test_checks_doc_is_fresh(lang):
    committed = (Path(__file__).resolve().parents[2] / DOC_FILES[lang]).read_text()
    assert interop("checks", "docs", "--lang", lang).output == committed, "run: make docs"


def test_an_encrypted_key_without_its_passphrase_is_not_a_usage_error(tmp_path):
    # It parses; whether the passphrase is at hand is the login's business. A closed port: exit 3.
    key = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(key)], check=True, timeout=30
    )
    result = interop("check", f"ssh://127.0.0.1:{free_port()}", "--user", "root", "--key", str(key))
    assert result.exit_code == 3, result.output


def test_help_lists_every_exit_code():
    text = " ".join(interop("check", "--help").output.split())
    for code, word in (
        (0, "conformant"),
        (1, "findings"),
        (2, "usage"),
        (3, "unreachable"),
        (4, "undetermined"),
    ):
        assert f"{code} {word}" in text, text


def test_json_and_table_say_what_was_determined(grpc_server):
    # (Undetermined reports and their wording: tests/hostile/test_gate_matrix.py.)
    url = f"grpc://127.0.0.1:{grpc_server.port('ok')}"
    report = json.loads(interop("check", url, "--json", "--only", "GRPC-HLTH-001").output)
    assert (report["exit_code"], report["findings"], report["undetermined"]) == (0, 0, 0)
    table = interop("check", url, "--only", "GRPC-HLTH-001").output.strip().splitlines()[-1]
    assert table.endswith("→  exit 0 (conformant)"), table
