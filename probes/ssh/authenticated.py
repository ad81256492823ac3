"""Optional authenticated SSH checks: read the effective sshd configuration and the clock.

Runs only when the inventory gives credentials (a key-file path and/or the
*names* of environment variables holding a password or key passphrase) and
pins the host key. The server's host key is checked against the pins before
any credential is loaded or sent; nothing is ever auto-accepted. Once logged
in, only the commands in ``ALLOWED_COMMANDS`` can run, each with an output
cap and a time limit. Secrets never reach facts, reasons, evidence or logs.

paramiko is blocking, so the session runs in a worker thread
(``asyncio.to_thread``). Every blocking step has its own timeout, and a
watchdog closes the transport when a command overruns (paramiko's
``exec_command`` has no timeout of its own) or when the probe is cancelled,
so the thread never outlives the probe deadline by much.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paramiko

from probes import registry
from probes.errors import ProbeError, Undetermined, Unreachable, describe_error
from probes.facts import Facts, ProbeContext
from probes.model import Credentials, Severity, Status, Verdict

FAMILY = "ssh"
SSHD_CONFIG_FACT = "ssh_auth.sshd_config"  # dict: sshd -T keyword -> list of values
CLOCK_FACT = "ssh_auth.clock"  # dict: offset_s, uncertainty_s, synchronized, samples
OWN_FACTS = (SSHD_CONFIG_FACT, CLOCK_FACT)

NO_CREDENTIALS = "no credentials configured"
NO_PINS = "no pinned host key: refusing to send credentials"
PIN_MISMATCH = "host key does not match pin"


# --- The allowlist: the only commands this module can ever run ---------------------------


@dataclass(frozen=True)
class RemoteCommand:
    """A read-only command: shell command lines tried in order until one exits 0.

    ``takes_path`` commands accept one validated absolute path, appended as
    ``-f PATH`` (used to point ``sshd -T`` at a non-default configuration).
    """

    candidates: tuple[str, ...]
    max_bytes: int
    timeout_s: float
    takes_path: bool = False


ALLOWED_COMMANDS: dict[str, RemoteCommand] = {
    # sshd is in /usr/sbin, which is not on every account's PATH.
    "sshd_config": RemoteCommand(("/usr/sbin/sshd -T", "sshd -T"), 64 * 1024, 10.0, takes_path=True),
    "os_release": RemoteCommand(("cat /etc/os-release", "cat /usr/lib/os-release"), 8 * 1024, 5.0),
    "clock": RemoteCommand(("date -u +%s.%N",), 64, 5.0),
    # systemd only; absent in containers and on other init systems -> "unknown".
    "clock_sync": RemoteCommand(("timedatectl show -p NTPSynchronized --value",), 256, 5.0),
}
STDERR_MAX_BYTES = 2048
WATCHDOG_GRACE_S = 1.0
CLOCK_SAMPLES = 3  # the sample with the shortest round trip is the most precise
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._+@/-]{1,4095}")


def command_line(name: str, candidate: str, path: str | None = None) -> str:
    """The exact line sent for allowlisted command ``name``; anything else is refused."""
    command = ALLOWED_COMMANDS[name]
    if candidate not in command.candidates:
        raise ValueError(f"{candidate!r} is not an allowlisted form of {name}")
    if path is None:
        return candidate
    if not command.takes_path:
        raise ValueError(f"{name} takes no path")
    return f"{candidate} -f {shlex.quote(validated_path(path))}"


def validated_path(path: object) -> str:
    """An absolute path of plain characters with no ``..`` segment, or ValueError."""
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValueError("sshd_config must be an absolute path of letters, digits and ._+@/-")
    return path


# --- Pure parsers ---------------------------------------------------------------------


def parse_sshd_t(text: str) -> dict[str, list[str]]:
    """``sshd -T`` output: one ``keyword value`` per line, keywords lowercase, some repeated."""
    config: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if parts:
            config.setdefault(parts[0].lower(), []).append(parts[1] if len(parts) > 1 else "")
    return config


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of os-release(5); values may be shell-quoted."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key] = " ".join(words)[:200]
    return fields


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """sshd_config(5) time format (``90``, ``1m30s``) in seconds; ``sshd -T`` prints plain seconds."""
    parts = re.findall(r"(\d+)([smhdwSMHDW]?)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a time value: {text[:40]!r}")
    return sum(int(number) * _DURATION_UNITS[unit.lower()] for number, unit in parts)


_EPOCH = re.compile(r"\s*(\d{1,12})(?:\.(\d{1,9}))?")


def parse_epoch(text: str) -> tuple[float, float]:
    """``date +%s.%N`` as (seconds, resolution); a ``date`` without ``%N`` gives whole seconds."""
    match = _EPOCH.match(text)
    if not match:
        raise ValueError(f"unexpected date output: {text[:40]!r}")
    seconds, fraction = match.groups()
    if fraction is None:
        return int(seconds) + 0.5, 0.5
    return float(f"{seconds}.{fraction}"), 10.0 ** -len(fraction)


@dataclass(frozen=True)
class ClockSample:
    sent: float  # local wall clock when the command was sent
    received: float  # local wall clock when its output had arrived
    remote: float
    resolution: float

    @property
    def offset_s(self) -> float:
        # The remote clock was read somewhere within the round trip: assume its middle.
        return self.remote - (self.sent + self.received) / 2

    @property
    def uncertainty_s(self) -> float:
        return (self.received - self.sent) / 2 + self.resolution


def clock_offset(samples: list[ClockSample]) -> ClockSample:
    """The sample with the smallest uncertainty (shortest round trip)."""
    return min(samples, key=lambda sample: sample.uncertainty_s)


def sync_status(exit_status: int | None, output: str) -> str:
    answer = output.strip().lower()
    if exit_status == 0 and answer in ("yes", "no"):
        return answer
    return "unknown"


def host_key_fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64 without padding>``, as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def usable_pins(pins: tuple[str, ...]) -> frozenset[str]:
    """The SHA256 pins, normalised (prefix case, padding); other formats are ignored."""
    normalised = set()
    for pin in pins:
        algorithm, sep, value = pin.strip().partition(":")
        if sep and algorithm.upper() == "SHA256" and value:
            normalised.add("SHA256:" + value.rstrip("="))
    return frozenset(normalised)


# --- The session (runs in a worker thread) --------------------------------------------


class SessionError(ProbeError):
    """The session could not be used; ``str()`` is a secret-free reason."""


class ConnectFailed(SessionError):
    """No TCP connection at all."""


class OutputTooLong(Exception):
    """A command printed more than its cap."""


@dataclass
class CommandOutput:
    command: str
    exit_status: int | None
    stdout: str
    stderr: str
    sent_at: float = 0.0  # local wall clock when the exec request left
    received_at: float = 0.0  # local wall clock when stdout reached its end


@dataclass
class SessionResult:
    host_key: str
    outputs: dict[str, CommandOutput | str] = field(default_factory=dict)  # str: why it failed
    clock: list[ClockSample] | str = field(default_factory=list)


class AuthenticatedSession:
    """One paramiko transport: connect, verify the pin, log in, run allowlisted commands."""

    def __init__(
        self,
        host: str,
        port: int,
        credentials: Credentials,
        pins: frozenset[str],
        connect_timeout_s: float,
        read_timeout_s: float,
    ) -> None:
        self._address = (host, port)
        self._credentials = credentials
        self._pins = pins
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._transport: paramiko.Transport | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._secrets: list[str] = []

    def abort(self) -> None:
        """Close the connection from any thread: every blocking paramiko call then returns."""
        with self._lock:
            self._closed = True
            transport = self._transport
        if transport is not None:
            transport.close()

    def run(self, commands: list[tuple[str, str | None]], want_clock: bool) -> SessionResult:
        try:
            try:
                return self._run(commands, want_clock)
            except SessionError as exc:
                raise type(exc)(self._scrub(str(exc))) from None
            except Exception as exc:  # noqa: BLE001 - turned into a reason; paramiko raises many kinds
                raise SessionError(self._scrub(describe_error(exc))) from None
        finally:
            self.abort()
            self._secrets.clear()

    def _run(self, commands: list[tuple[str, str | None]], want_clock: bool) -> SessionResult:
        transport = self._connect()
        host_key = transport.get_remote_server_key()
        fingerprint = host_key_fingerprint(host_key)
        if fingerprint not in self._pins:
            raise SessionError(f"{PIN_MISMATCH}: server presented {host_key.get_name()} {fingerprint}")
        # Only now, talking to the pinned host, are secrets read and sent.
        self._authenticate(transport)
        result = SessionResult(host_key=fingerprint)
        for name, path in commands:
            result.outputs[name] = self._attempt(name, lambda: self._run_allowed(transport, name, path))
        if want_clock:
            result.clock = self._attempt("clock", lambda: self._sample_clock(transport))
        return result

    def _attempt(self, name: str, step: Any) -> Any:
        """One command's failure is that command's reason, not the whole session's."""
        try:
            return step()
        except SessionError as exc:
            return self._scrub(str(exc))
        except Exception as exc:  # noqa: BLE001 - recorded as a reason
            if self._closed:
                return f"{name}: session closed (a command did not answer in time, or the probe was cancelled)"
            return self._scrub(f"{name}: {describe_error(exc)}")

    def _connect(self) -> paramiko.Transport:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout_s)
        except OSError as exc:
            raise ConnectFailed(f"{self._address[0]}:{self._address[1]}: {describe_error(exc)}") from None
        # Small request/response exchanges: do not let Nagle wait for delayed ACKs.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = self._read_timeout_s
        transport.handshake_timeout = self._read_timeout_s
        transport.auth_timeout = self._read_timeout_s
        with self._lock:
            self._transport = transport
            closed = self._closed
        if closed:
            transport.close()
            raise SessionError("probe cancelled")
        try:
            transport.start_client(timeout=self._read_timeout_s * 2)
        except Exception as exc:  # noqa: BLE001 - paramiko raises SSHException, EOFError, OSError
            raise SessionError(f"SSH handshake failed: {describe_error(exc)}") from None
        return transport

    def _authenticate(self, transport: paramiko.Transport) -> None:
        credentials = self._credentials
        key = self._load_key() if credentials.key_path else None
        password = self._secret_from_env(credentials.password_env) if credentials.password_env else None
        if key is not None:
            try:
                transport.auth_publickey(credentials.username, key)
            except paramiko.AuthenticationException:
                pass  # a password may still be configured
        if not transport.is_authenticated() and password is not None:
            try:
                transport.auth_password(credentials.username, password)
            except paramiko.AuthenticationException:
                pass
        if not transport.is_authenticated():
            raise SessionError(f"authentication as {credentials.username} failed")

    def _load_key(self) -> paramiko.PKey:
        path = self._credentials.key_path
        passphrase_env = self._credentials.passphrase_env
        passphrase = self._secret_from_env(passphrase_env) if passphrase_env else None
        try:
            return paramiko.PKey.from_path(path, passphrase.encode() if passphrase else None)
        except OSError as exc:
            raise SessionError(f"cannot read private key file {path}: {describe_error(exc)}") from None
        except TypeError:
            # cryptography: an encrypted key and no passphrase (or the reverse)
            hint = "set passphrase_env" if passphrase is None else "the key is not encrypted"
            raise SessionError(f"cannot load private key file {path}: {hint}") from None
        except (ValueError, paramiko.SSHException):
            raise SessionError(
                f"cannot load private key file {path}: wrong passphrase or unsupported key format"
            ) from None

    def _secret_from_env(self, name: str) -> str:
        value = os.environ.get(name)
        if not value:
            raise SessionError(f"environment variable {name} is not set")
        self._secrets.append(value)
        return value

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _run_allowed(self, transport: paramiko.Transport, name: str, path: str | None) -> CommandOutput:
        """Try the command's forms in order; the first that exits 0 wins, else the last answer."""
        output: CommandOutput | None = None
        for candidate in ALLOWED_COMMANDS[name].candidates:
            output = self._exec(transport, name, command_line(name, candidate, path))
            if output.exit_status == 0:
                break
        assert output is not None
        return output

    def _exec(self, transport: paramiko.Transport, name: str, line: str) -> CommandOutput:
        command = ALLOWED_COMMANDS[name]
        deadline = time.monotonic() + command.timeout_s
        # exec_command waits for the server's reply without a timeout: the watchdog ends the
        # session if even that never comes. Slow output is caught earlier by the read deadline.
        watchdog = threading.Timer(command.timeout_s + WATCHDOG_GRACE_S, self.abort)
        watchdog.daemon = True
        watchdog.start()
        window = max(32 * 1024, command.max_bytes + STDERR_MAX_BYTES)
        try:
            channel = transport.open_session(window_size=window, timeout=command.timeout_s)
            try:
                sent_at = time.time()
                channel.exec_command(line)
                stdout = _read_bounded(channel, command.max_bytes, deadline)
                received_at = time.time()
                stderr = _drain_stderr(channel)
                finished = channel.status_event.wait(max(0.0, deadline - time.monotonic()))
                exit_status = channel.exit_status if finished and channel.exit_status >= 0 else None
            finally:
                channel.close()
        except (TimeoutError, socket.timeout):
            raise SessionError(f"{line} did not finish within {command.timeout_s:g} s") from None
        except OutputTooLong:
            raise SessionError(f"output of {line} exceeds {command.max_bytes} bytes") from None
        finally:
            watchdog.cancel()
        return CommandOutput(
            command=line,
            exit_status=exit_status,
            stdout=stdout.decode("utf-8", "replace"),
            stderr=stderr.decode("utf-8", "replace"),
            sent_at=sent_at,
            received_at=received_at,
        )

    def _sample_clock(self, transport: paramiko.Transport) -> list[ClockSample]:
        samples = []
        line = command_line("clock", ALLOWED_COMMANDS["clock"].candidates[0])
        for _ in range(CLOCK_SAMPLES):
            # Timed from the exec request on: opening the channel is not part of the round trip.
            output = self._exec(transport, "clock", line)
            if output.exit_status != 0:
                raise SessionError(f"{line} failed{_exit_text(output)}")
            remote, resolution = parse_epoch(output.stdout)
            samples.append(ClockSample(output.sent_at, output.received_at, remote, resolution))
        return samples


