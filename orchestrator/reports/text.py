"""Making server-supplied text safe for each output format.

Reasons, evidence and banners quote what a server sent: they may hold
markup, control characters, bidirectional overrides ("Trojan Source") or,
from a careless decoder, lone surrogates that no UTF-8 file can hold.
Nothing is dropped silently: characters a format cannot carry are written
as visible escapes (``\\x1b``, ``\\u202e``).
"""

from __future__ import annotations

import re

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What XML 1.0 cannot carry at all (besides surrogates), plus the controls above.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def no_surrogates(text: str) -> str:
    """Lone surrogates become U+FFFD so the text can be encoded as UTF-8."""
    return _SURROGATES.sub("\ufffd", text)


def visible(text: str) -> str:
    """Control and bidi-override characters as visible escapes; tab and newline kept."""
    return _CONTROLS.sub(_escape_char, no_surrogates(text))


def xml_safe(text: str) -> str:
    """Text XML 1.0 can carry (markup escaping is still the writer's job)."""
    return _XML_UNSAFE.sub(_escape_char, no_surrogates(text))


def one_line(text: str, limit: int | None = None) -> str:
    """Visible, on one line, optionally clipped with an ellipsis."""
    flat = " ".join(visible(text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat
