"""A results store with the situations the metrics must show, and helpers to read an exposition.

Inventory ``nasional`` (three agencies, six endpoints):

* the previous complete sweep (2026-01-05) and the latest complete one (2026-01-12);
* a running sweep (2026-01-19) with two of three endpoints done and a live row.

Inventory ``pilot``: one complete sweep of one SSH endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.metrics.collector import StoreCollector
from orchestrator.store import Store, SweepState
from probes import registry
from probes.model import Status
from tests.metrics.support import (
    AUTHENTICATED,
    add_sweep,
    checks_for,
    endpoint,
    grpcs_facts,
    report,
    ssh_facts,
)

E1 = "ssh://127.1.0.1:10000"
E2 = "ssh://127.1.0.1:10001"
E3 = "grpcs://127.1.0.1:20000"
E4 = "grpc://127.2.0.1:20000"
E5 = "grpc://127.2.0.1:20001"
E6 = "ssh://127.3.0.1:10000"
PILOT = "ssh://127.9.0.1:10000"
NOT_AFTER = "2027-03-01T12:00:00+00:00"

# Scores of the latest sweep, by hand from the weights (critical 10, high 5,
# medium 3, low 1, info 0; warn half; error out of compliance, into confidence).
# The weights of the checks are summed from the registry the runner records
# for each scheme (the SSH and gRPC check sets grow), not hard-coded.
WEIGHTS = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}
N_SSH, N_GRPC = len(checks_for(E1)), len(checks_for(E4))  # results per endpoint: 17 and 41 (TLS included)
N_TLS = sum(1 for check_id in checks_for(E4) if registry.get_check(check_id).protocol == "tls")  # 12


def _weight(url: str, *, applicable_only: bool) -> int:
    """Severity weight of an all-pass endpoint's checks: the applicable ones (its possible), or all."""
    scheme = url.partition("://")[0]
    skipped_families = registry.SCHEMES[scheme].skips
    total = 0
    for check_id, severity in checks_for(url).items():
        skipped = registry.get_check(check_id).protocol in skipped_families or check_id in AUTHENTICATED
        if not (applicable_only and skipped):
            total += WEIGHTS[severity]
    return total


# SSH: the 4 authenticated checks skipped (52 possible); gRPC plaintext: TLS skipped (79);
# grpcs: 136. An endpoint's weight in a group counts every selected check, skipped or not.
SSH, GRPC, GRPCS = (_weight(url, applicable_only=True) for url in (E1, E4, E3))
SSH_WEIGHT, GRPC_WEIGHT = _weight(E1, applicable_only=False), _weight(E4, applicable_only=False)
E1_EARNED = SSH - 5 - 0.5  # SSH-KEX-001 fail (high), SSH-KEX-002 warn (low)
E3_EARNED = GRPCS - 3  # GRPC-REFL-001 fail (medium)
E5_EARNED = GRPC - 5  # GRPC-TLS-001 fail (high)
E6_EARNED = SSH - 10  # SSH-HKEY-003 fail (critical)
NATIONAL = (E1_EARNED + SSH + E3_EARNED + E5_EARNED + E6_EARNED) / (3 * SSH + GRPCS + GRPC)  # E4 not measured
# Issue 7: each endpoint's index is capped by its worst open fail (all of them far above their cap
# uncapped): high -> 2.59 (Cukup), medium -> 3.49 (Baik), critical -> 1.79 (Kurang); E2 passes all.
INDEX = {E1: 2.59, E2: 5.0, E3: 3.49, E5: 2.59, E6: 1.79}
ENDPOINT_WEIGHT = {E1: SSH_WEIGHT, E2: SSH_WEIGHT, E3: GRPC_WEIGHT, E5: GRPC_WEIGHT, E6: SSH_WEIGHT}


