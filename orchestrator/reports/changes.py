"""The changes section of a report: what changed since the previous complete sweep of the same inventory."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from orchestrator.store import Store, Sweep, SweepState

CHANGES_LIMIT = 5_000  # entries per list of the changes section (counts are always complete)


def _previous_complete(store: Store, sweep: Sweep) -> Sweep | None:
    """The latest complete sweep of the same inventory that started before ``sweep``."""
    for candidate in store.list_sweeps(None, inventory_name=sweep.inventory_name):
        if candidate.id != sweep.id and candidate.state is SweepState.COMPLETE and (
            candidate.started_at, candidate.id) < (sweep.started_at, sweep.id):
            return candidate
    return None


def changes_since_previous(store: Store, sweep: Sweep, agency: str | None) -> dict[str, Any] | None:
    """What changed since the previous complete sweep of the same inventory (scope applied).

    Status changes compare stored statuses (waivers are not applied to history).
    Each list keeps at most ``CHANGES_LIMIT`` entries, most severe first;
    ``counts`` has the full numbers.
    """
    previous = _previous_complete(store, sweep)
    if previous is None:
        return None
    diff = store.diff(previous.id, sweep.id)

    def in_scope(entries: list) -> list:
        return [entry for entry in entries if agency is None or entry.agency == agency]

    entries = {
        "regressions": in_scope(diff.regressions),
        "fixes": in_scope(diff.fixes),
        "changed": in_scope(diff.changed),
    }
    if agency is None:
        new, gone = diff.new_endpoints, diff.gone_endpoints
    else:
        ours_now = {e.endpoint_id for e in store.endpoints(sweep.id) if e.agency == agency}
        ours_before = {e.endpoint_id for e in store.endpoints(previous.id) if e.agency == agency}
        new = [e for e in diff.new_endpoints if e in ours_now]
        gone = [e for e in diff.gone_endpoints if e in ours_before]
    changes: dict[str, Any] = {
        "previous_sweep": previous.id,
        "previous_started_at": previous.started_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "counts": {**{kind: len(items) for kind, items in entries.items()},
                   "new_endpoints": len(new), "gone_endpoints": len(gone)},
        "limit": CHANGES_LIMIT,
    }
    for kind, items in entries.items():
        items.sort(key=lambda e: (-e.severity.rank, e.endpoint_id, e.check_id))
        changes[kind] = [entry.to_dict() for entry in items[:CHANGES_LIMIT]]
    changes["new_endpoints"] = list(new[:CHANGES_LIMIT])
    changes["gone_endpoints"] = list(gone[:CHANGES_LIMIT])
    return changes
