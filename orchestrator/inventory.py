"""The fleet inventory: agencies, their applications, the endpoints those expose.

An inventory is one YAML file::

    version: 1
    scope: {networks: [10.20.0.0/16], domains: [go.id]}
    agencies:
      - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}
    applications:
      - id: bdg-simpeg
        name: SIMPEG Kota Bandung
        agency: "32.73"
        endpoints:
          - url: grpcs://simpeg.bandung.go.id:443
            services: [spbe.kepegawaian.v1.KepegawaianService]
            server_name: simpeg.bandung.go.id
            ca_file: bsre-root.pem
          - url: ssh://simpeg.bandung.go.id:22
            pins: ["SHA256:..."]
            credentials: {username: audit, key_path: keys/audit_ed25519}

``load_inventory`` validates it completely before anything may run: the
structure with pydantic (``extra="forbid"``), then what pydantic cannot see
(Kemendagri code against level and province, duplicates, unknown agencies, the
scope guard, referenced files). Every problem is collected and reported with
file, line and field; one ``InventoryError`` carries them all.

The text is read by the one YAML reader (``orchestrator.yamlsrc``): line numbers
come from the node tree libyaml composes anyway, plain data is built from that
tree directly (much faster than PyYAML's constructor), so a national inventory
(~33k endpoints) loads in a few seconds.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import ipaddress
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from orchestrator.preflight import PreflightError, check_ca_bundle, check_private_key
from orchestrator.yamlsrc import ConfigError, LineMap, Problem, field_path, read_text, read_yaml, shown
from probes.model import Credentials as TargetCredentials
from probes.model import Target

SCHEMES = ("ssh", "grpc", "grpcs")
LEVELS = ("pusat", "provinsi", "kabupaten", "kota")

# Field names that would hold a secret inline. They are refused everywhere with
# a message that says how to reference the secret instead.
INLINE_SECRET_FIELDS = {
    "password": "name an environment variable in password_env",
    "passphrase": "name an environment variable in passphrase_env",
    "key": "give the path of the private-key file in key_path",
    "private_key": "give the path of the private-key file in key_path",
    "secret": "name an environment variable in password_env",
    "token": "name an environment variable in password_env",
}


# --------------------------------------------------------------------------- regions


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    kabupaten: int
    kota: int


@cache
def provinces() -> dict[str, Province]:
    """The 38 provinces (Kepmendagri 300.2.2-2138/2025), keyed by 2-digit code."""
    text = resources.files("orchestrator").joinpath("data/provinces.csv").read_text(encoding="utf-8")
    return {
        row["code"]: Province(row["code"], row["name"], int(row["kabupaten"]), int(row["kota"]))
        for row in csv.DictReader(text.splitlines())
    }


_KAB_KOTA = re.compile(r"([0-9]{2})\.([0-9]{2})")  # ASCII digits: \d would take any script's

# What a Kemendagri / agency code must look like at each level: knowledge as data.
# (pattern, allowed range of the kab/kota part or None, how to write it)
LEVEL_CODE_RULES: dict[str, tuple[re.Pattern[str], range | None, str]] = {
    "pusat": (re.compile(r"[A-Z][A-Z0-9_]{0,63}"), None, "an uppercase identifier such as KEMENKES"),
    "provinsi": (re.compile(r"([0-9]{2})"), None, "the 2-digit province code such as 32"),
    "kabupaten": (_KAB_KOTA, range(1, 70), "PP.NN with NN from 01 to 69, e.g. 32.04"),
    "kota": (_KAB_KOTA, range(71, 100), "PP.NN with NN from 71 to 99, e.g. 32.73"),
}


# --------------------------------------------------------------------------- problems


class InventoryError(ConfigError):
    """The inventory is invalid; ``problems`` lists every ``Problem(file, line, field, message)``, by line.

    A ``ConfigError`` like those of profiles and waivers, so a command handles them alike.
    """


Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """``('applications', 3, 'url')`` -> ``applications[3].url``."""
    return field_path(loc) or "(document)"


# --------------------------------------------------------------------------- field types

_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
_SERVICE = re.compile(r"(?=.{1,255}$)[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_PIN = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_VANTAGE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_TAG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}(=[^\s,;=]{1,128})?")

# What each kind of name must look like, and how to say it: shared by the
# inventory schema and the command line (orchestrator.targets).
NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "service": (
        _SERVICE, "a fully qualified gRPC service name such as grpc.health.v1.Health (at most 255 characters)"
    ),
    "pin": (_PIN, "an OpenSSH fingerprint: SHA256: and 43 base64 characters, as ssh-keygen -lf prints"),
    "application": (_APP_ID, "letters, digits, '.', '_' or '-', starting with a letter or digit"),
    "server_name": (_HOSTNAME, "a DNS name the server certificate must carry"),
    "env": (
        _ENV_NAME, "names an environment variable (e.g. SPBE_SSH_PASSWORD) and never holds the secret itself"
    ),
    "tag": (_TAG, "a tag is name or name=value, lowercase name, no spaces"),
    "vantage": (_VANTAGE, "a vantage is a lowercase name such as papua"),
}


def name_problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid ``kind`` (a key of ``NAME_RULES``), or None."""
    pattern, explain = NAME_RULES[kind]
    return None if pattern.fullmatch(value) else f"{explain} (got {shown(value)})"


