"""Turn what a user typed (``ssh://host:22``) into a probe Target."""

from __future__ import annotations

from urllib.parse import urlsplit

from probes.model import Credentials, Target

DEFAULT_PORTS = {"ssh": 22}
SCHEMES = ("ssh", "grpc", "grpcs")


class TargetError(ValueError):
    """The URL cannot name a target; the message says why."""


def parse_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` from ``ssh://HOST[:PORT]``, ``grpc://HOST:PORT``, ``grpcs://HOST:PORT``."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise TargetError(f"{url!r}: scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise TargetError(f"{url!r}: only SCHEME://HOST:PORT is allowed")
    try:
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"{url!r}: {exc}") from exc
    if not parts.hostname:
        raise TargetError(f"{url!r}: missing host")
    if port is None:
        if parts.scheme not in DEFAULT_PORTS:
            raise TargetError(f"{url!r}: a {parts.scheme}:// target needs a port")
        port = DEFAULT_PORTS[parts.scheme]
    if not 0 < port < 65536:
        raise TargetError(f"{url!r}: port out of range")
    return parts.scheme, parts.hostname, port


def make_target(
    url: str,
    *,
    services: tuple[str, ...] = (),
    pins: tuple[str, ...] = (),
    ca_file: str | None = None,
    server_name: str | None = None,
    agency: str | None = None,
    application: str | None = None,
    credentials: Credentials | None = None,
) -> Target:
    scheme, host, port = parse_url(url)
    if scheme != "grpcs" and (ca_file or server_name):
        raise TargetError("--ca and --server-name apply to grpcs:// targets only")
    if scheme == "ssh" and services:
        raise TargetError("--service applies to grpc:// and grpcs:// targets only")
    return Target(
        scheme=scheme,
        host=host,
        port=port,
        server_name=server_name,
        ca_file=ca_file,
        services=services,
        pins=pins,
        agency=agency,
        application=application,
        credentials=credentials,
    )
