"""The pytest plugin, run by pytester against real loopback servers: items, outcomes, selection, JUnit, the fixture.

Each run is a pytest subprocess (grpc and asyncio state stay out of this
process) with ``--rootdir`` set, so node ids read ``interop::URL::CHECK-ID``
however the option values' paths lie. Runs that probe nothing (usage
errors, an inactive plugin) run in this process.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.gate.inputs import SCHEME_OPTIONS, TargetOptions
from orchestrator.gate.pytest_items import OUTCOMES
from orchestrator.gate.pytest_plugin import TARGET_OPTIONS
from orchestrator.inventory.targets import make_target
from orchestrator.profiles import load_profile
from probes.model import Severity, Status
from probes.runner import applicable
from tests.gate.conftest import (
    SUBPROCESS_TIMEOUT_S,
    Servers,
    junit_cases,
    junit_outcomes,
    junit_properties,
    node_id,
    url_of,
)
from tests.schemas import validated

FAIL_ON = Severity.HIGH  # the plugin's and the gate's default


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--rootdir", str(pytester.path), "-ra", *args, timeout=SUBPROCESS_TIMEOUT_S
    )


def target_args(servers: Servers, *urls: str) -> list[str]:
    args = ["--interop-profile", str(servers.profile)]
    for url in urls:
        args += ["--interop-target", url]
    return args + (["--interop-ca", str(servers.ca)] if servers.grpcs in urls else [])


def items_of(servers: Servers, *urls: str) -> dict[str, Severity]:
    """Node id -> severity of every item the profile makes for these targets."""
    profile = load_profile(servers.profile)
    return {
        node_id(url, check_id): settings.severity
        for url in urls
        for check_id, settings in applicable(make_target(url), profile.selection).items()
    }


def write_waivers(directory: Path, legacy: str) -> Path:
    path = directory / "waivers.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        waivers:
          - id: W-KEX
            check: SSH-KEX-001
            endpoint: "{legacy}"
            justification: Legacy appliance; its replacement is contracted.
            approver: Kepala Diskominfo
            expires: 2099-12-31
          - id: W-OLD
            check: SSH-ENC-001
            justification: Accepted once, long ago.
            approver: Kepala Diskominfo
            expires: 2020-01-01
    """)
    )
    return path


def own_test_writing(document_path: str, url: str) -> str:
    """A team's own test: it asserts over ``interop_report`` and leaves the document for this test to read."""
    return textwrap.dedent(f"""\
        import json

        import pytest

        def test_own(interop_report):
            document = interop_report({url!r})
            with open({document_path!r}, "w") as out:
                json.dump(document, out)
            assert document["target"] == {url!r}
            with pytest.raises(LookupError, match="is not an --interop-target"):
                interop_report("ssh://127.0.0.2:22")
    """)


# What the gate's verdict on a check becomes in pytest; a fail depends on the threshold.
VERDICTS = {"pass": "passed", "warn": "passed", "error": "error", "skip": "skipped", "waived": "xfailed"}


def verdict(result: dict, fail_on: Severity) -> str:
    if result["status"] == "fail":
        return "failed" if Severity(result["severity"]).rank >= fail_on.rank else "passed"
    return VERDICTS[result["status"]]


def test_the_target_options_mirror_the_gates():
    assert {option.field for option in TARGET_OPTIONS.values()} == {
        f.name for f in dataclasses.fields(TargetOptions)
    }
    assert set(SCHEME_OPTIONS) <= {f"--{name}" for name in TARGET_OPTIONS}


def test_every_status_has_an_outcome():
    assert set(OUTCOMES) == set(Status)
    assert [s for s, outcome in OUTCOMES.items() if outcome.in_setup] == [
        Status.ERROR
    ]  # an error is never a pass


