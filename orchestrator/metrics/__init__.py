"""Prometheus metrics of sweeps: ``interop serve``'s collector, live progress, push and textfile export.

* ``families``: every metric as data (name, type, help, labels, scope).
* ``collector.StoreCollector``: reads the store on each scrape; the latest
  complete sweep of each inventory from a cached snapshot, running sweeps fresh.
* ``live.LiveObserver``: the sweep driver's side of the live metrics.
* ``export``: ``push_summary`` (Pushgateway) and ``write_textfile`` (node_exporter).
* ``budget``: the cardinality budget. docs/metrics.md describes it all.
"""

from orchestrator.metrics.export import export_summary, push_summary, write_textfile

__all__ = ["export_summary", "push_summary", "write_textfile"]
