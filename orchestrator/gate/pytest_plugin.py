"""The CI gate as a pytest plugin: one test per target × check, so pytest's own options and reporters work.

Installed with spbe-interop (entry point ``pytest11``), active only when a
target is given::

    pytest --interop-target grpcs://staging.example.go.id:443 --interop-ca ca.pem \\
           --interop-target ssh://staging.example.go.id --interop-known-hosts known_hosts \\
           --interop-profile spbe-baseline --interop-fail-on high \\
           --interop-waivers waivers.yaml --junitxml interop.xml

Each target is a collector ``interop::URL`` holding one item
``interop::URL::CHECK-ID`` per check the profile selects for its scheme,
marked with the check's severity in the profile (``-m high``, ``-m "critical
or high"``); ``-k``, ``-x``, ``--junitxml`` and every reporter work as for
any test. The options describing targets are ``interop gate``'s with an
``interop-`` prefix (``TARGET_OPTIONS``) and are checked the same way; bad
input is a pytest usage error naming the problem.

The targets with selected items (after ``-k``/``-m``) are probed together,
once, when the first item runs (``--collect-only`` probes nothing), as
``interop gate`` probes them. A check's status becomes (``OUTCOMES`` of
``orchestrator.gate.pytest_items``):

    pass                               passed
    fail at or above --interop-fail-on failed ("Finding: ...", with remediation and evidence)
    fail below it, warn                passed, with an InteropWarning in the warnings summary
    error                              error (raised in setup: never a pass)
    skip                               skipped, with the reason
    waived                             xfailed, with the waiver's id, expiry and justification

An expired waiver waives nothing; the ``interop`` section of the terminal
summary lists it. ``--junitxml`` records target, check, severity, status and
waiver of each testcase as its properties.

Teams that write their own assertions use the fixture ``interop_report``:
``interop_report(url)`` returns that target's results as the document of
``interop check --json`` (``orchestrator.gate.document.check_document``),
from the same probe as the items::

    def test_health_is_serving(interop_report):
        document = interop_report("grpcs://staging.example.go.id:443")
        statuses = {result["check_id"]: result["status"] for result in document["results"]}
        assert statuses["GRPC-HLTH-001"] == "pass"

The plugin is loaded in every pytest session of the environment: without
``--interop-target`` it adds nothing (another ``--interop-*`` option alone is
refused: it would probe nothing), and importing it loads neither grpc nor
paramiko; the gate is imported by the hooks of an active session.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.gate.pytest_items import (
    NODE_ROOT,
    PROBING,
    GatePlan,
    InteropCheck,
    InteropTarget,
    Probing,
    node_name,
    snapshot,
)
from probes.model import Severity

PREFIX = "--interop-"


@dataclass(frozen=True)
class TargetOption:
    """``--interop-NAME``: ``interop gate``'s ``--NAME``, a field of ``orchestrator.gate.inputs.TargetOptions``."""

    field: str
    help: str
    repeat: bool = False
    kind: Callable[[str], Any] = str


# NAME -> option; the same names as `interop gate`'s options that describe its targets.
TARGET_OPTIONS: dict[str, TargetOption] = {
    "service": TargetOption("services", "A gRPC service the endpoints must serve (repeatable).", repeat=True),
    "ca": TargetOption("ca", "CA bundle (PEM) that must verify grpcs:// servers.", kind=Path),
    "server-name": TargetOption("server_name", "TLS server name to verify (default: the host)."),
    "known-hosts": TargetOption(
        "known_hosts", "known_hosts file: its keys for a host are its pinned host keys.", kind=Path
    ),
    "pin": TargetOption("pins", "Pinned SSH host-key fingerprint SHA256:... (repeatable).", repeat=True),
    "agency": TargetOption("agency", "Agency code the endpoints must identify as (e.g. 32.73)."),
    "application": TargetOption("application", "Application id the endpoints must identify as."),
    "user": TargetOption("user", "SSH user for the optional authenticated checks."),
    "key": TargetOption("key", "Private key file for --interop-user.", kind=Path),
    "password-env": TargetOption(
        "password_env", "Environment variable holding the password for --interop-user."
    ),
}
_GATE_FLAG = re.compile(r"(?<![\w-])--(" + "|".join(map(re.escape, TARGET_OPTIONS)) + r")(?![\w-])")


def _dest(name: str) -> str:
    return "interop_" + name.replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interop", "SPBE interop conformance: one test per target × check")
    group.addoption(
        f"{PREFIX}target",
        dest=_dest("target"),
        action="append",
        default=[],
        metavar="URL",
        help="Target to probe: ssh://HOST[:PORT], grpc://HOST:PORT or grpcs://HOST:PORT (repeatable).",
    )
    group.addoption(
        f"{PREFIX}profile",
        dest=_dest("profile"),
        metavar="PROFILE",
        help="Built-in profile name or a profile YAML file (default: that of `interop gate`).",
    )
    group.addoption(
        f"{PREFIX}fail-on",
        dest=_dest("fail_on"),
        choices=[s.value for s in Severity],
        help="A fail at this severity or above fails its test; below, it passes with a warning "
        "(default: that of `interop gate`).",
    )
    group.addoption(
        f"{PREFIX}waivers",
        dest=_dest("waivers"),
        type=Path,
        metavar="FILE",
        help="Waivers file (YAML): a waived result is xfail; an expired waiver waives nothing.",
    )
    for name, option in TARGET_OPTIONS.items():
        group.addoption(
            f"{PREFIX}{name}",
            dest=_dest(name),
            action="append" if option.repeat else "store",
            default=[] if option.repeat else None,
            type=option.kind,
            help=option.help,
        )


