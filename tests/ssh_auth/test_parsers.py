"""Pure parts of the authenticated SSH checks: parsers, allowlist, pins, verdict rules."""

from __future__ import annotations

import pytest

from probes.errors import NotApplicable, Undetermined
from probes.facts import Facts
from probes.model import Status
from probes.registry import evaluator
from probes.ssh.authenticated.parsers import (
    ClockSample,
    clock_offset,
    parse_duration,
    parse_epoch,
    parse_os_release,
    parse_sshd_t,
    sync_status,
)
from probes.ssh.authenticated.session import ALLOWED_COMMANDS, command_line, usable_pins
from probes.ssh.facts import CLOCK as CLOCK_FACT
from probes.ssh.facts import SSHD_CONFIG as SSHD_CONFIG_FACT


def test_parse_sshd_t_lowercases_and_keeps_repeats() -> None:
    text = "port 22\nPermitRootLogin no\nhostkey /a\nhostkey /b\nsubsystem sftp /usr/lib/sftp-server -l INFO\nbanner\n"
    assert parse_sshd_t(text) == {
        "port": ["22"],
        "permitrootlogin": ["no"],
        "hostkey": ["/a", "/b"],
        "subsystem": ["sftp /usr/lib/sftp-server -l INFO"],
        "banner": [""],
    }


def test_parse_os_release_unquotes_and_ignores_noise() -> None:
    text = (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n# comment\nbroken line\n'
        "NAME='x y'\nBAD=\"unterminated\n"
    )
    assert parse_os_release(text) == {
        "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)",
        "ID": "debian",
        "NAME": "x y",
    }


@pytest.mark.parametrize(
    "text, seconds",
    [("120", 120), ("0", 0), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("1W", 604800)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-5", "10x", "1.5m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a time value"):
        parse_duration(text)


def test_parse_epoch_precision() -> None:
    assert parse_epoch("1700000000.250000000\n") == (1700000000.25, 1e-9)
    # A date(1) without %N support prints it literally: whole seconds only.
    assert parse_epoch("1700000000.%N\n") == (1700000000.5, 0.5)
    with pytest.raises(ValueError, match="unexpected date output"):
        parse_epoch("Tue Nov 14 22:13:20 UTC 2023")


def test_clock_offset_takes_the_shortest_round_trip() -> None:
    slow = ClockSample(sent=100.0, received=102.0, remote=103.0, resolution=0.0)
    fast = ClockSample(sent=100.0, received=100.2, remote=100.6, resolution=0.0)
    best = clock_offset([slow, fast])
    assert best is fast
    assert best.offset_s == pytest.approx(0.5)
    assert best.uncertainty_s == pytest.approx(0.1)


def test_sync_status() -> None:
    assert sync_status(0, "yes\n") == "yes"
    assert sync_status(0, "no\n") == "no"
    assert sync_status(1, "") == "unknown"
    assert sync_status(127, "yes") == "unknown"
    assert sync_status(0, "maybe") == "unknown"


def test_usable_pins_normalise_and_ignore_other_formats() -> None:
    pins = (" SHA256:abc= ", "sha256:def", "MD5:aa:bb", "SHA256:", "garbage")
    assert usable_pins(pins) == frozenset({"SHA256:abc", "SHA256:def"})


def test_allowlist_refuses_anything_else() -> None:
    assert command_line("sshd_config", "/usr/sbin/sshd -T") == "/usr/sbin/sshd -T"
    assert command_line("sshd_config", "sshd -T", "/etc/ssh/sshd_config") == "sshd -T -f /etc/ssh/sshd_config"
    with pytest.raises(ValueError, match="not an allowlisted form"):
        command_line("sshd_config", "rm -rf /")
    with pytest.raises(KeyError):
        command_line("shell", "sh")
    with pytest.raises(ValueError, match="takes no path"):
        command_line("os_release", "cat /etc/os-release", "/etc/shadow")  # takes no path
    for bad in ("/etc/ssh/x; id", "relative", "/etc/../shadow", "/a b", "/$(id)", "/`id`", "/a\nid"):
        with pytest.raises(ValueError, match="must be an absolute path"):
            command_line("sshd_config", "sshd -T", bad)
    for command in ALLOWED_COMMANDS.values():
        assert command.max_bytes > 0 and command.timeout_s > 0


def _facts(**values: object) -> Facts:
    facts = Facts()
    for name, value in values.items():
        facts.set(name, value)
    return facts


def _config(**settings: str) -> Facts:
    return _facts(
        **{SSHD_CONFIG_FACT: {"source": "sshd -T", "settings": {k: [v] for k, v in settings.items()}}}
    )


def test_config_rules() -> None:
    assert evaluator("SSH-CONF-001")(_config(permitrootlogin="no"), {}).status == Status.PASS
    assert evaluator("SSH-CONF-001")(_config(permitrootlogin="prohibit-password"), {}).status == Status.FAIL
    assert evaluator("SSH-CONF-002")(_config(maxauthtries="4"), {"max": 4}).status == Status.PASS
    assert evaluator("SSH-CONF-002")(_config(maxauthtries="5"), {"max": 4}).status == Status.FAIL
    assert evaluator("SSH-CONF-003")(_config(logingracetime="60"), {"max_seconds": 60}).status == Status.PASS
    unlimited = evaluator("SSH-CONF-003")(_config(logingracetime="0"), {"max_seconds": 60})
    assert (unlimited.status, unlimited.reason) == (
        Status.FAIL,
        "LoginGraceTime is 0 (0 means unlimited), expected <= 60 s",
    )
    assert evaluator("SSH-CONF-004")(_config(x11forwarding="yes"), {}).status == Status.FAIL


def test_config_rule_without_the_setting_is_undetermined() -> None:
    with pytest.raises(Undetermined, match="did not report maxauthtries"):
        evaluator("SSH-CONF-002")(_config(port="22"), {"max": 4})
    with pytest.raises(Undetermined, match="unreadable maxauthtries"):
        evaluator("SSH-CONF-002")(_config(maxauthtries="many"), {"max": 4})


def test_missing_fact_skips_or_errors() -> None:
    facts = Facts()
    facts.not_applicable(CLOCK_FACT, "no credentials configured")
    with pytest.raises(NotApplicable):
        evaluator("SSH-TIME-001")(facts, {"max_offset_s": 1.0})
    with pytest.raises(Undetermined):
        evaluator("SSH-CONF-001")(Facts(), {})


@pytest.mark.parametrize(
    "offset, uncertainty, status",
    [
        (0.2, 0.05, Status.PASS),
        (-0.9, 0.05, Status.PASS),
        (1.2, 0.05, Status.FAIL),
        (-30.0, 2.0, Status.FAIL),  # slow link, but clearly off
        (1.02, 0.05, Status.FAIL),  # best estimate over the limit
    ],
)
def test_clock_verdicts(offset: float, uncertainty: float, status: Status) -> None:
    clock = {"offset_s": offset, "uncertainty_s": uncertainty, "synchronized": "unknown", "samples": 3}
    facts = _facts(**{CLOCK_FACT: clock})
    verdict = evaluator("SSH-TIME-001")(facts, {"max_offset_s": 1.0})
    assert verdict.status == status
    assert verdict.evidence["observed"] == offset


def test_clock_too_imprecise_to_tell_is_undetermined() -> None:
    facts = _facts(
        **{CLOCK_FACT: {"offset_s": 0.5, "uncertainty_s": 1.5, "synchronized": "yes", "samples": 3}}
    )
    with pytest.raises(Undetermined, match="round trip too slow"):
        evaluator("SSH-TIME-001")(facts, {"max_offset_s": 1.0})