def host_problem(host: str) -> str | None:
    """Why ``host`` is neither an IP address nor a DNS name, or None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.fullmatch(host) or _is_numeric_name(host):
            return f"{shown(host)} is neither an IP address nor a DNS name"
    return None


def agency_code_problem(code: str) -> str | None:
    """Why ``code`` is no agency code of any level (``KEMENKES``, ``32``, ``32.04``, ``32.73``), or None."""
    for pattern, allowed, _ in LEVEL_CODE_RULES.values():
        match = pattern.fullmatch(code)
        if match and (allowed is None or int(match.group(2)) in allowed):
            return None
    ways = "; ".join(f"{level}: {how}" for level, (_, _, how) in LEVEL_CODE_RULES.items())
    return f"not an agency code ({ways}) (got {shown(code)})"


def _matching(pattern: re.Pattern[str], explain: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{explain} (got {shown(value)})")
        return value

    return check


def _rule(kind: str) -> AfterValidator:
    return AfterValidator(_matching(*NAME_RULES[kind]))


def _code_text(value: Any) -> Any:
    """Codes may be written as bare YAML integers (32); floats are ambiguous (32.10 reads as 32.1)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ValueError(
            f"YAML read this code as the number {value!r}: quote Kemendagri codes, e.g. '32.10', not 32.10"
        )
    return value


def _network_text(value: Any) -> Any:
    """A network is written as text: YAML's ``yes`` or ``167772160`` would be read as an address."""
    if not isinstance(value, str):
        raise ValueError(f"write the network as a CIDR text such as 10.20.0.0/16 (got {shown(value)})")
    return value


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _domain_suffix(value: str) -> str:
    suffix = value.strip().lower().strip(".")
    if not _HOSTNAME.fullmatch(suffix):
        raise ValueError(f"a domain suffix is a DNS name such as go.id or localhost (got {value!r})")
    return suffix


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(NAME_RULES["env"][1])
    return value


Text = Annotated[str, AfterValidator(_nonblank)]
Code = Annotated[str, BeforeValidator(_code_text), AfterValidator(_nonblank)]
ProvinceCode = Annotated[
    str,
    BeforeValidator(_code_text),
    AfterValidator(_matching(re.compile(r"[0-9]{2}"), "a province code has two digits, e.g. '32'")),
]
AppId = Annotated[str, _rule("application")]
ServiceName = Annotated[str, _rule("service")]
Pin = Annotated[str, _rule("pin")]
Tag = Annotated[str, _rule("tag")]
Vantage = Annotated[str, _rule("vantage")]
EnvName = Annotated[str, AfterValidator(_env_name)]
DomainSuffix = Annotated[str, AfterValidator(_domain_suffix)]


def _is_numeric_name(host: str) -> bool:
    # "127.1" or "2130706433" are not hostnames: resolvers read them as addresses.
    return host.rsplit(".", 1)[-1].isdigit()