def test_each_check_is_an_item_with_the_outcome_of_its_status(pytester, servers, silent):
    urls = [servers.grpcs, servers.legacy, url_of(silent)]
    waivers = write_waivers(pytester.path, servers.legacy)
    pytester.makepyfile(test_own_assertions=own_test_writing("document.json", servers.grpcs))
    result = run(
        pytester, *target_args(servers, *urls), "--interop-waivers", str(waivers), "--junitxml", "junit.xml"
    )

    junit = pytester.path / "junit.xml"
    outcomes, cases = junit_outcomes(junit), junit_cases(junit)
    own = node_id("test_own_assertions", "test_own")
    assert outcomes.pop(own) == "passed" and cases.pop(own) is not None
    assert set(outcomes) == set(items_of(servers, *urls))  # one item per target × check, named by both
    results = {node: junit_properties(case) for node, case in cases.items()}
    assert outcomes == {
        node: verdict({"status": r["interop_status"], "severity": r["interop_severity"]}, FAIL_ON)
        for node, r in results.items()
    }

    def where(url: str, outcome: str) -> set[str]:
        return {n for n, o in outcomes.items() if n.startswith(f"interop::{url}::") and o == outcome}

    legacy = servers.legacy
    assert where(legacy, "failed") == {node_id(legacy, "SSH-ENC-001")}  # its waiver expired: not waived
    assert where(legacy, "xfailed") == {node_id(legacy, "SSH-KEX-001")}
    assert results[node_id(legacy, "SSH-KEX-001")]["interop_waiver"] == "W-KEX"
    assert results[node_id(legacy, "SSH-MAC-001")]["interop_status"] == "fail"  # medium: below the threshold
    assert where(url_of(silent), "error") and not where(url_of(silent), "passed")
    assert not where(servers.grpcs, "failed") and not where(servers.grpcs, "error")
    warned = [
        n for n, r in results.items() if r["interop_status"] in ("warn", "fail") and outcomes[n] == "passed"
    ]
    assert node_id(legacy, "SSH-MAC-001") in warned
    tally = list(outcomes.values())
    result.assert_outcomes(
        passed=tally.count("passed") + 1,
        failed=tally.count("failed"),
        errors=tally.count("error"),
        skipped=tally.count("skipped"),
        xfailed=tally.count("xfailed"),
        warnings=len(warned),
    )
    result.stdout.fnmatch_lines(
        [
            "*InteropWarning: * SSH-MAC-001 * (medium) fail: weak MACs offered*",
            f"probed 3 of 3 targets in 1 gate run, * s: {' '.join(urls)}",  # together, the fixture's one included
            "waiver W-OLD (SSH-ENC-001) expired on 2020-01-01: waived nothing (it would cover 1 result)",
            (
                f"XFAIL interop::{legacy}::SSH-KEX-001 - waived by W-KEX until 2099-12-31 "
                "(approver: Kepala Diskominfo): Legacy appliance; its replacement is contracted. [[]was fail: *"
            ),
        ]
    )

    failure = cases[node_id(legacy, "SSH-ENC-001")].find("failure")
    assert failure.get("message").startswith("Finding: SSH-ENC-001")
    assert "remediation:" in failure.text
    assert (
        cases[node_id(url_of(silent), "SSH-KEX-001")]
        .find("error")
        .get("message")
        .startswith('failed on setup with "Undetermined: SSH-KEX-001')
    )
    assert "W-KEX" in cases[node_id(legacy, "SSH-KEX-001")].find("skipped").get("message")

    # The fixture's document comes from the same probe as the items.
    document = validated(json.loads((pytester.path / "document.json").read_text()))
    assert {r["check_id"]: r["status"] for r in document["results"]} == {
        node.rpartition("::")[2]: r["interop_status"] for node, r in results.items() if servers.grpcs in node
    }
    for check in document["results"]:
        if check["status"] == "skip":
            skipped = cases[node_id(servers.grpcs, check["check_id"])].find("skipped")
            assert skipped.get("message") == check["reason"]
    # A skip for what no option gave names the plugin's own option.
    services = next(r for r in document["results"] if r["check_id"] == "GRPC-HLTH-002")
    assert services["reason"].endswith(": give --interop-service"), services


def test_outcomes_match_the_gates_verdicts(pytester, servers, silent):
    urls = [servers.grpcs, servers.legacy, url_of(silent)]
    waivers = write_waivers(pytester.path, servers.legacy)
    run(pytester, *target_args(servers, *urls), "--interop-waivers", str(waivers), "--junitxml", "junit.xml")
    accepted_by_plugin = silent.accepted

    gate_json = pytester.path / "gate.json"
    gate = CliRunner().invoke(
        app,
        [
            "gate",
            *urls,
            "--ca",
            str(servers.ca),
            "--profile",
            str(servers.profile),
            "--waivers",
            str(waivers),
            "--json",
            str(gate_json),
        ],
        catch_exceptions=False,
    )
    assert gate.exit_code == 1, gate.output
    document = validated(json.loads(gate_json.read_text()))

    expected = {
        node_id(target["target"], result["check_id"]): verdict(result, FAIL_ON)
        for target in document["targets"]
        for result in target["results"]
    }
    assert junit_outcomes(pytester.path / "junit.xml") == expected
    # One probe per target, shared by its items: as many connections as the gate's one probe.
    assert accepted_by_plugin == silent.accepted - accepted_by_plugin >= 1


def test_k_selects_items_and_only_their_targets_are_probed(pytester, servers, silent):
    urls = [servers.grpcs, servers.legacy, url_of(silent)]
    result = run(
        pytester,
        *target_args(servers, *urls),
        "-k",
        servers.grpcs.removeprefix("grpcs://"),
        "--junitxml",
        "junit.xml",
    )

    outcomes = junit_outcomes(pytester.path / "junit.xml")
    assert set(outcomes) == set(items_of(servers, servers.grpcs))
    assert result.parseoutcomes()["deselected"] == len(items_of(servers, servers.legacy, url_of(silent)))
    assert silent.accepted == 0
    result.stdout.fnmatch_lines([f"probed 1 of 3 targets in 1 gate run, * s: {servers.grpcs}"])


