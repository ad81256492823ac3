"""The validated inventory: ``Inventory`` and the ``EndpointRef`` of each endpoint.

``load_inventory`` reads and validates a file, ``load_endpoint_set`` does it
(in a child interpreter when the file is large) and keeps what a sweep needs, ``dump_inventory`` writes one.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from orchestrator.endpoint_meta import META_FIELDS, EndpointMeta
from orchestrator.inventory.schema import (
    Agency,
    Application,
    Endpoint,
    InventoryFile,
    Scope,
    parse_endpoint_url,
    resolve_path,
)
from orchestrator.inventory.validate import InventoryError, Locator, format_loc, validate_document
from orchestrator.inventory.yaml_nodes import ConfigError, LineMap, Problem, read_text, read_yaml
from probes.model import Credentials as TargetCredentials
from probes.model import Target

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

    @property
    def meta(self) -> EndpointMeta:
        """This endpoint's metadata, as plan, store and reports carry it (same-named attributes)."""
        return EndpointMeta(*(getattr(self, name) for name in META_FIELDS))

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
            ca_file=str(resolve_path(ep.ca_file, self.base_dir)) if ep.ca_file else None,
            credentials=None
            if creds is None
            else TargetCredentials(
                username=creds.username,
                key_path=str(resolve_path(creds.key_path, self.base_dir)) if creds.key_path else None,
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
# The one YAML reader (orchestrator.inventory.yaml_nodes) builds plain data from libyaml's node
# tree and keeps the tree for line numbers; an inventory only allows a larger
# alias expansion (shared credentials across a national fleet).

MAX_EXPANDED_NODES = 5_000_000  # what anchors/aliases may expand to (no "billion laughs")


def _locator(lines: LineMap) -> Locator:
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


def _read_yaml(text: str, file: str) -> tuple[Any, Locator, list[Problem]]:
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


# ~3,000 endpoints of YAML: in process, ~30 MB at most (see ``load_endpoint_set``).
IN_PROCESS_MAX_BYTES = 1 << 20


def _size(path: str | os.PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # missing or unreadable: load_inventory says which, with the file's name


def _endpoint_set(inventory: Inventory) -> EndpointSet:
    return EndpointSet(inventory.content_hash, inventory.scope, tuple(inventory.endpoints()))


def load_endpoint_set(path: str | os.PathLike) -> EndpointSet:
    """``load_inventory`` in a child process, keeping only the ``EndpointSet``.

    Reading and validating cost ~10 KB of memory per endpoint (the YAML node
    tree, the pydantic document, and what the allocator keeps of them after);
    the refs ~1 KB. In a child, the caller's peak memory grows with the refs
    only (national inventory: ~30 MB instead of ~350 MB), and what the child
    used goes back to the system when it exits. A fresh interpreter, not a
    fork: the caller may be running gRPC threads, which do not survive a fork.
    A file under ``IN_PROCESS_MAX_BYTES`` is read in this process instead:
    its peak is a few tens of MB, and the child's interpreter start and
    imports (~0.15 s) would be most of a small sweep's fixed cost.
    Raises ``InventoryError``.
    """
    if _size(path) <= IN_PROCESS_MAX_BYTES:
        return _endpoint_set(load_inventory(path))
    child = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-c",
            "from orchestrator.inventory.model import _endpoint_set_to_stdout as main; main()",
            os.fspath(path),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    if child.returncode == 0:
        kind, payload = pickle.loads(child.stdout)  # noqa: S301 - our own child's answer
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
        answer: tuple[str, Any] = ("ok", _endpoint_set(load_inventory(sys.argv[1])))
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
            data,
            Dumper=yaml.CSafeDumper,
            sort_keys=False,
            default_flow_style=None,
            allow_unicode=True,
            width=120,
        )
    prefix = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines()) if header else ""
    Path(path).write_text(prefix + body, encoding="utf-8")
