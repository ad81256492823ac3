"""The fact names of the TLS family, which protocol version each legacy-version fact offers, and
how to read the certificate's expiry back from a probe's summary."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

NEGOTIATED = "tls.negotiated"
ALPN = "tls.alpn"
CHAIN = "tls.chain"
LEAF = "tls.leaf"
HOSTNAME = "tls.hostname"

# fact -> (check id, label, version to offer alone)
LEGACY_VERSIONS: dict[str, tuple[str, str, ssl.TLSVersion]] = {
    "tls.legacy.tls1_0": ("TLS-PROTO-002", "TLS 1.0", ssl.TLSVersion.TLSv1),
    "tls.legacy.tls1_1": ("TLS-PROTO-003", "TLS 1.1", ssl.TLSVersion.TLSv1_1),
}


def summary_expiry(summary: Mapping[str, Any]) -> datetime | None:
    """When the leaf certificate expires, from a probe's facts summary (``summary["tls"]["not_after"]``,
    as the TLS gatherer writes it, and reports and metrics read it back from the store); None when
    absent or unreadable. A time without a zone is UTC."""
    tls = summary.get("tls")
    if not isinstance(tls, Mapping) or not isinstance(tls.get("not_after"), str):
        return None
    try:
        moment = datetime.fromisoformat(tls["not_after"])
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
