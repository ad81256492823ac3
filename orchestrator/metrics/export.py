"""One sweep's summary to a Pushgateway or a node_exporter textfile.

For one-shot and CI runs that no Prometheus scrapes while they last. The
summary is the sweep-, check-, national-, province- and agency-level
families (``Family.summary``), not the per-endpoint ones: a national sweep
would push 150k series, which is what ``interop serve`` is for.

``push_summary`` replaces the group ``job``/``inventory`` on the gateway (HTTP
PUT), so the previous sweep's series of that inventory disappear.
``write_textfile`` writes the text format through a temporary file in the
same directory and a rename, so node_exporter never reads half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from orchestrator.metrics.families import SUMMARY_FAMILIES
from orchestrator.metrics.labels import label
from orchestrator.metrics.series import assemble
from orchestrator.metrics.snapshot import Snapshot, build_snapshot
from orchestrator.store import Store
from orchestrator.waivers import Waivers

DEFAULT_JOB = "interop_sweep"


class _Fixed(Collector):
    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        return assemble([self.snapshot.series], SUMMARY_FAMILIES)


def summary_registry(store: Store, sweep_id: str, *, waivers: Waivers | None = None) -> CollectorRegistry:
    """A registry holding the summary of sweep ``sweep_id`` (any state)."""
    sweep = store.get_sweep(sweep_id)
    snapshot = build_snapshot(store, sweep, waivers=waivers, detail=False)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(snapshot))
    return registry


def push_summary(
    store: Store,
    sweep_id: str,
    url: str,
    job: str = DEFAULT_JOB,
    *,
    waivers: Waivers | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Push the sweep's summary to the Pushgateway at ``url`` (grouping: job, inventory)."""
    sweep = store.get_sweep(sweep_id)
    registry = summary_registry(store, sweep.id, waivers=waivers)
    push_to_gateway(
        url,
        job=job,
        registry=registry,
        grouping_key={"inventory": label(sweep.inventory_name)},
        timeout=timeout_s,
    )


def write_textfile(
    store: Store, sweep_id: str, path: str | os.PathLike[str], *, waivers: Waivers | None = None
) -> None:
    """Write the sweep's summary to ``path`` (node_exporter reads ``*.prom``), atomically."""
    path = Path(path)
    data = generate_latest(summary_registry(store, sweep_id, waivers=waivers))
    # The temporary name does not end in .prom: node_exporter ignores it.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # node_exporter usually runs as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def export_summary(
    store_path: str | os.PathLike[str],
    sweep_id: str,
    *,
    push_gateway: str | None = None,
    textfile: str | os.PathLike[str] | None = None,
    job: str = DEFAULT_JOB,
) -> list[str]:
    """After a sweep: push its summary and/or write it as a textfile.

    Returns one message per export that failed; the sweep's own result stands
    either way (its results are in the store), so callers print these and
    keep their exit code.
    """
    problems: list[str] = []
    if not push_gateway and not textfile:
        return problems
    with Store(store_path, create=False) as store:
        if push_gateway:
            try:
                push_summary(store, sweep_id, push_gateway, job)
            except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
                problems.append(f"could not push the sweep summary to {push_gateway}: {exc}")
        if textfile:
            try:
                write_textfile(store, sweep_id, textfile)
            except OSError as exc:
                problems.append(f"could not write the sweep summary to {textfile}: {exc}")
    return problems
