"""Label values: always valid UTF-8, printable, bounded, and still distinct.

Every label value comes from the inventory or the store (agency codes,
endpoint URLs, check ids ...), never from what a server said. The store
should hold clean text, but the exposition must survive anything: a lone
surrogate (text decoded with ``surrogateescape``) would make the client
library's UTF-8 encode raise, a control character is legal in no format we
want to emit, and a megabyte-long value bloats every scrape. The mapping
stays injective in practice: escapes are spelled out rather than replaced by
one character, and a shortened value keeps a hash of the original.
"""

from __future__ import annotations

import hashlib
import re

from probes.model import Status

MAX_LABEL_CHARS = 200
_HASH_CHARS = 12
# C0 and C1 controls and DEL: escaped as \xNN (prometheus-client would escape
# only \n, \\ and ").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# The error classes the engine records (probes.errors.classify_error and the
# shard's own "scope" and "unreachable"); anything else is counted as "other".
ERROR_CLASSES: tuple[str, ...] = (
    "timeout",
    "refused",
    "reset",
    "dns",
    "unreachable",
    "tls",
    "protocol",
    "scope",
    "other",
)
STATUSES: tuple[str, ...] = tuple(status.value for status in Status)


def error_class_label(value: str | None) -> str:
    return value if value in ERROR_CLASSES else "other"


def _clean_text(value: str) -> str:
    if not value.isascii():
        # Lone surrogates cannot be encoded: spell them out (\udc80).
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    if len(value) > MAX_LABEL_CHARS:
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:_HASH_CHARS]
        value = f"{value[: MAX_LABEL_CHARS - _HASH_CHARS - 2]}…~{digest}"
    return value


def label(value: object) -> str:
    """``value`` as a safe label value; None is the empty value (Prometheus: label absent)."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "backslashreplace")
    elif not isinstance(value, str):
        value = str(value)
    if value.isascii() and value.isprintable() and len(value) <= MAX_LABEL_CHARS:
        return value  # the common case: nothing to do
    return _clean_text(value)
