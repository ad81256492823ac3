"""``interop gate`` (and ``check``'s gate options) end to end against real servers.

One run writes JUnit, SARIF, Markdown and JSON from the same results; every
file is parsed and validated (JSON Schemas and the SARIF 2.1.0 schema shipped
in the repository). Waivers, an expired waiver, targets from a file and from
an inventory, and input that must be refused before anything is probed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.outcome import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from orchestrator.profiles import load_profile
from orchestrator.testbed.process import free_port
from tests.schemas import validated, validated_sarif

runner = CliRunner()
DEFAULT_SSHD_FINDING = "SSH-AUTH-001"  # Debian's sshd offers password authentication: high


def interop(*args: str):
    return runner.invoke(app, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture
def outputs(tmp_path) -> dict[str, Path]:
    return {name: tmp_path / f"gate.{name}" for name in ("junit", "sarif", "md", "json")}


def output_args(outputs: dict[str, Path]) -> list[str]:
    return [arg for name, path in outputs.items() for arg in (f"--{name}", str(path))]


def waivers_file(tmp_path: Path, url: str, expires: date) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n"
        f"  - id: W-TEST-1\n    check: {DEFAULT_SSHD_FINDING}\n    endpoint: {url}\n"
        "    justification: Password login stays until the SSO rollout.\n"
        f"    approver: Kepala Diskominfo\n    expires: {expires.isoformat()}\n"
    )
    return path


def suites(junit: Path) -> dict[str, ET.Element]:
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    return {suite.get("name"): suite for suite in root.findall("testsuite")}


def case_of(suite: ET.Element, check_id: str) -> ET.Element:
    return next(case for case in suite.findall("testcase") if case.get("name").startswith(check_id + " "))


def test_one_gate_writes_every_file_from_the_same_results(grpc_server, hardened_sshd, default_sshd, outputs):
    grpc_url = f"grpc://127.0.0.1:{grpc_server.process.port}"
    good_ssh, bad_ssh = f"ssh://127.0.0.1:{hardened_sshd.port}", f"ssh://127.0.0.1:{default_sshd.port}"

    result = interop("gate", grpc_url, good_ssh, bad_ssh, *output_args(outputs))

    assert result.exit_code == EXIT_FINDINGS, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith("→  exit 1 (findings: 1 check failed at or above high)")
    )
    document = validated(json.loads(outputs["json"].read_text()))
    by_url = {target["target"]: target for target in document["targets"]}
    assert [by_url[url]["exit_code"] for url in (grpc_url, good_ssh, bad_ssh)] == [0, 0, 1]
    assert document["exit_code"] == EXIT_FINDINGS and document["findings"] == 1

    junit = suites(outputs["junit"])
    assert set(junit) == {grpc_url, good_ssh, bad_ssh}
    for url, suite in junit.items():
        results = by_url[url]["results"]
        assert int(suite.get("tests")) == len(results) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == sum(r["status"] == "fail" for r in results)
    failure = case_of(junit[bad_ssh], DEFAULT_SSHD_FINDING).find("failure")
    assert failure is not None and failure.get("type") == "fail/high"
    skipped = [case for case in junit[grpc_url].findall("testcase") if case.find("skipped") is not None]
    assert skipped and all(case.find("skipped").get("message") for case in skipped)

    log = validated_sarif(json.loads(outputs["sarif"].read_text()))
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(load_profile("spbe-baseline").selection)
    assert all(rule["help"]["text"].startswith("Remediation: ") for rule in rules)
    finding = next(r for r in run["results"] if r["ruleId"] == DEFAULT_SSHD_FINDING)
    assert finding["level"] == "error" and finding["kind"] == "fail"
    assert finding["properties"]["url"] == bad_ssh
    location = finding["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == f"ssh/127.0.0.1/{default_sshd.port}"
    assert run["invocations"][0]["exitCode"] == EXIT_FINDINGS
    assert {r["properties"]["status"] for r in run["results"]} <= {"fail", "warn", "error", "waived"}

    summary = outputs["md"].read_text()
    assert summary.startswith("## ❌ spbe-interop gate: findings (exit 1)")
    assert "### Failed: blocks the gate (1)" in summary and "**How to fix**" in summary
    assert "PasswordAuthentication no" in summary  # the check's remediation


def test_a_waiver_keeps_the_gate_green_and_an_expired_one_does_not(default_sshd, outputs, tmp_path):
    url = f"ssh://127.0.0.1:{default_sshd.port}"
    current = waivers_file(tmp_path, url, date.today() + timedelta(days=30))

    waived = interop("gate", url, "--waivers", current, *output_args(outputs))

    assert waived.exit_code == EXIT_OK, waived.output
    document = validated(json.loads(outputs["json"].read_text()))
    result = next(r for r in document["targets"][0]["results"] if r["check_id"] == DEFAULT_SSHD_FINDING)
    assert result["status"] == "waived" and result["waiver"]["original_status"] == "fail"
    assert [w["id"] for w in document["waivers"]["applied"]] == ["W-TEST-1"]
    skipped = case_of(next(iter(suites(outputs["junit"]).values())), DEFAULT_SSHD_FINDING).find("skipped")
    assert "W-TEST-1" in skipped.get("message") and "SSO rollout" in skipped.get("message")
    sarif_result = next(
        r
        for r in json.loads(outputs["sarif"].read_text())["runs"][0]["results"]
        if r["ruleId"] == DEFAULT_SSHD_FINDING
    )
    assert sarif_result["suppressions"][0]["justification"].startswith("Password login stays")
    assert "### Waived (1)" in outputs["md"].read_text()

    expired = waivers_file(tmp_path, url, date.today() - timedelta(days=1))
    not_waived = interop("gate", url, "--waivers", expired, *output_args(outputs))

    assert not_waived.exit_code == EXIT_FINDINGS, not_waived.output
    assert "warning: waiver W-TEST-1 (SSH-AUTH-001) expired on" in not_waived.stderr
    document = validated(json.loads(outputs["json"].read_text()))
    assert [(w["id"], w["results"]) for w in document["waivers"]["expired"]] == [("W-TEST-1", 1)]
    assert "### Expired waivers: they waive nothing (1)" in outputs["md"].read_text()


def test_check_is_a_gate_of_one_target(default_sshd, outputs, tmp_path):
    url = f"ssh://127.0.0.1:{default_sshd.port}"
    waivers = waivers_file(tmp_path, url, date.today() + timedelta(days=30))
    files = [arg for name in ("junit", "sarif", "md") for arg in (f"--{name}", outputs[name])]

    result = interop("check", url, "--waivers", waivers, "--json", *files)

    assert result.exit_code == EXIT_OK, result.output
    document = validated(json.loads(result.stdout))
    assert document["schema"] == "spbe-interop/check/v1" and document["waivers"]["applied"]
    assert set(suites(outputs["junit"])) == {url}
    validated_sarif(json.loads(outputs["sarif"].read_text()))
    assert outputs["md"].read_text().startswith("## ✅ spbe-interop gate: conformant (exit 0)")


def test_targets_from_a_file_and_from_an_inventory(grpc_server, hardened_sshd, outputs, tmp_path):
    grpc_url = f"grpc://127.0.0.1:{grpc_server.process.port}"
    ssh_url = f"ssh://127.0.0.1:{hardened_sshd.port}"
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# staging\n{ssh_url}\n\n")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\nscope: {networks: [127.0.0.0/8]}\n"
        "agencies:\n  - {code: '32.73', name: Kota Bandung, level: kota, province: '32'}\n"
        "  - {code: '32.04', name: Kabupaten Bandung, level: kabupaten, province: '32'}\n"
        "applications:\n"
        f"  - {{id: bdg-perizinan, name: Perizinan, agency: '32.73', endpoints: [{{url: '{grpc_url}'}}]}}\n"
        f"  - {{id: other, name: Other, agency: '32.04', endpoints: [{{url: 'ssh://127.0.0.1:{free_port()}'}}]}}\n"
    )

    result = interop(
        "gate",
        "--targets",
        targets,
        "--inventory",
        inventory,
        "--application",
        "bdg-perizinan",
        *output_args(outputs),
    )

    assert result.exit_code == EXIT_OK, result.output
    document = validated(json.loads(outputs["json"].read_text()))
    assert [t["target"] for t in document["targets"]] == [ssh_url, grpc_url]
    from_inventory = document["targets"][1]
    assert (from_inventory["agency"], from_inventory["application"], from_inventory["province"]) == (
        "32.73",
        "bdg-perizinan",
        "32",
    )
    # The inventory gave the identity: the identity check ran and matched.
    identity = next(r for r in from_inventory["results"] if r["check_id"] == "GRPC-IDEN-002")
    assert identity["status"] == "pass", identity
    assert (
        suites(outputs["junit"])[grpc_url].find("properties/property[@name='agency']").get("value")
    ) == "32.73"


def test_input_that_cannot_be_right_is_refused_before_anything_is_probed(tmp_path, outputs):
    closed = f"ssh://127.0.0.1:{free_port()}"  # probing it would exit 3, not 2
    targets = tmp_path / "targets.txt"
    targets.write_text(f"{closed}\nhttp://127.0.0.1:80\n{closed}\n")
    cases = [
        ([], "no target"),
        ([closed, "--application", "x"], "--application and --agency choose endpoints of an --inventory"),
        (["--targets", targets], f"{targets}:2: url: URL 'http://127.0.0.1:80'"),
        (
            [f"grpc://127.0.0.1:{free_port()}", "--pin", "SHA256:" + "A" * 43],
            "--pin applies to ssh:// targets only",
        ),
        ([closed, "--junit", tmp_path / "missing" / "out.xml"], "--junit"),
        ([closed, "--json", tmp_path], "--json"),
        ([closed, "--inventory", tmp_path / "nope.yaml"], "nope.yaml"),
    ]
    for args, says in cases:
        result = interop("gate", *args)
        assert result.exit_code == EXIT_USAGE, (args, result.output)
        assert says in result.output and "Traceback" not in result.output, (args, result.output)
    assert not any(path.exists() for path in outputs.values())


def test_a_gate_names_the_options_that_give_what_a_skipped_check_lacks(grpc_server, default_sshd, outputs):
    grpc_url, ssh_url = f"grpc://127.0.0.1:{grpc_server.process.port}", f"ssh://127.0.0.1:{default_sshd.port}"

    interop("gate", grpc_url, ssh_url, "--json", outputs["json"])

    reasons = {
        result["check_id"]: result["reason"]
        for target in json.loads(outputs["json"].read_text())["targets"]
        for result in target["results"]
        if result["status"] == "skip"
    }
    assert reasons["SSH-HKEY-003"] == "no host key pinned: give --pin or --known-hosts"
    assert reasons["GRPC-HLTH-002"].endswith(": give --service")
    # gate's --agency chooses endpoints, it gives no identity
    assert "--inventory" in reasons["GRPC-IDEN-002"]
    assert not any("the inventory" in reason for reason in reasons.values())


def test_a_stream_given_as_an_output_is_written_to_not_replaced(hardened_sshd, tmp_path):
    """``--md /dev/stdout`` in a CI job: the summary goes to the job log and the device stays a device."""
    stdout_link = tmp_path / "stdout"
    stdout_link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is, without touching /dev

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "gate",
            f"ssh://127.0.0.1:{hardened_sshd.port}",
            "--md",
            str(stdout_link),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "## ✅ spbe-interop gate: conformant (exit 0)" in done.stdout
    assert stdout_link.is_symlink()


def test_a_targets_file_names_the_line_of_each_problem(tmp_path):
    from orchestrator.inventory.target_list import read_target_list
    from orchestrator.inventory.yaml_nodes import ConfigError

    good = tmp_path / "good.txt"
    good.write_text("ssh://10.0.0.1  # staging\n\ngrpcs://api.example.go.id:443\n")
    assert read_target_list(good) == ["ssh://10.0.0.1", "grpcs://api.example.go.id:443"]

    bad = tmp_path / "bad.txt"
    bad.write_text("ssh://10.0.0.1\nssh://10.0.0.1:22\nftp://x:21\n")
    with pytest.raises(ConfigError) as caught:
        read_target_list(bad)
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "url"), (3, "url")]
    assert "already on line 1" in str(caught.value)

    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="no target URL"):
        read_target_list(empty)
