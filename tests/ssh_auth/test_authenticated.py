"""The authenticated SSH checks against real OpenSSH servers on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from probes import registry
from probes.facts import Facts, ProbeContext
from probes.model import Credentials, ProbeReport, Status, Target
from probes.runner import CheckSettings, ProbeOptions, default_selection, run_probe
from probes.ssh.authenticated import gather, session
from tests.ssh.support import disagreements
from tests.ssh_auth.conftest import PASSPHRASE, ClientKeys, Sshd, start_test_sshd

CONF_IDS = ("SSH-CONF-001", "SSH-CONF-002", "SSH-CONF-003", "SSH-CONF-004")
OWN_IDS = CONF_IDS + ("SSH-TIME-001",)
MISSING_KEY = "/nonexistent/spbe-test/id_never_read"


def selection(sshd_config: str | None = None, ids: tuple[str, ...] = OWN_IDS) -> dict[str, CheckSettings]:
    chosen = {}
    for check_id in ids:
        meta = registry.get_check(check_id)
        params = dict(meta.params)
        if sshd_config is not None and "sshd_config" in params:
            params["sshd_config"] = sshd_config
        chosen[check_id] = CheckSettings(meta.severity, params)
    return chosen


def target(port: int, pins: tuple[str, ...], credentials: Credentials | None) -> Target:
    return Target(scheme="ssh", host="127.0.0.1", port=port, pins=pins, credentials=credentials)


def probe(tgt: Target, sshd_config: str | None = None, options: ProbeOptions = ProbeOptions()) -> ProbeReport:
    return asyncio.run(run_probe(tgt, selection(sshd_config), options))


def statuses(report: ProbeReport) -> dict[str, Status]:
    return {result.check_id: result.status for result in report.results}


def result(report: ProbeReport, check_id: str):
    return next(r for r in report.results if r.check_id == check_id)


def as_root(keys: ClientKeys) -> Credentials:
    return Credentials(username="root", key_path=str(keys.plain))


def local_pretty_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    raise AssertionError("no PRETTY_NAME in /etc/os-release")


def local_sync_status() -> str:
    # The servers run on this machine: they see the same clock status.
    if shutil.which("timedatectl") is None:
        return "unknown"
    done = subprocess.run(
        ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer in ("yes", "no") else "unknown"


def logged_in(sshd_log: str) -> bool:
    # The unauthenticated probe of the same family may connect; only a login counts here.
    return "Accepted publickey" in sshd_log or "Starting session" in sshd_log


class LogWatch:
    """The part of a server's log written while the block ran."""

    def __init__(self, sshd: Sshd) -> None:
        self._sshd = sshd

    def __enter__(self) -> LogWatch:
        self._start = len(self._sshd.server.log())
        return self

    def __exit__(self, *exc: object) -> None:
        self.text = self._sshd.server.log()[self._start :]


def test_hardened_server_passes_everything(hardened_sshd: Sshd, client_keys: ClientKeys) -> None:
    with LogWatch(hardened_sshd) as log:
        report = probe(
            target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), as_root(client_keys)),
            hardened_sshd.config,
        )
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.PASS), report.to_dict()
    assert "Accepted publickey for root" in log.text
    assert result(report, "SSH-CONF-001").evidence["observed"] == "no"
    assert result(report, "SSH-CONF-002").evidence["observed"] == 3
    assert result(report, "SSH-CONF-003").evidence["observed"] == 30
    assert result(report, "SSH-CONF-004").evidence["observed"] == "no"
    assert result(report, "SSH-CONF-001").evidence["source"] == f"/usr/sbin/sshd -T -f {hardened_sshd.config}"
    clock = result(report, "SSH-TIME-001").evidence
    assert clock["synchronized"] == local_sync_status()
    assert abs(clock["observed"]) <= clock["uncertainty_s"] + 0.001  # same machine, same clock
    assert report.facts["ssh_authenticated"] == {
        "host_key": hardened_sshd.fingerprint,
        "os": local_pretty_name(),
        "clock_synchronized": local_sync_status(),
    }
    assert report.unreachable is None


def test_lax_server_fails_every_setting(lax_sshd: Sshd, client_keys: ClientKeys) -> None:
    report = probe(
        target(lax_sshd.server.port, (lax_sshd.fingerprint,), as_root(client_keys)), lax_sshd.config
    )
    assert statuses(report) == {
        "SSH-CONF-001": Status.FAIL,
        "SSH-CONF-002": Status.FAIL,
        "SSH-CONF-003": Status.FAIL,
        "SSH-CONF-004": Status.FAIL,
        "SSH-TIME-001": Status.PASS,
    }, report.to_dict()
    observed = {check_id: result(report, check_id).evidence["observed"] for check_id in CONF_IDS}
    assert observed == {"SSH-CONF-001": "yes", "SSH-CONF-002": 6, "SSH-CONF-003": 120, "SSH-CONF-004": "yes"}
    assert result(report, "SSH-CONF-002").evidence["expected"] == "<= 4"
    assert result(report, "SSH-CONF-003").reason == "LoginGraceTime is 120, expected <= 60 s"
    assert {r.severity.value for r in report.results if r.check_id in CONF_IDS} == {"high", "medium", "low"}