@lru_cache(maxsize=131_072)  # validation, checks and EndpointRef all parse the same URLs
def parse_endpoint_url(url: str) -> tuple[str, str, int]:
    """``scheme://host:port`` -> (scheme, host, port); ValueError says what is wrong.

    The port is always explicit (gRPC has no default port), there is no path,
    and there are no credentials in the URL.
    """
    if not url.strip():
        raise ValueError("no URL given: an endpoint URL is scheme://host:port, e.g. ssh://10.20.1.5:22")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError(f"an endpoint URL has no spaces or control characters (got {shown(url)})")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc} (got {shown(url)})") from None
    if parts.scheme not in SCHEMES:
        found = f"got {parts.scheme + '://'!r}" if parts.scheme else f"got {shown(url)}"
        raise ValueError(f"scheme must be ssh://, grpc:// or grpcs:// ({found})")
    if "@" in parts.netloc:
        raise ValueError(
            "no user or password in the URL: secrets are referenced, not inlined; "
            "put the user name in credentials.username"
        )
    if parts.path or parts.query or parts.fragment:
        raise ValueError("an endpoint URL is scheme://host:port, with no path, query or fragment")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if not host:
        raise ValueError("the URL has no host")
    bracketed = parts.netloc.startswith("[")
    if port is None:
        example = f"[{host}]" if bracketed else host
        example += f":{_EXAMPLE_PORTS[parts.scheme]}"
        raise ValueError(f"give the port explicitly, e.g. {parts.scheme}://{example}")
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    wrong_host = host_problem(host)
    if wrong_host or (bracketed and ":" not in host):  # [...] holds an IPv6 address and nothing else
        raise ValueError(wrong_host or f"only an IPv6 address goes in brackets (got [{shown(host)[1:-1]}])")
    return parts.scheme, host, port


_EXAMPLE_PORTS = {"ssh": 22, "grpc": 50051, "grpcs": 443}


def _endpoint_url(value: str) -> str:
    parse_endpoint_url(value)
    return value


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Model):
    """What may be probed at all: IP networks and DNS suffixes.

    Checked at validation, and again (``allows``) right before connecting.
    """

    networks: list[Annotated[IPvAnyNetwork, BeforeValidator(_network_text)]] = Field(default_factory=list)
    domains: list[DomainSuffix] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> "Scope":
        if not self.networks and not self.domains:
            raise ValueError("the scope allows nothing: list at least one network (CIDR) or domain suffix")
        return self

    def allows(self, host: str) -> bool:
        """True if ``host`` (an IP address or a DNS name) is inside the scope."""
        host = host.strip().strip("[]").lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            if not host or _is_numeric_name(host):
                return False
            return any(host == d or host.endswith("." + d) for d in self.domains)
        return any(address.version == net.version and address in net for net in self.networks)

    def describe(self) -> str:
        nets = ", ".join(str(n) for n in self.networks) or "none"
        doms = ", ".join(self.domains) or "none"
        return f"networks {nets}; domains {doms}"


class Agency(_Model):
    code: Code
    name: Text
    level: Literal["pusat", "provinsi", "kabupaten", "kota"]
    province: ProvinceCode


class Credentials(_Model):
    """References to secrets: a key file path and/or environment variable names."""

    username: Text
    key_path: Text | None = None
    password_env: EnvName | None = None
    passphrase_env: EnvName | None = None

    @model_validator(mode="after")
    def _has_a_method(self) -> "Credentials":
        if self.key_path is None and self.password_env is None:
            raise ValueError(
                "give key_path (a private-key file) or password_env (an environment variable name)"
            )
        if self.passphrase_env is not None and self.key_path is None:
            raise ValueError("passphrase_env unlocks a key file: give key_path too")
        return self


class Endpoint(_Model):
    url: Annotated[str, AfterValidator(_endpoint_url)]
    services: list[ServiceName] = Field(default_factory=list)
    pins: list[Pin] = Field(default_factory=list)
    vantage: Vantage | None = None
    tags: list[Tag] = Field(default_factory=list)
    server_name: Annotated[str, _rule("server_name")] | None = None
    ca_file: Text | None = None
    credentials: Credentials | None = None


class Application(_Model):
    id: AppId
    name: Text
    agency: Code
    endpoints: list[Endpoint] = Field(default_factory=list)


class InventoryFile(_Model):
    """The document as written (the YAML schema)."""

    version: Literal[1] = 1
    scope: Scope
    agencies: list[Agency] = Field(default_factory=list)
    applications: list[Application] = Field(default_factory=list)


_DOCUMENT = TypeAdapter(InventoryFile)

