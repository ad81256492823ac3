"""The one place probe families, checks and gatherers are registered.

``FAMILIES`` is the only list of fact families (``ssh``, ``tls``, ``grpc``):
for each, the modules that register its checks and its gatherers in the
order they run (the unauthenticated SSH probe, then the authenticated one).
``SCHEMES`` maps a URL scheme to the families it is probed with. Docs and
the CLI derive their lists from these two maps.

A family's checks module binds the decorator once (``check =
registry.family("ssh")``) and decorates each evaluation function with
``@check("SSH-KEX-001", title=…)``; checks that differ only in data are one
``table(rows, …)`` call. Every check builds its evidence with ``evidence``.
Adding a protocol is adding a package and a line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from probes.facts import Facts, ProbeContext
from probes.messages import Message
from probes.model import LANGUAGES, Check, CheckText, Severity, Verdict

Evaluator = Callable[[Facts, dict[str, Any]], Verdict]
Gatherer = Callable[[ProbeContext], Awaitable[None]]
CheckDecorator = Callable[..., Callable[[Evaluator], Evaluator]]
Row = TypeVar("Row")


@dataclass(frozen=True)
class Family:
    """A fact family: its name in docs, the modules registering its checks, its gatherers in run order."""

    title: str
    checks: tuple[str, ...]
    gatherers: tuple[str, ...]  # "module:function"
    texts: str  # module with ``TEXTS`` {language: {check id: CheckText}} and ``EFFORT`` {check id: effort}


@dataclass(frozen=True)
class Scheme:
    """How a URL scheme is probed: its families in order, and families reported ``skip`` with a reason."""

    families: tuple[str, ...]
    skips: dict[str, Message] = field(default_factory=dict)


FAMILIES: dict[str, Family] = {
    "ssh": Family(
        "SSH",
        checks=("probes.ssh.checks", "probes.ssh.authenticated.checks"),
        gatherers=("probes.ssh.gather:gather", "probes.ssh.authenticated.gather:gather_authenticated"),
        texts="probes.ssh.texts",
    ),
    "tls": Family(
        "TLS",
        checks=("probes.tls.checks",),
        gatherers=("probes.tls.gather:gather_tls",),
        texts="probes.tls.texts",
    ),
    "grpc": Family(
        "gRPC",
        checks=("probes.grpc.checks", "probes.grpc.interop.checks"),
        gatherers=("probes.grpc.gather:gather", "probes.grpc.interop.gather:gather"),
        texts="probes.grpc.texts",
    ),
}

# TLS first for grpcs: its separate connection also tells whether the port answers at all.
SCHEMES: dict[str, Scheme] = {
    "ssh": Scheme(("ssh",)),
    "grpc": Scheme(("grpc",), skips={"tls": Message("probe.plaintext_no_tls")}),
    "grpcs": Scheme(("tls", "grpc")),
}

_CHECKS: dict[str, Check] = {}
_EVALUATORS: dict[str, Evaluator] = {}
_GATHERERS: dict[str, list[Gatherer]] = {}
_TEXTS: dict[str, dict[str, CheckText]] = {}  # language -> check id -> text (English: the registrations)
_EFFORT: dict[str, str] = {}
_loaded = False
_UNSTATED = object()


def family(name: str) -> CheckDecorator:
    """The ``check`` decorator of one family of ``FAMILIES``."""
    if name not in FAMILIES:
        raise KeyError(f"{name!r} is not a probe family ({', '.join(FAMILIES)})")

    def check(
        id: str,
        *,
        title: str,
        category: str,
        severity: Severity | str,
        rationale: str,
        remediation: str,
        references: tuple[str, ...] | list[str] = (),
        facts: tuple[str, ...] | list[str] = (),
        params: dict[str, Any] | None = None,
    ) -> Callable[[Evaluator], Evaluator]:
        """Register an evaluation function ``fn(facts, params) -> Verdict`` under ``id``."""
        meta = Check(
            id=id,
            title=title,
            protocol=name,
            category=category,
            severity=Severity(severity),
            rationale=rationale,
            remediation=remediation,
            references=tuple(references),
            facts=tuple(facts),
            params=dict(params or {}),
        )

        def decorate(fn: Evaluator) -> Evaluator:
            if id in _CHECKS:
                raise ValueError(f"check {id} registered twice")
            _CHECKS[id] = meta
            _EVALUATORS[id] = fn
            return fn

        return decorate

    return check


def table(
    rows: Iterable[Row],
    *,
    check: CheckDecorator,
    meta: Callable[[Row], dict[str, Any]],
    evaluate: Callable[[Row, Facts, dict[str, Any]], Verdict],
) -> None:
    """Register one check per row: ``meta(row)`` gives ``check``'s arguments (``id`` included),
    ``evaluate(row, facts, params)`` its verdict."""
    for row in rows:
        arguments = meta(row)
        check_id = arguments.pop("id")

        def evaluator(facts: Facts, params: dict[str, Any], row: Row = row) -> Verdict:
            return evaluate(row, facts, params)

        evaluator.__name__ = evaluator.__qualname__ = f"{evaluate.__name__}[{check_id}]"
        check(check_id, **arguments)(evaluator)


def evidence(observed: Any, expected: Any = _UNSTATED, **more: Any) -> dict[str, Any]:
    """A verdict's evidence: what was observed, what was expected (when anything was), then details."""
    built = {"observed": observed}
    if expected is not _UNSTATED:
        built["expected"] = expected
    return {**built, **more}