def test_profile_parameters_move_the_limits(lax_sshd: Sshd, client_keys: ClientKeys) -> None:
    chosen = selection(lax_sshd.config, ("SSH-CONF-002", "SSH-CONF-003", "SSH-TIME-001"))
    chosen["SSH-CONF-002"].params["max"] = 6
    chosen["SSH-CONF-003"].params["max_seconds"] = 120
    tgt = target(lax_sshd.server.port, (lax_sshd.fingerprint,), as_root(client_keys))
    report = asyncio.run(run_probe(tgt, chosen))
    assert statuses(report) == {
        "SSH-CONF-002": Status.PASS,
        "SSH-CONF-003": Status.PASS,
        "SSH-TIME-001": Status.PASS,
    }


def test_no_credentials_skips_without_connecting(hardened_sshd: Sshd) -> None:
    with LogWatch(hardened_sshd) as log:
        report = probe(
            target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), None), hardened_sshd.config
        )
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.SKIP)
    assert {r.reason for r in report.results} == {"no credentials configured"}
    assert not logged_in(log.text)
    assert "ssh_authenticated" not in report.facts


def test_no_pin_refuses_to_send_credentials(hardened_sshd: Sshd) -> None:
    credentials = Credentials(username="pinprobeuser", key_path=MISSING_KEY)
    for pins in ((), ("MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",)):
        with LogWatch(hardened_sshd) as log:
            report = probe(target(hardened_sshd.server.port, pins, credentials), hardened_sshd.config)
        assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
        # The key path is never read (it does not exist) and the server never hears the user name.
        assert {r.reason for r in report.results} == {"no pinned host key: refusing to send credentials"}
        assert "pinprobeuser" not in log.text


def test_wrong_pin_stops_before_authentication(hardened_sshd: Sshd) -> None:
    credentials = Credentials(username="pinprobeuser", key_path=MISSING_KEY)
    wrong_pin = "SHA256:" + "A" * 43
    with LogWatch(hardened_sshd) as log:
        report = probe(target(hardened_sshd.server.port, (wrong_pin,), credentials), hardened_sshd.config)
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
    assert {r.reason for r in report.results} == {
        f"host key does not match pin: server presented ssh-ed25519 {hardened_sshd.fingerprint}"
    }
    assert "Connection from 127.0.0.1" in log.text  # it did connect …
    assert "pinprobeuser" not in log.text  # … but never sent a user name
    assert report.unreachable is None


def test_pin_matching_is_lenient_about_prefix_case_and_padding(
    hardened_sshd: Sshd, client_keys: ClientKeys
) -> None:
    pin = "sha256:" + hardened_sshd.fingerprint.partition(":")[2] + "="
    report = probe(target(hardened_sshd.server.port, (pin,), as_root(client_keys)), hardened_sshd.config)
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.PASS)


def test_encrypted_key_with_passphrase_from_env(
    hardened_sshd: Sshd,
    client_keys: ClientKeys,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SPBE_TEST_KEY_PASSPHRASE", PASSPHRASE)
    credentials = Credentials(
        "root", key_path=str(client_keys.encrypted), passphrase_env="SPBE_TEST_KEY_PASSPHRASE"
    )
    report = probe(
        target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), credentials), hardened_sshd.config
    )
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.PASS)
    assert PASSPHRASE not in json.dumps(report.to_dict())
    assert PASSPHRASE not in caplog.text


def test_encrypted_key_without_passphrase_is_an_error(
    hardened_sshd: Sshd, client_keys: ClientKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPBE_TEST_UNSET_PASSPHRASE", raising=False)
    tgt_port, pins = hardened_sshd.server.port, (hardened_sshd.fingerprint,)
    no_env = Credentials("root", key_path=str(client_keys.encrypted))
    report = probe(target(tgt_port, pins, no_env), hardened_sshd.config)
    assert {r.reason for r in report.results} == {
        f"cannot load private key file {client_keys.encrypted}: set passphrase_env"
    }
    unset = Credentials(
        "root", key_path=str(client_keys.encrypted), passphrase_env="SPBE_TEST_UNSET_PASSPHRASE"
    )
    report = probe(target(tgt_port, pins, unset), hardened_sshd.config)
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
    assert {r.reason for r in report.results} == {
        "environment variable SPBE_TEST_UNSET_PASSPHRASE is not set"
    }


def test_key_not_authorised_is_an_error(hardened_sshd: Sshd, client_keys: ClientKeys) -> None:
    credentials = Credentials("root", key_path=str(client_keys.stranger))
    report = probe(
        target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), credentials), hardened_sshd.config
    )
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
    assert {r.reason for r in report.results} == {"authentication as root failed"}


