"""The changes section of a report: what changed since the previous complete sweep of the same inventory.

Status changes (regressions, fixes, changed) come from ``Store.diff``; the
per-endpoint view (``by_endpoint``: new, fixed and still open checks) merges
the two sweeps' stored statuses (``Store.statuses``, both ordered by
endpoint then check), one endpoint at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from orchestrator.store import Store, Sweep, SweepState
from probes.messages import render_reason
from probes.model import Status

CHANGES_LIMIT = 5_000  # entries per list of the changes section (counts are always complete)
# "Open": what a reader has to act on (and what the fix list clears). "Fixed" needs a status known to
# be good now (an error is not).
OPEN_STATUSES = frozenset({Status.FAIL.value, Status.WARN.value})
GOOD_STATUSES = frozenset({Status.PASS.value, Status.SKIP.value})


def _previous_complete(store: Store, sweep: Sweep) -> Sweep | None:
    """The latest complete sweep of the same inventory that started before ``sweep``."""
    for candidate in store.list_sweeps(None, inventory_name=sweep.inventory_name):
        if (
            candidate.id != sweep.id
            and candidate.state is SweepState.COMPLETE
            and (candidate.started_at, candidate.id) < (sweep.started_at, sweep.id)
        ):
            return candidate
    return None


def changes_since_previous(
    store: Store, sweep: Sweep, agency: str | None, lang: str = "en"
) -> dict[str, Any] | None:
    """What changed since the previous complete sweep of the same inventory (scope applied).

    Status changes compare stored statuses (waivers are not applied to history);
    their reasons are in ``lang``.
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
        "previous_started_at": previous.started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "counts": {
            **{kind: len(items) for kind, items in entries.items()},
            "new_endpoints": len(new),
            "gone_endpoints": len(gone),
        },
        "limit": CHANGES_LIMIT,
    }
    for kind, items in entries.items():
        items.sort(key=lambda e: (-e.severity.rank, e.endpoint_id, e.check_id))
        changes[kind] = [
            {**entry.to_dict(), "reason": render_reason(entry.reason, entry.message, lang)}
            for entry in items[:CHANGES_LIMIT]
        ]
    changes["new_endpoints"] = list(new[:CHANGES_LIMIT])
    changes["gone_endpoints"] = list(gone[:CHANGES_LIMIT])
    changes["by_endpoint"], changes["by_endpoint_counts"] = open_changes(store, previous, sweep, agency)
    return changes


def open_changes(
    store: Store, previous: Sweep, sweep: Sweep, agency: str | None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per endpoint of ``sweep`` (of ``agency``, if given): checks open now and not before (``new``),
    open before and good now (``fixed``), open both times (``still_open``); stored statuses.

    Entries by endpoint id, only endpoints with something to say, at most
    ``CHANGES_LIMIT``; the counts cover every endpoint.
    """
    entries: list[dict[str, Any]] = []
    counts = {"endpoints": 0, "new": 0, "fixed": 0, "still_open": 0}
    before_stream = _by_endpoint(store.statuses(previous.id, agency=agency))
    before_id, before = next(before_stream, (None, {}))
    for endpoint_id, now in _by_endpoint(store.statuses(sweep.id, agency=agency)):
        while before_id is not None and before_id < endpoint_id:
            before_id, before = next(before_stream, (None, {}))
        was = before if before_id == endpoint_id else {}
        entry = {
            "new": sorted(
                c for c, s in now.items() if s in OPEN_STATUSES and was.get(c) not in OPEN_STATUSES
            ),
            "fixed": sorted(c for c, s in was.items() if s in OPEN_STATUSES and now.get(c) in GOOD_STATUSES),
            "still_open": sorted(
                c for c, s in now.items() if s in OPEN_STATUSES and was.get(c) in OPEN_STATUSES
            ),
        }
        if not any(entry.values()):
            continue
        counts["endpoints"] += 1
        for kind, checks in entry.items():
            counts[kind] += len(checks)
        if len(entries) < CHANGES_LIMIT:
            entries.append({"endpoint": endpoint_id, **entry})
    return entries, counts


def _by_endpoint(rows: Iterator[tuple[str, str, str, str]]) -> Iterator[tuple[str, dict[str, str]]]:
    """``(endpoint id, {check id: status})`` from ``Store.statuses`` rows (ordered by endpoint)."""
    for endpoint_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        yield endpoint_id, {check_id: status for _, check_id, status, _ in group}
