"""The authenticated SSH session: the command allowlist, pin verification, login and bounded commands.

paramiko is blocking, so the session runs in a worker thread
(``asyncio.to_thread``). Every blocking step has its own timeout, and a
watchdog closes the transport when a command overruns (paramiko's
``exec_command`` has no timeout of its own) or when the probe is cancelled,
so the thread never outlives the probe deadline by much. Secrets are read
only after the host key matched a pin, and scrubbed from every reason.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from probes.errors import ProbeError, describe_error
from probes.model import Credentials
from probes.ssh.authenticated.parsers import ClockSample, parse_epoch

if TYPE_CHECKING:  # paramiko is imported where a session starts: a sweep without credentials never loads it
    import paramiko

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
            # B023: _attempt calls the lambda at once, inside this iteration.
            result.outputs[name] = self._attempt(name, lambda: self._run_allowed(transport, name, path))  # noqa: B023
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
                return (
                    f"{name}: session closed (a command did not answer in time, or the probe was cancelled)"
                )
            return self._scrub(f"{name}: {describe_error(exc)}")

    def _connect(self) -> paramiko.Transport:
        import paramiko

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
        import paramiko

        credentials = self._credentials
        key = self._load_key(credentials.key_path) if credentials.key_path else None
        password = self._secret_from_env(credentials.password_env) if credentials.password_env else None
        if key is not None:
            with contextlib.suppress(paramiko.AuthenticationException):  # a password may still be configured
                transport.auth_publickey(credentials.username, key)
        if not transport.is_authenticated() and password is not None:
            with contextlib.suppress(paramiko.AuthenticationException):
                transport.auth_password(credentials.username, password)
        if not transport.is_authenticated():
            raise SessionError(f"authentication as {credentials.username} failed")

    def _load_key(self, path: str) -> paramiko.PKey:
        import paramiko

        passphrase_env = self._credentials.passphrase_env
        passphrase = self._secret_from_env(passphrase_env) if passphrase_env else None
        encoded = passphrase.encode() if passphrase else None
        try:
            # bytes, as cryptography's loaders need (a str raises TypeError); paramiko's stub says str.
            return paramiko.PKey.from_path(path, encoded)  # type: ignore[arg-type]
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
        except TimeoutError:
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
                raise SessionError(f"{line} failed{exit_text(output)}")
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


def exit_text(output: CommandOutput) -> str:
    status = "no exit status" if output.exit_status is None else f"exit status {output.exit_status}"
    first_line = next((line.strip() for line in output.stderr.splitlines() if line.strip()), "")
    first_line = "".join(ch for ch in first_line if ch.isprintable())[:200]
    return f" ({status}{': ' + first_line if first_line else ''})"
