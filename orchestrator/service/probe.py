"""``/probe``: one endpoint of the served inventory probed now, its verdict as Prometheus metrics.

What blackbox_exporter's ``/probe`` is to a Prometheus scrape job, for a
conformance profile: Prometheus passes ``target`` (and, optionally,
``profile``) as URL parameters, relabelled as for blackbox_exporter, and gets
that endpoint's verdict now rather than the latest sweep's. The verdict is
the gate's (``orchestrator.gate``): the same probe, waivers and exit rule as
``interop check``, so ``interop_probe_success`` is 1 exactly when ``interop
check`` would exit 0 on that endpoint.

Only endpoints of the inventory the service was started with can be probed
(``serve --inventory``). The service never connects to an address it was
merely given, and the endpoint's declaration (services, TLS name and CA,
host-key pins) is the inventory's, as in a sweep. Nothing is written to the
store: a sweep is the record, a probe is a look.

Limits, as in a sweep: at most ``PROBE_CONCURRENCY`` probes at once (others
wait) and ``PER_HOST`` on one host. A probe's deadline is the profile's,
shortened to Prometheus' scrape timeout (its
``X-Prometheus-Scrape-Timeout-Seconds`` header) less ``TIMEOUT_MARGIN_S``, so
the answer arrives before Prometheus gives up; a check the deadline cuts
short is ``error``, never ``pass``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics_core import Metric

from orchestrator.engine.limits import HostLimiter
from orchestrator.gate.inputs import GateTarget, inventory_targets
from orchestrator.gate.run import TargetOutcome, apply_waivers, probe_one
from orchestrator.inventory.schema import parse_endpoint_url
from orchestrator.inventory.targets import TargetError
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.metrics.collector import WaiverSource
from orchestrator.metrics.families import Family
from orchestrator.metrics.labels import label
from orchestrator.metrics.series import Values, families_of
from orchestrator.outcome import DEFAULT_FAIL_ON, EXIT_CODES, EXIT_OK, EXIT_USAGE
from orchestrator.profiles import DEFAULT_PROFILE, Profile, builtin_names, load_profile

log = logging.getLogger(__name__)

PROBE_CONCURRENCY = 64  # probes in flight at once; more wait their turn
PER_HOST = 2  # probes pressing on one host at once, as in a sweep's default
TIMEOUT_MARGIN_S = 0.5  # the answer must be back before Prometheus' scrape timeout
MIN_DEADLINE_S = 0.5
SCRAPE_TIMEOUT_HEADER = "x-prometheus-scrape-timeout-seconds"
# A probe's outcome: the words of the gate's exit codes that a probe can come to.
OUTCOMES: tuple[str, ...] = tuple(word for code, (word, _) in EXIT_CODES.items() if code != EXIT_USAGE)

PROBE_FAMILIES: tuple[Family, ...] = (
    Family(
        "interop_probe_success",
        "gauge",
        (),
        "probe",
        "1 when the endpoint conforms to the profile now: what `interop check` exits 0 on.",
    ),
    Family(
        "interop_probe_outcome",
        "gauge",
        ("outcome",),
        "probe",
        "The probe's outcome, one-hot: conformant, findings, unreachable or undetermined "
        "(the exit codes of `interop check`).",
        fanout=len(OUTCOMES),
    ),
    Family(
        "interop_probe_duration_seconds",
        "gauge",
        (),
        "probe",
        "How long the probe took.",
    ),
    Family(
        "interop_probe_info",
        "gauge",
        ("endpoint", "agency", "application", "profile"),
        "probe",
        "The endpoint probed, whose it is and the profile it was judged on (always 1).",
    ),
    Family(
        "interop_probe_check_status",
        "gauge",
        ("check", "severity", "status"),
        "probe",
        "One series per check of the profile, its status (after waivers) in the label (always 1).",
    ),
)


class ProbeRefused(Exception):
    """A /probe request that cannot be served: its HTTP status and why, in words for the caller."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class ProbeAnswer:
    outcome: TargetOutcome
    profile: str

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code(DEFAULT_FAIL_ON)


class InventorySource:
    """The inventory's endpoints by (scheme, host, port), re-read when the file changes.

    ``changed`` is a ``stat``, cheap enough for every request; ``reload``
    validates the whole file, which takes a national inventory a second or
    two, so the service runs it off its event loop. A version that does not
    validate (or a file gone) keeps the last good endpoints and is logged:
    a typo in an edit must not stop the probes of every agency.
    """

    def __init__(self, path: Path):
        self.path = path
        self._token: tuple[int, int] | None = None
        self._problem: str | None = None
        self.targets: dict[tuple[str, str, int], GateTarget] = {}
        # At start an unreadable or invalid inventory raises: the caller's usage error.
        self._token = self._stat()
        self.targets = self._read()

    def _stat(self) -> tuple[int, int]:
        stat = self.path.stat()
        return stat.st_mtime_ns, stat.st_size

    def _read(self) -> dict[tuple[str, str, int], GateTarget]:
        return {parse_endpoint_url(t.target.url): t for t in inventory_targets(self.path)}

    def changed(self) -> bool:
        try:
            return self._stat() != self._token
        except OSError:
            return True  # gone or unreadable: ``reload`` says so and keeps the last good version

    def reload(self) -> None:
        try:
            self._token = self._stat()  # an invalid version is read once, not on every request
            self.targets = self._read()
            self._problem = None
        except (OSError, ConfigError, TargetError) as exc:
            if str(exc) != self._problem:  # logged once per problem, not once per request
                self._problem = str(exc)
                log.error("inventory %s: %s; probing its last good version", self.path, exc)


