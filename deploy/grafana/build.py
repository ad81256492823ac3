"""Grafana dashboards of spbe-interop as plain dicts: national overview, agency drill-down, operations.

    .venv/bin/python deploy/grafana/build.py           # writes national.json, agency.json, operations.json
    .venv/bin/python deploy/grafana/build.py --check   # exit 1 if a committed JSON is not what this builds

Every panel queries the Prometheus picked in the ``datasource`` variable, so
a dashboard imports as it is (Dashboards > New > Import) or from a file
provider. The PromQL reads only the metrics of orchestrator/metrics/families.py,
the recording rules of deploy/prometheus/rules.yml and Prometheus' own (``up``,
``scrape_*``, ``ALERTS``): tests/metrics/test_dashboards.py holds them to that
and tests/metrics/test_promql_live.py runs every query against a real
Prometheus. Predicate bands come from ``orchestrator.scoring``, the series
budget from ``orchestrator.metrics.budget``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere in the checkout

from orchestrator.metrics.budget import NATIONAL_BUDGET
from orchestrator.scoring import PREDICATES

SCHEMA_VERSION = 39  # Grafana 10.4 and later
DS = {"type": "prometheus", "uid": "${datasource}"}
TAG = "spbe-interop"
INV = 'inventory="$inventory"'
AGENCY = 'inventory="$inventory", agency="$agency"'
JOB = 'job="$job"'
AGENCY_UID = "spbe-interop-agency"
QUANTILES = (0.5, 0.95, 0.99)

# Presentation of the SPBE predicates (the bands themselves are orchestrator.scoring.PREDICATES).
PREDICATE_COLOURS = {
    "memuaskan": "dark-green",
    "sangat_baik": "green",
    "baik": "yellow",
    "cukup": "orange",
    "kurang": "red",
}
STATUS_COLOURS = {
    "pass": "green",
    "fail": "red",
    "warn": "orange",
    "error": "purple",
    "skip": "text",
    "waived": "blue",
}
# Label columns no table needs: the scrape's own and the inventory (a variable already).
HIDDEN_COLUMNS = ("Time", "__name__", "job", "instance", "inventory")
UP = {"1": ("up", "green"), "0": ("down", "red")}


def q(metric: str, matchers: str = INV) -> str:
    """A series selector: ``q("interop_agency_endpoints", AGENCY)``."""
    return f"{metric}{{{matchers}}}"


def joined(metric: str, labels: str) -> str:
    """``metric`` of each agency with ``labels`` (agency_level, province) of interop_agency_info."""
    return f"{q(metric)} * on (inventory, agency) group_left ({labels}) {q('interop_agency_info')}"


# -- targets, panels, layout -----------------------------------------------------------------------


def target(expr: str, legend: str = "", *, instant: bool = False) -> dict:
    """One PromQL query: an instant one for current values, a range one for time series."""
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }


def now(expr: str, legend: str = "") -> dict:
    return target(expr, legend, instant=True)


def steps(*pairs: tuple[str, float | None]) -> list[dict]:
    """Threshold steps, lowest first: ``steps(("green", None), ("red", 120))``."""
    return [{"color": colour, "value": value} for colour, value in pairs]


def panel(
    kind: str,
    title: str,
    targets: list[dict],
    *,
    width: int = 6,
    height: int = 6,
    unit: str | None = None,
    decimals: int | None = None,
    minmax: tuple[float, float] | None = None,
    thresholds: list[dict] | None = None,
    mappings: list[dict] | None = None,
    links: list[dict] = (),
    overrides: list[dict] = (),
    options: dict | None = None,
    transformations: list[dict] = (),
    description: str = "",
) -> dict:
    defaults: dict = {}
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    if minmax:
        defaults["min"], defaults["max"] = minmax
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
        if kind == "timeseries":  # a line at each step (the budget); the series keep their colours
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        else:
            defaults["color"] = {"mode": "thresholds"}
    if mappings:
        defaults["mappings"] = mappings
    if links:
        defaults["links"] = list(links)
    out = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"w": width, "h": height},
        "targets": [{**t, "refId": chr(ord("A") + n)} for n, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": options or {},
    }
    if transformations:
        out["transformations"] = list(transformations)
    return out


LAST_VALUE = {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(
    title: str, expr: str, legend: str = "", *, text: str = "value", width: int = 4, height: int = 4, **kw
) -> dict:
    """A current value; ``text="name"`` shows the legend instead (a sweep id, a state)."""
    options = {
        "reduceOptions": LAST_VALUE,
        "textMode": text,
        "graphMode": "none",
        "justifyMode": "auto",
        "colorMode": "background" if kw.get("thresholds") or kw.get("mappings") else "none",
    }
    return panel("stat", title, [now(expr, legend)], width=width, height=height, options=options, **kw)


def bars(title: str, targets: list[dict], **kw) -> dict:
    options = {
        "reduceOptions": LAST_VALUE,
        "orientation": "horizontal",
        "displayMode": "basic",
        "showUnfilled": True,
    }
    return panel("bargauge", title, targets, options=options, **kw)


def series(title: str, targets: list[dict], **kw) -> dict:
    options = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return panel("timeseries", title, targets, options=options, **kw)


def table(
    title: str, targets: list[dict], columns: dict[str, str], *, hide: tuple[str, ...] = (), **kw
) -> dict:
    """Instant queries as one table, merged on their labels; ``columns`` renames columns (a value
    column is "Value", or "Value #A", "Value #B" ... with several queries)."""
    merge = [{"id": "merge", "options": {}}] if len(targets) > 1 else []
    organize = {
        "id": "organize",
        "options": {"excludeByName": dict.fromkeys(HIDDEN_COLUMNS + hide, True), "renameByName": columns},
    }
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    tables = [{**t, "format": "table", "instant": True, "range": False} for t in targets]
    return panel("table", title, tables, transformations=merge + [organize], options=options, **kw)


def column(name: str, **properties) -> dict:
    """Field override of one column: ``column("Probe time", unit="s")``; "_" in a property is a "."."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key.replace("_", "."), "value": value} for key, value in properties.items()],
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def layout(items: list[dict]) -> list[dict]:
    """Ids in order and grid positions: panels flow left to right over 24 columns; a row starts a line."""
    x = y = line_height = 0
    for number, item in enumerate(items, start=1):
        item["id"] = number
        if item["type"] == "row":
            y, x, line_height = y + line_height, 0, 0
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
            continue
        grid = item["gridPos"]
        if x + grid["w"] > 24:
            y, x, line_height = y + line_height, 0, 0
        grid.update(x=x, y=y)
        x, line_height = x + grid["w"], max(line_height, grid["h"])
    return items