# Which schemes a per-endpoint field applies to, and why: knowledge as data.
SCHEME_ONLY_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "services": (("grpc", "grpcs"), "declared gRPC services apply to grpc:// and grpcs:// endpoints"),
    "pins": (("ssh",), "host-key pins apply to ssh:// endpoints"),
    "credentials": (("ssh",), "credentials are used by the authenticated SSH checks of ssh:// endpoints"),
    "server_name": (("grpcs",), "server_name applies to TLS (grpcs://) endpoints"),
    "ca_file": (("grpcs",), "ca_file applies to TLS (grpcs://) endpoints"),
}


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True, slots=True)
class EndpointRef:
    """One endpoint with everything a plan, a probe or a metric label needs."""

    endpoint_id: str
    url: str
    scheme: str
    host: str
    port: int
    agency: str
    agency_level: str
    province: str
    application: str
    vantage: str | None
    tags: tuple[str, ...]
    services: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    server_name: str | None = None
    ca_file: str | None = None  # absolute path
    credentials: TargetCredentials | None = None  # key_path absolute

    @property
    def protocol(self) -> str:
        """``ssh`` or ``grpc`` (grpcs is gRPC over TLS)."""
        return "grpc" if self.scheme in ("grpc", "grpcs") else self.scheme

    def tag_value(self, name: str) -> str | None:
        """The value of a ``name=value`` tag (``testbed`` -> ``conformant``), or None."""
        prefix = name + "="
        for tag in self.tags:
            if tag.startswith(prefix):
                return tag[len(prefix) :]
        return None

    def to_target(self) -> Target:
        return Target(
            scheme=self.scheme,
            host=self.host,
            port=self.port,
            server_name=self.server_name,
            ca_file=self.ca_file,
            services=self.services,
            pins=self.pins,
            agency=self.agency,
            application=self.application,
            credentials=self.credentials,
        )


