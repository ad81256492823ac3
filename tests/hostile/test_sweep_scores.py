"""A sweep over misbehaving servers: what could not be looked at is "not measured", a broken service is capped.

The same servers as the gate matrix, now as an inventory: a port that never
answers, nginx answering 502 for a stopped gRPC backend, and an OpenSSH that
offers group1-sha1, 3des-cbc, ssh-dss and hmac-md5. The national view must
never call any of them good.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.testbed.hostile import HostileServer
from orchestrator.testbed.sshd import host_key, start_openssh
from tests.sweep.support import Planned, write_inventory

runner = CliRunner()
KURANG, CUKUP = 1.79, 2.59  # the top of each band (orchestrator.scoring.CAPS)


@pytest.fixture(scope="module")
def legacy_sshd(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("legacy-sshd")
    keys = [
        host_key(workdir / "keys", "rsa", 2048),
        host_key(workdir / "keys", "dsa"),
        host_key(workdir / "keys", "ed25519"),
    ]
    with start_openssh(workdir, "legacy", host_keys=keys) as server:
        yield server


@pytest.mark.timeout(180)
def test_a_sweep_over_broken_servers_is_capped_or_not_measured(
    tmp_path, profiles, nginx_without_backend, legacy_sshd
):
    with HostileServer("silent") as silent:
        urls = {
            "silent": f"ssh://127.0.0.1:{silent.port}",
            "nginx": f"grpc://127.0.0.1:{nginx_without_backend.port('plain')}",
            "legacy": f"ssh://127.0.0.1:{legacy_sshd.port}",
        }
        inventory = write_inventory(
            tmp_path / "inventory.yaml",
            [Planned(url, agency=index) for index, url in enumerate(urls.values())],
        )
        store = tmp_path / "results.db"
        swept = runner.invoke(
            app,
            [
                "sweep",
                "run",
                "--engine",
                "local",
                "--inventory",
                str(inventory),
                "--profile",
                str(profiles["brief"]),
                "--store",
                str(store),
            ],
        )
        assert swept.exit_code in (0, 1), swept.output

    written = runner.invoke(
        app,
        [
            "report",
            "latest",
            "--store",
            str(store),
            "--format",
            "json",
            "--lang",
            "en",
            "--out",
            str(tmp_path / "report.json"),
        ],
    )
    assert written.exit_code == 0, written.output
    report = json.loads((tmp_path / "report.json").read_text())
    endpoints = {endpoint["url"]: endpoint["score"] for endpoint in report["endpoints"]}

    silent_score = endpoints[urls["silent"]]
    assert silent_score["index"] is None and silent_score["predicate"] is None  # not measured, never good

    nginx_score = endpoints[urls["nginx"]]
    assert nginx_score["index"] <= CUKUP and nginx_score["predicate"]["id"] in ("cukup", "kurang")
    assert nginx_score["counts"]["fail"] > 0 and nginx_score["counts"]["error"] == 0  # 502 is an answer

    legacy_score = endpoints[urls["legacy"]]
    assert legacy_score["index"] <= CUKUP and legacy_score["predicate"]["id"] in ("cukup", "kurang")
    assert legacy_score["cap"]["check"] in ("SSH-ENC-001", "SSH-HKEY-001", "SSH-KEX-001")

    agencies = {agency["code"]: agency["score"] for agency in report["agencies"]}
    assert agencies["32.73"]["index"] is None  # only the silent server: nothing measured
    assert report["score"]["index"] <= CUKUP and report["score"]["cap"] is not None
