"""What a report shows of an endpoint's observations: a few facts per family, its certificate's expiry.

Facts are server-supplied text, so every string shown is clipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.reports.model import OWNER_FIELDS, shown_meta
from probes.tls.facts import summary_expiry

# The observed summary shown per endpoint: family -> keys (scalars only).
FACT_SUBSET: dict[str, tuple[str, ...]] = {
    "ssh": ("banner", "software", "version"),
    "tls": ("version", "subject", "issuer", "not_after"),
    "grpc": ("connection", "health"),
}
FACT_TEXT_LIMIT = 256


def clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > FACT_TEXT_LIMIT:
        return value[: FACT_TEXT_LIMIT - 1] + "…"
    return value


def fact_subset(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The scalars of ``FACT_SUBSET`` an endpoint's facts hold, clipped."""
    subset: dict[str, Any] = {}
    for family, keys in FACT_SUBSET.items():
        observed = facts.get(family)
        if not isinstance(observed, Mapping):
            continue
        picked = {
            key: clip(observed[key]) for key in keys if isinstance(observed.get(key), (str, int, float, bool))
        }
        if picked:
            subset[family] = picked
    return subset


def certificate_row(meta: EndpointMeta, facts: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    """The endpoint's row of the certificates table, when its TLS facts name an expiry."""
    not_after = summary_expiry(facts)
    if not_after is None:
        return None
    tls = facts["tls"]
    return {
        "endpoint": meta.endpoint_id,
        **shown_meta(meta, OWNER_FIELDS),
        "subject": clip(tls.get("subject")) if isinstance(tls.get("subject"), str) else None,
        "issuer": clip(tls.get("issuer")) if isinstance(tls.get("issuer"), str) else None,
        "not_after": not_after.astimezone(UTC).isoformat(timespec="seconds"),
        "days_left": math.floor((not_after - now).total_seconds() / 86400),
    }
