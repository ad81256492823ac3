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
    help: str
    labels: tuple[str, ...]
    scope: str
    fanout: int = 1
    summary: bool = False  # part of push_summary / write_textfile
    schemes: frozenset[str] | None = None  # endpoint families: only for these URL schemes


def _f(name, type_, help_, labels, scope, fanout=1, summary=False, schemes=None) -> Family:
    return Family(name, type_, help_, tuple(labels), scope, fanout, summary, frozenset(schemes) if schemes else None)


FAMILIES: tuple[Family, ...] = (
    # -- the latest complete sweep of each inventory (pushed summary: these and the scores)
    _f("interop_sweep_info", "gauge", "The sweep whose results the interop_sweep_*, national, province, "
       "agency and endpoint metrics show (always 1).",
       INV + ("sweep", "profile", "engine", "state"), "inventory", summary=True),
    _f("interop_sweep_start_timestamp_seconds", "gauge", "When the sweep started (Unix time).",
       INV, "inventory", summary=True),
    _f("interop_sweep_end_timestamp_seconds", "gauge", "When the sweep ended (Unix time).",
       INV, "inventory", summary=True),
    _f("interop_sweep_duration_seconds", "gauge", "Wall time of the sweep.", INV, "inventory", summary=True),
    _f("interop_sweep_endpoints", "gauge", "Endpoints in the sweep.", INV, "inventory", summary=True),
    _f("interop_sweep_endpoints_unreachable", "gauge", "Endpoints of the sweep that could not be connected to.",
       INV, "inventory", summary=True),
    _f("interop_sweep_results", "gauge", "Check results of the sweep by status (waivers applied).",
       INV + ("status",), "inventory", fanout=len(STATUSES), summary=True),
    _f("interop_sweep_probe_duration_seconds", "histogram", "Time each endpoint's probe took in the sweep.",
       INV, "inventory", fanout=HISTOGRAM_SERIES, summary=True),
    _f("interop_sweep_latest_state", "gauge", "State of the newest sweep of the inventory, complete or not "
       "(1 for its state, 0 for the others).",
       INV + ("state",), "inventory", fanout=len(SWEEP_STATES)),
    _f("interop_check_failures", "gauge", "Endpoints failing the check in the sweep (waived failures excluded).",
       INV + ("check", "severity"), "check", summary=True),
    # -- scores (orchestrator.scoring: severity-weighted, error lowers confidence only)
    _f("interop_national_compliance_ratio", "gauge", "Severity-weighted compliance of all endpoints (0-1); "
       "absent when nothing could be determined.", INV, "inventory", summary=True),
    _f("interop_national_confidence_ratio", "gauge", "Share of the checked weight that could be determined "
       "(errors lower it).", INV, "inventory", summary=True),
    _f("interop_national_spbe_index", "gauge", "SPBE-style index 1-5 (1 + 4 x compliance).",
       INV, "inventory", summary=True),
    _f("interop_province_compliance_ratio", "gauge", "Compliance of the endpoints of a province (0-1).",
       INV + ("province",), "province", summary=True),
    _f("interop_province_confidence_ratio", "gauge", "Confidence of the province's compliance (0-1).",
       INV + ("province",), "province", summary=True),
    _f("interop_province_spbe_index", "gauge", "SPBE-style index of the province (1-5).",
       INV + ("province",), "province", summary=True),
    _f("interop_agency_info", "gauge", "An agency of the inventory (always 1): its level and province.",
       AGENCY + ("agency_level", "province"), "agency", summary=True),
    _f("interop_agency_compliance_ratio", "gauge", "Compliance of the agency's endpoints (0-1).",
       AGENCY, "agency", summary=True),
    _f("interop_agency_confidence_ratio", "gauge", "Confidence of the agency's compliance (0-1).",
       AGENCY, "agency", summary=True),
    _f("interop_agency_spbe_index", "gauge", "SPBE-style index of the agency (1-5).",
       AGENCY, "agency", summary=True),
    _f("interop_agency_endpoints", "gauge", "Endpoints of the agency in the sweep.", AGENCY, "agency",
       summary=True),
    _f("interop_agency_endpoints_unreachable", "gauge", "Endpoints of the agency that could not be connected to.",
       AGENCY, "agency", summary=True),
    _f("interop_agency_results", "gauge", "Check results of the agency by status (waivers applied).",
       AGENCY + ("status",), "agency", fanout=len(STATUSES), summary=True),
    _f("interop_agency_check_failures", "gauge", "Endpoints of the agency failing the check "
       "(waived failures excluded); present for every check the agency was tested with.",
       AGENCY + ("check", "severity"), "agency_check"),
    # -- per endpoint: the few series the budget allows
    _f("interop_endpoint_info", "gauge", "An endpoint of the inventory (always 1): application, protocol, "
       "agency level and province.",
       ENDPOINT + ("application", "protocol", "agency_level", "province"), "endpoint"),
    _f("interop_endpoint_up", "gauge", "1 if the probe reached the endpoint and it answered, else 0.",
       ENDPOINT, "endpoint"),
    _f("interop_endpoint_compliance_ratio", "gauge", "Compliance of the endpoint (0-1); absent when nothing "
       "could be determined.", ENDPOINT, "endpoint"),
    _f("interop_endpoint_probe_duration_seconds", "gauge", "Time the endpoint's probe took.",
       ENDPOINT, "endpoint"),
    _f("interop_endpoint_tls_cert_expiry_timestamp_seconds", "gauge", "notAfter of the endpoint's TLS "
       "certificate (Unix time).", ENDPOINT, "endpoint", schemes=("grpcs",)),
    _f("interop_endpoint_ssh_host_key_changed", "gauge", "1 if a host-key type seen in both this and the "
       "previous complete sweep now has another fingerprint, else 0; absent with nothing to compare.",
       ENDPOINT, "endpoint", schemes=("ssh",)),
    # -- sweeps in progress (read from the store on every scrape)
    _f("interop_running_sweep_info", "gauge", "A sweep in state running (always 1).",
       RUNNING + ("profile", "engine"), "running_sweep"),
    _f("interop_running_sweep_start_timestamp_seconds", "gauge", "When the running sweep started (Unix time).",
       RUNNING, "running_sweep"),
    _f("interop_running_sweep_endpoints", "gauge", "Endpoints in the running sweep.", RUNNING, "running_sweep"),
    _f("interop_running_sweep_endpoints_done", "gauge", "Endpoints of the running sweep with a recorded result.",
       RUNNING, "running_sweep"),
    _f("interop_running_sweep_endpoints_in_flight", "gauge", "Endpoints handed to a running worker and not yet "
       "recorded, as the driver last reported.", RUNNING, "running_sweep"),
    _f("interop_running_sweep_workers", "gauge", "Workers that have reported to the driver.",
       RUNNING, "running_sweep"),
    _f("interop_running_sweep_heartbeat_timestamp_seconds", "gauge", "When the sweep driver last reported "
       "(Unix time); stale when the driver died.", RUNNING, "running_sweep"),
    _f("interop_running_sweep_results", "gauge", "Check results recorded so far by status.",
       RUNNING + ("status",), "running_sweep", fanout=len(STATUSES)),
    _f("interop_running_sweep_endpoint_errors", "gauge", "Endpoints recorded so far whose probe failed as a "
       "whole, by error class.", RUNNING + ("error_class",), "running_sweep", fanout=len(ERROR_CLASSES)),
    _f("interop_running_sweep_probe_duration_seconds", "histogram", "Time each recorded probe of the running "
       "sweep took.", RUNNING, "running_sweep", fanout=HISTOGRAM_SERIES),
    # -- the exporter itself
    _f("interop_store_up", "gauge", "1 if the results store could be read on this scrape.", (), "exporter"),
    _f("interop_exporter_errors", "counter", "Store reads or snapshot builds that failed since start.",
       (), "exporter"),
    _f("interop_exporter_snapshot_build_seconds", "gauge", "Time the last build of the inventory's metrics "
       "from its latest complete sweep took.", INV, "inventory"),
    _f("interop_waivers_active", "gauge", "Waivers in force today (serve --waivers).", (), "exporter"),
    _f("interop_waivers_expired", "gauge", "Waivers past their expiry date (serve --waivers).", (), "exporter"),
)

BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}
SUMMARY_FAMILIES: tuple[Family, ...] = tuple(f for f in FAMILIES if f.summary)
