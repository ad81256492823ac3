"""Every testbed-tls=<problem> of the synthetic inventory yields its verdict, probed and swept for real.

One grpcs endpoint per problem (and a valid one), taken from a synthetic
slice, moved off the generator's address plan, served by the fleet (grpcio
with the problem's certificate, or nginx in front for TLS 1.0).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.inventory import EndpointRef, dump_inventory, synthetic
from orchestrator.testbed.fleet import Fleet, start_fleet
from orchestrator.testbed.fleet_plan import TLS_PROBLEMS, tls_problem_of
from probes.messages import render
from tests.testbed.conftest import off_plan, probe_all, result, statuses

REPO = Path(__file__).resolve().parents[2]

# problem -> (check, status) it must produce; everything else of the family is as for a valid endpoint.
VERDICTS = {
    "expired": ("TLS-CERT-003", "fail"),
    "expiring": ("TLS-CERT-004", "warn"),
    "wrong-name": ("TLS-CERT-002", "fail"),
    "self-signed": ("TLS-CERT-001", "fail"),
    "weak-key": ("TLS-KEY-001", "fail"),
    "tls1.0": ("TLS-PROTO-002", "fail"),
}
CHECKS = sorted({check for check, _ in VERDICTS.values()} | {"TLS-PROTO-001", "GRPC-HLTH-001"})


def one_application_per_problem(seed: int = 1) -> dict:
    document = synthetic.generate(seed, slice_endpoints=3000)
    chosen: dict[str, dict] = {}
    for app in document["applications"]:
        grpc = app["endpoints"][0]
        if not grpc["url"].startswith("grpcs://") or "testbed=conformant" not in grpc["tags"]:
            continue
        problem = next(
            (t.split("=", 1)[1] for t in grpc["tags"] if t.startswith(synthetic.TLS_TAG + "=")),
            synthetic.VALID_TLS,
        )
        chosen.setdefault(problem, {**app, "endpoints": [grpc]})
    agencies = {app["agency"] for app in chosen.values()}
    document["applications"] = list(chosen.values())
    document["agencies"] = [a for a in document["agencies"] if a["code"] in agencies]
    return off_plan(document)


@pytest.fixture(scope="module")
def tls_fleet(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Fleet]:
    path = tmp_path_factory.mktemp("tls-problems") / "inventory.yaml"
    dump_inventory(one_application_per_problem(), path)
    with start_fleet(path, tmp_path_factory.mktemp("tls-fleet"), key_dir=key_dir) as running:
        yield running


def by_problem(fleet: Fleet) -> dict[str, EndpointRef]:
    return {tls_problem_of(ref): ref for ref in fleet.endpoints()}


def test_the_slice_has_every_problem_and_nginx_serves_tls10(tls_fleet):
    assert set(by_problem(tls_fleet)) == set(TLS_PROBLEMS) == set(VERDICTS) | {synthetic.VALID_TLS}
    assert {v for v, _ in synthetic.TLS_PROBLEMS} == set(TLS_PROBLEMS)  # generator and testbed agree
    (terminator,) = tls_fleet.plan.terminators
    assert [tls_problem_of(ref) for ref in terminator.endpoints] == ["tls1.0"]
    assert [p.kind for p in tls_fleet.processes].count("nginx") == 1


def test_each_problem_yields_its_verdict(tls_fleet):
    refs = by_problem(tls_fleet)
    reports = dict(zip(refs, probe_all([ref.to_target() for ref in refs.values()], CHECKS), strict=True))
    valid = statuses(reports[synthetic.VALID_TLS])
    assert {valid[check] for check, _ in VERDICTS.values()} == {"pass"}
    for problem, (check, status) in VERDICTS.items():
        seen = statuses(reports[problem])
        assert seen[check] == status, (problem, seen)
        assert seen["TLS-PROTO-001"] == "pass", problem  # TLS 1.2+ works everywhere
    # The terminator passes gRPC through: health answers behind nginx as behind grpcio.
    assert statuses(reports["tls1.0"])["GRPC-HLTH-001"] == "pass"
    assert statuses(reports["weak-key"])["TLS-CERT-001"] == "fail"  # RSA-1024 is below OpenSSL level 2


# Problems grpcio's verifying client refuses the connection for (``TlsProblem.grpc_refused``), and how
# the reason says so; grpcio's own words follow in parentheses. (BoringSSL takes an RSA-1024 leaf:
# behind weak-key the gRPC checks are assessed.)
REFUSED = {"expired": "has expired", "self-signed": "does not verify", "wrong-name": "does not match"}


def test_behind_a_refused_certificate_grpc_checks_are_errors_that_name_the_certificate(tls_fleet):
    assert set(REFUSED) == {name for name, problem in TLS_PROBLEMS.items() if problem.grpc_refused}
    refs = by_problem(tls_fleet)
    checks = ["GRPC-HLTH-001", "GRPC-INTR-001"]
    reports = dict(
        zip(REFUSED, probe_all([refs[problem].to_target() for problem in REFUSED], checks), strict=True)
    )
    for problem, words in REFUSED.items():
        for check in checks:
            found = result(reports[problem], check)
            assert found.status.value == "error", (problem, check, found.reason)  # not assessed, never pass
            assert found.reason.startswith(
                "not assessed: the TLS connection failed: the server's certificate"
            )
            assert words in found.reason, (problem, found.reason)
            assert "see the TLS checks" in found.reason, found.reason
            assert render(found.message, "id").startswith(
                "tidak dapat dinilai: koneksi TLS gagal: sertifikat server"
            )


def test_a_sweep_stores_the_same_verdicts(tls_fleet, tmp_path):
    store = tmp_path / "results.db"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "sweep",
            "run",
            "--inventory",
            str(tls_fleet.inventory.path),
            "--engine",
            "local",
            "--store",
            str(store),
            "--json",
            "--no-summary",
            "--retries",
            "0",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert json.loads(done.stdout)["probed"] == len(TLS_PROBLEMS)
    db = sqlite3.connect(store)
    try:
        rows = db.execute(
            "SELECT e.url, r.check_id, r.status FROM results r JOIN endpoints e USING (sweep_id, endpoint_id)"
        ).fetchall()
    finally:
        db.close()
    stored = {(url, check): status for url, check, status in rows}
    for problem, (check, status) in VERDICTS.items():
        assert stored[(by_problem(tls_fleet)[problem].url, check)] == status, problem