def group_index(*endpoints: str) -> float:
    """A group's index: its measured endpoints' capped indices, weighted, to two decimals (half up)."""
    total = sum(ENDPOINT_WEIGHT[e] * INDEX[e] for e in endpoints) / sum(ENDPOINT_WEIGHT[e] for e in endpoints)
    return float(Decimal(repr(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


NATIONAL_INDEX = group_index(E1, E2, E3, E5, E6)

RECORDS = {
    E1: endpoint(E1, "32.73", "kota", "32", "32-73-0001"),
    E2: endpoint(E2, "32.73", "kota", "32", "32-73-0002"),
    E3: endpoint(E3, "32.73", "kota", "32", "32-73-0003"),
    E4: endpoint(E4, "KEMENKES", "pusat", "31", "kemenkes-0001"),
    E5: endpoint(E5, "KEMENKES", "pusat", "31", "kemenkes-0002"),
    E6: endpoint(E6, "32", "provinsi", "32", "32-0001"),
}


@dataclass
class Scenario:
    path: Path
    previous: str
    latest: str
    running: str
    pilot: str


def build_scenario(path: Path) -> Scenario:
    with Store(path) as store:
        previous = add_sweep(
            store,
            "nasional",
            [
                (
                    RECORDS[E1],
                    report(E1, facts=ssh_facts({"ssh-ed25519": "e1-ed", "ssh-rsa": "e1-rsa"})),
                    None,
                ),
                (
                    RECORDS[E2],
                    report(E2, facts=ssh_facts({"ssh-ed25519": "e2-old", "ssh-rsa": "e2-rsa"})),
                    None,
                ),
                (RECORDS[E3], report(E3, facts=grpcs_facts("2026-03-01T12:00:00+00:00")), None),
                (RECORDS[E4], report(E4), None),
                (RECORDS[E5], report(E5), None),
            ],
            started="2026-01-05T01:00:00",
        )
        latest = add_sweep(
            store,
            "nasional",
            [
                # SSH-KEX-001 (high) fails, SSH-KEX-002 (low) warns; same host keys as before.
                (
                    RECORDS[E1],
                    report(
                        E1,
                        {"SSH-KEX-001": Status.FAIL, "SSH-KEX-002": Status.WARN},
                        facts=ssh_facts({"ssh-ed25519": "e1-ed", "ssh-rsa": "e1-rsa"}),
                    ),
                    None,
                ),
                # The ED25519 key changed; a new ECDSA key appeared (not a change).
                (
                    RECORDS[E2],
                    report(
                        E2,
                        facts=ssh_facts(
                            {"ssh-ed25519": "e2-new", "ssh-rsa": "e2-rsa", "ecdsa-sha2-nistp256": "e2-ec"}
                        ),
                    ),
                    None,
                ),
                # GRPC-REFL-001 (medium) fails; certificate renewed.
                (
                    RECORDS[E3],
                    report(E3, {"GRPC-REFL-001": Status.FAIL}, facts=grpcs_facts(NOT_AFTER), duration_s=1.7),
                    None,
                ),
                # Nothing answered: every gRPC check an error, TLS checks skipped (plaintext).
                (RECORDS[E4], report(E4, unreachable="connection refused", duration_s=0.003), "refused"),
                # Plaintext gRPC: GRPC-TLS-001 (high) fails.
                (RECORDS[E5], report(E5, {"GRPC-TLS-001": Status.FAIL}, duration_s=0.08), None),
                # New endpoint: nothing to compare its host keys with; SSH-HKEY-003 (critical) fails.
                (
                    RECORDS[E6],
                    report(E6, {"SSH-HKEY-003": Status.FAIL}, facts=ssh_facts({"ssh-ed25519": "e6-ed"})),
                    None,
                ),
            ],
            started="2026-01-12T01:00:00",
        )
        running = add_sweep(
            store,
            "nasional",
            [
                (RECORDS[E1], report(E1, duration_s=0.3), None),
                (RECORDS[E4], report(E4, unreachable="timed out", duration_s=5.5), "timeout"),
                (RECORDS[E5], None, None),
            ],
            started="2026-01-19T01:00:00",
            state=SweepState.RUNNING,
        )
        store.write_live(running, in_flight=1, workers=2, pid=4242)
        pilot = add_sweep(
            store,
            "pilot",
            [
                (
                    endpoint(PILOT, "32.73", "kota", "32", "32-73-0099"),
                    report(PILOT, facts=ssh_facts({"ssh-ed25519": "pilot"})),
                    None,
                )
            ],
            started="2026-01-10T01:00:00",
        )
    return Scenario(path, previous, latest, running, pilot)


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("metrics-store") / "results.db")


def scrape(collector: StoreCollector) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry).decode("utf-8")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition (parsed by prometheus-client) by (name, labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = sample.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float | None:
    return parsed.get((name, frozenset(labels.items())))


def series_of(parsed: dict, name: str) -> dict[frozenset, float]:
    return {labels: v for (n, labels), v in parsed.items() if n == name}
