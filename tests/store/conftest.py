"""Builders for store tests: plain endpoint records and probe reports, no probes run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import Store
from probes.model import CheckResult, ProbeReport, Severity, Status

CHECKS = ("SSH-KEX-001", "SSH-KEX-002", "TLS-CERT-003")


def endpoint(n: int, *, agency: str = "kemenkes", province: str | None = "DKI Jakarta") -> EndpointMeta:
    url = f"ssh://host{n}.example.go.id:22"
    return EndpointMeta(
        endpoint_id=url,
        url=url,
        protocol="ssh",
        agency=agency,
        agency_level="kementerian",
        province=province,
        application=f"app-{n}",
        vantage=None,
    )


def report(url: str, statuses: dict[str, Status] | None = None, **kwargs) -> ProbeReport:
    """A report with one result per check; every check passes unless ``statuses`` says otherwise."""
    statuses = statuses if statuses is not None else dict.fromkeys(CHECKS, Status.PASS)
    return ProbeReport(
        target=url,
        results=[
            CheckResult(
                check_id=check_id,
                status=status,
                severity=Severity.HIGH if check_id.startswith("SSH") else Severity.MEDIUM,
                reason=f"{check_id} is {status.value}",
                evidence={"observed": [check_id, status.value], "expected": "pass"},
                duration_s=0.01,
            )
            for check_id, status in statuses.items()
        ],
        duration_s=kwargs.pop("duration_s", 0.5),
        **kwargs,
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "results.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    with Store(store_path) as opened:
        yield opened


def new_sweep(store: Store, endpoints: list[EndpointMeta], **overrides) -> str:
    """``store.create_sweep`` with made-up metadata; ``overrides`` replace any of it."""
    arguments = dict(
        inventory_path="inventories/national.yaml",
        inventory_hash="sha256:aaaa",
        inventory_name="national",
        profile="spbe-baseline",
        profile_hash="sha256:bbbb",
        engine="asyncio",
        endpoints=endpoints,
        options={"concurrency": 50},
    )
    arguments.update(overrides)
    return store.create_sweep(**arguments)


@pytest.fixture
def make_sweep(store: Store) -> Callable[..., str]:
    return lambda endpoints, **overrides: new_sweep(store, endpoints, **overrides)
