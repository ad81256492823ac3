"""The inventory file's schema: what each field may hold, endpoint URLs, and the pydantic models."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    IPvAnyNetwork,
    TypeAdapter,
    model_validator,
)

from orchestrator.inventory.yaml_nodes import shown
from probes.registry import SCHEMES as PROBED_SCHEMES

SCHEMES = tuple(PROBED_SCHEMES)  # the URL schemes an endpoint may have: those the probes speak

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
# inventory schema and the command line (orchestrator.inventory.targets).
NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "service": (
        _SERVICE,
        "a fully qualified gRPC service name such as grpc.health.v1.Health (at most 255 characters)",
    ),
    "pin": (_PIN, "an OpenSSH fingerprint: SHA256: and 43 base64 characters, as ssh-keygen -lf prints"),
    "application": (_APP_ID, "letters, digits, '.', '_' or '-', starting with a letter or digit"),
    "server_name": (_HOSTNAME, "a DNS name the server certificate must carry"),
    "env": (
        _ENV_NAME,
        "names an environment variable (e.g. SPBE_SSH_PASSWORD) and never holds the secret itself",
    ),
    "tag": (_TAG, "a tag is name or name=value, lowercase name, no spaces"),
    "vantage": (_VANTAGE, "a vantage is a lowercase name such as papua"),
}


# Kinds whose wrong value may be the secret itself (a password typed where its variable's name
# belongs): a message never repeats it.
UNQUOTED_KINDS = frozenset({"env"})


def name_problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid ``kind`` (a key of ``NAME_RULES``), or None."""
    pattern, explain = NAME_RULES[kind]
    if pattern.fullmatch(value):
        return None
    return explain if kind in UNQUOTED_KINDS else f"{explain} (got {shown(value)})"


def host_problem(host: str) -> str | None:
    """Why ``host`` is neither an IP address nor a DNS name, or None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.fullmatch(host) or _is_numeric_name(host):
            return f"{shown(host)} is neither an IP address nor a DNS name"
    return None


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
    problem = name_problem("env", value)
    if problem:
        raise ValueError(problem)
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


# Lists default to ``[]``, which pydantic copies for each instance. ``Field(default_factory=list)`` would
# be the same, but pydantic inspects the factory's signature, and a builtin's costs every command ~40 ms
# (inspect parses its text signature with tokenize, which compiles its regexes first).


class Scope(_Model):
    """What may be probed at all: IP networks and DNS suffixes.

    Checked at validation, and again (``allows``) right before connecting.
    """

    networks: list[Annotated[IPvAnyNetwork, BeforeValidator(_network_text)]] = []
    domains: list[DomainSuffix] = []

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
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
    def _has_a_method(self) -> Credentials:
        if self.key_path is None and self.password_env is None:
            raise ValueError(
                "give key_path (a private-key file) or password_env (an environment variable name)"
            )
        if self.passphrase_env is not None and self.key_path is None:
            raise ValueError("passphrase_env unlocks a key file: give key_path too")
        return self


class Endpoint(_Model):
    url: Annotated[str, AfterValidator(_endpoint_url)]
    services: list[ServiceName] = []
    pins: list[Pin] = []
    vantage: Vantage | None = None
    tags: list[Tag] = []
    server_name: Annotated[str, _rule("server_name")] | None = None
    ca_file: Text | None = None
    credentials: Credentials | None = None


class Application(_Model):
    id: AppId
    name: Text
    agency: Code
    endpoints: list[Endpoint] = []


class InventoryFile(_Model):
    """The document as written (the YAML schema)."""

    version: Literal[1] = 1
    scope: Scope
    agencies: list[Agency] = []
    applications: list[Application] = []


DOCUMENT_ADAPTER = TypeAdapter(InventoryFile)

# Which schemes a per-endpoint field applies to, and why: knowledge as data.
SCHEME_ONLY_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "services": (("grpc", "grpcs"), "declared gRPC services apply to grpc:// and grpcs:// endpoints"),
    "pins": (("ssh",), "host-key pins apply to ssh:// endpoints"),
    "credentials": (("ssh",), "credentials are used by the authenticated SSH checks of ssh:// endpoints"),
    "server_name": (("grpcs",), "server_name applies to TLS (grpcs://) endpoints"),
    "ca_file": (("grpcs",), "ca_file applies to TLS (grpcs://) endpoints"),
}


def resolve_path(path: str, base_dir: Path) -> Path:
    """A file the inventory references: relative paths are relative to the inventory's directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p
