"""The cardinality budget: how many series the exporter emits for an inventory.

The count follows from the families table (``scope`` × ``fanout``) and the
inventory's shape; ``tests/metrics`` checks it against a real exposition and
holds the national inventory to ``NATIONAL_BUDGET`` (docs/metrics.md).

Per endpoint at most ``PER_ENDPOINT_BUDGET`` series: info, up, compliance,
probe duration, plus the certificate expiry (grpcs://) or the host-key change
(ssh://). Per-check detail is per agency × check, never per endpoint × check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestrator.metrics.families import FAMILIES
from probes.model import Target
from probes.runner import CheckSettings, applicable, default_selection

PER_ENDPOINT_BUDGET = 5
# The national inventory (orchestrator.inventory.synthetic: 32,919 endpoints of 622
# agencies, every check of the registry) costs 182,099 series with one sweep
# running, 209,499 in the worst case of every gRPC endpoint over TLS.
NATIONAL_BUDGET = 225_000


@dataclass(frozen=True)
class Shape:
    """What the series count depends on."""

    endpoints_by_scheme: Mapping[str, int]
    agencies: int
    agency_checks: int  # distinct (agency, check) pairs with results
    checks: int
    provinces: int
    inventories: int = 1
    running_sweeps: int = 0

    @property
    def endpoints(self) -> int:
        return sum(self.endpoints_by_scheme.values())


def per_endpoint(scheme: str) -> int:
    """Series of one endpoint with this URL scheme when every one of them is present."""
    return sum(
        family.fanout
        for family in FAMILIES
        if family.scope == "endpoint" and (family.schemes is None or scheme in family.schemes)
    )


def _scope_total(scope: str) -> int:
    return sum(family.fanout for family in FAMILIES if family.scope == scope)


def series_by_scope(shape: Shape) -> dict[str, int]:
    """The most series the exporter emits for ``shape``, by scope."""
    return {
        "endpoint": sum(per_endpoint(scheme) * n for scheme, n in shape.endpoints_by_scheme.items()),
        "agency_check": _scope_total("agency_check") * shape.agency_checks,
        "check": _scope_total("check") * shape.checks,
        "agency": _scope_total("agency") * shape.agencies,
        "province": _scope_total("province") * shape.provinces,
        "inventory": _scope_total("inventory") * shape.inventories,
        "running_sweep": _scope_total("running_sweep") * shape.running_sweeps,
        "exporter": _scope_total("exporter"),
    }


def total_series(shape: Shape) -> int:
    return sum(series_by_scope(shape).values())


def shape_of(
    endpoints: Iterable[tuple[str, str | None, str | None]],
    selection: Mapping[str, CheckSettings] | None = None,
    *,
    running_sweeps: int = 0,
) -> Shape:
    """The shape of one inventory from its endpoints as (scheme, agency, province).

    Each endpoint is counted with every check of ``selection`` (default: the
    whole registry) that applies to its scheme, as the probe runner records
    them (families not in use on the scheme are recorded as ``skip``).
    """
    selection = dict(default_selection() if selection is None else selection)
    checks_of_scheme: dict[str, frozenset[str]] = {}
    schemes: Counter[str] = Counter()
    agency_checks: dict[str | None, set[str]] = {}
    provinces: set[str | None] = set()
    for scheme, agency, province in endpoints:
        checks = checks_of_scheme.get(scheme)
        if checks is None:
            target = Target(scheme, "budget.invalid", 1)
            checks = checks_of_scheme[scheme] = frozenset(applicable(target, selection))
        schemes[scheme] += 1
        agency_checks.setdefault(agency, set()).update(checks)
        provinces.add(province)
    all_checks = set().union(*agency_checks.values()) if agency_checks else set()
    return Shape(
        endpoints_by_scheme=dict(schemes),
        agencies=len(agency_checks),
        agency_checks=sum(len(checks) for checks in agency_checks.values()),
        checks=len(all_checks),
        provinces=len(provinces),
        running_sweeps=running_sweeps,
    )