def _read_bounded(channel: paramiko.Channel, max_bytes: int, deadline: float) -> bytes:
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        channel.settimeout(remaining)
        chunk = channel.recv(min(32 * 1024, max_bytes + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > max_bytes:
            raise OutputTooLong


def _drain_stderr(channel: paramiko.Channel) -> bytes:
    """Whatever stderr has arrived by the end of stdout, capped; only used for reasons."""
    data = bytearray()
    while channel.recv_stderr_ready() and len(data) < STDERR_MAX_BYTES:
        data += channel.recv_stderr(STDERR_MAX_BYTES - len(data))
    return bytes(data)


def _exit_text(output: CommandOutput) -> str:
    status = "no exit status" if output.exit_status is None else f"exit status {output.exit_status}"
    first_line = next((line.strip() for line in output.stderr.splitlines() if line.strip()), "")
    first_line = "".join(ch for ch in first_line if ch.isprintable())[:200]
    return f" ({status}{': ' + first_line if first_line else ''})"


# --- The gatherer ---------------------------------------------------------------------


def _sshd_config_path(params: dict[str, dict[str, Any]]) -> str | None:
    """The ``sshd_config`` parameter shared by the SSH-CONF checks (one value, validated)."""
    paths = {
        settings.get("sshd_config")
        for check_id, settings in params.items()
        if check_id.startswith("SSH-CONF-")
    } - {None, ""}
    if len(paths) > 1:
        raise ValueError("SSH-CONF checks name different sshd_config paths")
    return validated_path(paths.pop()) if paths else None


async def gather_authenticated(ctx: ProbeContext) -> None:
    wanted = [name for name in OWN_FACTS if ctx.wants(name)]
    if not wanted:
        return
    facts = ctx.facts
    credentials = ctx.target.credentials
    if credentials is None:
        for name in wanted:
            facts.not_applicable(name, NO_CREDENTIALS)
        return
    pins = usable_pins(ctx.target.pins)
    refusal = None
    if not pins:
        refusal = NO_PINS
    elif not credentials.key_path and not credentials.password_env:
        refusal = "credentials name neither key_path nor password_env"
    if refusal:
        for name in wanted:
            facts.fail(name, refusal)
        return

    commands: list[tuple[str, str | None]] = [("os_release", None)]
    if SSHD_CONFIG_FACT in wanted:
        try:
            commands.append(("sshd_config", _sshd_config_path(ctx.params)))
        except (ValueError, TypeError) as exc:
            facts.fail(SSHD_CONFIG_FACT, f"invalid check parameter: {exc}")
    want_clock = CLOCK_FACT in wanted
    if want_clock:
        commands.append(("clock_sync", None))
    elif len(commands) == 1:
        return  # nothing left worth logging in for

    session = AuthenticatedSession(
        ctx.target.host,
        ctx.target.port,
        credentials,
        pins,
        ctx.connect_timeout_s,
        ctx.read_timeout_s,
    )
    started = time.perf_counter()
    try:
        result = await asyncio.to_thread(session.run, commands, want_clock)
    except asyncio.CancelledError:
        session.abort()
        raise
    except ConnectFailed as exc:
        # The unauthenticated gatherer connects first when any of its facts is wanted;
        # otherwise this was the target's first connection.
        if set(ctx.wanted) <= set(OWN_FACTS):
            raise Unreachable(str(exc)) from None
        for name in wanted:
            facts.fail(name, str(exc))
        return
    except SessionError as exc:
        for name in wanted:
            facts.fail(name, str(exc))
        return
    elapsed = time.perf_counter() - started

    os_release = _os_release(result.outputs.get("os_release"))
    sync = _sync(result.outputs.get("clock_sync"))
    if SSHD_CONFIG_FACT in wanted and "sshd_config" in result.outputs:
        _record_sshd_config(facts, result.outputs["sshd_config"], elapsed)
    if want_clock:
        _record_clock(facts, result.clock, sync, elapsed)
    summary: dict[str, Any] = {
        "host_key": result.host_key,
        "os": os_release.get("PRETTY_NAME"),
    }
    if want_clock:
        summary["clock_synchronized"] = sync
    facts.summary["ssh_authenticated"] = summary


def _os_release(output: CommandOutput | str | None) -> dict[str, str]:
    if isinstance(output, CommandOutput) and output.exit_status == 0:
        return parse_os_release(output.stdout)
    return {}


def _sync(output: CommandOutput | str | None) -> str:
    if isinstance(output, CommandOutput):
        return sync_status(output.exit_status, output.stdout)
    return "unknown"


def _record_sshd_config(facts: Facts, output: CommandOutput | str, elapsed: float) -> None:
    if isinstance(output, str):
        facts.fail(SSHD_CONFIG_FACT, output)
        return
    if output.exit_status != 0:
        facts.fail(SSHD_CONFIG_FACT, f"{output.command} failed{_exit_text(output)}")
        return
    config = parse_sshd_t(output.stdout)
    if not config:
        facts.fail(SSHD_CONFIG_FACT, f"{output.command} printed no settings")
        return
    facts.set(SSHD_CONFIG_FACT, {"source": output.command, "settings": config}, elapsed)


def _record_clock(facts: Facts, samples: list[ClockSample] | str, sync: str, elapsed: float) -> None:
    if isinstance(samples, str):
        facts.fail(CLOCK_FACT, samples)
        return
    best = clock_offset(samples)
    facts.set(
        CLOCK_FACT,
        {
            "offset_s": round(best.offset_s, 3),
            "uncertainty_s": round(best.uncertainty_s, 3),
            "synchronized": sync,
            "samples": len(samples),
        },
        elapsed,
    )


registry.register_gatherer(FAMILY, gather_authenticated)


# --- Checks: the sshd settings as data ------------------------------------------------


@dataclass(frozen=True)
class MustEqual:
    """The setting must have exactly this value."""

    value: str

    def judge(self, observed: str, params: dict[str, Any]) -> tuple[bool, Any, Any, str]:
        return observed == self.value, observed, self.value, ""


@dataclass(frozen=True)
class AtMost:
    """A numeric setting must not exceed ``params[param]``; ``0`` may mean unlimited."""

    param: str
    seconds: bool = False
    zero_is_unlimited: bool = False

    def judge(self, observed: str, params: dict[str, Any]) -> tuple[bool, Any, Any, str]:
        limit = params[self.param]
        value = parse_duration(observed) if self.seconds else int(observed)
        unit = " s" if self.seconds else ""
        if self.zero_is_unlimited and value == 0:
            return False, value, f"<= {limit}{unit}", " (0 means unlimited)"
        return 0 <= value <= limit, value, f"<= {limit}{unit}", ""


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


def _config_evaluator(rule: ConfigRule) -> registry.Evaluator:
    keyword = rule.setting.lower()

    def evaluate(facts: Facts, params: dict[str, Any]) -> Verdict:
        gathered = facts[SSHD_CONFIG_FACT]
        values = gathered["settings"].get(keyword)
        if not values:
            raise Undetermined(f"{gathered['source']} did not report {keyword}")
        try:
            ok, observed, expected, note = rule.requirement.judge(values[0], params)
        except ValueError:
            raise Undetermined(f"{gathered['source']} reported an unreadable {keyword}") from None
        evidence = {
            "observed": observed,
            "expected": expected,
            "setting": rule.setting,
            "source": gathered["source"],
            "scope": _SCOPE_NOTE,
        }
        if ok:
            return Verdict(Status.PASS, f"{rule.setting} is {observed}", evidence)
        return Verdict(Status.FAIL, f"{rule.setting} is {observed}{note}, expected {expected}", evidence)

    return evaluate


for _rule in CONFIG_RULES:
    registry.check(
        _rule.check_id,
        title=_rule.title,
        protocol=FAMILY,
        category="configuration",
        severity=_rule.severity,
        rationale=_rule.rationale,
        remediation=_rule.remediation,
        references=_rule.references,
        facts=(SSHD_CONFIG_FACT,),
        # sshd_config: a non-default configuration file for sshd -T -f (absolute path).
        params={**_rule.params, "sshd_config": None},
    )(_config_evaluator(_rule))


@registry.check(
    "SSH-TIME-001",
    title="Server clock is within a second of the probe's",
    protocol=FAMILY,
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
    facts=(CLOCK_FACT,),
    params={"max_offset_s": 1.0},
)
def check_clock_offset(facts: Facts, params: dict[str, Any]) -> Verdict:
    clock = facts[CLOCK_FACT]
    limit = float(params["max_offset_s"])
    offset, uncertainty = clock["offset_s"], clock["uncertainty_s"]
    evidence = {
        "observed": offset,
        "expected": f"|offset| <= {limit:g} s",
        "uncertainty_s": uncertainty,
        "synchronized": clock["synchronized"],
    }
    if abs(offset) - uncertainty > limit:
        return Verdict(Status.FAIL, f"clock is off by {offset:+.3f} s (limit {limit:g} s)", evidence)
    if uncertainty > limit:
        raise Undetermined(
            f"round trip too slow to measure the offset within {limit:g} s (uncertainty {uncertainty:.3f} s)"
        )
    if abs(offset) <= limit:
        return Verdict(Status.PASS, f"clock is off by {offset:+.3f} s", evidence)
    return Verdict(Status.FAIL, f"clock is off by {offset:+.3f} s (limit {limit:g} s)", evidence)
