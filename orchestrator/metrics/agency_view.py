"""What an agency token sees of ``/metrics``: its own series and nothing that names or counts another agency.

Decided per family by the families table (``families.Family``), default deny:

* a family with an ``agency`` label: only the samples whose ``agency`` is the
  token's (the agency's scores, results, check failures, endpoints);
* a family marked ``agency_shared`` (when the sweep ran, the newest sweep's
  state, whether the store answers): only the samples of inventories the
  agency has series in, since an inventory's name is the operator's free
  text and may name someone else;
* everything else (national and province aggregates, per-check totals over
  every agency, running sweeps, the exporter's internals, families outside
  the table such as the scheduler's): never.

The agency label is compared as the exposition spells it (``labels.label``).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import Metric

from orchestrator.metrics.families import BY_NAME
from orchestrator.metrics.labels import label


def _with_samples(metric: Metric, samples: list) -> Metric:
    copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
    copy.samples = samples
    return copy


def agency_view(metrics: Iterable[Metric], agency: str) -> list[Metric]:
    """The metric families ``agency`` may see, with only its samples, in the order given."""
    own = label(agency)
    metrics = list(metrics)
    kept: dict[int, Metric] = {}
    inventories: set[str] = set()
    for position, metric in enumerate(metrics):
        family = BY_NAME.get(metric.name)
        if family is None or "agency" not in family.labels:
            continue
        samples = [sample for sample in metric.samples if sample.labels.get("agency") == own]
        if samples:
            kept[position] = _with_samples(metric, samples)
            inventories.update(sample.labels.get("inventory", "") for sample in samples)
    for position, metric in enumerate(metrics):
        family = BY_NAME.get(metric.name)
        if family is None or not family.agency_shared:
            continue
        samples = [
            s for s in metric.samples if "inventory" not in s.labels or s.labels["inventory"] in inventories
        ]
        if samples:
            kept[position] = _with_samples(metric, samples)
    return [kept[position] for position in sorted(kept)]
