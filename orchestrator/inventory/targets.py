"""Turn what a user typed (``ssh://host:22``, ``--service``, ``--pin`` ...) into a probe Target.

Every value is checked here with the same rules as the inventory's, so a
mistake on the command line is a ``TargetError`` naming the option (exit 2),
never a traceback or a probe of something the user did not mean.
"""

from __future__ import annotations

import re

from orchestrator.inventory.regions import agency_code_problem
from orchestrator.inventory.schema import SCHEME_ONLY_FIELDS, SCHEMES, name_problem, parse_endpoint_url
from orchestrator.inventory.yaml_nodes import shown
from probes.model import Credentials, Target

DEFAULT_PORTS = {"ssh": 22}
# option -> the inventory field it stands for (SCHEME_ONLY_FIELDS says which schemes that field applies to).
OPTION_FIELDS = {
    "--service": "services",
    "--pin": "pins",
    "--ca": "ca_file",
    "--server-name": "server_name",
    "--user": "credentials",
}
# option -> the schemes of the targets it describes.
OPTION_SCHEMES: dict[str, tuple[str, ...]] = {
    option: SCHEME_ONLY_FIELDS[field][0] for option, field in OPTION_FIELDS.items()
}
MAX_URL_CHARS = 2048
_HAS_PORT = re.compile(r":[^\]]*$")  # a ':' after the host (an IPv6 literal's colons sit inside [...])


class TargetError(ValueError):
    """The URL or an option cannot name a target; the message names it and says why."""


def parse_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` from ``ssh://HOST[:PORT]``, ``grpc://HOST:PORT``, ``grpcs://HOST:PORT``.

    The inventory's rules (``parse_endpoint_url``), plus what a person types
    on a command line: the SSH port may be left out, and a trailing ``/``.
    """
    if len(url) > MAX_URL_CHARS:
        raise TargetError(f"URL {shown(url)}: longer than {MAX_URL_CHARS} characters")
    scheme, separator, rest = url.partition("://")
    rest = rest[:-1] if rest.endswith("/") and rest.count("/") == 1 else rest
    if separator and scheme in DEFAULT_PORTS and rest and not _HAS_PORT.search(rest):
        rest += f":{DEFAULT_PORTS[scheme]}"
    try:
        return parse_endpoint_url(f"{scheme}{separator}{rest}")
    except ValueError as exc:
        if scheme in SCHEMES and scheme not in DEFAULT_PORTS and "give the port" in str(exc):
            raise TargetError(f"URL {shown(url)}: a {scheme}:// target needs a port ({exc})") from None
        raise TargetError(f"URL {shown(url)}: {exc}") from None


def _check_options(
    services: tuple[str, ...],
    pins: tuple[str, ...],
    server_name: str | None,
    agency: str | None,
    application: str | None,
    credentials: Credentials | None,
) -> None:
    """Raise ``TargetError`` for the first option whose value cannot be right."""
    checks: list[tuple[str, str | None]] = [
        *((f"--service {shown(s)}", name_problem("service", s)) for s in services),
        *((f"--pin {shown(p)}", name_problem("pin", p)) for p in pins),
    ]
    if server_name is not None:
        checks.append(("--server-name", name_problem("server_name", server_name)))
    if agency is not None:
        checks.append(("--agency", agency_code_problem(agency)))
    if application is not None:
        checks.append(("--application", name_problem("application", application)))
    if credentials is not None:
        username = credentials.username
        if not username.strip() or any(not ch.isprintable() or ch.isspace() for ch in username):
            checks.append(
                ("--user", f"a user name has no spaces or control characters (got {shown(username)})")
            )
        for option, env in (
            ("--password-env", credentials.password_env),
            ("--passphrase-env", credentials.passphrase_env),
        ):
            if env is not None:
                checks.append((option, name_problem("env", env)))
    for option, problem in checks:
        if problem:
            raise TargetError(f"{option}: {problem}")


def _refuse_foreign_options(scheme: str, given: dict[str, object]) -> None:
    """An option that means nothing for this scheme is refused, never silently ignored."""
    for option, value in given.items():
        schemes = OPTION_SCHEMES[option]
        if value and scheme not in schemes:
            wanted = " and ".join(f"{name}://" for name in schemes)
            raise TargetError(f"{option} applies to {wanted} targets only, not {scheme}://")


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
    _check_options(services, pins, server_name, agency, application, credentials)
    _refuse_foreign_options(
        scheme,
        {
            "--service": services,
            "--pin": pins,
            "--ca": ca_file,
            "--server-name": server_name is not None,
            "--user": credentials,
        },
    )
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
