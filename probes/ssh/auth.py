"""Which user-authentication methods a server offers, learnt without credentials.

RFC 4252 §5.2: a "none" request is answered with USERAUTH_FAILURE listing
the methods that may continue. Most servers are asked on the probe's first
connection (``probes.ssh.sealed``); for the others paramiko does the
encrypted part, imported on first use (a tenth of a second). It runs
in a worker thread on a socket we opened with timeouts, and every paramiko
wait is bounded by the same timeout, so the thread ends shortly after the
probe's deadline even when the probe itself was cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from probes.errors import ProbeError


class AuthProbeFailed(ProbeError):
    """paramiko could not get as far as asking for 'none' authentication."""


DEFAULT_USERNAME = "spbe-interop-probe"  # an account that should not exist
# paramiko logs negotiation failures at ERROR with tracebacks; route them to our
# own logger, silent unless the application configures logging.
LOG_CHANNEL = "probes.ssh.auth"
logging.getLogger(LOG_CHANNEL).addHandler(logging.NullHandler())


def offered_methods_blocking(
    host: str, port: int, username: str, connect_timeout_s: float, timeout_s: float
) -> list[str]:
    import paramiko  # imported here: see the module's docstring

    sock = socket.create_connection((host, port), timeout=connect_timeout_s)
    sock.settimeout(timeout_s)
    transport = paramiko.Transport(sock)
    transport.set_log_channel(LOG_CHANNEL)
    transport.banner_timeout = timeout_s
    transport.handshake_timeout = timeout_s
    transport.auth_timeout = timeout_s
    try:
        transport.start_client(timeout=timeout_s)
        try:
            transport.auth_none(username)
        except paramiko.BadAuthenticationType as exc:
            return sorted(set(exc.allowed_types))
        # The server let an unknown user in without any authentication.
        return ["none"]
    except paramiko.SSHException as exc:
        raise AuthProbeFailed(f"paramiko could not ask for 'none' authentication: {exc}") from exc
    finally:
        transport.close()
        sock.close()


async def offered_methods(
    host: str, port: int, username: str, connect_timeout_s: float, timeout_s: float
) -> list[str]:
    return await asyncio.to_thread(
        offered_methods_blocking, host, port, username, connect_timeout_s, timeout_s
    )
