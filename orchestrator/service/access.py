"""Who may read what from ``interop serve``: the tokens file, its roles, and bearer-token checks.

A tokens file (YAML, or JSON: YAML reads both) holds only the SHA-256 of
each token, never the token::

    tokens:
      - id: tok-5f0c9a1e
        role: agency:32.73          # or: operator
        sha256: 9b1f...             # hex digest of the token's UTF-8 bytes
        created: "2026-12-01T03:00:00+00:00"
        note: Diskominfo Kota Bandung's Prometheus

``interop tokens add`` draws a token (``secrets.token_urlsafe(32)``: 256
random bits, so a plain hash is enough; nothing to salt or stretch), prints
it once and stores its hash. A request sends ``Authorization: Bearer TOKEN``;
its hash is compared with every stored hash by ``hmac.compare_digest``, all
of them, so the time taken does not depend on which one matched.

Roles are data (``ROLES``): ``operator`` sees everything; ``agency:<code>``
sees that agency's reports and metrics only. The service re-reads the file
when it changes (``TokenSource``), so ``interop tokens revoke`` takes effect
at once; a file that has become unreadable refuses every token until it is
mended (access control fails closed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orchestrator.inventory.yaml_nodes import ConfigError, Problem, load_yaml, problems_from_validation

TOKENS_ENV = "INTEROP_TOKENS"  # names the tokens file when --tokens is not given
TOKEN_BYTES = 32
TOKEN_PREFIX = "spbe_"  # noqa: S105 - lets secret scanners and people recognise a leaked token
NOTE_MAX_CHARS = 200
OPERATOR = "operator"
AGENCY = "agency"
# The roles a token may have, as written, and what each may see (the service's routes enforce it).
ROLES: dict[str, str] = {
    OPERATOR: "every report, /status and all metrics",
    f"{AGENCY}:<code>": "that agency's reports and its own metrics only",
}
_AGENCY_CODE = re.compile(r"[^\s/\\]{1,64}")  # inventory codes: 32.73, KEMENKES ...; no path separators
_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_HEADER = "# spbe-interop service tokens: SHA-256 hashes only (interop tokens add/list/revoke).\n"


@dataclass(frozen=True)
class Role:
    kind: str  # a key of ROLES
    agency: str | None = None  # the code, for kind "agency"

    def __str__(self) -> str:
        return self.kind if self.agency is None else f"{self.kind}:{self.agency}"

    @property
    def is_operator(self) -> bool:
        return self.kind == OPERATOR


OPERATOR_ROLE = Role(OPERATOR)


def parse_role(text: str) -> Role:
    """``operator`` or ``agency:<code>``; ValueError with what to write otherwise."""
    kind, sep, code = text.strip().partition(":")
    if kind == OPERATOR and not sep:
        return OPERATOR_ROLE
    if kind == AGENCY and sep and _AGENCY_CODE.fullmatch(code):
        return Role(AGENCY, code)
    raise ValueError(f"role {text!r}: give {' or '.join(ROLES)} (e.g. agency:32.73)")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


class TokenEntry(BaseModel):
    """One token as the file stores it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    role: str
    sha256: str
    created: str
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX_CHARS)] | None = None

    @pydantic.field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if not isinstance(value, str) or not re.fullmatch(_ID, value):
            raise ValueError("give an id of letters, digits, '.', '_' or '-' (at most 64), e.g. tok-5f0c9a1e")
        return value

    @pydantic.field_validator("role")
    @classmethod
    def _valid_role(cls, value: str) -> str:
        parse_role(value)
        return value

    @pydantic.field_validator("sha256", mode="before")
    @classmethod
    def _digest(cls, value: Any) -> Any:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError("give the token's SHA-256 as 64 lowercase hex digits (never the token itself)")
        return value

    @pydantic.field_validator("created", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> Any:
        # The YAML reader leaves dates as text; a date alone is accepted too.
        if not isinstance(value, str):
            raise ValueError("give the creation time as text, e.g. '2026-12-01T03:00:00+00:00'")
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date or time") from None
        return value

    @property
    def parsed_role(self) -> Role:
        return parse_role(self.role)


class TokensFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[TokenEntry] = Field(default_factory=list)


def load_tokens(path: str | Path) -> list[TokenEntry]:
    """The entries of a tokens file; ``ConfigError`` with file:line:field for every problem."""
    filename = str(path)
    data, lines = load_yaml(path, "tokens file")
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    filename, lines.line(()), "(document)", "a tokens file is a mapping with a `tokens:` list"
                )
            ]
        )
    try:
        document = TokensFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, filename, lines)) from None
    problems = []
    for field in ("id", "sha256"):
        first: dict[str, int] = {}
        for index, entry in enumerate(document.tokens):
            value = getattr(entry, field)
            if value in first:
                problems.append(
                    Problem(
                        filename,
                        lines.line(("tokens", index, field)),
                        f"tokens[{index}].{field}",
                        f"the same {field} as tokens[{first[value]}]",
                    )
                )
            first.setdefault(value, index)
    if problems:
        raise ConfigError(problems)
    return document.tokens


