"""Samples grouped by family, and their assembly into prometheus-client metric families.

Samples from several sources (each inventory's cached snapshot, the running
sweeps, the exporter's own state) are collected per family name and emitted
as ONE family per name: a second ``# TYPE`` line for the same name is an
error for the OpenMetrics parser Prometheus uses.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from orchestrator.metrics.families import BY_NAME, DURATION_BUCKETS, FAMILIES, Family

_BUCKET_LABELS = tuple(str(bound) for bound in DURATION_BUCKETS) + ("+Inf",)


class SeriesSet:
    """Samples by family name; label dicts may be shared between samples (they are never mutated)."""

    def __init__(self) -> None:
        self.by_family: dict[str, list[Sample]] = {}

    def _add(self, family: str, sample: Sample) -> None:
        samples = self.by_family.get(family)
        if samples is None:
            samples = self.by_family[family] = []
        samples.append(sample)

    def gauge(self, name: str, labels: dict[str, str], value: float) -> None:
        self._add(name, Sample(name, labels, float(value)))

    def counter(self, name: str, labels: dict[str, str], value: float) -> None:
        self._add(name, Sample(name + "_total", labels, float(value)))

    def one_hot(
        self, name: str, labels: dict[str, str], key: str, values: Iterable[str], chosen: str
    ) -> None:
        for value in values:
            self.gauge(name, {**labels, key: value}, 1.0 if value == chosen else 0.0)

    def histogram(self, name: str, labels: dict[str, str], observations: Iterable[float]) -> None:
        """A histogram of ``observations`` over ``DURATION_BUCKETS`` (cumulative counts)."""
        counts = [0] * (len(DURATION_BUCKETS) + 1)
        total = 0.0
        n = 0
        for value in observations:
            counts[bisect.bisect_left(DURATION_BUCKETS, value)] += 1
            total += value
            n += 1
        cumulative = 0
        for bound, count in zip(_BUCKET_LABELS, counts, strict=True):
            cumulative += count
            self._add(name, Sample(name + "_bucket", {**labels, "le": bound}, float(cumulative)))
        self._add(name, Sample(name + "_count", labels, float(n)))
        self._add(name, Sample(name + "_sum", labels, total))

    def series_count(self) -> int:
        return sum(len(samples) for samples in self.by_family.values())


def assemble(sets: Iterable[SeriesSet], families: Iterable[Family] = FAMILIES) -> list[Metric]:
    """One metric family per name with the samples of every set, in the table's order."""
    merged: dict[str, list[Sample]] = {}
    for series in sets:
        for name, samples in series.by_family.items():
            if name not in BY_NAME:
                raise KeyError(f"metric {name} is not in the families table")
            merged.setdefault(name, []).extend(samples)
    out = []
    for family in families:
        samples = merged.get(family.name, [])
        if not samples:
            continue
        metric = Metric(family.name, family.help, family.type)
        metric.samples = samples
        out.append(metric)
    return out


Values = dict[str, list[tuple[dict[str, str], float]]]  # family name -> (labels, value) of each series


def families_of(families: Iterable[Family], values: Values) -> list[Metric]:
    """The metric families of a table beside ``assemble``'s (the scheduler's, ``/probe``'s), in its order;
    a family without samples is left out."""
    out = []
    for family in families:
        metric = Metric(family.name, family.help, family.type)
        name = family.name + ("_total" if family.type == "counter" else "")
        for labels, value in values.get(family.name, ()):
            metric.add_sample(name, labels, float(value))
        if metric.samples:
            out.append(metric)
    return out