def test_password_from_env_is_sent_and_never_reported(
    password_sshd: Sshd, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "spbe-test-password-9d41c2e8"
    monkeypatch.setenv("SPBE_TEST_SSH_PASSWORD", secret)
    credentials = Credentials("root", password_env="SPBE_TEST_SSH_PASSWORD")
    with LogWatch(password_sshd) as log:
        report = probe(
            target(password_sshd.server.port, (password_sshd.fingerprint,), credentials), password_sshd.config
        )
    # The machine's root password is not the test's: the login is refused by the server.
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
    assert {r.reason for r in report.results} == {"authentication as root failed"}
    assert "Failed password for root" in log.text
    assert secret not in json.dumps(report.to_dict())
    assert secret not in caplog.text


def test_sshd_config_parameter_must_be_a_plain_absolute_path(
    hardened_sshd: Sshd, client_keys: ClientKeys
) -> None:
    tgt = target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), as_root(client_keys))
    report = probe(tgt, "/etc/ssh/sshd_config; id")
    expected = dict.fromkeys(CONF_IDS, Status.ERROR) | {"SSH-TIME-001": Status.PASS}
    assert statuses(report) == expected
    for bad in ("relative/sshd_config", "/etc/../etc/shadow", "/tmp/$(id)", "/tmp/a b"):
        with LogWatch(hardened_sshd) as log:
            report = asyncio.run(run_probe(tgt, selection(bad, CONF_IDS)))
        assert statuses(report) == dict.fromkeys(CONF_IDS, Status.ERROR), bad
        assert result(report, "SSH-CONF-001").reason.startswith(
            "invalid check parameter: sshd_config must be"
        )
        assert not logged_in(log.text)  # nothing left to log in for


def test_sshd_t_failure_is_an_error_with_its_message(hardened_sshd: Sshd, client_keys: ClientKeys) -> None:
    tgt = target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), as_root(client_keys))
    report = probe(tgt, "/nonexistent/sshd_config")
    expected = dict.fromkeys(CONF_IDS, Status.ERROR) | {"SSH-TIME-001": Status.PASS}
    assert statuses(report) == expected
    assert result(report, "SSH-CONF-001").reason == (
        "sshd -T -f /nonexistent/sshd_config failed "
        "(exit status 1: /nonexistent/sshd_config: No such file or directory)"
    )


def test_only_requested_facts_are_gathered(hardened_sshd: Sshd, client_keys: ClientKeys) -> None:
    tgt = target(hardened_sshd.server.port, (hardened_sshd.fingerprint,), as_root(client_keys))
    with LogWatch(hardened_sshd) as log:
        report = asyncio.run(run_probe(tgt, selection(ids=("SSH-TIME-001",))))
    assert statuses(report) == {"SSH-TIME-001": Status.PASS}
    # os-release, the sync status and three clock samples: one session per command.
    assert log.text.count("Starting session: command for root") == 5
    assert "clock_synchronized" in report.facts["ssh_authenticated"]


def test_nothing_listening_is_unreachable(client_keys: ClientKeys) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = holder.getsockname()[1]
        report = probe(target(port, ("SHA256:" + "A" * 43,), as_root(client_keys)))
    assert report.unreachable is not None and "connection refused" in report.unreachable
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)


class SilentServer:
    """Accepts one TCP connection and never says a word; records when the client closes it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed_by_client = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(60)
            try:
                while connection.recv(1024):  # the client's identification line, then nothing
                    pass
                self.closed_by_client.set()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def own_context(tgt: Target, read_timeout_s: float) -> ProbeContext:
    """What the runner hands this module's gatherer, without the sibling gatherer of the family."""
    return ProbeContext(
        target=tgt,
        facts=Facts(),
        wanted=frozenset(gather.OWN_FACTS),
        params={check_id: settings.params for check_id, settings in selection().items()},
        connect_timeout_s=1.0,
        read_timeout_s=read_timeout_s,
    )


