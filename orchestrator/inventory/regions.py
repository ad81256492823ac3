"""Indonesia's regions for an inventory: the 38 provinces and how an agency code looks per level."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from orchestrator.inventory.yaml_nodes import shown

LEVELS = ("pusat", "provinsi", "kabupaten", "kota")


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    kabupaten: int
    kota: int


@cache
def provinces() -> dict[str, Province]:
    """The 38 provinces (Kepmendagri 300.2.2-2138/2025), keyed by 2-digit code."""
    text = resources.files("orchestrator").joinpath("data/provinces.csv").read_text(encoding="utf-8")
    return {
        row["code"]: Province(row["code"], row["name"], int(row["kabupaten"]), int(row["kota"]))
        for row in csv.DictReader(text.splitlines())
    }


_KAB_KOTA = re.compile(r"([0-9]{2})\.([0-9]{2})")  # ASCII digits: \d would take any script's

# What a Kemendagri / agency code must look like at each level: knowledge as data.
# (pattern, allowed range of the kab/kota part or None, how to write it)
LEVEL_CODE_RULES: dict[str, tuple[re.Pattern[str], range | None, str]] = {
    "pusat": (re.compile(r"[A-Z][A-Z0-9_]{0,63}"), None, "an uppercase identifier such as KEMENKES"),
    "provinsi": (re.compile(r"([0-9]{2})"), None, "the 2-digit province code such as 32"),
    "kabupaten": (_KAB_KOTA, range(1, 70), "PP.NN with NN from 01 to 69, e.g. 32.04"),
    "kota": (_KAB_KOTA, range(71, 100), "PP.NN with NN from 71 to 99, e.g. 32.73"),
}


def agency_code_problem(code: str) -> str | None:
    """Why ``code`` is no agency code of any level (``KEMENKES``, ``32``, ``32.04``, ``32.73``), or None."""
    for pattern, allowed, _ in LEVEL_CODE_RULES.values():
        match = pattern.fullmatch(code)
        if match and (allowed is None or int(match.group(2)) in allowed):
            return None
    ways = "; ".join(f"{level}: {how}" for level, (_, _, how) in LEVEL_CODE_RULES.items())
    return f"not an agency code ({ways}) (got {shown(code)})"