# -- what the panels know: predicate bands, value names ----------------------------------------------


def bands() -> list[tuple[object, float | None]]:
    """(predicate, the lower bound of the band above it or None), best band first."""
    # The bounds are shifted by one and one longer: the worst predicate's own minimum bounds no band.
    return list(zip(PREDICATES, (None, *(p.min_index for p in PREDICATES)), strict=False))


def index_thresholds() -> list[dict]:
    """Colour of each band of the SPBE index, lowest first (Grafana's base step has no value)."""
    return steps(
        *(
            (PREDICATE_COLOURS[p.id], None if math.isinf(p.min_index) else p.min_index)
            for p in reversed(PREDICATES)
        )
    )


def predicate_mappings() -> list[dict]:
    """Index -> predicate name (Memuaskan ... Kurang), for the panels that show the predicate."""
    return [
        {
            "type": "range",
            "options": {
                "from": None if math.isinf(band.min_index) else band.min_index,
                "to": None if upper is None else round(upper - 0.001, 3),  # indices have two decimals
                "result": {"text": band.label("id"), "color": PREDICATE_COLOURS[band.id]},
            },
        }
        for band, upper in bands()
    ]


def in_band(metric: str, lower: float, upper: float | None) -> str:
    """1 for each series of ``metric`` in [lower, upper), else 0."""
    parts = [] if math.isinf(lower) else [f"({metric} >= bool {lower:g})"]
    parts += [] if upper is None else [f"({metric} < bool {upper:g})"]
    return " * ".join(parts)


