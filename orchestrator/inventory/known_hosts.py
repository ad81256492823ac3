"""Host-key pins from an OpenSSH ``known_hosts`` file.

Pins are SHA256 fingerprints as ``ssh-keygen -lf`` prints them
(``SHA256:<base64 without padding>``). Host patterns match as sshd(8)
describes: plain and ``[host]:port`` names, ``*``/``?`` wildcards, ``!``
negation, hashed names (``|1|salt|hmac``). ``@revoked`` and
``@cert-authority`` lines are not pins.

Every line is checked, not only those of the host asked for: a file that
is not what the user thinks it is (a truncated copy, a public key, a binary)
is a ``ConfigError`` naming the file, the line and the column, before
anything is probed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from functools import lru_cache
from pathlib import Path

from orchestrator.inventory.yaml_nodes import ConfigError, Problem, read_text, shown

MARKERS = ("@revoked", "@cert-authority")
_FIELD_SEPARATOR = re.compile(r"[ \t]+")  # sshd's; str.split() would also split on \v, \f, \x1c ...
MAX_BYTES = 16 * 1024 * 1024  # a known_hosts file of ~100,000 keys


def fingerprint(key_blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def _names(host: str, port: int) -> set[str]:
    return {f"[{host}]:{port}".lower()} | ({host.lower()} if port == 22 else set())


def _hashed(pattern: str) -> tuple[bytes, bytes] | None:
    """(salt, digest) of a ``|1|salt|hmac`` name, or None if it is malformed."""
    parts = pattern.split("|")
    if len(parts) != 4 or parts[0] or parts[1] != "1":
        return None
    try:
        salt, digest = base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
    except (ValueError, binascii.Error):
        return None
    return (salt, digest) if len(digest) == hashlib.sha1(usedforsecurity=False).digest_size else None


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """A known_hosts pattern: only ``*`` and ``?`` are special (``[host]:port`` is literal)."""
    special = {"*": ".*", "?": "."}
    return re.compile("".join(special.get(c) or re.escape(c) for c in pattern.lower()))


def _pattern_matches(pattern: str, names: set[str]) -> bool:
    if pattern.startswith("|"):
        salt, digest = _hashed(pattern) or (b"", b"")
        return any(
            hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)
            for name in names
        )
    return any(_glob(pattern).fullmatch(name) for name in names)


def _line_matches(hosts: str, names: set[str]) -> bool:
    """sshd(8): a negated pattern that matches excludes the line, whatever else matches."""
    matched = False
    for pattern in hosts.split(","):
        if pattern.startswith("!"):
            if _pattern_matches(pattern[1:], names):
                return False
        elif _pattern_matches(pattern, names):
            matched = True
    return matched


def _key_type(blob: bytes) -> str | None:
    """The key type a public-key blob names in its first field (SSH wire format)."""
    if len(blob) < 4:
        return None
    length = int.from_bytes(blob[:4], "big")
    name = blob[4 : 4 + length]
    if length == 0 or len(name) != length:
        return None
    try:
        return name.decode("ascii")
    except UnicodeDecodeError:
        return None


class _BadLine(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def _parse_line(fields: list[str]) -> tuple[str | None, str, bytes]:
    """(marker, hosts, key blob) of one entry; ``_BadLine`` names the column that is wrong."""
    marker = fields[0] if fields[0].startswith("@") else None
    rest = fields[1:] if marker else fields
    if marker is not None and marker not in MARKERS:
        raise _BadLine("marker", f"unknown marker {shown(marker)}: known are {', '.join(MARKERS)}")
    if len(rest) < 3:
        raise _BadLine("(line)", "expected: [marker] hosts key-type base64-key")
    hosts, key_type, encoded = rest[:3]
    for pattern in hosts.split(","):
        bare = pattern.removeprefix("!")
        if not bare or (bare.startswith("|") and _hashed(bare) is None):
            raise _BadLine("hosts", f"not a host pattern or hashed name: {shown(pattern)}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise _BadLine("key", "not valid base64") from None
    named = _key_type(blob)
    if named is None:
        raise _BadLine("key", "not an SSH public key")
    if named != key_type:
        raise _BadLine("key-type", f"the line says {shown(key_type)} but the key is {shown(named)}")
    return marker, hosts, blob


def pins_for(path: str | Path, host: str, port: int) -> list[str]:
    """Fingerprints of every key ``path`` lists for ``host:port``; ``ConfigError`` for any bad line."""
    file = str(path)
    text = read_text(path, max_bytes=MAX_BYTES, what="known_hosts file")
    names = _names(host, port)
    pins: list[str] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):  # sshd's lines, not str.splitlines' (\v, \x1c)
        fields = _FIELD_SEPARATOR.split(line.strip(" \t\r"))
        fields = [] if fields == [""] else fields
        if not fields or fields[0].startswith("#"):
            continue
        try:
            marker, hosts, blob = _parse_line(fields)
        except _BadLine as bad:
            problems.append(Problem(file, number, bad.column, bad.message))
            continue
        if marker is None and _line_matches(hosts, names):
            pins.append(fingerprint(blob))
    if problems:
        raise ConfigError(problems)
    return pins
