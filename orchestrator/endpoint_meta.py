"""``EndpointMeta``: the metadata that travels with an endpoint through plan, store and reports.

The inventory makes it (``EndpointRef.meta``), a planned endpoint carries it,
the store writes it as the columns of its ``endpoints`` table and reads it
back (``Store.endpoints``; every ``ResultRow`` is one), reports show it. It
lives apart from the inventory package so that the engine and the store can
name it without loading the inventory's YAML reader and pydantic schema.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class EndpointMeta:
    """One endpoint's metadata; ``endpoint_id`` is its URL.

    The inventory knows every field; an endpoint recorded without them (a
    store written by hand, a test) has None after ``protocol``.
    """

    endpoint_id: str
    url: str
    protocol: str  # ssh, grpc (grpcs is gRPC over TLS)
    agency: str | None = None
    agency_level: str | None = None
    province: str | None = None
    application: str | None = None
    vantage: str | None = None  # the network it is probed from; None: anywhere


# The field names in order: the only list of them. The store names its endpoint columns the same.
META_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EndpointMeta))
