"""Files a probe would need, read before anything is probed.

A CA bundle or a private key that cannot work makes every check that needs
it an ``error`` and the gate "undetermined"; that is a mistake in the job, not
a property of the server, so it is refused up front (exit 2) with the option
and the file named. Each function raises ``PreflightError`` with one line a
user can act on; none of them touches the network.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from probes.errors import describe_error


class PreflightError(ValueError):
    """A file named on the command line cannot be used; ``str()`` says why."""


def check_ca_bundle(path: Path, option: str = "--ca") -> None:
    """The bundle must be readable and hold at least one PEM certificate."""
    try:
        path.read_bytes()
    except OSError as exc:
        raise PreflightError(f"{option} {path}: cannot read: {describe_error(exc)}") from None
    # The same loader the TLS probe uses, so what passes here loads there.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        raise PreflightError(f"{option} {path}: not a CA bundle: no PEM certificate could be read") from exc
    if not context.cert_store_stats()["x509"]:
        raise PreflightError(f"{option} {path}: not a CA bundle: it holds no certificate")


def check_private_key(path: Path, option: str = "--key") -> None:
    """The key must be readable and in a format paramiko loads.

    An encrypted key is accepted without its passphrase: it parses, and
    whether the passphrase is at hand is decided when logging in.
    """
    import paramiko  # ~45 ms: only when a key is named, not at every command's start-up

    try:
        paramiko.PKey.from_path(path)
    except OSError as exc:
        raise PreflightError(f"{option} {path}: cannot read: {describe_error(exc)}") from None
    except TypeError:
        return  # cryptography's word for "encrypted, and no passphrase given": it parsed
    except (ValueError, paramiko.SSHException) as exc:
        raise PreflightError(
            f"{option} {path}: not a private key paramiko can load (OpenSSH, PEM or PKCS#8): "
            f"{str(exc).split('. ')[0][:120]}"
        ) from None
