"""Small fleets written straight into a real results store, for the fix list, trend and changes tests.

A fleet is a table: endpoint URL -> (agency, {check id: status}); each sweep
records it as the sweep driver would (``Store.record``), with the
registry's severities, so a report built from it scores it with the real
code. ``fixed`` turns the open results of some checks into passes: the fleet
as it would be once a fix is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import Store, SweepState
from probes import registry
from probes.messages import Message, render
from probes.model import CheckResult, ProbeReport, Status

P, F, W, E, S = Status.PASS, Status.FAIL, Status.WARN, Status.ERROR, Status.SKIP

Fleet = Mapping[str, tuple[str, Mapping[str, Status]]]  # url -> (agency, {check: status})
OPEN = (F, W)
T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def fixed(fleet: Fleet, checks: Iterable[str]) -> dict[str, tuple[str, dict[str, Status]]]:
    """The fleet once the open (fail, warn) results of ``checks`` pass."""
    checks = set(checks)
    return {
        url: (agency, {c: P if c in checks and s in OPEN else s for c, s in statuses.items()})
        for url, (agency, statuses) in fleet.items()
    }


def record_sweep(
    store: Store,
    fleet: Fleet,
    *,
    started_at: datetime = T0,
    inventory_name: str = "fleet",
    profile: str = "spbe-baseline",
    state: SweepState = SweepState.COMPLETE,
    messages: Mapping[tuple[str, str], Message] | None = None,
) -> str:
    """One sweep of ``fleet`` (every endpoint done); ``messages`` gives some results a reason template."""
    records = [
        EndpointMeta(
            url, url, url.split("://")[0].replace("grpcs", "grpc"), agency, "kota", "32", f"app-{agency}"
        )
        for url, (agency, _) in fleet.items()
    ]
    sweep_id = store.create_sweep(
        inventory_path=str(Path("/nonexistent/fleet.yaml")),
        inventory_hash="sha256:fleet",
        inventory_name=inventory_name,
        profile=profile,
        profile_hash="sha256:" + profile,
        engine="local",
        endpoints=records,
        options={},
        started_at=started_at,
    )
    for url, (_, statuses) in fleet.items():
        results = []
        for check_id, status in statuses.items():
            message = (messages or {}).get((url, check_id))
            # As the runner stores it: the English rendering is the reason.
            reason = render(message, "en") if message is not None else f"{check_id} {status.value}"
            results.append(
                CheckResult(
                    check_id,
                    status,
                    registry.get_check(check_id).severity,
                    reason,
                    {"observed": status.value},
                    0.01,
                    message=message,
                )
            )
        store.record(sweep_id, url, ProbeReport(url, results, 0.1))
    store.set_state(sweep_id, state)
    return sweep_id


def one_sweep_store(directory: Path, fleet: Fleet, **options) -> tuple[Path, str]:
    """A new store holding one sweep of ``fleet``."""
    path = directory / "results.db"
    with Store(path) as store:
        return path, record_sweep(store, fleet, **options)


def later(days: int) -> datetime:
    return T0 + timedelta(days=days)
