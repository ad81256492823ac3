"""Metrics of sweeps still running, read from the store on every scrape.

The store has what is recorded (endpoints done, results, error classes,
probe durations); what is only in the driver's memory (probes in flight,
workers, a heartbeat) reaches other processes through the row the driver
writes about once a second (``Store.write_live``, see ``metrics.live``). A
sweep whose driver was killed stays ``running`` in the store: its heartbeat
stops moving, which is what the ``InteropSweepDriverSilent`` alert watches.
"""

from __future__ import annotations

from orchestrator.metrics.labels import ERROR_CLASSES, STATUSES, error_class_label, label
from orchestrator.metrics.series import SeriesSet
from orchestrator.store import Store, Sweep


def running_sweep_series(series: SeriesSet, store: Store, sweep: Sweep) -> None:
    labels = {"inventory": label(sweep.inventory_name), "sweep": label(sweep.id)}
    info = {**labels, "profile": label(sweep.profile), "engine": label(sweep.engine)}
    series.gauge("interop_running_sweep_info", info, 1)
    series.gauge("interop_running_sweep_start_timestamp_seconds", labels, sweep.started_at.timestamp())
    series.gauge("interop_running_sweep_endpoints", labels, sweep.total_endpoints)

    durations = []
    errors = dict.fromkeys(ERROR_CLASSES, 0)
    for brief in store.outcome_briefs(sweep.id):
        durations.append(brief.duration_s)
        if brief.error_class is not None:
            errors[error_class_label(brief.error_class)] += 1
    series.gauge("interop_running_sweep_endpoints_done", labels, len(durations))
    for error_class, count in errors.items():
        series.gauge("interop_running_sweep_endpoint_errors", {**labels, "error_class": error_class}, count)
    series.histogram("interop_running_sweep_probe_duration_seconds", labels, durations)

    by_status = store.progress(sweep.id).by_status
    for status in STATUSES:
        series.gauge("interop_running_sweep_results", {**labels, "status": status}, by_status.get(status, 0))

    live = store.live(sweep.id)
    if live is not None:
        series.gauge("interop_running_sweep_endpoints_in_flight", labels, live.in_flight)
        series.gauge("interop_running_sweep_workers", labels, live.workers)
        series.gauge("interop_running_sweep_heartbeat_timestamp_seconds", labels, live.updated_at.timestamp())
