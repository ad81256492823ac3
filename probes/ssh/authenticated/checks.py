"""The authenticated SSH checks: the sshd settings as the table ``CONFIG_RULES``, and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from probes import registry
from probes.errors import Undetermined
from probes.facts import Facts
from probes.messages import Message
from probes.model import Severity, Status, Verdict
from probes.ssh.authenticated.parsers import parse_duration
from probes.ssh.facts import CLOCK, SSHD_CONFIG

check = registry.family("ssh")


@dataclass(frozen=True)
class MustEqual:
    """The setting must have exactly this value."""

    value: str

    def judge(self, observed: str, params: dict[str, Any]) -> tuple[bool, Any, Any, bool]:
        """(ok, observed, expected, whether the observed value means unlimited)."""
        return observed == self.value, observed, self.value, False


@dataclass(frozen=True)
class AtMost:
    """A numeric setting must not exceed ``params[param]``; ``0`` may mean unlimited."""

    param: str
    seconds: bool = False
    zero_is_unlimited: bool = False

    def judge(self, observed: str, params: dict[str, Any]) -> tuple[bool, Any, Any, bool]:
        limit = params[self.param]
        value = parse_duration(observed) if self.seconds else int(observed)
        unit = " s" if self.seconds else ""
        if self.zero_is_unlimited and value == 0:
            return False, value, f"<= {limit}{unit}", True
        return 0 <= value <= limit, value, f"<= {limit}{unit}", False


@dataclass(frozen=True)
class ConfigRule:
    check_id: str
    setting: str  # as written in sshd_config; sshd -T prints it lowercase
    title: str
    severity: Severity
    requirement: MustEqual | AtMost
    rationale: str
    remediation: str
    references: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)


_CONFIG_REFERENCES = ("sshd_config(5): " + "https://man.openbsd.org/sshd_config",)

CONFIG_RULES: tuple[ConfigRule, ...] = (
    ConfigRule(
        "SSH-CONF-001",
        "PermitRootLogin",
        "Root cannot log in over SSH",
        Severity.HIGH,
        MustEqual("no"),
        "A direct root login is the most valuable target of password guessing and key theft, and "
        "it leaves no record of which administrator acted; logging in personally and escalating "
        "with sudo keeps both attribution and a second barrier.",
        "Set 'PermitRootLogin no' in /etc/ssh/sshd_config (and in any Include'd file), give "
        "administrators personal accounts with sudo, then reload sshd.",
        (
            "CIS Debian Linux Benchmark: Ensure sshd PermitRootLogin is disabled",
            "NIST SP 800-53 Rev. 5 AC-6(2), IA-2",
            "BSI IT-Grundschutz-Kompendium SYS.1.3 Server unter Linux und Unix",
        )
        + _CONFIG_REFERENCES,
    ),
    ConfigRule(
        "SSH-CONF-002",
        "MaxAuthTries",
        "Few authentication attempts per connection",
        Severity.MEDIUM,
        AtMost("max"),
        "Every attempt a connection is allowed is another guess for a brute-force attacker; a low "
        "limit also makes failures show up in the logs sooner.",
        "Set 'MaxAuthTries 4' (or lower) in /etc/ssh/sshd_config and reload sshd.",
        (
            "CIS Debian Linux Benchmark: Ensure sshd MaxAuthTries is configured (4 or less)",
            "NIST SP 800-53 Rev. 5 AC-7",
        )
        + _CONFIG_REFERENCES,
        {"max": 4},
    ),
    ConfigRule(
        "SSH-CONF-003",
        "LoginGraceTime",
        "Unauthenticated connections are dropped quickly",
        Severity.LOW,
        AtMost("max_seconds", seconds=True, zero_is_unlimited=True),
        "Each unauthenticated connection holds a server slot until the grace time ends; a long or "
        "unlimited grace time lets an attacker exhaust MaxStartups and lock administrators out.",
        "Set 'LoginGraceTime 60' (or lower, never 0) in /etc/ssh/sshd_config and reload sshd.",
        (
            "CIS Debian Linux Benchmark: Ensure sshd LoginGraceTime is configured (one minute or less)",
            "NIST SP 800-53 Rev. 5 AC-10, SC-5",
        )
        + _CONFIG_REFERENCES,
        {"max_seconds": 60},
    ),
    ConfigRule(
        "SSH-CONF-004",
        "X11Forwarding",
        "X11 forwarding is disabled",
        Severity.MEDIUM,
        MustEqual("no"),
        "Servers have no use for graphical sessions; a forwarded X11 display lets a compromised "
        "server read keystrokes and screens of the administrator's desktop.",
        "Set 'X11Forwarding no' (or 'DisableForwarding yes') in /etc/ssh/sshd_config and reload sshd.",
        (
            "CIS Debian Linux Benchmark: Ensure sshd X11 forwarding is disabled / DisableForwarding is enabled",
            "NIST SP 800-53 Rev. 5 CM-7",
        )
        + _CONFIG_REFERENCES,
    ),
)

_SCOPE_NOTE = "global settings (sshd -T without -C does not apply Match blocks)"


def _config_meta(rule: ConfigRule) -> dict[str, Any]:
    return dict(
        id=rule.check_id,
        title=rule.title,
        category="configuration",
        severity=rule.severity,
        rationale=rule.rationale,
        remediation=rule.remediation,
        references=rule.references,
        facts=(SSHD_CONFIG,),
        # sshd_config: a non-default configuration file for sshd -T -f (absolute path).
        params={**rule.params, "sshd_config": None},
    )


def _config_verdict(rule: ConfigRule, facts: Facts, params: dict[str, Any]) -> Verdict:
    keyword = rule.setting.lower()
    gathered = facts[SSHD_CONFIG]
    values = gathered["settings"].get(keyword)
    said = {"source": gathered["source"], "keyword": keyword}
    if not values:
        raise Undetermined(message=Message("ssh.setting_unreported", said))
    try:
        ok, observed, expected, unlimited = rule.requirement.judge(values[0], params)
    except ValueError:
        raise Undetermined(message=Message("ssh.setting_unreadable", said)) from None
    evidence = registry.evidence(
        observed, expected, setting=rule.setting, source=gathered["source"], scope=_SCOPE_NOTE
    )
    if ok:
        return Verdict.of(Status.PASS, evidence, "ssh.setting_ok", setting=rule.setting, observed=observed)
    frame = "ssh.setting_unlimited" if unlimited else "ssh.setting_bad"
    return Verdict.of(
        Status.FAIL,
        evidence,
        frame,
        setting=rule.setting,
        observed=observed,
        expected=expected,
    )


registry.table(CONFIG_RULES, check=check, meta=_config_meta, evaluate=_config_verdict)


@check(
    "SSH-TIME-001",
    title="Server clock is within a second of the probe's",
    category="time",
    severity=Severity.MEDIUM,
    rationale="Log correlation across agencies, certificate validity, Kerberos and one-time "
    "passwords all depend on clocks that agree; a drifting clock makes incident timelines "
    "unreliable and can break authentication.",
    remediation="Synchronise the clock continuously with NTP (systemd-timesyncd or chrony) against "
    "the agency's or a national time source, and check 'timedatectl' reports "
    "'System clock synchronized: yes'.",
    references=(
        "NIST SP 800-53 Rev. 5 AU-8, AU-8(1)",
        "CIS Debian Linux Benchmark: Ensure time synchronization is in use",
        "RFC 5905 (NTPv4)",
    ),
    facts=(CLOCK,),
    params={"max_offset_s": 1.0},
)
def check_clock_offset(facts: Facts, params: dict[str, Any]) -> Verdict:
    clock = facts[CLOCK]
    limit = float(params["max_offset_s"])
    offset, uncertainty = clock["offset_s"], clock["uncertainty_s"]
    evidence = registry.evidence(
        offset, f"|offset| <= {limit:g} s", uncertainty_s=uncertainty, synchronized=clock["synchronized"]
    )
    off_limit = Message("ssh.clock_off_limit", {"offset": offset, "limit": limit})
    if abs(offset) - uncertainty > limit:
        return Verdict(Status.FAIL, evidence=evidence, message=off_limit)
    if uncertainty > limit:
        said = {"limit": limit, "uncertainty": uncertainty}
        raise Undetermined(message=Message("ssh.clock_unmeasurable", said))
    if abs(offset) <= limit:
        return Verdict.of(Status.PASS, evidence, "ssh.clock_offset", offset=offset)
    return Verdict(Status.FAIL, evidence=evidence, message=off_limit)
