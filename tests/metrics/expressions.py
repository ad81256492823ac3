"""Every PromQL expression the project ships: the Grafana dashboards' queries and the Prometheus rules.

``shipped()`` lists them with an id (``national:Worst agencies:A``,
``rules:InteropEndpointDown``); ``substitute`` replaces Grafana's variables
with concrete values; ``metric_names`` finds the metric names an expression
reads, so none can be one the exporter does not produce.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestrator.metrics.families import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
DASHBOARD_NAMES = ("national", "agency", "operations")

# Variables Grafana defines itself, with the values the tests give them (scrapes every second).
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__range": "1h", "__interval": "15s"}
# Series Prometheus writes itself: scrape health and alert state.
PROMETHEUS_INTERNAL = frozenset(
    {
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
        "ALERTS",
        "ALERTS_FOR_STATE",
    }
)
# Sample names as the exposition spells them (a counter's _total, a histogram's three series).
SUFFIXES = {"gauge": ("",), "counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
EXPORTED = frozenset(f.name + suffix for f in FAMILIES for suffix in SUFFIXES[f.type])


@dataclass(frozen=True)
class Expression:
    id: str
    expr: str


def dashboard(name: str) -> dict:
    return json.loads((GRAFANA / f"{name}.json").read_text(encoding="utf-8"))


def panels(board: dict) -> Iterator[dict]:
    """Every panel, those inside collapsed rows included."""
    for item in board["panels"]:
        yield item
        yield from item.get("panels", ())


def dashboard_expressions(name: str) -> list[Expression]:
    board = dashboard(name)
    return [
        Expression(f"{name}:{p['title']}:{t['refId']}", t["expr"])
        for p in panels(board)
        for t in p.get("targets", ())
    ]


def rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def rule_expressions() -> list[Expression]:
    return [
        Expression(f"rules:{rule.get('alert') or rule['record']}", rule["expr"].strip()) for rule in rules()
    ]


def recorded_names() -> frozenset[str]:
    return frozenset(rule["record"] for rule in rules() if "record" in rule)


def shipped() -> list[Expression]:
    out = [e for name in DASHBOARD_NAMES for e in dashboard_expressions(name)] + rule_expressions()
    ids = [e.id for e in out]
    assert len(ids) == len(set(ids)), "two expressions share an id (panel title and refId)"
    return out


def count_key(value, key: str) -> int:
    """How many times ``key`` occurs anywhere in a JSON document (nothing hides outside ``targets``)."""
    if isinstance(value, dict):
        return sum((k == key) + count_key(v, key) for k, v in value.items())
    if isinstance(value, list):
        return sum(count_key(v, key) for v in value)
    return 0


# -- variables ---------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def variables_in(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)}


def substitute(expr: str, values: dict[str, str]) -> str:
    """``expr`` with every ``$var``, ``${var}`` and ``[[var]]`` replaced; an unknown one is an error."""

    def one(match: re.Match) -> str:
        name = next(g for g in match.groups() if g)
        if name not in values:
            raise KeyError(f"no value for variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(one, expr)


_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


def label_values_query(query: str) -> tuple[str | None, str]:
    """(series selector or None, label) of a Grafana ``label_values(...)`` variable query."""
    match = _LABEL_VALUES.match(query.strip())
    assert match, f"not a label_values() query: {query!r}"
    return match["selector"], match["label"]


# -- metric names --------------------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_DURATIONS = re.compile(r"\b\d+(?:ms|[smhdwy])\b")
_NUMBERS = re.compile(r"\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b|\.\d+")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
        "Inf",
        "NaN",
        "start",
        "end",
    }
)


def metric_names(expr: str) -> set[str]:
    """Metric names ``expr`` selects: identifiers outside strings, label matchers, ranges and grouping
    lists that are neither keywords nor called (functions and aggregations are followed by "(")."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _DURATIONS.sub(" ", text)
    text = _NUMBERS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        if match[0] in KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(match[0])
    return names


def known_names() -> frozenset[str]:
    return EXPORTED | recorded_names() | PROMETHEUS_INTERNAL
