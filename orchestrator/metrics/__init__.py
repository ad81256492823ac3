"""Prometheus metrics of sweeps: ``interop serve``'s collector, live progress, push and textfile export.

* ``families``: every metric as data (name, type, help, labels, scope).
* ``collector.StoreCollector``: reads the store on each scrape; the latest
  complete sweep of each inventory from a cached snapshot, running sweeps fresh.
* ``live.LiveObserver``: the sweep driver's side of the live metrics.
* ``export``: ``push_summary`` (Pushgateway) and ``write_textfile`` (node_exporter).
* ``budget``: the cardinality budget. docs/metrics.md describes it all.

Nothing is imported here: a sweep needs ``live`` on every run, prometheus-client
(``export``, ~25 ms to import) only when it exports.
"""
