"""Every metric the exporter can emit, as data: name, type, help, labels, scope.

The table drives the exposition (one family per name, however many
inventories contribute samples), the pushed/textfile summary (``summary``),
the cardinality budget (``scope`` × ``fanout``) and the documentation test.

Scopes (where one set of series exists):

* ``endpoint``: one per endpoint of the latest complete sweep of an inventory
  (``schemes`` restricts a family to ssh:// or grpcs:// endpoints);
* ``agency_check``: one per (agency, check) with results in that sweep;
* ``check``, ``agency``, ``province``, ``inventory``: per check, agency,
  province or inventory of that sweep (``national`` figures are per inventory);
* ``running_sweep``: one per sweep in state ``running``;
* ``exporter``: one per exporter process.

``fanout`` is the number of series per scope unit (statuses, histogram
buckets, one-hot states); labels with a fixed vocabulary (status, state,
error_class, le) are not taken from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.metrics.labels import ERROR_CLASSES, STATUSES
from orchestrator.store import SweepState

# Probe durations: most probes end within a second or two; the default probe
# deadline is 30 s, so the top buckets show timeouts.
DURATION_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
SWEEP_STATES: tuple[str, ...] = tuple(state.value for state in SweepState)

INV = ("inventory",)
ENDPOINT = ("inventory", "agency", "endpoint")
AGENCY = ("inventory", "agency")
RUNNING = ("inventory", "sweep")
HISTOGRAM_SERIES = len(DURATION_BUCKETS) + 1 + 2  # buckets with +Inf, _sum, _count


@dataclass(frozen=True)
class Family:
    name: str  # counters: without "_total" (the sample name has it)
    type: str  # gauge | counter | histogram
    labels: tuple[str, ...]
    scope: str
    help: str
    fanout: int = 1
    summary: bool = False  # part of push_summary / write_textfile
    schemes: frozenset[str] | None = None  # endpoint families: only for these URL schemes
    # Shown to an agency token (metrics.agency_view) for the inventories it is in, although it has no
    # agency label: it names no agency and counts nothing of any (when the sweep ran, whether the store
    # answers). Families with an agency label are shown filtered to the agency; the rest never.
    agency_shared: bool = False


FAMILIES: tuple[Family, ...] = (
    # -- the latest complete sweep of each inventory
    Family(
        "interop_sweep_info",
        "gauge",
        INV + ("sweep", "profile", "engine", "state"),
        "inventory",
        "The sweep whose results the interop_sweep_*, national, province, agency and endpoint metrics "
        "show (always 1).",
        summary=True,
        agency_shared=True,
    ),
    Family(
        "interop_sweep_start_timestamp_seconds",
        "gauge",
        INV,
        "inventory",
        "When the sweep started (Unix time).",
        summary=True,
        agency_shared=True,
    ),
    Family(
        "interop_sweep_end_timestamp_seconds",
        "gauge",
        INV,
        "inventory",
        "When the sweep ended (Unix time).",
        summary=True,
        agency_shared=True,
    ),
    Family(
        "interop_sweep_duration_seconds", "gauge", INV, "inventory", "Wall time of the sweep.", summary=True
    ),
    Family("interop_sweep_endpoints", "gauge", INV, "inventory", "Endpoints in the sweep.", summary=True),
    Family(
        "interop_sweep_endpoints_unreachable",
        "gauge",
        INV,
        "inventory",
        "Endpoints of the sweep that could not be connected to.",
        summary=True,
    ),
    Family(
        "interop_sweep_results",
        "gauge",
        INV + ("status",),
        "inventory",
        "Check results of the sweep by status (waivers applied).",
        fanout=len(STATUSES),
        summary=True,
    ),
    Family(
        "interop_sweep_probe_duration_seconds",
        "histogram",
        INV,
        "inventory",
        "Time each endpoint's probe took in the sweep.",
        fanout=HISTOGRAM_SERIES,
        summary=True,
    ),
    Family(
        "interop_sweep_latest_state",
        "gauge",
        INV + ("state",),
        "inventory",
        "State of the newest sweep of the inventory, complete or not (1 for its state, 0 for the others).",
        fanout=len(SWEEP_STATES),
        agency_shared=True,
    ),
    Family(
        "interop_check_failures",
        "gauge",
        INV + ("check", "severity"),
        "check",
        "Endpoints failing the check in the sweep (waived failures excluded).",
        summary=True,
    ),
    # -- scores (orchestrator.scoring: severity-weighted; an error lowers confidence only; each
    #    endpoint's index capped by its worst open fail, groups averaging the capped indices)
    Family(
        "interop_national_compliance_ratio",
        "gauge",
        INV,
        "inventory",
        "Severity-weighted compliance of all endpoints (0-1); absent when nothing could be determined.",
        summary=True,
    ),
    Family(
        "interop_national_confidence_ratio",
        "gauge",
        INV,
        "inventory",
        "Share of the checked weight that could be determined (errors lower it).",
        summary=True,
    ),
    Family(
        "interop_national_spbe_index",
        "gauge",
        INV,
        "inventory",
        "SPBE-style index 1-5: the weighted mean of the endpoints' indices, each 1 + 4 x compliance "
        "capped by its worst open fail.",
        summary=True,
    ),
    Family(
        "interop_national_capped_endpoints",
        "gauge",
        INV,
        "inventory",
        "Endpoints whose index a cap lowered (an open fail: critical caps in Kurang, high in Cukup, "
        "medium in Baik, low in Sangat Baik); present with the index.",
        summary=True,
    ),
    Family(
        "interop_national_cap_info",
        "gauge",
        INV + ("check", "severity"),
        "inventory",
        "Why the national index is capped (always 1): the check whose open fail caps the most "
        "endpoints; absent when no cap lowered any.",
        summary=True,
    ),
    Family(
        "interop_province_compliance_ratio",
        "gauge",
        INV + ("province",),
        "province",
        "Compliance of the endpoints of a province (0-1).",
        summary=True,
    ),
    Family(
        "interop_province_confidence_ratio",
        "gauge",
        INV + ("province",),
        "province",
        "Confidence of the province's compliance (0-1).",
        summary=True,
    ),
    Family(
        "interop_province_spbe_index",
        "gauge",
        INV + ("province",),
        "province",
        "SPBE-style index of the province (1-5), from its endpoints' capped indices.",
        summary=True,
    ),
    Family(
        "interop_province_capped_endpoints",
        "gauge",
        INV + ("province",),
        "province",
        "Endpoints of the province whose index a cap lowered; present with the index.",
        summary=True,
    ),
    Family(
        "interop_province_cap_info",
        "gauge",
        INV + ("province", "check", "severity"),
        "province",
        "Why the province's index is capped (always 1): the check whose open fail caps the most of "
        "its endpoints; absent when no cap lowered any.",
        summary=True,
    ),
    Family(
        "interop_agency_info",
        "gauge",
        AGENCY + ("agency_level", "province"),
        "agency",
        "An agency of the inventory (always 1): its level and province.",
        summary=True,
    ),
    Family(
        "interop_agency_compliance_ratio",
        "gauge",
        AGENCY,
        "agency",
        "Compliance of the agency's endpoints (0-1).",
        summary=True,
    ),
    Family(
        "interop_agency_confidence_ratio",
        "gauge",
        AGENCY,
        "agency",
        "Confidence of the agency's compliance (0-1).",
        summary=True,
    ),
    Family(
        "interop_agency_spbe_index",
        "gauge",
        AGENCY,
        "agency",
        "SPBE-style index of the agency (1-5), from its endpoints' capped indices.",
        summary=True,
    ),
    Family(
        "interop_agency_capped_endpoints",
        "gauge",
        AGENCY,
        "agency",
        "Endpoints of the agency whose index a cap lowered; present with the index.",
        summary=True,
    ),
    Family(
        "interop_agency_cap_info",
        "gauge",
        AGENCY + ("check", "severity"),
        "agency",
        "Why the agency's index is capped (always 1): the check whose open fail caps the most of "
        "its endpoints; absent when no cap lowered any.",
        summary=True,
    ),
    Family(
        "interop_agency_endpoints",
        "gauge",
        AGENCY,
        "agency",
        "Endpoints of the agency in the sweep.",
        summary=True,
    ),
    Family(
        "interop_agency_endpoints_unreachable",
        "gauge",
        AGENCY,
        "agency",
        "Endpoints of the agency that could not be connected to.",
        summary=True,
    ),
    Family(
        "interop_agency_results",
        "gauge",
        AGENCY + ("status",),
        "agency",
        "Check results of the agency by status (waivers applied).",
        fanout=len(STATUSES),
        summary=True,
    ),
    Family(
        "interop_agency_check_failures",
        "gauge",
        AGENCY + ("check", "severity"),
        "agency_check",
        "Endpoints of the agency failing the check (waived failures excluded); present for every check "
        "the agency was tested with.",
    ),
    # -- per endpoint: the few series the budget allows
    Family(
        "interop_endpoint_info",
        "gauge",
        ENDPOINT + ("application", "protocol", "agency_level", "province"),
        "endpoint",
        "An endpoint of the inventory (always 1): application, protocol, agency level and province.",
    ),
    Family(
        "interop_endpoint_up",
        "gauge",
        ENDPOINT,
        "endpoint",
        "1 if the probe reached the endpoint and it answered, else 0 (unreachable, every check failed "
        "for a transient cause, or outside the inventory's scope).",
    ),
    Family(
        "interop_endpoint_compliance_ratio",
        "gauge",
        ENDPOINT,
        "endpoint",
        "Compliance of the endpoint (0-1); absent when nothing could be determined.",
    ),
    Family(
        "interop_endpoint_probe_duration_seconds",
        "gauge",
        ENDPOINT,
        "endpoint",
        "Time the endpoint's probe took.",
    ),
    Family(
        "interop_endpoint_tls_cert_expiry_timestamp_seconds",
        "gauge",
        ENDPOINT,
        "endpoint",
        "notAfter of the endpoint's TLS certificate (Unix time).",
        schemes=frozenset({"grpcs"}),
    ),
    Family(
        "interop_endpoint_ssh_host_key_changed",
        "gauge",
        ENDPOINT,
        "endpoint",
        "1 if a host-key type seen in both this and the previous complete sweep now has another "
        "fingerprint, else 0; absent with nothing to compare.",
        schemes=frozenset({"ssh"}),
    ),
    # -- sweeps in progress (read from the store on every scrape)
    Family(
        "interop_running_sweep_info",
        "gauge",
        RUNNING + ("profile", "engine"),
        "running_sweep",
        "A sweep in state running (always 1).",
    ),
    Family(
        "interop_running_sweep_start_timestamp_seconds",
        "gauge",
        RUNNING,
        "running_sweep",
        "When the running sweep started (Unix time).",
    ),
    Family(
        "interop_running_sweep_endpoints",
        "gauge",
        RUNNING,
        "running_sweep",
        "Endpoints in the running sweep.",
    ),
    Family(
        "interop_running_sweep_endpoints_done",
        "gauge",
        RUNNING,
        "running_sweep",
        "Endpoints of the running sweep with a recorded result.",
    ),
    Family(
        "interop_running_sweep_endpoints_in_flight",
        "gauge",
        RUNNING,
        "running_sweep",
        "Endpoints handed to a running worker and not yet recorded, as the driver last reported.",
    ),
    Family(
        "interop_running_sweep_workers",
        "gauge",
        RUNNING,
        "running_sweep",
        "Workers that have reported to the driver.",
    ),
    Family(
        "interop_running_sweep_heartbeat_timestamp_seconds",
        "gauge",
        RUNNING,
        "running_sweep",
        "When the sweep driver last reported (Unix time); stale when the driver died.",
    ),
    Family(
        "interop_running_sweep_results",
        "gauge",
        RUNNING + ("status",),
        "running_sweep",
        "Check results recorded so far by status.",
        fanout=len(STATUSES),
    ),
    Family(
        "interop_running_sweep_endpoint_errors",
        "gauge",
        RUNNING + ("error_class",),
        "running_sweep",
        "Endpoints recorded so far whose probe failed as a whole, by error class.",
        fanout=len(ERROR_CLASSES),
    ),
    Family(
        "interop_running_sweep_probe_duration_seconds",
        "histogram",
        RUNNING,
        "running_sweep",
        "Time each recorded probe of the running sweep took.",
        fanout=HISTOGRAM_SERIES,
    ),
    # -- the exporter itself
    Family(
        "interop_store_up",
        "gauge",
        (),
        "exporter",
        "1 if the results store could be read on this scrape.",
        agency_shared=True,
    ),
    Family(
        "interop_exporter_errors",
        "counter",
        (),
        "exporter",
        "Store reads, snapshot builds or waivers reloads that failed since start.",
    ),
    Family(
        "interop_exporter_snapshot_build_seconds",
        "gauge",
        INV,
        "inventory",
        "Time the last build of the inventory's metrics from its latest complete sweep took.",
    ),
    Family("interop_waivers_active", "gauge", (), "exporter", "Waivers in force today (serve --waivers)."),
    Family(
        "interop_waivers_expired",
        "gauge",
        (),
        "exporter",
        "Waivers past their expiry date (serve --waivers).",
    ),
)

BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}
SUMMARY_FAMILIES: tuple[Family, ...] = tuple(f for f in FAMILIES if f.summary)
