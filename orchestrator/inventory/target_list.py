"""A targets file (``interop gate --targets FILE``): one target URL per line.

Blank lines and ``#`` comments are ignored. Every line is checked before
anything is probed: a bad URL is a ``ConfigError`` naming the file, its
line and the URL, and a URL given twice is refused (it would be probed, and
counted, twice).
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.inventory.targets import TargetError, parse_url
from orchestrator.inventory.yaml_nodes import ConfigError, Problem, read_text

MAX_TARGETS_BYTES = 4 * 1024 * 1024


def read_target_list(path: str | Path) -> list[str]:
    """The URLs of a targets file, in order; ``ConfigError`` lists every bad line."""
    filename = str(path)
    text = read_text(path, max_bytes=MAX_TARGETS_BYTES, what="targets file")
    urls: list[str] = []
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.split("#", 1)[0].strip()
        if not url:
            continue
        try:
            canonical = _canonical(url)
        except TargetError as exc:
            problems.append(Problem(filename, number, "url", str(exc)))
            continue
        if canonical in seen:
            problems.append(Problem(filename, number, "url", f"{url} is already on line {seen[canonical]}"))
            continue
        seen[canonical] = number
        urls.append(url)
    if problems:
        raise ConfigError(problems)
    if not urls:
        raise ConfigError([Problem(filename, None, "(file)", "no target URL in the file")])
    return urls


def _canonical(url: str) -> str:
    scheme, host, port = parse_url(url)
    return f"{scheme}://{host.lower()}:{port}"