def load() -> None:
    """Import every family's check modules and read its texts and efforts, in the order of
    ``FAMILIES``. Gatherers are imported by ``gatherers`` when a probe of their family first runs:
    a gRPC-only sweep never loads the SSH and TLS gathering code (and its cryptography)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for described in FAMILIES.values():
            for module in described.checks:
                importlib.import_module(module)
            catalogue = importlib.import_module(described.texts)
            for language, texts in catalogue.TEXTS.items():
                _TEXTS.setdefault(language, {}).update(texts)
            _EFFORT.update(catalogue.EFFORT)
        _TEXTS["en"] = {
            check_id: CheckText(meta.title, meta.rationale, meta.remediation)
            for check_id, meta in _CHECKS.items()
        }


def checks() -> dict[str, Check]:
    load()
    return dict(sorted(_CHECKS.items()))


def get_check(check_id: str) -> Check:
    load()
    return _CHECKS[check_id]


def evaluator(check_id: str) -> Evaluator:
    load()
    return _EVALUATORS[check_id]


def gatherers(family: str) -> list[Gatherer]:
    if family not in _GATHERERS:
        found = []
        for reference in FAMILIES[family].gatherers:
            module, _, function = reference.partition(":")
            found.append(getattr(importlib.import_module(module), function))
        _GATHERERS[family] = found
    return list(_GATHERERS[family])


def check_text(check_id: str, language: str) -> CheckText:
    """A check's title, rationale and remediation in ``language`` (one of ``LANGUAGES``)."""
    load()
    if language not in LANGUAGES:
        raise KeyError(f"{language!r} is not a language of the check texts ({', '.join(LANGUAGES)})")
    return _TEXTS[language][check_id]


def missing_texts() -> list[str]:
    """``CHECK-ID/language`` for every registered check without a text or an effort: a test keeps it empty."""
    load()
    missing = [
        f"{check_id}/{language}"
        for language in LANGUAGES
        for check_id in _CHECKS
        if check_id not in _TEXTS.get(language, {})
    ]
    missing += [f"{check_id}/effort" for check_id in _CHECKS if check_id not in _EFFORT]
    return missing


def effort(check_id: str) -> str:
    """How much work the check's remediation is: one of ``probes.model.EFFORTS``."""
    load()
    return _EFFORT[check_id]
