"""The fact names of the TLS family, and which protocol version each legacy-version fact offers."""

from __future__ import annotations

import ssl

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
