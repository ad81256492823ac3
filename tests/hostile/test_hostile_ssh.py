"""The SSH probe against servers that stay silent, flood, drip or lie: errors with reasons, never hangs."""

from __future__ import annotations

import pytest

from orchestrator.testbed.hostile import HostileServer
from orchestrator.testbed.process import free_port
from tests.ssh.support import own_selection, probe, result, statuses

DEADLINE_S = 3.0
OPTIONS = {"deadline_s": DEADLINE_S, "connect_timeout_s": 1.0, "read_timeout_s": 1.0}
# pytest-timeout bounds each test to the probe deadline plus two seconds.
BOUNDED = pytest.mark.timeout(DEADLINE_S + 2)

# Every check of the SSH probe but the banner and the pin check (no pins -> skip) needs
# KEXINIT or what follows it; taken from the selection so a new check is covered too.
AFTER_BANNER = tuple(sorted(set(own_selection()) - {"SSH-BANNER-001", "SSH-HKEY-003"}))


def expected(banner: str) -> dict[str, str]:
    """Banner check as given; every check that needs KEXINIT or later is an error; no pins -> skip."""
    return {"SSH-BANNER-001": banner, **dict.fromkeys(AFTER_BANNER, "error"), "SSH-HKEY-003": "skip"}


CASES = {
    # behaviour: (banner status, words in the reason of the KEXINIT-based checks)
    "silent": ("error", "no SSH identification line within 1 s"),
    "garbage": ("error", "a line exceeds 1024 bytes"),
    "endless_lines": ("error", "not found within the first 32 lines"),
    "absurd_packet_length": ("pass", "packet length 4294967280 exceeds 35000"),
    "slow_drip": ("error", "no SSH identification line within 1 s"),
    "banner_then_silence": ("pass", "no KEXINIT from the server within 1 s"),
}


@BOUNDED
@pytest.mark.parametrize("behaviour", CASES)
def test_hostile_server_gives_errors_with_reasons(behaviour):
    banner_status, reason = CASES[behaviour]
    with HostileServer(behaviour) as server:
        report = probe(server.port, **OPTIONS)

    assert report.unreachable is None
    assert statuses(report) == expected(banner_status)
    for check_id in AFTER_BANNER:
        assert reason in result(report, check_id).reason, check_id
    if banner_status == "error":
        assert reason in result(report, "SSH-BANNER-001").reason
    else:
        assert report.facts["ssh"]["banner"] == "SSH-2.0-OpenSSH_9.9 hostile"


@pytest.mark.timeout(1.5 + 2)
def test_probe_deadline_cuts_a_long_read_timeout():
    with HostileServer("silent") as server:
        report = probe(server.port, deadline_s=1.5, connect_timeout_s=1.0, read_timeout_s=30.0)

    assert statuses(report) == expected("error")
    assert result(report, "SSH-BANNER-001").reason.endswith("probe deadline of 1.5 s exceeded")


@BOUNDED
def test_closed_port_is_unreachable():
    port = free_port()  # nothing listens there any more

    report = probe(port, **OPTIONS)

    assert report.unreachable is not None and "connection refused" in report.unreachable
    assert set(statuses(report).values()) == {"error", "skip"}
    assert statuses(report)["SSH-HKEY-003"] == "skip"
    assert "unreachable" in result(report, "SSH-BANNER-001").reason


@BOUNDED
def test_only_selected_facts_are_gathered():
    """With only the banner check selected, a server that never sends KEXINIT still passes it."""
    with HostileServer("banner_then_silence") as server:
        selection = {"SSH-BANNER-001": own_selection()["SSH-BANNER-001"]}
        report = probe(server.port, selection=selection, **OPTIONS)

    assert statuses(report) == {"SSH-BANNER-001": "pass"}


def test_hostile_servers_refuse_non_loopback_addresses():
    with pytest.raises(ValueError, match="loopback"):
        HostileServer("silent", host="0.0.0.0")  # noqa: S104 - the test: it is refused
