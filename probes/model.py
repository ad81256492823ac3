"""The vocabulary every probe speaks: targets, check metadata, results.

Pure data: no network, no files. Everything here serialises to plain JSON
types through ``to_dict`` so the orchestrator can store and report it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from probes.messages import Message, render


class Status(str, enum.Enum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"  # could not be determined: never a pass, never a fail
    SKIP = "skip"  # not applicable to this target
    WAIVED = "waived"  # set by the orchestrator when a waiver matches

    def __str__(self) -> str:
        return self.value


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: info=0 … critical=4."""
        return _SEVERITY_RANK[self]

    def __str__(self) -> str:
        return self.value


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


@dataclass(frozen=True)
class Credentials:
    """How to log in for authenticated checks. Secrets are referenced, never held.

    ``key_path`` is a private-key file; ``password_env`` / ``passphrase_env``
    name environment variables read at connect time only.
    """

    username: str
    key_path: str | None = None
    password_env: str | None = None
    passphrase_env: str | None = None


# What a target may give a probe to compare the server with, by name, and the
# neutral reason a check skips when it is not given. Where a user gives each
# one depends on who made the target (a command line, an inventory): the
# orchestrator says so (orchestrator.expectations), probes do not know.
EXPECTATIONS: dict[str, str] = {
    "pins": "no host key pinned",
    "services": "no gRPC services declared",
    "identity": "no agency or application given",
    "credentials": "no credentials configured",
}
# Evidence key of a skip for a missing expectation: its name in EXPECTATIONS.
MISSING_EXPECTATION = "missing_expectation"


@dataclass(frozen=True)
class Target:
    """One endpoint to probe.

    ``scheme`` is ``ssh``, ``grpc`` (plaintext) or ``grpcs`` (TLS).
    ``services`` are the gRPC services the inventory declares; ``pins`` the
    SSH host-key fingerprints (``SHA256:...``) it expects; ``agency`` and
    ``application`` feed the SPBE identity check.
    """

    scheme: str
    host: str
    port: int
    server_name: str | None = None
    ca_file: str | None = None
    services: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    agency: str | None = None
    application: str | None = None
    credentials: Credentials | None = None

    @property
    def uses_tls(self) -> bool:
        return self.scheme == "grpcs"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class Check:
    """A registered check: its metadata is the contract of its id.

    ``protocol`` is the fact family it is evaluated over (``ssh``, ``tls``,
    ``grpc``); ``facts`` names the facts it reads, so a probe gathers only
    what the enabled checks need; ``params`` are the defaults a profile may
    override.
    """

    id: str
    title: str
    protocol: str
    category: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


# The languages every check text exists in; the first is the default of reports.
LANGUAGES: tuple[str, ...] = ("id", "en")

# How much work a check's remediation is, from least to most; reports say it in words.
EFFORTS: tuple[str, ...] = (
    "config",  # change a configuration line and reload: minutes
    "certificate",  # issue or renew a certificate: hours to days
    "upgrade",  # upgrade or replace the server software: days
    "code",  # change the application itself: days to weeks
)


@dataclass(frozen=True)
class CheckText:
    """What a reader is told about a check, in one language.

    English is the check's registration (``Check.title`` ...); every other
    language is a catalogue beside it (``probes/<family>/texts.py``).
    Technical names (algorithms, RFCs, ``sshd_config`` keywords) stay as they are.
    """

    title: str
    rationale: str
    remediation: str


@dataclass(frozen=True)
class Verdict:
    """What a check's evaluation function returns.

    ``evidence`` is structured: at least ``observed`` and ``expected`` where
    they make sense. ``reason`` is one human sentence; given a ``message``
    (``probes.messages``) and no reason, the reason is its English rendering,
    and reports render the message in their own language.
    """

    status: Status
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    message: Message | None = None

    def __post_init__(self) -> None:
        if self.message is not None and not self.reason:
            object.__setattr__(self, "reason", render(self.message, "en"))

    @classmethod
    def of(cls, status: Status, evidence: dict[str, Any], key: str, /, **params: Any) -> Verdict:
        """The verdict whose reason is the template ``key`` filled with ``params``."""
        return cls(status, evidence=evidence, message=Message(key, params))


@dataclass
class CheckResult:
    """One check's outcome; ``message`` is the reason as a template (``probes.messages``), if it has one."""

    check_id: str
    status: Status
    severity: Severity
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    message: Message | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "status": self.status.value,
            "severity": self.severity.value,
            "reason": self.reason,
            "message": None if self.message is None else self.message.to_dict(),
            "evidence": self.evidence,
            "duration_s": round(self.duration_s, 6),
        }


@dataclass
class ProbeReport:
    """Everything one probe run learned about one target.

    ``unreachable`` holds the reason when no connection could be opened at
    all (the CLI's exit code 3); every check is then ``error``.
    ``facts`` is a JSON-safe summary of what was observed (banner, versions,
    certificate subject …) for reports.
    """

    target: str
    results: list[CheckResult]
    duration_s: float
    unreachable: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "unreachable": self.unreachable,
            "duration_s": round(self.duration_s, 6),
            "facts": self.facts,
            "results": [r.to_dict() for r in self.results],
        }