def test_silent_server_is_an_error_not_a_hang(client_keys: ClientKeys) -> None:
    server = SilentServer()
    try:
        ctx = own_context(target(server.port, ("SHA256:" + "A" * 43,), as_root(client_keys)), 0.5)
        asyncio.run(gather.gather_authenticated(ctx))
        for name in gather.OWN_FACTS:
            reason = ctx.facts.error_of(name) or ""
            assert reason.startswith("SSH handshake failed"), reason
        assert server.closed_by_client.wait(10)
    finally:
        server.close()


def test_probe_deadline_aborts_the_session_thread(client_keys: ClientKeys) -> None:
    server = SilentServer()
    # paramiko would wait 30 s for the banner; the probe deadline is 0.5 s.
    ctx = own_context(target(server.port, ("SHA256:" + "A" * 43,), as_root(client_keys)), 30)

    async def cut_short() -> bool:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await gather.gather_authenticated(ctx)
        # Checked before asyncio.run joins the worker thread: cancelling must close the
        # connection now, not leave the thread waiting out paramiko's own timeouts.
        return await asyncio.to_thread(server.closed_by_client.wait, 10)

    try:
        assert asyncio.run(cut_short())
    finally:
        server.close()


def test_registered_metadata() -> None:
    checks = registry.checks()
    assert {check_id: checks[check_id].severity.value for check_id in OWN_IDS} == {
        "SSH-CONF-001": "high",
        "SSH-CONF-002": "medium",
        "SSH-CONF-003": "low",
        "SSH-CONF-004": "medium",
        "SSH-TIME-001": "medium",
    }
    assert gather.gather_authenticated in registry.gatherers("ssh")
    for check_id in OWN_IDS:
        assert checks[check_id].protocol == "ssh"
        assert checks[check_id].rationale and checks[check_id].remediation and checks[check_id].references


def forced_command_sshd(tmp_path_factory: pytest.TempPathFactory, keys: ClientKeys, command: str) -> Sshd:
    """An sshd that runs ``command`` whatever is asked: a server behaving badly after login."""
    return start_test_sshd(
        tmp_path_factory.mktemp("sshd_forced"),
        keys,
        "default",
        {"PermitRootLogin": "yes", "ForceCommand": command},
    )


def test_endless_output_is_cut_at_the_cap(
    tmp_path_factory: pytest.TempPathFactory, client_keys: ClientKeys
) -> None:
    sshd = forced_command_sshd(tmp_path_factory, client_keys, "yes")
    try:
        report = probe(target(sshd.server.port, (sshd.fingerprint,), as_root(client_keys)))
    finally:
        sshd.server.stop()
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
    assert result(report, "SSH-CONF-001").reason == "output of /usr/sbin/sshd -T exceeds 65536 bytes"
    assert result(report, "SSH-TIME-001").reason == "output of date -u +%s.%N exceeds 64 bytes"
    assert report.facts["ssh_authenticated"]["os"] is None


def test_command_that_never_finishes_times_out(
    tmp_path_factory: pytest.TempPathFactory, client_keys: ClientKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, command in session.ALLOWED_COMMANDS.items():
        monkeypatch.setitem(session.ALLOWED_COMMANDS, name, dataclasses.replace(command, timeout_s=0.3))
    sshd = forced_command_sshd(tmp_path_factory, client_keys, "sleep 5")
    try:
        report = probe(target(sshd.server.port, (sshd.fingerprint,), as_root(client_keys)))
    finally:
        sshd.server.stop()
    assert statuses(report) == dict.fromkeys(OWN_IDS, Status.ERROR)
    assert {result(report, check_id).reason for check_id in OWN_IDS} == {
        "/usr/sbin/sshd -T did not finish within 0.3 s",
        "date -u +%s.%N did not finish within 0.3 s",
    }
    assert report.facts["ssh_authenticated"]["clock_synchronized"] == "unknown"


@pytest.mark.parametrize("which", ["hardened_sshd", "lax_sshd"])
def test_every_ssh_check_evidence_agrees_with_its_verdict(
    which: str, client_keys: ClientKeys, request: pytest.FixtureRequest
) -> None:
    """The whole SSH family, authenticated checks included: no evidence verdict is worse than its result."""
    sshd: Sshd = request.getfixturevalue(which)
    chosen = {cid: s for cid, s in default_selection().items() if registry.get_check(cid).protocol == "ssh"}
    chosen.update(selection(sshd.config))
    tgt = target(sshd.server.port, (sshd.fingerprint,), as_root(client_keys))
    report = asyncio.run(run_probe(tgt, chosen))
    assert {r.check_id for r in report.results} == set(chosen)
    assert not [r for r in report.results if r.status is Status.ERROR], report.to_dict()
    assert disagreements(report) == []
    assert Status.PASS in statuses(report).values()
    if which == "lax_sshd":
        assert statuses(report)["SSH-CONF-001"] is Status.FAIL
