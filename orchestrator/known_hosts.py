"""Host-key pins from an OpenSSH ``known_hosts`` file.

Pins are SHA256 fingerprints as ``ssh-keygen -lf`` prints them
(``SHA256:<base64 without padding>``). Hashed host names (``|1|salt|hmac``)
are matched too; ``@revoked`` and ``@cert-authority`` lines are not pins.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path

from orchestrator.yamlsrc import ConfigError, Problem


def fingerprint(key_blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def _names(host: str, port: int) -> set[str]:
    return {f"[{host}]:{port}"} | ({host} if port == 22 else set())


def _matches(pattern: str, names: set[str]) -> bool:
    if pattern.startswith("|1|"):
        try:
            _, _, salt, digest = pattern.split("|")
            salt_bytes, expected = base64.b64decode(salt), base64.b64decode(digest)
        except (ValueError, binascii.Error):
            return False
        return any(
            hmac.compare_digest(hmac.new(salt_bytes, name.encode(), hashlib.sha1).digest(), expected)
            for name in names
        )
    return pattern in names


def pins_for(path: str | Path, host: str, port: int) -> list[str]:
    """Fingerprints of every key ``path`` lists for ``host:port``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError([Problem(str(path), None, "", f"cannot read known_hosts: {exc.strerror}")]) from exc
    names = _names(host, port)
    pins = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0].startswith("@"):
            continue
        if len(fields) < 3:
            raise ConfigError([Problem(str(path), number, "", "expected: hosts key-type base64-key")])
        if not any(_matches(pattern, names) for pattern in fields[0].split(",")):
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except binascii.Error as exc:
            raise ConfigError([Problem(str(path), number, "", "key is not valid base64")]) from exc
        pins.append(fingerprint(blob))
    return pins