@pytest.mark.parametrize(
    "selection, chosen",
    [
        (["-m", "high"], lambda node, severity: severity is Severity.HIGH),
        (
            ["-k", "SSH-KEX-001 or SSH-MAC-001"],
            lambda node, severity: node.endswith(("SSH-KEX-001", "SSH-MAC-001")),
        ),
    ],
    ids=["-m high", "-k check ids"],
)
def test_markers_and_keywords_select_without_probing(pytester, servers, silent, selection, chosen):
    urls = [servers.grpcs, servers.legacy, url_of(silent)]
    result = run(pytester, *target_args(servers, *urls), *selection, "--collect-only", "-q")

    collected = {line for line in result.outlines if line.startswith("interop::")}
    assert collected == {
        node for node, severity in items_of(servers, *urls).items() if chosen(node, severity)
    }
    assert collected
    assert silent.accepted == 0  # collecting probes nothing


def test_x_stops_at_the_first_failure(pytester, servers):
    result = run(pytester, *target_args(servers, servers.legacy), "-x")

    assert result.parseoutcomes()["failed"] == 1
    assert sum(result.parseoutcomes().get(o, 0) for o in ("passed", "skipped")) < len(
        items_of(servers, servers.legacy)
    )
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_an_ipv6_target_is_named_without_brackets(pytester):
    result = pytester.runpytest_inprocess("--interop-target", "ssh://[::1]:22", "--collect-only", "-q")

    collected = [line for line in result.outlines if line.startswith("interop::")]
    assert collected
    assert all(
        line.startswith("interop::ssh://0000:0000:0000:0000:0000:0000:0000:0001:22::SSH-")
        for line in collected
    )


def test_the_fixture_alone_probes_its_target_only(pytester, servers, silent):
    pytester.makepyfile(test_own_assertions=own_test_writing("document.json", servers.grpcs))
    urls = [servers.grpcs, servers.legacy, url_of(silent)]
    result = run(pytester, *target_args(servers, *urls), "-k", "test_own")

    result.assert_outcomes(passed=1, deselected=len(items_of(servers, *urls)))
    document = validated(json.loads((pytester.path / "document.json").read_text()))
    assert {r["check_id"] for r in document["results"]} == {
        node.rpartition("::")[2] for node in items_of(servers, servers.grpcs)
    }
    assert silent.accepted == 0
    result.stdout.fnmatch_lines([f"probed 1 of 3 targets in 1 gate run, * s: {servers.grpcs}"])


def test_the_fixture_without_a_target_is_an_error(pytester):
    pytester.makepyfile("def test_own(interop_report):\n    interop_report('ssh://127.0.0.1:22')\n")
    result = pytester.runpytest_inprocess()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*interop_report needs --interop-target: no target was given*"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--interop-target", "ftp://127.0.0.1:21"], "*ftp*"),
        (
            ["--interop-target", "ssh://127.0.0.1:22", "--interop-service", "spbe.A"],
            "*--interop-service applies to grpc:// and grpcs:// targets only*",
        ),
        (
            ["--interop-target", "grpcs://127.0.0.1:1", "--interop-ca", "missing.pem"],
            "*--interop-ca*missing.pem*",
        ),
        (
            ["--interop-target", "ssh://127.0.0.1:22", "--interop-profile", "no-such-profile"],
            "*no-such-profile*",
        ),
        (
            ["--interop-target", "ssh://127.0.0.1:22", "--interop-waivers", "waivers.yaml"],
            "*waivers.yaml:3*expires*",
        ),
        (["--interop-profile", "spbe-baseline"], "*--interop-profile given without --interop-target*"),
        (
            ["--interop-target", "ssh://127.0.0.1:22", "--interop-fail-on", "severe"],
            "*invalid choice*severe*",
        ),
    ],
    ids=["scheme", "service on ssh", "ca missing", "profile", "waivers", "no target", "fail-on"],
)
def test_bad_input_is_a_usage_error(pytester, args, message):
    pytester.path.joinpath("waivers.yaml").write_text(
        "waivers:\n  - id: W-1\n    expires: someday\n    check: SSH-KEX-001\n    justification: j\n    approver: a\n"
    )
    result = pytester.runpytest_inprocess(*args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_without_a_target_the_plugin_adds_nothing(pytester):
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest_inprocess("--markers")
    assert "interop check of severity" not in result.stdout.str()

    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("interop: profile *")  # the header of an active session
    result.stdout.no_fnmatch_line("*= interop =*")  # its summary section


def test_importing_the_plugin_loads_nothing_heavy():
    heavy = ("grpc", "paramiko", "ray", "cryptography", "pydantic", "typer", "rich", "orchestrator.profiles")
    code = (
        "import sys, orchestrator.gate.pytest_plugin\n"
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