def value_names(names: dict[str, tuple[str, str]]) -> list[dict]:
    """A value mapping: value -> (text, colour)."""
    return [
        {
            "type": "value",
            "options": {
                value: {"text": text, "color": colour, "index": n}
                for n, (value, (text, colour)) in enumerate(names.items())
            },
        }
    ]


def status_colours() -> list[dict]:
    return [
        column(status, color={"mode": "fixed", "fixedColor": colour})
        for status, colour in STATUS_COLOURS.items()
    ]


AGENCY_LINK = {
    "title": "Agency drill-down",
    "targetBlank": False,
    "url": f"/d/{AGENCY_UID}?${{inventory:queryparam}}&var-agency=${{__data.fields.agency}}",
}
RATIO = {"unit": "percentunit", "decimals": 1, "minmax": (0, 1)}
INDEX = {"decimals": 2, "thresholds": index_thresholds(), "minmax": (1, 5)}
INDEX_AXIS = {"decimals": 2, "minmax": (1, 5)}  # time series: a colour per line, not per band
INDEX_COLUMN = column(
    "Index",
    thresholds={"mode": "absolute", "steps": index_thresholds()},
    custom_cellOptions={"type": "color-background"},
    decimals=2,
)


# -- the dashboards ----------------------------------------------------------------------------------


INDEX_METRIC = "interop_agency_spbe_index"  # of each agency


