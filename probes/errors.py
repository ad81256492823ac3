"""Exceptions that steer a check's status, and plain-language error reasons."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

from probes.messages import Message, render
from probes.model import EXPECTATIONS


class ProbeError(Exception):
    """Base of every error a probe raises on purpose; ``str()`` is the reason.

    Given a ``message`` (``probes.messages``) instead of a reason, the reason
    is its English rendering and the check's result carries the message.
    """

    message: Message | None = None

    def __init__(self, *args: object, message: Message | None = None):
        if message is not None:
            args = args or (render(message, "en"),)
            self.message = message
        super().__init__(*args)


class Undetermined(ProbeError):
    """The check could not be determined: its status is ``error``."""


class NotApplicable(ProbeError):
    """The check does not apply to this target: its status is ``skip``."""


class MissingExpectation(NotApplicable):
    """The check compares the server with an expectation the target does not give: ``skip``.

    ``expectation`` is a name of ``probes.model.EXPECTATIONS``; the reason is its neutral sentence.
    """

    def __init__(self, expectation: str):
        if expectation not in EXPECTATIONS:
            raise ValueError(f"unknown expectation {expectation!r}")
        super().__init__(expectation)
        self.expectation = expectation

    def __str__(self) -> str:
        return EXPECTATIONS[self.expectation]


class Unreachable(ProbeError):
    """No connection could be opened at all (exit code 3 of ``check``)."""


class WireError(ProbeError):
    """The peer sent bytes that break the protocol (framing, lengths, caps)."""


# Error classes: the retry policy of a sweep and the metrics both key on these.
TRANSIENT_CLASSES = frozenset({"timeout", "refused", "reset"})


def classify_error(exc: BaseException) -> str:
    """Map an exception to a small fixed vocabulary.

    ``timeout``, ``refused``, ``reset`` are transient (worth a retry);
    ``dns``, ``unreachable``, ``tls``, ``protocol``, ``other`` are not.
    """
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "reset"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, WireError):
        return "protocol"
    if isinstance(exc, Unreachable):
        return "unreachable"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    return "other"


def error_message(exc: BaseException) -> Message | None:
    """``describe_error`` as a reason template, for the errors that have one."""
    if isinstance(exc, ProbeError):
        return exc.message
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, socket.timeout)):
        return Message("net.timed_out_detail", {"detail": str(exc)}) if str(exc) else Message("net.timed_out")
    if isinstance(exc, ConnectionRefusedError):
        return Message("net.refused")
    if isinstance(exc, asyncio.IncompleteReadError):
        return Message("net.closed_after", {"count": len(exc.partial)})
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return Message("net.reset")
    return None


def explain_error(exc: BaseException) -> Message | str:
    """What went wrong as a message parameter: its template where it has one, else ``describe_error``."""
    return error_message(exc) or describe_error(exc)


def describe_error(exc: BaseException) -> str:
    """One line a user can act on; never a traceback."""
    if isinstance(exc, ProbeError):
        return str(exc) or type(exc).__name__
    message = error_message(exc)
    if message is not None:
        return render(message, "en")
    if isinstance(exc, socket.gaierror):
        return f"name resolution failed: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