def _given(config: pytest.Config) -> list[str]:
    names = ["profile", "fail-on", "waivers", *TARGET_OPTIONS]
    return [f"{PREFIX}{name}" for name in names if config.getoption(_dest(name)) not in (None, [])]


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption(_dest("target")):
        if given := _given(config):
            raise pytest.UsageError(
                f"{', '.join(given)} given without {PREFIX}target: nothing would be probed"
            )
        return
    for severity in Severity:
        config.addinivalue_line("markers", f"{severity.value}: an interop check of severity {severity.value}")
    config.stash[PROBING] = Probing(_plan(config))


def _plan(config: pytest.Config) -> GatePlan:
    """The session's targets, profile, threshold and waivers; a usage error for anything unusable."""
    import orchestrator.grpc_logs  # noqa: F401  (first, before grpc loads: its C-core logs stay off the terminal)
    from orchestrator.expectations import PYTEST
    from orchestrator.gate.inputs import (
        BAD_INPUT,
        TargetOptions,
        command_line_targets,
        require_checks,
        unique,
    )
    from orchestrator.outcome import DEFAULT_FAIL_ON
    from orchestrator.profiles import DEFAULT_PROFILE, load_profile
    from orchestrator.waivers import load_waivers

    urls = config.getoption(_dest("target"))
    fields = {option.field: config.getoption(_dest(name)) for name, option in TARGET_OPTIONS.items()}
    repeated = {option.field for option in TARGET_OPTIONS.values() if option.repeat}
    try:
        profile = load_profile(config.getoption(_dest("profile")) or DEFAULT_PROFILE)
        # getoption is untyped (Any): each value has the type its TargetOptions field declares.
        values: dict[str, Any] = {f: tuple(v) if f in repeated else v for f, v in fields.items()}
        options = TargetOptions(**values)
        given = command_line_targets(urls, options, PYTEST)
        targets = unique(given)
        require_checks(profile, targets)
        waivers_file = config.getoption(_dest("waivers"))
        waivers = load_waivers(waivers_file) if waivers_file else None
    except BAD_INPUT as exc:
        # The gate's messages name its own options (--ca); here they are --interop-ca.
        raise pytest.UsageError(_GATE_FLAG.sub(rf"{PREFIX}\1", str(exc))) from None
    fail_on = config.getoption(_dest("fail_on"))
    named = dict(zip(urls, given, strict=True)) | {planned.url: planned for planned in targets}
    return GatePlan(targets, named, profile, Severity(fail_on) if fail_on else DEFAULT_FAIL_ON, waivers)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the targets' items before -k, -m and --deselect look at the list (they run after this hook)."""
    if PROBING not in config.stash:
        return
    from probes.runner import applicable

    plan = config.stash[PROBING].plan
    for planned in plan.targets:
        severities = {
            check_id: settings.severity
            for check_id, settings in applicable(planned.target, plan.profile.selection).items()
        }
        name = node_name(planned.target)
        target = InteropTarget.from_parent(
            session, name=name, nodeid=f"{NODE_ROOT}::{name}", planned=planned, severities=severities
        )
        items.extend(session.genitems(target))


def pytest_collection_finish(session: pytest.Session) -> None:
    if PROBING in session.config.stash:
        session.config.stash[PROBING].want(session.items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, InteropCheck):
        item.locate(report)
    return report


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if PROBING not in config.stash:
        return None
    plan = config.stash[PROBING].plan
    waivers = f", waivers {plan.waivers.source}" if plan.waivers is not None else ""
    return [
        (
            f"interop: profile {plan.profile.name}, fail on {plan.fail_on.value}{waivers}, "
            f"targets {' '.join(t.url for t in plan.targets)}"
        )
    ]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if PROBING not in config.stash:
        return
    probing = config.stash[PROBING]
    plan = probing.plan
    write = terminalreporter.write_line
    terminalreporter.section("interop")
    probed = probing.probed
    runs = "1 gate run" if probing.runs == 1 else f"{probing.runs} gate runs"
    write(
        f"probed {len(probed)} of {len(plan.targets)} targets in {runs}, {probing.seconds:.2f} s"
        + (f": {' '.join(probed)}" if probed else "")
    )
    if plan.waivers is not None and probed:
        counted = plan.waivers.report()
        for waiver in counted["expired"]:
            write(
                f"waiver {waiver['id']} ({waiver['check']}) expired on {waiver['expires']}: waived nothing "
                f"(it would cover {_results(waiver['results'])})"
            )
        for waiver in counted["unmatched"]:
            write(f"waiver {waiver['id']} ({waiver['check']}) matched no result")


def _results(count: int) -> str:
    return f"{count} result" if count == 1 else f"{count} results"


@pytest.fixture(scope="session")
def interop_report(request: pytest.FixtureRequest) -> Callable[[str], dict[str, Any]]:
    """``interop_report(url)``: that --interop-target's ``interop check --json`` document, from the items' probe."""
    if PROBING not in request.config.stash:
        pytest.fail(
            f"interop_report needs {PREFIX}target: no target was given, nothing was probed", pytrace=False
        )
    probing = request.config.stash[PROBING]

    def report(url: str) -> dict[str, Any]:
        return snapshot(probing.document(probing.plan.target_named(url)))

    return report