def save_tokens(path: Path, entries: list[TokenEntry]) -> None:
    """Write the file readable by its owner only, through a temporary file and a rename."""
    document = {"tokens": [entry.model_dump(exclude_none=True) for entry in entries]}
    if path.suffix == ".json":
        text = json.dumps(document, indent=2) + "\n"
    else:
        text = _HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_token(path: Path, role: Role, note: str | None = None) -> tuple[TokenEntry, str]:
    """A new token of ``role`` in the file (created if missing): (its entry, the token itself)."""
    entries = load_tokens(path) if path.exists() else []
    taken = {entry.id for entry in entries}
    token_id = f"tok-{secrets.token_hex(4)}"
    while token_id in taken:
        token_id = f"tok-{secrets.token_hex(4)}"
    token = new_token()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    entry = TokenEntry(id=token_id, role=str(role), sha256=token_digest(token), created=created, note=note)
    save_tokens(path, [*entries, entry])
    return entry, token


def revoke_token(path: Path, token_id: str) -> TokenEntry:
    """Remove the token ``token_id``; KeyError when there is none."""
    entries = load_tokens(path)
    kept = [entry for entry in entries if entry.id != token_id]
    if len(kept) == len(entries):
        raise KeyError(token_id)
    save_tokens(path, kept)
    return next(entry for entry in entries if entry.id == token_id)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Principal:
    """Who a request is: the token's id (for logs; never the token) and its role."""

    token_id: str
    role: Role


OPEN_ACCESS = Principal("-", OPERATOR_ROLE)  # serve without --tokens: loopback, no access control


class TokensUnavailable(Exception):
    """The tokens file cannot be read now: every token is refused until it is mended."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class TokenSource:
    """The tokens file as the service reads it: re-read when it changes (revocations apply at once)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[tuple[bytes, Principal]] = []
        self._problem: str | None = None

    def _refresh_locked(self) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return
            entries = load_tokens(self.path)
        except (OSError, ConfigError) as exc:
            self._stamp, self._entries, self._problem = None, [], str(exc)
            return
        self._stamp, self._problem = stamp, None
        self._entries = [(bytes.fromhex(e.sha256), Principal(e.id, e.parsed_role)) for e in entries]

    def problem(self) -> str | None:
        """Why the file cannot be used now, or None."""
        with self._lock:
            self._refresh_locked()
            return self._problem

    def authenticate(self, token: str) -> Principal | None:
        """The principal whose stored hash matches ``token``, or None; TokensUnavailable if the file is broken."""
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        with self._lock:
            self._refresh_locked()
            if self._problem is not None:
                raise TokensUnavailable(self._problem)
            entries = self._entries
        found = None
        for stored, principal in entries:  # every entry compared: no early exit on a match
            if hmac.compare_digest(stored, digest):
                found = principal
        return found