def national() -> dict:
    per_band = [
        now(
            f"sum by (agency_level) ({in_band(q(INDEX_METRIC), band.min_index, upper)}"
            f" * on (inventory, agency) group_left (agency_level) {q('interop_agency_info')})"
        )
        for band, upper in bands()
    ]
    band_columns = {f"Value #{chr(ord('A') + n)}": band.label("id") for n, (band, _) in enumerate(bands())}
    panels = [
        row("National SPBE index"),
        stat(
            "SPBE index",
            q("interop_national_spbe_index"),
            **INDEX,
            description="1-5: the weighted mean of the endpoints' indices, each capped by its worst "
            "open fail.",
        ),
        stat("Predicate", q("interop_national_spbe_index"), mappings=predicate_mappings()),
        stat(
            "Compliance",
            q("interop_national_compliance_ratio"),
            **RATIO,
            width=3,
            description="Severity-weighted share of the checks passed (warn counts half).",
        ),
        stat(
            "Confidence",
            q("interop_national_confidence_ratio"),
            **RATIO,
            width=3,
            description="Share of the checked weight that could be determined; errors lower it.",
        ),
        stat(
            "Endpoints capped",
            q("interop_national_capped_endpoints"),
            width=3,
            description="Endpoints whose index an open fail lowered (critical: Kurang, high: Cukup ...).",
        ),
        stat(
            "Agencies rated Kurang",
            q("interop:agencies_below_cukup:count"),
            width=3,
            thresholds=steps(("green", None), ("red", 1)),
        ),
        table(
            "Main capping check",
            [now(q("interop_national_cap_info"))],
            {},
            hide=("Value",),
            width=4,
            height=4,
        ),
        row("By province and agency level"),
        bars(
            "SPBE index by province",
            [now(f"sort({q('interop_province_spbe_index')})", "{{province}}")],
            **INDEX,
            width=8,
            height=10,
        ),
        table(
            "Provinces",
            [
                now(q("interop_province_spbe_index")),
                now(q("interop_province_compliance_ratio")),
                now(q("interop_province_capped_endpoints")),
                now(f"count by (inventory, province) ({q('interop_agency_info')})"),
            ],
            {
                "province": "Province",
                "Value #A": "Index",
                "Value #B": "Compliance",
                "Value #C": "Capped endpoints",
                "Value #D": "Agencies",
            },
            width=8,
            height=10,
            overrides=[INDEX_COLUMN, column("Compliance", unit="percentunit")],
        ),
        bars(
            "Mean agency index by level",
            [now(f"avg by (agency_level) ({joined(INDEX_METRIC, 'agency_level')})", "{{agency_level}}")],
            **INDEX,
            width=8,
            height=5,
            description="Unweighted mean of the agencies' indices per level (pusat, provinsi, kabupaten, "
            "kota).",
        ),
        panel(
            "barchart",
            "Agencies per predicate and level",
            [{**t, "format": "table"} for t in per_band],
            width=8,
            height=5,
            options={
                "xField": "agency_level",
                "stacking": "normal",
                "orientation": "horizontal",
                "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            },
            transformations=[
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {"excludeByName": {"Time": True}, "renameByName": band_columns},
                },
            ],
            overrides=[
                column(band.label("id"), color={"mode": "fixed", "fixedColor": PREDICATE_COLOURS[band.id]})
                for band, _ in bands()
            ],
        ),
        row("Worst agencies and failing checks"),
        table(
            "Worst agencies",
            [now(f"bottomk(15, {joined(INDEX_METRIC, 'agency_level, province')})")],
            {"agency": "Agency", "agency_level": "Level", "province": "Province", "Value": "Index"},
            width=9,
            height=10,
            links=[AGENCY_LINK],
            overrides=[INDEX_COLUMN],
        ),
        table(
            "Checks failing on the most endpoints",
            [now(f"topk(20, {q('interop_check_failures')} > 0)")],
            {"check": "Check", "severity": "Severity", "Value": "Failing endpoints"},
            width=9,
            height=10,
        ),
        bars(
            "Failing endpoints by severity",
            [now(q("interop:check_failures:sum_by_severity"), "{{severity}}")],
            width=6,
            height=5,
        ),
        table(
            "Checks capping agencies",
            [now(f"count by (check, severity) ({q('interop_agency_cap_info')})")],
            {"check": "Check", "severity": "Severity", "Value": "Agencies capped"},
            width=6,
            height=5,
        ),
        row("Sweeps"),
        stat(
            "Latest complete sweep", q("interop_sweep_info"), "{{sweep}} ({{profile}})", text="name", width=6
        ),
        stat(
            "Its age",
            f"time() - {q('interop_sweep_end_timestamp_seconds')}",
            unit="s",
            decimals=0,
            thresholds=steps(("green", None), ("orange", 8 * 86400)),
        ),
        stat("Its duration", q("interop_sweep_duration_seconds"), unit="s"),
        stat("Newest sweep", f"{q('interop_sweep_latest_state')} == 1", "{{state}}", text="name"),
        bars(
            "Running sweeps: endpoints done",
            [
                now(
                    f"{q('interop_running_sweep_endpoints_done')} / {q('interop_running_sweep_endpoints')}",
                    "{{sweep}}",
                )
            ],
            **RATIO,
            width=6,
            height=4,
        ),
        series(
            "National index over time",
            [target(q("interop_national_spbe_index"), "index")],
            **INDEX_AXIS,
            width=8,
        ),
        series(
            "Failing endpoints by severity over time",
            [target(q("interop:check_failures:sum_by_severity"), "{{severity}}")],
            width=8,
        ),
        table(
            "Firing alerts",
            [
                now(
                    f"count by (alertname, severity) "
                    f'(ALERTS{{alertstate="firing", alertname=~"Interop.+", {INV}}})'
                )
            ],
            {"alertname": "Alert", "severity": "Severity", "Value": "Series"},
            width=8,
        ),
    ]
    return dashboard(
        "spbe-interop-national",
        "SPBE interop: national overview",
        "SPBE index and predicate by province and agency level, worst agencies, failing checks, sweeps.",
        ["inventory"],
        panels,
    )


