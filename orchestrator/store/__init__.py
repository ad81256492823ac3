"""The results store: sweeps, their endpoints, outcomes and check results in SQLite.

One database holds the whole history. A sweep is created with its endpoint
list; every finished endpoint gets one *outcome* row (the "done" marker that
resume relies on) and one *result* row per check, written in the same
transaction so a reader never sees an endpoint half-recorded.

Memory stays flat whatever the sweep size: reads that can be large
(``results``, ``outcomes``, ``diff``) iterate cursors instead of fetching
whole sweeps.

Callers hold a ``Store`` (facade) and exchange the plain records of
``records``; endpoints go in and come out as ``EndpointMeta``
(``orchestrator.endpoint_meta``), and every ``ResultRow`` is its endpoint's
metadata plus one check result. Behind it: ``db`` (connections, WAL,
read-only mode) with ``migrations`` (the schema), ``write`` (the sweep
driver's side) and ``read`` (reports, metrics and the CLI).
"""

from orchestrator.store.facade import Store
from orchestrator.store.records import (
    AmbiguousSweep,
    DiffEntry,
    LiveProgress,
    Outcome,
    OutcomeBrief,
    Progress,
    Recording,
    ResultRow,
    StoreError,
    StoreNotFound,
    Summary,
    Sweep,
    SweepDiff,
    SweepState,
    UnknownSweep,
)

__all__ = [
    "AmbiguousSweep",
    "DiffEntry",
    "LiveProgress",
    "Outcome",
    "OutcomeBrief",
    "Progress",
    "Recording",
    "ResultRow",
    "Store",
    "StoreError",
    "StoreNotFound",
    "Summary",
    "Sweep",
    "SweepDiff",
    "SweepState",
    "UnknownSweep",
]
