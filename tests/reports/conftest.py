"""Fixtures for report tests: one small store (two sweeps) built once per module run."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.reports import write_report
from orchestrator.reports.build import build_report
from orchestrator.reports.model import Report
from orchestrator.store import Store
from tests.reports.support import Built, build

WAIVERS_YAML = """\
waivers:
  - id: W-BDG-KEX
    check: SSH-KEX-00*
    agency: "32.73"
    justification: Legacy appliance; replacement contracted for 2031.
    approver: Kepala Diskominfo Kota Bandung
    expires: 2099-12-31
  - id: W-KES-CERT
    check: TLS-CERT-004
    endpoint: grpcs://127.0.0.1:5044*
    justification: Renewal was planned for January.
    approver: Pusdatin Kemenkes
    expires: 2020-01-31
  - id: W-JABAR-REFL
    check: GRPC-REFL-001
    agency: "32"
    justification: Reflection disabled on Sapawarga by policy.
    approver: Diskominfo Jawa Barat
    expires: 2099-06-30
  - id: W-NOTHING
    check: SSH-BANNER-001
    justification: Matches only passes and errors.
    approver: Operator
    expires: 2099-01-01
"""


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="session")
def waivers_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("waivers") / "waivers.yaml"
    path.write_text(WAIVERS_YAML, encoding="utf-8")
    return path


@pytest.fixture
def store(built: Built) -> Iterator[Store]:
    with Store(built.store_path, create=False) as opened:
        yield opened


def render(report: Report, fmt: str) -> str:
    out = io.StringIO()
    write_report(report, fmt, out)
    return out.getvalue()


@pytest.fixture
def national(store: Store, built: Built) -> Report:
    return build_report(store, built.current)