def agency() -> dict:
    panels = [
        row("The agency"),
        stat("SPBE index", q("interop_agency_spbe_index", AGENCY), **INDEX, width=3),
        stat("Predicate", q("interop_agency_spbe_index", AGENCY), mappings=predicate_mappings(), width=3),
        stat("Compliance", q("interop_agency_compliance_ratio", AGENCY), **RATIO, width=3),
        stat("Confidence", q("interop_agency_confidence_ratio", AGENCY), **RATIO, width=3),
        stat("Endpoints swept", q("interop_agency_endpoints", AGENCY), width=3),
        stat(
            "Unreachable",
            q("interop_agency_endpoints_unreachable", AGENCY),
            width=3,
            thresholds=steps(("green", None), ("red", 1)),
        ),
        stat(
            "Level, province",
            q("interop_agency_info", AGENCY),
            "{{agency_level}}, {{province}}",
            text="name",
            width=3,
        ),
        table(
            "Why the index is capped",
            [now(q("interop_agency_cap_info", AGENCY)), now(q("interop_agency_capped_endpoints", AGENCY))],
            {"check": "Check", "severity": "Severity", "Value #B": "Endpoints capped"},
            hide=("agency", "Value #A"),
            width=3,
            height=4,
        ),
        row("Endpoints"),
        table(
            "Endpoints",
            [
                now(q(metric, AGENCY))
                for metric in (
                    "interop_endpoint_info",
                    "interop_endpoint_up",
                    "interop_endpoint_compliance_ratio",
                    "interop_endpoint_probe_duration_seconds",
                )
            ],
            {
                "endpoint": "Endpoint",
                "application": "Application",
                "protocol": "Protocol",
                "Value #B": "Up",
                "Value #C": "Compliance",
                "Value #D": "Probe time",
            },
            hide=("agency", "agency_level", "province", "Value #A"),
            width=24,
            height=9,
            overrides=[
                column("Up", mappings=value_names(UP), custom_cellOptions={"type": "color-text"}),
                column("Compliance", unit="percentunit"),
                column("Probe time", unit="s"),
            ],
        ),
        row("Findings"),
        table(
            "Failing endpoints by check",
            [now(f"sort_desc({q('interop_agency_check_failures', AGENCY)} > 0)")],
            {"check": "Check", "severity": "Severity", "Value": "Failing endpoints"},
            hide=("agency",),
            width=12,
            height=8,
            description="Waived failures excluded; the agency report says how to fix.",
        ),
        bars(
            "Results by status",
            [now(q("interop_agency_results", AGENCY), "{{status}}")],
            width=6,
            height=8,
            overrides=status_colours(),
        ),
        table(
            "Open alerts",
            [now(f'ALERTS{{alertstate="firing", {AGENCY}}}')],
            {"alertname": "Alert", "endpoint": "Endpoint", "check": "Check", "severity": "Severity"},
            hide=("agency", "alertstate", "Value"),
            width=6,
            height=8,
        ),
        row("Certificates and host keys"),
        bars(
            "TLS certificate: days left",
            [
                now(
                    f"({q('interop_endpoint_tls_cert_expiry_timestamp_seconds', AGENCY)} - time()) / 86400",
                    "{{endpoint}}",
                )
            ],
            width=12,
            height=6,
            decimals=0,
            thresholds=steps(("red", None), ("orange", 0), ("green", 14)),
            description="notAfter of each grpcs:// endpoint's certificate, as the latest complete sweep "
            "saw it.",
        ),
        table(
            "SSH host keys since the previous sweep",
            [now(q("interop_endpoint_ssh_host_key_changed", AGENCY))],
            {"endpoint": "Endpoint", "Value": "Host key"},
            hide=("agency",),
            width=12,
            height=6,
            overrides=[
                column(
                    "Host key",
                    mappings=value_names({"0": ("unchanged", "green"), "1": ("CHANGED", "red")}),
                    custom_cellOptions={"type": "color-background"},
                )
            ],
            description="A key type seen in both sweeps now has another fingerprint: reinstalled, or "
            "someone in the middle. Absent for a new endpoint.",
        ),
        row("Trend"),
        series(
            "SPBE index over time",
            [
                target(q("interop_agency_spbe_index", AGENCY), "{{agency}}"),
                target(q("interop_national_spbe_index"), "national"),
            ],
            **INDEX_AXIS,
            width=8,
        ),
        series(
            "Failing endpoints by severity",
            [target(f"sum by (severity) ({q('interop_agency_check_failures', AGENCY)})", "{{severity}}")],
            width=8,
        ),
        series(
            "Endpoints that answered",
            [target(q("interop:agency_endpoints_up:ratio", AGENCY), "answered")],
            **RATIO,
            width=8,
        ),
    ]
    return dashboard(
        AGENCY_UID,
        "SPBE interop: agency",
        "One agency: its endpoints, findings by check, certificates, host keys and trend.",
        ["inventory", "agency"],
        panels,
    )