class Prober:
    """The state behind ``/probe``: the inventory, the profiles, the waivers and the limits."""

    def __init__(self, inventory: Path, profile: str | None = None, waivers: Path | None = None):
        self.inventory = InventorySource(inventory)
        self.default = load_profile(profile or DEFAULT_PROFILE)
        self._profiles: dict[str, Profile] = {self.default.name: self.default}
        self._builtin = frozenset(builtin_names())
        self._waivers = WaiverSource(waivers)
        self._slots = asyncio.Semaphore(PROBE_CONCURRENCY)
        self._hosts = HostLimiter(PER_HOST)
        self._reloading = asyncio.Lock()

    def profile(self, name: str | None) -> Profile:
        """The served profile (``None``), or a built-in one by name; ProbeRefused 400 otherwise."""
        if name is None:
            return self.default
        if name not in self._profiles:
            if name not in self._builtin:
                known = ", ".join(sorted(self._builtin | {self.default.name}))
                raise ProbeRefused(400, f"profile {name!r} is not served here: one of {known}")
            self._profiles[name] = load_profile(name)
        return self._profiles[name]

    async def _targets(self) -> dict[tuple[str, str, int], GateTarget]:
        if self.inventory.changed():
            async with self._reloading:  # one reload, however many requests see the change
                if self.inventory.changed():
                    await asyncio.to_thread(self.inventory.reload)
        return self.inventory.targets

    async def target(self, url: str | None, agency: str | None) -> GateTarget:
        """The inventory's endpoint named by ``url``; ``agency``: the caller's, None for an operator.

        An agency is refused (403) any URL that is not one of its own endpoints,
        whether or not it exists, before anything else is said about it.
        """
        if not url:
            raise ProbeRefused(400, "give the endpoint to probe: /probe?target=grpcs://HOST:PORT")
        try:
            key = parse_endpoint_url(url)
        except ValueError as exc:
            key, malformed = None, ProbeRefused(400, f"target {url!r}: {exc}")
        found = (await self._targets()).get(key) if key is not None else None
        if agency is not None and (found is None or found.meta.agency != agency):
            raise ProbeRefused(403, f"the role agency:{agency} may probe its own agency's endpoints only")
        if key is None:
            raise malformed
        if found is None:
            raise ProbeRefused(404, f"target {url!r} is not an endpoint of the served inventory")
        return found

    async def probe(
        self, planned: GateTarget, profile: Profile, scrape_timeout_s: float | None
    ) -> ProbeAnswer:
        options = profile.options
        if scrape_timeout_s is not None:
            deadline = max(MIN_DEADLINE_S, min(options.deadline_s, scrape_timeout_s - TIMEOUT_MARGIN_S))
            options = dataclasses.replace(options, deadline_s=deadline)
        report = await probe_one(planned, profile.selection, options, self._slots, self._hosts)
        waivers, _ = self._waivers.current()  # raises when the file broke since start: the caller's 503
        return ProbeAnswer(apply_waivers(planned, report, waivers), profile.name)


def scrape_timeout(header: str | None) -> float | None:
    """Prometheus' scrape timeout from its header; None when absent or not a positive number."""
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 < seconds < float("inf") else None


def answer_metrics(answer: ProbeAnswer) -> list[Metric]:
    """``PROBE_FAMILIES`` of one probe's answer."""
    meta = answer.outcome.planned.meta
    word = EXIT_CODES[answer.exit_code][0]
    values: Values = {
        "interop_probe_success": [({}, 1.0 if answer.exit_code == EXIT_OK else 0.0)],
        "interop_probe_outcome": [({"outcome": o}, 1.0 if o == word else 0.0) for o in OUTCOMES],
        "interop_probe_duration_seconds": [({}, answer.outcome.report.duration_s)],
        "interop_probe_info": [
            (
                {
                    "endpoint": label(meta.url),
                    "agency": label(meta.agency),
                    "application": label(meta.application),
                    "profile": label(answer.profile),
                },
                1.0,
            )
        ],
        "interop_probe_check_status": [
            ({"check": r.check_id, "severity": r.severity.value, "status": r.status.value}, 1.0)
            for r in answer.outcome.report.results
        ],
    }
    return families_of(PROBE_FAMILIES, values)
