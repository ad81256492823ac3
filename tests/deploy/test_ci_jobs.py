"""deploy/ci jobs run locally as the CI would run them, against staging servers on loopback.

The gate's command is taken from each example file (``ci_files``) and run by
bash as the runner does (GitHub's ``shell: bash`` command; GitLab's script,
then its after_script, under ``set -eo pipefail``), in a workspace holding
what the repository would commit (``ci/known_hosts``, ``ci/staging-ca.pem``,
``ci/waivers.yaml``), with the variables the CI would give and ``interop``
from this virtualenv on PATH. Staging is a TLS gRPC server and an OpenSSH
server: hardened (the gate passes) or legacy (it fails). The exit code, the
JUnit, SARIF and JSON files and the Markdown in the job summary or log are
then checked against the gate's contract.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.outcome import EXIT_FINDINGS, EXIT_OK
from orchestrator.profiles import load_profile
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import TEST_SERVICE, GrpcServerSpec
from orchestrator.testbed.pki import TestCA
from orchestrator.testbed.sshd import host_key, start_openssh
from tests.deploy.ci_files import (
    EXPRESSION,
    GITHUB_BASH,
    GITLAB_BASH,
    GateCommand,
    github_gate,
    gitlab_gate,
)
from tests.schemas import validated, validated_sarif

BIN = Path(sys.executable).parent
JOB_TIMEOUT_S = 90  # below pytest-timeout's 120 s, so a hung job fails with its output
WAIVED, EXPIRED = "SSH-ENC-001", "SSH-KEX-001"  # both fail on the legacy server at high
JUSTIFICATION = "Old terminal clients of the staging server are retired with release 2.4."
# A staging server serves its own application's service; the test server serves grpc.testing.TestService.
STAGING_VALUES = {"STAGING_GRPC_SERVICE": TEST_SERVICE}


@dataclass(frozen=True)
class Staging:
    grpc_url: str
    ca_path: Path
    ssh_urls: dict[str, str]  # sshd profile -> URL
    host_key_line: str  # "<type> <base64>" of every sshd's host key


@dataclass(frozen=True)
class Scenario:
    name: str
    sshd: str
    exit_code: int
    failing: frozenset[str]  # checks that must fail on the SSH target; none on the gRPC one


SCENARIOS = [
    Scenario("conformant", "hardened", EXIT_OK, frozenset()),
    Scenario("legacy-ssh", "legacy", EXIT_FINDINGS, frozenset({EXPIRED})),
]


@pytest.fixture(scope="module")
def staging(tmp_path_factory):
    work = tmp_path_factory.mktemp("ci-staging")
    ca = TestCA(work / "ca")
    key = host_key(work / "keys", "ed25519")
    spec = GrpcServerSpec("staging", tls=ca.issue("staging"), identity=("32.73", "bdg-perizinan"))
    with (
        start_grpc_servers([spec], work / "grpc", "ci-grpc") as grpc,
        start_openssh(work, "hardened", host_keys=[key]) as hardened,
        start_openssh(work, "legacy", host_keys=[key]) as legacy,
    ):
        key_type, key_data = Path(f"{key}.pub").read_text().split()[:2]
        yield Staging(
            grpc_url=f"grpcs://127.0.0.1:{grpc.port('staging')}",
            ca_path=ca.ca_path,
            ssh_urls={
                server.info["profile"]: f"ssh://127.0.0.1:{server.port}" for server in (hardened, legacy)
            },
            host_key_line=f"{key_type} {key_data}",
        )


def checkout(root: Path, staging: Staging, ssh_url: str) -> Path:
    """The agency repository as the CI checks it out: what the gate trusts, committed under ci/."""
    workspace = root / "workspace"
    (workspace / "ci").mkdir(parents=True)
    port = ssh_url.rsplit(":", 1)[1]
    (workspace / "ci" / "known_hosts").write_text(f"[127.0.0.1]:{port} {staging.host_key_line}\n")
    (workspace / "ci" / "staging-ca.pem").write_bytes(staging.ca_path.read_bytes())
    today = dt.date.today()
    waivers = {
        "waivers": [
            {
                "id": "W-CI-001",
                "check": WAIVED,
                "justification": JUSTIFICATION,
                "approver": "Kepala Diskominfo",
                "expires": today + dt.timedelta(days=60),
            },
            {
                "id": "W-CI-002",
                "check": EXPIRED,
                "justification": "Expired: it must waive nothing.",
                "approver": "Kepala Diskominfo",
                "expires": today - dt.timedelta(days=60),
            },
        ]
    }
    (workspace / "ci" / "waivers.yaml").write_text(yaml.safe_dump(waivers))
    return workspace


def base_env(home: Path) -> dict[str, str]:
    return {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "CI": "true"}


def job_env(declared: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """The job's variables: literals as written (unless staging has its own), expressions from ``given``."""
    computed = {name for name, value in declared.items() if EXPRESSION.match(str(value))}
    assert computed <= set(given), f"no value for {sorted(computed - set(given))}"
    return {name: str(given.get(name, value)) for name, value in declared.items()}


