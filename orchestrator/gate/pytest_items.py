"""The pytest nodes of the gate's plugin: a collector per target, an item per check, and what a status becomes.

``OUTCOMES`` is the one map from a check's status to a pytest outcome (see
``orchestrator.gate.pytest_plugin``). ``Probing`` holds the results of one
session: each target is probed once, and the first time any result is
needed every target with selected items is probed at once
(``orchestrator.gate.run.run_gate``).

Imported by the plugin in every pytest session of the environment, so it
imports nothing heavy at module level: the gate is imported in ``Probing``.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from probes.model import Severity, Status, Target

if TYPE_CHECKING:
    from orchestrator.gate.inputs import GateTarget
    from orchestrator.profiles import Profile
    from orchestrator.waivers import Waivers

NODE_ROOT = "interop"  # node ids are interop::URL::CHECK-ID


class InteropWarning(UserWarning):
    """A ``warn``, or a ``fail`` below ``--interop-fail-on``: shown in the summary, failing nothing."""


# pytest prints an exception of module "builtins" by its bare name ("Finding: ...").
class Finding(pytest.fail.Exception):  # type: ignore[name-defined]  # pytest's documented name, an attribute
    """A check failed at or above ``--interop-fail-on``."""

    __module__ = "builtins"


class Undetermined(pytest.fail.Exception):  # type: ignore[name-defined]  # as Finding
    """A check could not be determined (``error``); raised in setup, so pytest reports an error."""

    __module__ = "builtins"


@dataclass(frozen=True)
class GatePlan:
    """What an active session probes, with what, and how it judges: read once from the options."""

    targets: list[GateTarget]
    named: dict[str, GateTarget]  # every spelling a user may pass to interop_report: as given, and normalised
    profile: Profile
    fail_on: Severity
    waivers: Waivers | None

    def target_named(self, url: str) -> GateTarget:
        try:
            return self.named[url]
        except KeyError:
            known = ", ".join(planned.url for planned in self.targets)
            raise LookupError(f"{url} is not an --interop-target of this session ({known})") from None


class Probing:
    """Each target's check document, probed once and shared by its items and the ``interop_report`` fixture."""

    def __init__(self, plan: GatePlan) -> None:
        self.plan = plan
        self.wanted: list[GateTarget] = []  # the targets whose items survived -k/-m
        self.documents: dict[str, dict[str, Any]] = {}
        self.broken: dict[str, str] = {}  # url -> why its probe raised
        self.seconds = 0.0
        self.runs = 0  # gate runs: one, unless interop_report asks for a target no item needed

    def want(self, items: Iterable[pytest.Item]) -> None:
        urls = {item.parent.planned.url for item in items if isinstance(item, InteropCheck)}
        self.wanted = [planned for planned in self.plan.targets if planned.url in urls]

    @property
    def probed(self) -> list[str]:
        return [*self.documents, *self.broken]

    def document(self, planned: GateTarget) -> dict[str, Any]:
        if planned.url in self.broken:
            raise Undetermined(f"probing {planned.url} raised {self.broken[planned.url]}", pytrace=False)
        if planned.url not in self.documents:
            pending = {t.url: t for t in [*self.wanted, planned] if t.url not in self.documents}
            self._probe(list(pending.values()))
        return self.documents[planned.url]

    def _probe(self, targets: list[GateTarget]) -> None:
        from orchestrator.gate.document import check_document
        from orchestrator.gate.run import GateRun, apply_waivers, run_gate
        from orchestrator.waivers import Waivers

        plan = self.plan
        try:
            run = run_gate(targets, plan.profile, plan.fail_on)
        except Exception as exc:
            for planned in targets:  # the first item shows the traceback; no item probes again
                self.broken[planned.url] = f"{type(exc).__name__}: {exc}"
            raise
        self.runs += 1
        self.seconds += run.duration_s
        for outcome in run.outcomes:
            waivers = None
            if plan.waivers is not None:
                # counted for the session's summary
                apply_waivers(outcome.planned, outcome.report, plan.waivers)
                # Counted again for this target alone, as `interop check TARGET --waivers F --json` counts them.
                waivers = Waivers(plan.waivers.all, source=plan.waivers.source, as_of=plan.waivers.as_of)
            judged = apply_waivers(outcome.planned, outcome.report, waivers)
            one = GateRun(
                plan.profile, plan.fail_on, run.started_at, outcome.report.duration_s, [judged], waivers
            )
            self.documents[outcome.planned.url] = check_document(one)


def node_name(target: Target) -> str:
    """The target's URL as a node name.

    pytest reads ``[`` in a node id as the start of parameters and ``::`` as a
    separator, so an IPv6 host is written out in full and unbracketed.
    """
    if ":" not in target.host:
        return target.url
    return f"{target.scheme}://{ipaddress.IPv6Address(target.host).exploded}:{target.port}"


