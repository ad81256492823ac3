"""What a gate probes: targets named on the command line, in a targets file, or chosen from an inventory.

Every input is checked before anything is probed (a ``TargetError``,
``PreflightError`` or ``ConfigError``: exit 2). Options that describe a
target (``--service``, ``--pin``, ``--ca`` ...) apply to the targets named on
the command line whose scheme they concern (``SCHEME_OPTIONS``); an option
that concerns none of them is refused rather than silently ignored. An
inventory endpoint carries its own expectations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.expectations import COMMAND_LINE, INVENTORY
from orchestrator.inventory.known_hosts import pins_for
from orchestrator.inventory.model import load_inventory
from orchestrator.inventory.preflight import PreflightError, check_ca_bundle, check_private_key
from orchestrator.inventory.targets import OPTION_SCHEMES, TargetError, make_target, parse_url
from orchestrator.inventory.yaml_nodes import ConfigError
from probes import registry
from probes.model import Credentials, Target

if TYPE_CHECKING:
    from orchestrator.profiles import Profile

# What the user gave is unusable (exit 2 for the CLI, a usage error for the pytest plugin).
BAD_INPUT: tuple[type[Exception], ...] = (ConfigError, TargetError, PreflightError, OSError)

# option -> the schemes of the targets it describes: make_target's, and --known-hosts gives pins.
SCHEME_OPTIONS: dict[str, tuple[str, ...]] = {**OPTION_SCHEMES, "--known-hosts": OPTION_SCHEMES["--pin"]}


@dataclass(frozen=True)
class GateTarget:
    """One endpoint to probe, its metadata, and where its expectations were given."""

    meta: EndpointMeta
    target: Target
    source: str  # where its expectations were given: a source of ``orchestrator.expectations.WHERE_GIVEN``

    @property
    def url(self) -> str:
        return self.meta.url


@dataclass(frozen=True)
class TargetOptions:
    """What the command line says about the targets it names."""

    services: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    ca: Path | None = None
    server_name: str | None = None
    known_hosts: Path | None = None
    agency: str | None = None  # the identity the endpoint must declare (check's --agency)
    application: str | None = None
    user: str | None = None
    key: Path | None = None
    password_env: str | None = None

    def given(self) -> set[str]:
        values = {
            "--service": self.services,
            "--pin": self.pins,
            "--known-hosts": self.known_hosts,
            "--user": self.user,
            "--ca": self.ca,
            "--server-name": self.server_name,
        }
        return {option for option, value in values.items() if value}


def _credentials(options: TargetOptions) -> Credentials | None:
    if options.user:
        if not (options.key or options.password_env):
            raise TargetError("--user needs --key or --password-env")
        if options.key:
            check_private_key(options.key)
        return Credentials(
            username=options.user,
            key_path=str(options.key) if options.key else None,
            password_env=options.password_env,
        )
    if options.key or options.password_env:
        raise TargetError("--key and --password-env need --user")
    return None


def command_line_targets(
    urls: Sequence[str], options: TargetOptions, source: str = COMMAND_LINE
) -> list[GateTarget]:
    """Targets for ``urls`` with the options that concern each one's scheme."""
    parsed = [parse_url(url) for url in urls]  # (scheme, host, port)
    schemes = [scheme for scheme, _, _ in parsed]
    if options.ca is not None:
        check_ca_bundle(options.ca)
    credentials = _credentials(options)
    for option in sorted(options.given()):
        if not set(SCHEME_OPTIONS[option]) & set(schemes):
            wanted = " and ".join(f"{scheme}://" for scheme in sorted(SCHEME_OPTIONS[option]))
            raise TargetError(f"{option} applies to {wanted} targets only; none was given")
    targets = []
    for url, (scheme, host, port) in zip(urls, parsed, strict=True):
        concerns = {option for option, wanted in SCHEME_OPTIONS.items() if scheme in wanted}
        pins = list(options.pins) if "--pin" in concerns else []
        if options.known_hosts is not None and "--known-hosts" in concerns:
            known = pins_for(options.known_hosts, host, port)
            if not known:
                # Pinning was asked for and cannot happen: a silent skip would be a false green.
                raise TargetError(
                    f"--known-hosts {options.known_hosts}: no key for {host} port {port}: nothing to pin"
                )
            pins += known
        target = make_target(
            url,
            services=options.services if "--service" in concerns else (),
            pins=tuple(pins),
            ca_file=str(options.ca) if options.ca and "--ca" in concerns else None,
            server_name=options.server_name if "--server-name" in concerns else None,
            agency=options.agency,
            application=options.application,
            credentials=credentials if "--user" in concerns else None,
        )
        meta = EndpointMeta(
            endpoint_id=target.url,
            url=target.url,
            protocol="ssh" if scheme == "ssh" else "grpc",
            agency=options.agency,
            application=options.application,
        )
        targets.append(GateTarget(meta, target, source))
    return targets


def inventory_targets(
    path: Path, *, applications: Iterable[str] = (), agencies: Iterable[str] = ()
) -> list[GateTarget]:
    """The inventory's endpoints of these applications and agencies (all of them when none is named).

    Raises ``InventoryError`` for an invalid inventory, ``TargetError`` for a
    name the inventory does not have.
    """
    inventory = load_inventory(path)
    applications, agencies = set(applications), set(agencies)
    known_applications = {app.id for app in inventory.applications}
    known_agencies = {agency.code for agency in inventory.agencies}
    for option, names, known in (
        ("--application", applications, known_applications),
        ("--agency", agencies, known_agencies),
    ):
        for name in sorted(names - known):
            raise TargetError(f"{option} {name}: no such {option[2:]} in the inventory {path}")
    chosen = [
        ref
        for ref in inventory.endpoints()
        if (not applications and not agencies) or ref.application in applications or ref.agency in agencies
    ]
    if not chosen:
        raise TargetError(f"the inventory {path} has no endpoint for what was chosen")
    return [GateTarget(ref.meta, ref.to_target(), INVENTORY) for ref in chosen]


def unique(targets: Iterable[GateTarget]) -> list[GateTarget]:
    """The targets in order, each URL once (the first one named wins)."""
    seen: dict[str, GateTarget] = {}
    for target in targets:
        seen.setdefault(target.target.url, target)
    return list(seen.values())


def require_checks(profile: Profile, targets: list[GateTarget]) -> None:
    """Refuse a run where a target would be judged on no check at all: that is no verdict."""
    checks = registry.checks()
    for planned in targets:
        families = registry.SCHEMES[planned.target.scheme].families
        if not any(checks[k].protocol in families for k in profile.selection):
            raise TargetError(
                f"profile {profile.name} selects no check for {planned.target.scheme}:// targets"
            )