def operations() -> dict:
    done, total = q("interop_running_sweep_endpoints_done"), q("interop_running_sweep_endpoints")
    rate = f"deriv({done}[$__rate_interval])"  # a gauge (a resume can lower it): deriv, not rate
    panels = [
        row("Running sweeps"),
        table(
            "Running sweeps",
            [
                now(q("interop_running_sweep_info")),
                now(f"time() - {q('interop_running_sweep_start_timestamp_seconds')}"),
            ],
            {"sweep": "Sweep", "profile": "Profile", "engine": "Engine", "Value #B": "Running for"},
            hide=("Value #A",),
            width=8,
            height=5,
            overrides=[column("Running for", unit="s")],
        ),
        bars("Endpoints done", [now(f"{done} / {total}", "{{sweep}}")], **RATIO, width=6, height=5),
        stat(
            "Workers",
            q("interop_running_sweep_workers"),
            "{{sweep}}",
            width=3,
            height=5,
            description="Ray workers (or the local engine) that have reported to the sweep driver.",
        ),
        stat("In flight", q("interop_running_sweep_endpoints_in_flight"), "{{sweep}}", width=3, height=5),
        stat(
            "Driver silent for",
            f"time() - {q('interop_running_sweep_heartbeat_timestamp_seconds')}",
            "{{sweep}}",
            unit="s",
            decimals=0,
            width=4,
            height=5,
            thresholds=steps(("green", None), ("red", 120)),
            description="Over 2 minutes: the driver died or hangs; `interop sweep resume SWEEP` finishes it.",
        ),
        series("Sweep rate (endpoints per second)", [target(rate, "{{sweep}}")], width=8),
        stat(
            "Time left at this rate",
            f"({total} - {done}) / ({rate} > 0)",
            "{{sweep}}",
            unit="s",
            decimals=0,
            width=4,
            height=8,
        ),
        bars(
            "Probe errors by class",
            [now(q("interop_running_sweep_endpoint_errors"), "{{error_class}}")],
            width=6,
            height=8,
            description="Endpoints whose probe failed as a whole (timeout, refused, reset, dns, tls ...).",
        ),
        bars(
            "Results so far",
            [now(q("interop_running_sweep_results"), "{{status}}")],
            width=6,
            height=8,
            overrides=status_colours(),
        ),
        series(
            "Probe time, running sweep",
            [
                target(
                    f"histogram_quantile({p}, sum by (sweep, le) "
                    f"({q('interop_running_sweep_probe_duration_seconds_bucket')}))",
                    f"p{round(p * 100)} {{{{sweep}}}}",
                )
                for p in QUANTILES
            ],
            unit="s",
            width=12,
        ),
        row("Completed sweeps"),
        series(
            "Probe time, latest complete sweep",
            [
                target(
                    f"histogram_quantile({p}, sum by (le) ({q('interop_sweep_probe_duration_seconds_bucket')}))",
                    f"p{round(p * 100)}",
                )
                for p in QUANTILES
            ]
            + [
                target(
                    f"{q('interop_sweep_probe_duration_seconds_sum')}"
                    f" / {q('interop_sweep_probe_duration_seconds_count')}",
                    "mean",
                )
            ],
            unit="s",
            width=8,
        ),
        series(
            "Sweep duration", [target(q("interop_sweep_duration_seconds"), "duration")], unit="s", width=8
        ),
        stat(
            "Complete sweeps in the time range",
            f"changes({q('interop_sweep_end_timestamp_seconds')}[$__range])",
            width=4,
            height=8,
        ),
        series(
            "Unreachable endpoints and errors",
            [
                target(q("interop_sweep_endpoints_unreachable"), "unreachable endpoints"),
                target(q("interop_sweep_results", f'{INV}, status="error"'), "check results in error"),
            ],
            width=4,
            height=8,
        ),
        table(
            "Slowest endpoints",
            [now(f"topk(10, {q('interop_endpoint_probe_duration_seconds')})")],
            {"agency": "Agency", "endpoint": "Endpoint", "Value": "Probe time"},
            width=12,
            height=8,
            overrides=[column("Probe time", unit="s")],
        ),
        stat(
            "Newest sweep state",
            f"{q('interop_sweep_latest_state')} == 1",
            "{{state}}",
            text="name",
            width=6,
            height=8,
        ),
        stat("Waivers in force", q("interop_waivers_active", JOB), "active", width=3, height=8),
        stat(
            "Expired waivers",
            q("interop_waivers_expired", JOB),
            "expired",
            width=3,
            height=8,
            thresholds=steps(("green", None), ("orange", 1)),
        ),
        row("Exporter"),
        stat("Scrape target up", q("up", JOB), "{{instance}}", width=4, mappings=value_names(UP)),
        stat(
            "Store readable",
            q("interop_store_up", JOB),
            "{{instance}}",
            width=4,
            mappings=value_names({"1": ("yes", "green"), "0": ("no", "red")}),
        ),
        series(
            "Scrape duration",
            [target(q("scrape_duration_seconds", JOB), "{{instance}}")],
            unit="s",
            width=8,
            height=4,
        ),
        series(
            "Series per scrape",
            [target(q("scrape_samples_scraped", JOB), "{{instance}}")],
            width=8,
            height=4,
            thresholds=steps(("green", None), ("red", NATIONAL_BUDGET)),
            description=f"The cardinality budget is {NATIONAL_BUDGET:,} series (docs/metrics.md).",
        ),
        series(
            "Exporter errors",
            [
                target(
                    f"increase({q('interop_exporter_errors_total', JOB)}[$__rate_interval])", "{{instance}}"
                )
            ],
            width=12,
        ),
        series(
            "Snapshot build time",
            [target(q("interop_exporter_snapshot_build_seconds", JOB), "{{inventory}}")],
            unit="s",
            width=12,
        ),
    ]
    return dashboard(
        "spbe-interop-operations",
        "SPBE interop: operations",
        "Sweeps in progress (rate, errors by class, workers), probe latency, the exporter.",
        ["inventory", "job"],
        panels,
    )


