"""Facts: what a probe observed, collected phase by phase.

A gatherer records each fact as it learns it (``set``) or records why it
could not (``fail``). Checks read facts by name; a fact that is missing turns
the check into ``error`` with the recorded reason. Because facts are kept as
they arrive, a probe cut short by its deadline still evaluates everything it
did learn.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from probes.errors import MissingExpectation, NotApplicable, Undetermined, Unreachable, explain_error
from probes.messages import Message, render
from probes.model import Target

# A reason as a gatherer records it: plain text, or a template with its values (``probes.messages``).
Reason = str | Message
Raised = TypeVar("Raised", Undetermined, NotApplicable)


class Facts:
    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._errors: dict[str, Reason] = {}
        self._skips: dict[str, NotApplicable] = {}
        self.durations: dict[str, float] = {}
        self.summary: dict[str, Any] = {}  # JSON-safe, shown in reports
        # Why a fact nobody recorded is missing (the runner sets it when a probe is cut short).
        self.missing_reason: Reason = Message("probe.not_collected")

    def set(self, name: str, value: Any, duration_s: float | None = None) -> None:
        self._values[name] = value
        self._errors.pop(name, None)
        if duration_s is not None:
            self.durations[name] = duration_s

    def fail(self, name: str, reason: Reason) -> None:
        """The fact could not be observed; checks reading it become ``error``."""
        if name not in self._values:
            self._errors[name] = reason

    def not_applicable(self, name: str, reason: Reason) -> None:
        """The fact does not exist for this target; checks reading it ``skip``."""
        self._skips[name] = _raised(NotApplicable, reason)

    def missing_expectation(self, name: str, expectation: str) -> None:
        """The fact is an expectation the target does not give (``EXPECTATIONS``): checks reading it skip."""
        self._skips[name] = MissingExpectation(expectation)

    def has(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def error_of(self, name: str) -> str | None:
        reason = self._errors.get(name)
        return render(reason, "en") if isinstance(reason, Message) else reason

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._skips:
            # A fresh copy (its message included) per check: a raised exception keeps its traceback.
            raise copy.copy(self._skips[name])
        missing = Message("probe.fact_missing", {"fact": name, "why": self.missing_reason})
        reason = self._errors.get(name) or missing
        raise _raised(Undetermined, reason)

    @asynccontextmanager
    async def collecting(self, *names: str) -> AsyncIterator[None]:
        """Run a phase; if it raises, every named fact it did not set fails with the reason.

        Unexpected exceptions are turned into reasons too: a broken server
        must produce ``error`` results, never a traceback.
        """
        started = time.perf_counter()
        try:
            yield
        except Unreachable:
            raise  # decided by the runner: the whole target, not one fact
        except Exception as exc:  # noqa: BLE001 - converted into a reason on purpose
            reason = explain_error(exc)
            for name in names:
                self.fail(name, reason)
        finally:
            elapsed = time.perf_counter() - started
            for name in names:
                self.durations.setdefault(name, elapsed)

    async def collect(self, name: str, awaitable: Awaitable[Any]) -> Any:
        """Await one fact; record its value or the reason it failed."""
        async with self.collecting(name):
            started = time.perf_counter()
            value = await awaitable
            self.set(name, value, time.perf_counter() - started)
            return value
        return None


def _raised(kind: type[Raised], reason: Reason) -> Raised:
    return kind(message=reason) if isinstance(reason, Message) else kind(reason)


class Closable(Protocol):
    async def close(self) -> Any: ...


Resource = TypeVar("Resource", bound=Closable)


@dataclass
class ProbeContext:
    """What a gatherer gets: the target, where to put facts, what is wanted.

    ``wanted`` is the set of fact names the enabled checks read; a gatherer
    skips phases nobody needs (an interop case, an authenticated session).
    ``params`` maps check id to its effective parameters.
    """

    target: Target
    facts: Facts
    wanted: frozenset[str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    # What the family's gatherers share within this probe (the gRPC channel: one connection, not one
    # per gatherer), closed by the runner when the family is done.
    _shared: dict[str, Closable] = field(default_factory=dict, init=False, repr=False)

    def wants(self, *names: str) -> bool:
        return not self.wanted.isdisjoint(names)  # in C: asked several times per phase of every probe

    def shared(self, name: str, open_: Callable[[], Resource]) -> Resource:
        """The probe's ``name``, opened by the first gatherer that asks for it."""
        if name not in self._shared:
            self._shared[name] = open_()
        return cast(Resource, self._shared[name])  # open_ made it

    async def release(self, name: str) -> None:
        """Close ``name`` now (a connection that went bad); the next ``shared`` opens a fresh one."""
        resource = self._shared.pop(name, None)
        if resource is not None:
            await resource.close()

    async def close(self) -> None:
        for name in list(self._shared):
            await self.release(name)
