"""The trend of a report: the scope's index over the last sweeps of the same inventory and profile.

Earlier sweeps are read through the store's cheap path (``Store.statuses``:
no reasons, no evidence), each endpoint rated by ``Tally`` and the scope by
``whatif.group_index`` (the same sums as ``GroupTally``, in the same
endpoint order as the report). The report's waivers are applied to every
sweep (without counting them), so the last point, this sweep, is the
report's own index and the line compares like with like.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.reports.whatif import group_index
from orchestrator.scoring import CAPPING_STATUS, Score, Tally, predicate_dict
from orchestrator.store import Store, Sweep, SweepState
from orchestrator.waivers import WAIVABLE, WaiverRow, Waivers
from probes.model import Status

TREND_SWEEPS = 12  # points of the line, this sweep included


def trend(
    store: Store, sweep: Sweep, current: Score, agency: str | None, waivers: Waivers | None, lang: str
) -> list[dict[str, Any]]:
    """``[{sweep, started_at, index, predicate}]``, oldest first, ending with ``sweep`` (scored ``current``)."""
    earlier = [
        s
        for s in store.list_sweeps(None, inventory_name=sweep.inventory_name)
        if s.profile == sweep.profile
        and s.state is SweepState.COMPLETE
        and (s.started_at, s.id) < (sweep.started_at, sweep.id)
    ][: TREND_SWEEPS - 1]
    points = [_point(s, scope_index(store, s, agency, waivers), lang) for s in reversed(earlier)]
    points.append(_point(sweep, current.index, lang))
    return points


def scope_index(store: Store, sweep: Sweep, agency: str | None, waivers: Waivers | None) -> float | None:
    """The index of a sweep's scope (the nation, or one agency), as its report would give it."""
    metas = {m.endpoint_id: m for m in store.endpoints(sweep.id) if agency is None or m.agency == agency}
    rated = dict(_endpoint_ratings(store, sweep, metas, agency, waivers))
    # In the report's endpoint order (the sweep's plan), as its GroupTally adds them.
    return group_index(rated[e] for e in metas if e in rated)


def _endpoint_ratings(
    store: Store, sweep: Sweep, metas: dict[str, EndpointMeta], agency: str | None, waivers: Waivers | None
) -> Iterator[tuple[str, tuple[float, float | None]]]:
    """``(endpoint id, (weight, capped index))`` from its stored statuses, the waivers applied.

    Rows are counted per (status, severity) and folded into the endpoint's
    ``Tally`` once it ends, each fail noted as it passes (as the report's
    builder counts): a national sweep is ~640k rows.
    """
    rows = store.statuses(sweep.id, agency=agency)
    for endpoint_id, endpoint_rows in itertools.groupby(rows, key=operator.itemgetter(0)):
        meta = metas.get(endpoint_id)
        if meta is None:
            continue
        tally = Tally()
        counts: dict[tuple[str, str], int] = {}
        for _, check_id, status, severity in endpoint_rows:
            if (
                waivers is not None
                and status in WAIVABLE
                and waivers.match(
                    WaiverRow(status, check_id, endpoint_id, meta.url, meta.agency, meta.application)
                )
                is not None
            ):
                status = Status.WAIVED.value
            counts[status, severity] = counts.get((status, severity), 0) + 1
            if status == CAPPING_STATUS:
                tally.open_fail(severity, check_id)
        for (status, severity), count in counts.items():
            tally.add(status, severity, count)
        yield endpoint_id, (tally.weight, tally.index())


def _point(sweep: Sweep, index: float | None, lang: str) -> dict[str, Any]:
    return {
        "sweep": sweep.id,
        "started_at": sweep.started_at.astimezone(UTC).isoformat(timespec="seconds"),
        "index": index,
        "predicate": predicate_dict(index, lang),
    }