# -- dashboard and variables -------------------------------------------------------------------------

VARIABLES = {
    "inventory": ("Inventory", "label_values(interop_sweep_info, inventory)"),
    "agency": ("Agency", 'label_values(interop_agency_info{inventory="$inventory"}, agency)'),
    "job": ("Exporter job", "label_values(interop_store_up, job)"),
}


def variable(name: str) -> dict:
    label, query = VARIABLES[name]
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2,
        "sort": 1,
        "current": {},
        "options": [],
        "includeAll": False,
        "multi": False,
        "hide": 0,
        "regex": "",
    }


def dashboard(uid: str, title: str, description: str, variables: list[str], panels: list[dict]) -> dict:
    datasource = {
        "type": "datasource",
        "name": "datasource",
        "label": "Prometheus",
        "query": "prometheus",
        "current": {},
        "options": [],
        "hide": 0,
        "refresh": 1,
        "regex": "",
    }
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "id": None,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-30d", "to": "now"},
        "refresh": "5m",
        "timezone": "browser",
        "links": [
            {
                "type": "dashboards",
                "tags": [TAG],
                "asDropdown": True,
                "title": "spbe-interop",
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": [datasource] + [variable(name) for name in variables]},
        "panels": layout(panels),
    }


DASHBOARDS = {"national": national, "agency": agency, "operations": operations}


def render(name: str) -> str:
    return json.dumps(DASHBOARDS[name](), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name in DASHBOARDS:
        path, text = HERE / f"{name}.json", render(name)
        if "--check" not in argv:
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path.name)
    if stale:
        print(f"stale: {', '.join(stale)}; run: .venv/bin/python deploy/grafana/build.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