class InteropTarget(pytest.Collector):
    """One ``--interop-target``: its items are the checks the profile selects for its scheme."""

    def __init__(self, *, planned: GateTarget, severities: dict[str, Severity], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.severities = severities

    def collect(self) -> list[pytest.Item]:
        return [
            InteropCheck.from_parent(self, name=check_id, severity=severity)
            for check_id, severity in self.severities.items()
        ]


class InteropCheck(pytest.Item):
    """One check on one target, marked with its severity; its outcome is ``OUTCOMES[status]``."""

    parent: InteropTarget

    def __init__(self, *, severity: Severity, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.severity = severity
        self.add_marker(severity.value)
        self.result: dict[str, Any] = {}

    def setup(self) -> None:
        probing: Probing = self.config.stash[PROBING]
        document = probing.document(self.parent.planned)
        self.result = next((r for r in document["results"] if r["check_id"] == self.name), {})
        if not self.result:
            raise Undetermined(f"{self.name}: the probe returned no result for it", pytrace=False)
        self.user_properties += properties(document["target"], self.result)
        outcome = OUTCOMES[Status(self.result["status"])]
        if outcome.in_setup:
            outcome.act(self, self.result)

    def runtest(self) -> None:
        outcome = OUTCOMES[Status(self.result["status"])]
        if not outcome.in_setup:
            outcome.act(self, self.result)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid

    def locate(self, report: pytest.TestReport) -> None:
        """A skip is located at ``interop`` rather than at the line of this module that raised it.

        pytest reads the location as a file path (a URL's ``//`` would collapse); the
        summary folds equal reasons ("SKIPPED [4] interop: no gRPC services declared").
        """
        if report.skipped and not hasattr(report, "wasxfail") and isinstance(report.longrepr, tuple):
            report.longrepr = (NODE_ROOT, None, report.longrepr[2])  # type: ignore[assignment]


PROBING = pytest.StashKey[Probing]()


def properties(target: str, result: dict[str, Any]) -> list[tuple[str, str]]:
    """What ``--junitxml`` records of a result as the testcase's properties."""
    waiver = result["waiver"]
    shown = {
        "interop_target": target,
        "interop_check": result["check_id"],
        "interop_severity": result["severity"],
        "interop_status": result["status"],
        "interop_waiver": waiver and waiver["id"],
    }
    return [(name, value) for name, value in shown.items() if value]


def headline(result: dict[str, Any]) -> str:
    return f"{result['check_id']} {result['title']} ({result['severity']}) {result['status']}: {result['reason']}"


def _details(item: InteropCheck, result: dict[str, Any]) -> str:
    lines = [headline(result), f"target: {item.parent.planned.url}"]
    if result["remediation"]:
        lines.append(f"remediation: {result['remediation']}")
    if result["evidence"]:
        lines.append(f"evidence: {json.dumps(result['evidence'], sort_keys=True, default=str)}")
    return "\n".join(lines)


def _passed(item: InteropCheck, result: dict[str, Any]) -> None:
    return None


def _warned(item: InteropCheck, result: dict[str, Any]) -> None:
    # Located at "interop" rather than at this line; without a registry no repeat is ever suppressed.
    warnings.warn_explicit(f"{item.parent.planned.url} {headline(result)}", InteropWarning, NODE_ROOT, 0)


def _judged(item: InteropCheck, result: dict[str, Any]) -> None:
    plan = item.config.stash[PROBING].plan
    if Severity(result["severity"]).rank >= plan.fail_on.rank:
        raise Finding(_details(item, result), pytrace=False)
    _warned(item, result)


def _undetermined(item: InteropCheck, result: dict[str, Any]) -> None:
    raise Undetermined(_details(item, result), pytrace=False)


def _skipped(item: InteropCheck, result: dict[str, Any]) -> None:
    pytest.skip(result["reason"])


def _waived(item: InteropCheck, result: dict[str, Any]) -> None:
    waiver = result["waiver"]
    pytest.xfail(
        f"waived by {waiver['id']} until {waiver['expires']} (approver: {waiver['approver']}): "
        f"{waiver['justification']} [was {waiver['original_status']}: {result['reason']}]"
    )


@dataclass(frozen=True)
class Outcome:
    act: Callable[[InteropCheck, dict[str, Any]], None]
    in_setup: bool = False  # what goes wrong in setup is pytest's "error", never a pass


# A check's status -> its pytest outcome: the one map, docs and tests read it.
OUTCOMES: dict[Status, Outcome] = {
    Status.PASS: Outcome(_passed),
    Status.FAIL: Outcome(_judged),  # failed at or above --interop-fail-on, else passed with a warning
    Status.WARN: Outcome(_warned),
    Status.ERROR: Outcome(_undetermined, in_setup=True),
    Status.SKIP: Outcome(_skipped),
    Status.WAIVED: Outcome(_waived),
}


def snapshot(document: dict[str, Any]) -> dict[str, Any]:
    """A copy for the fixture's caller: what a test does with it never changes what the items see."""
    return copy.deepcopy(document)
