"""The one place checks and gatherers are registered.

Each module in ``PROBE_MODULES`` registers one gatherer for its fact family
(``ssh``, ``tls``, ``grpc``) with ``register_gatherer`` and decorates each
check's evaluation function with ``@check(...)``. A family may have several
gatherers (the unauthenticated SSH probe, then the authenticated one); they
run in the order of ``PROBE_MODULES``. Adding a protocol is adding a module
and a line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from probes.facts import Facts, ProbeContext
from probes.model import Check, Severity, Verdict

Evaluator = Callable[[Facts, dict[str, Any]], Verdict]
Gatherer = Callable[[ProbeContext], Awaitable[None]]

PROBE_MODULES = (
    "probes.ssh.probe",
    "probes.ssh.authenticated",
    "probes.tls.probe",
    "probes.grpc.probe",
    "probes.grpc.interop",
)

# Which fact families a URL scheme is probed with, in order (TLS first: its
# separate connection also tells whether the port answers at all).
SCHEME_FAMILIES: dict[str, tuple[str, ...]] = {
    "ssh": ("ssh",),
    "grpc": ("grpc",),
    "grpcs": ("tls", "grpc"),
}
# Families reported as ``skip`` (with this reason) rather than left out.
SCHEME_SKIPS: dict[str, dict[str, str]] = {
    "grpc": {"tls": "plaintext endpoint: TLS is not in use"},
}

_CHECKS: dict[str, Check] = {}
_EVALUATORS: dict[str, Evaluator] = {}
_GATHERERS: dict[str, list[Gatherer]] = {}
_loaded = False


def check(
    id: str,
    *,
    title: str,
    protocol: str,
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
        protocol=protocol,
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


def register_gatherer(family: str, gatherer: Gatherer) -> None:
    _GATHERERS.setdefault(family, []).append(gatherer)


def load() -> None:
    """Import every probe module so their registrations run."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PROBE_MODULES:
            importlib.import_module(module)


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
    load()
    return list(_GATHERERS.get(family, []))