def _resolve(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


FileCheck = Callable[[Path, str], None]


def _file_problem(path: Path, what: str, check_file: FileCheck) -> str | None:
    """Why a referenced file cannot work (missing, unreadable, not a CA bundle or key), or None."""
    if not path.is_file():
        return f"{what} not found: {path}"
    try:
        check_file(path, what)
    except PreflightError as exc:
        return str(exc)
    return None


class Inventory:
    """A validated inventory. Build it with ``load_inventory``."""

    def __init__(self, document: InventoryFile, base_dir: Path, path: Path | None, content_hash: str) -> None:
        self.document = document
        self.path = path
        self.base_dir = base_dir
        self.content_hash = content_hash
        self.scope = document.scope
        self.agencies = document.agencies
        self.applications = document.applications
        self._agencies_by_code = {a.code: a for a in self.agencies}
        self._endpoints = [self._ref(app, ep) for app in self.applications for ep in app.endpoints]
        self._endpoints_by_id = {ref.endpoint_id: ref for ref in self._endpoints}

    def _ref(self, app: Application, ep: Endpoint) -> EndpointRef:
        scheme, host, port = parse_endpoint_url(ep.url)
        agency = self._agencies_by_code[app.agency]
        creds = ep.credentials
        return EndpointRef(
            endpoint_id=ep.url,
            url=ep.url,
            scheme=scheme,
            host=host,
            port=port,
            agency=agency.code,
            agency_level=agency.level,
            province=agency.province,
            application=app.id,
            vantage=ep.vantage,
            tags=tuple(ep.tags),
            services=tuple(ep.services),
            pins=tuple(ep.pins),
            server_name=ep.server_name,
            ca_file=str(_resolve(ep.ca_file, self.base_dir)) if ep.ca_file else None,
            credentials=None
            if creds is None
            else TargetCredentials(
                username=creds.username,
                key_path=str(_resolve(creds.key_path, self.base_dir)) if creds.key_path else None,
                password_env=creds.password_env,
                passphrase_env=creds.passphrase_env,
            ),
        )

    def endpoints(self) -> Iterator[EndpointRef]:
        return iter(self._endpoints)

    def endpoint(self, endpoint_id: str) -> EndpointRef:
        return self._endpoints_by_id[endpoint_id]

    def agency(self, code: str) -> Agency:
        return self._agencies_by_code[code]

    def __len__(self) -> int:
        """Number of endpoints."""
        return len(self._endpoints)

    def to_dict(self) -> dict[str, Any]:
        """The document as plain data (what ``dump_inventory`` writes)."""
        return document_to_dict(self.document)


def document_to_dict(document: InventoryFile) -> dict[str, Any]:
    data = document.model_dump(mode="json", exclude_none=True)
    for app in data["applications"]:
        for ep in app["endpoints"]:
            for key in [k for k, v in ep.items() if v == []]:
                del ep[key]
    return data


# --------------------------------------------------------------------------- YAML
#
# The one YAML reader (orchestrator.yamlsrc) builds plain data from libyaml's node
# tree and keeps the tree for line numbers; an inventory only allows a larger
# alias expansion (shared credentials across a national fleet).

MAX_EXPANDED_NODES = 5_000_000  # what anchors/aliases may expand to (no "billion laughs")


def _locator(lines: LineMap) -> Callable[[Loc], tuple[int, str]]:
    """(line, field) of a location."""
    return lambda loc: (lines.line(loc), format_loc(loc))


def _normalised_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


MAX_INVENTORY_BYTES = 1024 * 1024 * 1024  # the national inventory is ~15 MB; room for a much larger fleet


def _read_text(path: Path) -> str:
    try:
        return read_text(path, max_bytes=MAX_INVENTORY_BYTES, what="inventory")
    except ConfigError as exc:
        raise InventoryError(exc.problems) from None


def _read_yaml(text: str, file: str) -> tuple[Any, Callable[[Loc], tuple[int, str]], list[Problem]]:
    """(data, locator, duplicate-key problems); ``InventoryError`` if it is not plain YAML data."""
    try:
        document = read_yaml(text, file, max_nodes=MAX_EXPANDED_NODES)
    except ConfigError as exc:
        raise InventoryError(exc.problems) from None
    return document.data, _locator(document.lines), document.duplicates


def inventory_hash(path: str | os.PathLike) -> str:
    """sha256 of the normalised content: comments, layout and key order do not count."""
    text = _read_text(Path(path))
    with gc_paused():
        data, _, _ = _read_yaml(text, str(path))
        return _normalised_hash(data)


def load_inventory(path: str | os.PathLike) -> Inventory:
    """Read and validate an inventory file; raise ``InventoryError`` with every problem."""
    path = Path(path)
    file = str(path)
    text = _read_text(path)
    with gc_paused():
        data, locate, duplicates = _read_yaml(text, file)
        base_dir = path.resolve().parent
        document = validate_document(data, file, locate, base_dir, duplicates)
        return Inventory(document, base_dir, path, _normalised_hash(data))


@dataclass(frozen=True)
class EndpointSet:
    """What a sweep keeps of a validated inventory: its hash, its scope and the endpoint refs."""

    content_hash: str
    scope: Scope
    refs: tuple[EndpointRef, ...]

    def __len__(self) -> int:
        return len(self.refs)

    def endpoint(self, endpoint_id: str) -> EndpointRef:
        return self._by_id[endpoint_id]

    @cached_property
    def _by_id(self) -> dict[str, EndpointRef]:
        return {ref.endpoint_id: ref for ref in self.refs}


def load_endpoint_set(path: str | os.PathLike) -> EndpointSet:
    """``load_inventory`` in a child process, keeping only the ``EndpointSet``.

    Reading and validating cost ~10 KB of memory per endpoint (the YAML node
    tree, the pydantic document, and what the allocator keeps of them after);
    the refs ~1 KB. In a child, the caller's peak memory grows with the refs
    only (national inventory: ~30 MB instead of ~350 MB), and what the child
    used goes back to the system when it exits. A fresh interpreter, not a
    fork: the caller may be running gRPC threads, which do not survive a fork.
    Raises ``InventoryError``.
    """
    child = subprocess.run(
        [sys.executable, "-c", "from orchestrator.inventory import _endpoint_set_to_stdout as main; main()",
         os.fspath(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    if child.returncode == 0:
        kind, payload = pickle.loads(child.stdout)  # our own child's answer
        if kind == "ok":
            return payload
        raise InventoryError(payload)
    stderr = child.stderr.decode(errors="replace").strip().splitlines()
    problem = f"the process validating the inventory failed (exit code {child.returncode})"
    if stderr:
        problem += f": {stderr[-1]}"
    raise InventoryError([Problem(os.fspath(path), 0, "(file)", problem)])


def _endpoint_set_to_stdout() -> None:
    """The child of ``load_endpoint_set``: validate ``sys.argv[1]``, pickle the answer to stdout."""
    try:
        inventory = load_inventory(sys.argv[1])
        answer: tuple[str, Any] = (
            "ok", EndpointSet(inventory.content_hash, inventory.scope, tuple(inventory.endpoints()))
        )
    except InventoryError as exc:
        answer = ("invalid", exc.problems)
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector: a national inventory allocates a million acyclic objects and
    the collector's passes over them would triple the load time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def dump_inventory(
    inventory_or_dict: Inventory | InventoryFile | dict, path: str | os.PathLike, header: str | None = None
) -> None:
    """Write an inventory as YAML (block style, scalar lists inline); same input -> same bytes."""
    if isinstance(inventory_or_dict, Inventory):
        data = inventory_or_dict.to_dict()
    elif isinstance(inventory_or_dict, InventoryFile):
        data = document_to_dict(inventory_or_dict)
    else:
        data = inventory_or_dict
    with gc_paused():
        body = yaml.dump(
            data, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120
        )
    prefix = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines()) if header else ""
    Path(path).write_text(prefix + body, encoding="utf-8")


# --------------------------------------------------------------------------- validation

Locator = Callable[[Loc], tuple[int, str]]


def _problem_at(file: str, locate: Locator, loc: Loc, message: str) -> Problem:
    line, field = locate(loc)
    return Problem(file, line, field, message)


def _pydantic_message(error: dict[str, Any]) -> str:
    loc = error["loc"]
    if error["type"] == "extra_forbidden" and loc and loc[-1] in INLINE_SECRET_FIELDS:
        return (
            f"secrets are referenced, not inlined: remove {loc[-1]!r} and "
            f"{INLINE_SECRET_FIELDS[str(loc[-1])]}"
        )
    if error["type"] == "extra_forbidden":
        return "unknown field (not part of the inventory schema)"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def validate_document(
    data: Any, file: str, locate: Locator, base_dir: Path, extra_problems: Sequence[Problem] = ()
) -> InventoryFile:
    """Validate plain data as an inventory document; raise ``InventoryError`` with all problems."""
    problems = list(extra_problems)
    document: InventoryFile | None = None
    if not isinstance(data, dict):
        problems.append(
            _problem_at(
                file, locate, (), "the inventory must be a mapping with scope, agencies and applications"
            )
        )
    else:
        try:
            document = _DOCUMENT.validate_python(data)
        except ValidationError as exc:
            problems.extend(
                _problem_at(file, locate, tuple(err["loc"]), _pydantic_message(err))
                for err in exc.errors(include_url=False, include_input=False)
            )
        problems.extend(_semantic_problems(data, file, locate, base_dir))
    if problems or document is None:
        raise InventoryError(_unique(problems))
    return document


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _items(data: dict, key: str) -> list[tuple[int, dict]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _text(item: dict, key: str) -> str | None:
    """A field as a string if it is one (ints allowed for codes), else None: pydantic reports the rest."""
    value = item.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else None


def _scope_of(data: dict) -> Scope | None:
    try:
        return Scope.model_validate(data.get("scope"))
    except ValidationError:
        return None


def _semantic_problems(data: dict, file: str, locate: Locator, base_dir: Path) -> list[Problem]:
    """What the schema cannot see. Works on the raw data so it runs even when pydantic found errors."""
    problems: list[Problem] = []

    def report(loc: Loc, message: str) -> None:
        problems.append(_problem_at(file, locate, loc, message))

    def note_first(seen: dict[str, int], value: str, section: str, i: int, field: str, what: str) -> None:
        """Remember where ``value`` was first declared; report any later declaration."""
        if value in seen:
            first_line, _ = locate((section, seen[value], field))
            report((section, i, field), f"duplicate {what} {value!r} (first declared on line {first_line})")
        else:
            seen[value] = i

    known_provinces = provinces()
    agency_codes: dict[str, int] = {}
    for i, agency in _items(data, "agencies"):
        code, level, province = _text(agency, "code"), _text(agency, "level"), _text(agency, "province")
        if code is None:
            continue
        note_first(agency_codes, code, "agencies", i, "code", "agency code")
        if (
            province is not None
            and len(province) == 2
            and province.isdigit()
            and province not in known_provinces
        ):
            report(
                ("agencies", i, "province"),
                f"unknown province code {province!r}: not one of the 38 provinces "
                f"of Kepmendagri 300.2.2-2138/2025",
            )
        if level not in LEVEL_CODE_RULES:
            continue
        pattern, allowed, how = LEVEL_CODE_RULES[level]
        match = pattern.fullmatch(code)
        if match is None or (allowed is not None and int(match.group(2)) not in allowed):
            report(("agencies", i, "code"), f"a {level} code is {how} (got {code!r})")
            continue
        if level != "pusat":
            code_province = match.group(1)
            if code_province not in known_provinces:
                if code_province != province:  # else already reported on the province field
                    report(
                        ("agencies", i, "code"),
                        f"code {code!r} starts with unknown province {code_province!r}",
                    )
            elif province is not None and province != code_province:
                report(
                    ("agencies", i, "province"),
                    f"province {province!r} does not match code {code!r} (province {code_province!r})",
                )

    scope = _scope_of(data)
    app_ids: dict[str, int] = {}
    sockets: dict[tuple[str, int], tuple[str, Loc]] = {}
    checked_files: dict[Path, str | None] = {}
    allowed_hosts: dict[str, bool] = {}
    for i, app in _items(data, "applications"):
        app_id, agency = _text(app, "id"), _text(app, "agency")
        if app_id is not None:
            note_first(app_ids, app_id, "applications", i, "id", "application id")
        if agency is not None and agency not in agency_codes:
            report(("applications", i, "agency"), f"unknown agency {agency!r}: declare it under agencies")
        for j, ep in _items(app, "endpoints"):
            _endpoint_problems(
                ep,
                ("applications", i, "endpoints", j),
                scope,
                sockets,
                checked_files,
                allowed_hosts,
                base_dir,
                locate,
                report,
            )
    return problems


def _endpoint_problems(
    ep: dict,
    loc: Loc,
    scope: Scope | None,
    sockets: dict,
    checked_files: dict[Path, str | None],
    allowed_hosts: dict[str, bool],
    base_dir: Path,
    locate: Locator,
    report: Callable[[Loc, str], None],
) -> None:
    url = ep.get("url")
    if not isinstance(url, str):
        return
    try:
        scheme, host, port = parse_endpoint_url(url)
    except ValueError:
        return  # reported by the schema
    first = sockets.get((host, port))
    if first is not None:
        first_url, first_loc = first
        first_line, _ = locate((*first_loc, "url"))
        if first_url == url:
            report((*loc, "url"), f"duplicate endpoint {url} (first declared on line {first_line})")
        else:
            report(
                (*loc, "url"),
                f"{host}:{port} is already the endpoint {first_url} (line {first_line}): "
                f"one socket speaks one protocol",
            )
    else:
        sockets[(host, port)] = (url, loc)
    if host not in allowed_hosts:
        allowed_hosts[host] = scope is None or scope.allows(host)
    if not allowed_hosts[host]:
        report(
            (*loc, "url"),
            f"{host} is outside the inventory scope ({scope.describe()}): refused, "
            f"nothing is ever sent to it",
        )
    for field, (schemes, why) in SCHEME_ONLY_FIELDS.items():
        if ep.get(field) not in (None, []) and scheme not in schemes:
            report((*loc, field), f"not allowed on a {scheme}:// endpoint: {why}")
    files: list[tuple[Loc, Any, str, FileCheck]] = [
        ((*loc, "ca_file"), ep.get("ca_file"), "CA file", check_ca_bundle)
    ]
    creds = ep.get("credentials")
    if isinstance(creds, dict):
        files.append(((*loc, "credentials", "key_path"), creds.get("key_path"), "key file", check_private_key))
    for field_loc, value, what, check_file in files:
        if not isinstance(value, str) or not value.strip():
            continue
        resolved = _resolve(value, base_dir)
        if resolved not in checked_files:
            checked_files[resolved] = _file_problem(resolved, what, check_file)
        if checked_files[resolved]:
            report(field_loc, checked_files[resolved])