def run(
    argv: list[str], script: str, cwd: Path, env: dict[str, str], temp: Path
) -> subprocess.CompletedProcess[str]:
    path = temp / f"step-{len(list(temp.glob('step-*')))}.sh"
    path.write_text(script)
    return subprocess.run(
        [*argv, str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


@dataclass(frozen=True)
class JobRun:
    exit_code: int
    workspace: Path
    command: GateCommand
    markdown: str  # where the CI shows it: the step summary, or what after_script printed in the job log
    log: str


def run_github(tmp_path: Path, staging: Staging, ssh_url: str) -> JobRun:
    _, job, index = github_gate()
    step = job["steps"][index]
    workspace, temp = checkout(tmp_path, staging, ssh_url), tmp_path / "runner-temp"
    temp.mkdir()
    summary = temp / "step_summary"
    summary.touch()  # the runner creates it empty before the step
    env = {
        **base_env(temp),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        "GITHUB_STEP_SUMMARY": str(summary),
        **job_env(
            job["env"], {"STAGING_SSH_URL": ssh_url, "STAGING_GRPC_URL": staging.grpc_url, **STAGING_VALUES}
        ),
        **job_env(step.get("env", {}), {}),
    }
    assert step["shell"] == "bash"
    done = run(list(GITHUB_BASH), step["run"], workspace, env, temp)
    return JobRun(
        done.returncode,
        workspace,
        GateCommand.parse(step["run"]),
        summary.read_text(),
        done.stdout + done.stderr,
    )


def run_gitlab(tmp_path: Path, staging: Staging, ssh_url: str) -> JobRun:
    job, entry = gitlab_gate()
    workspace, temp = checkout(tmp_path, staging, ssh_url), tmp_path / "builds-temp"
    temp.mkdir()
    cicd_variables = {"STAGING_SSH_URL": ssh_url, "STAGING_GRPC_URL": staging.grpc_url}  # set in the project
    env = {
        **base_env(temp),
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(workspace),
        **cicd_variables,
        **job_env(job.get("variables", {}), STAGING_VALUES),
    }
    # before_script installs the tool: this virtualenv's `interop` on PATH stands in for it.
    done = run(list(GITLAB_BASH), "\n".join(job["script"]), workspace, env, temp)
    after = run(list(GITLAB_BASH), "\n".join(job["after_script"]), workspace, env, temp)
    log = done.stdout + done.stderr + after.stdout + after.stderr
    return JobRun(done.returncode, workspace, GateCommand.parse(entry), after.stdout, log)


RUNNERS = {"github": run_github, "gitlab": run_gitlab}


def junit_suites(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert len(suites) == len(root.findall("testsuite"))
    return suites


def case_ids(suite: ET.Element, outcome: str) -> set[str]:
    """Check ids of the testcases with a ``failure``/``error``/``skipped`` child (names start with the id)."""
    return {case.get("name").split()[0] for case in suite.iter("testcase") if case.find(outcome) is not None}


def located_at(result: dict[str, Any], url: str) -> bool:
    for location in result["locations"]:
        uris = {location.get("physicalLocation", {}).get("artifactLocation", {}).get("uri")}
        uris |= {logical.get("fullyQualifiedName") for logical in location.get("logicalLocations", [])}
        if url in uris:
            return True
    return False


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
@pytest.mark.parametrize("ci", RUNNERS)
def test_the_example_job_gates_staging(ci, scenario, staging, tmp_path):
    ssh_url = staging.ssh_urls[scenario.sshd]
    job = RUNNERS[ci](tmp_path, staging, ssh_url)
    assert job.exit_code == scenario.exit_code, job.log
    targets = [ssh_url, staging.grpc_url]

    # JUnit: one testsuite per target, a failure element per failing check.
    suites = junit_suites(job.workspace / job.command.output("--junit"))
    assert sorted(suites) == sorted(targets)
    for url, suite in suites.items():
        failing = case_ids(suite, "failure")
        assert int(suite.get("failures")) == len(failing)
        assert case_ids(suite, "error") == set()
        if url == ssh_url:
            assert scenario.failing <= failing and WAIVED not in failing
        else:
            assert failing == set(), failing

    # SARIF 2.1.0: valid, one rule per selected check, results named by rule and located at the target.
    log = validated_sarif(json.loads((job.workspace / job.command.output("--sarif")).read_text()))
    (sarif_run,) = log["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert {rule["id"] for rule in rules} == set(load_profile("spbe-baseline").selection)
    results = sarif_run["results"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert all(any(located_at(r, url) for url in targets) for r in results)
    failed = {r["ruleId"] for r in results if r["properties"]["status"] == "fail"}
    assert failed == set().union(*(case_ids(suite, "failure") for suite in suites.values()))
    for check_id in scenario.failing:
        (result,) = [r for r in results if r["ruleId"] == check_id]
        assert result["level"] == "error" and located_at(result, ssh_url)

    # JSON: valid against the shipped gate schema, with the job's verdict.
    document = validated(json.loads((job.workspace / job.command.output("--json")).read_text()))
    assert document["exit_code"] == scenario.exit_code

    # Markdown: in the job summary (GitHub) or the job log (GitLab), verdict first.
    first_line = job.markdown.lstrip().splitlines()[0]
    assert first_line.startswith("## ") and f"(exit {scenario.exit_code})" in first_line, job.markdown
    if ci == "gitlab":
        assert (job.workspace / job.command.output("--md")).read_text() in job.log

    if scenario.sshd == "legacy":
        ssh_suite = suites[ssh_url]
        # The waiver in force: skipped with its justification, suppressed in SARIF, not failing the job.
        assert WAIVED in case_ids(ssh_suite, "skipped")
        (case,) = [c for c in ssh_suite.iter("testcase") if c.get("name").startswith(WAIVED)]
        skipped = case.find("skipped")
        assert JUSTIFICATION in (skipped.get("message", "") + (skipped.text or ""))
        (waived,) = [r for r in results if r["ruleId"] == WAIVED]
        assert waived["suppressions"][0]["justification"] == JUSTIFICATION
        # The expired waiver waived nothing and is reported.
        assert EXPIRED in failed and "W-CI-002" in job.markdown


def test_a_job_without_its_staging_variables_is_a_usage_error(staging, tmp_path):
    """Unset repository variables reach the gate as empty URLs: exit 2, nothing probed, no file written."""
    _, job, index = github_gate()
    step = job["steps"][index]
    workspace, temp = checkout(tmp_path, staging, staging.ssh_urls["hardened"]), tmp_path / "temp"
    temp.mkdir()
    env = {
        **base_env(temp),
        "GITHUB_STEP_SUMMARY": str(temp / "summary"),
        **job_env(job["env"], {"STAGING_SSH_URL": "", "STAGING_GRPC_URL": "", **STAGING_VALUES}),
    }
    done = run(list(GITHUB_BASH), step["run"], workspace, env, temp)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "URL" in done.stderr
    command = GateCommand.parse(step["run"])
    outputs = ("--junit", "--sarif", "--json")
    written = [option for option in outputs if (workspace / command.output(option)).exists()]
    assert written == []


def test_code_scanning_accepts_the_result_locations(staging, tmp_path):
    """GitHub turns an absolute artifact URI into a path under the checkout (file://) and rejects any other
    scheme ("SARIF URI scheme … did not match the checkout URI scheme "file""): the upload step would fail
    whenever there is a result. The target URL belongs in logicalLocations and the message."""
    job = run_github(tmp_path, staging, staging.ssh_urls["legacy"])
    log = json.loads((job.workspace / job.command.output("--sarif")).read_text())
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in log["runs"][0]["results"]
        for location in result["locations"]
        if "physicalLocation" in location
    }
    assert uris, "the legacy server gives results"
    assert all(urllib.parse.urlsplit(uri).scheme in ("", "file") for uri in uris), sorted(uris)
