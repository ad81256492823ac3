"""``interop serve``: usage errors before serving (exit 2), SIGTERM (exit 0), languages, the report cache."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

from orchestrator.testbed.process import free_port, wait_for_port
from tests.service.conftest import OTHER, OWN, bearer, serve_argv


def serve(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def test_usage_errors_exit_2_before_serving(fleet, tokens, tmp_path):
    store = str(fleet.store)
    cases = {
        ("--listen", "0.0.0.0:9477"): "is not a loopback address: give --tokens FILE",
        ("--tokens", str(tmp_path / "missing.yaml")): "cannot read the tokens file",
        ("--profile", "spbe-baseline"): "--profile needs the inventory it is applied to: add --inventory",
        ("--inventory", str(tmp_path / "missing.yaml")): "missing.yaml",
        ("--inventory", str(fleet.inventory), "--profile", "no-such-profile"): "no-such-profile",
        ("--keep", "3"): "--keep belong to a schedule",
        ("--engine", "local"): "--engine belong to a schedule",
        ("--every", "6h"): "a schedule needs the inventory to sweep: add --inventory FILE",
        ("--listen", "127.0.0.1"): "give HOST:PORT",
    }
    for args, expected in cases.items():
        done = serve("--store", store, *args)
        assert done.returncode == 2 and expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_bad_schedule_is_exit_2(fleet):
    for args, expected in ((("--every", "soon"), "--every"), (("--cron", "61 * * * *"), "--cron")):
        done = serve("--store", str(fleet.store), "--inventory", str(fleet.inventory), *args)
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, (
            done.stderr
        )


def test_sigterm_stops_the_service_with_exit_0(fleet, tokens):
    port = free_port()
    process = subprocess.Popen(
        serve_argv(fleet.store, port, "--tokens", str(tokens.path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, 60, process)
        response = httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers=bearer(tokens.by_name["own"]), timeout=60
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        err = process.stderr.read()
        assert "stopped" in err and "Traceback" not in err
        assert f"http://127.0.0.1:{port}/reports/" in err and f"access: tokens from {tokens.path}" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


# -- languages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, accept, expected",
    [
        (None, None, "id"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "fr-FR, en;q=0.5, id;q=0.8", "id"),
        (None, "fr, de", "id"),
        ("en", "id", "en"),
        ("id", "en", "id"),
        (None, "in", "id"),
    ],
)
def test_the_report_language(http, tokens, query, accept, expected):
    params = {"lang": query} if query else {}
    headers = {**bearer(tokens.by_name["own"]), **({"Accept-Language": accept} if accept else {})}
    response = http.get(f"/reports/latest/agency/{OWN}.html", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-language"] == expected
    assert re.search(rf'<html[^>]*lang="{expected}"', response.text)
    index = http.get("/reports/", params=params, headers=headers)
    assert index.headers["content-language"] == expected and f'lang="{expected}"' in index.text


def test_an_unknown_language_is_400(http, tokens):
    response = http.get(
        f"/reports/latest/agency/{OWN}.json", params={"lang": "xx"}, headers=bearer(tokens.by_name["own"])
    )
    assert response.status_code == 400 and "id, en" in response.text


def test_json_reports_follow_the_language(http, tokens):
    for lang in ("id", "en"):
        report = http.get(
            f"/reports/latest/agency/{OWN}.json", params={"lang": lang}, headers=bearer(tokens.by_name["own"])
        ).json()
        assert report["lang"] == lang


# -- cache and transport ------------------------------------------------------------------


def test_a_report_is_rendered_once_and_then_served_from_the_cache(http, tokens, service, fleet):
    path = f"/reports/{fleet.sweeps[0]}/agency/{OTHER}.sarif"
    bodies = {
        http.get(path, params={"lang": "en"}, headers=bearer(tokens.by_name["operator"])).text
        for _ in range(3)
    }
    assert len(bodies) == 1
    line = f"rendered the agency {OTHER} sarif report of sweep {fleet.sweeps[0]} (en)"
    assert service.log().count(line) == 1
    http.get(path, params={"lang": "id"}, headers=bearer(tokens.by_name["operator"]))
    assert (
        service.log().count(f"rendered the agency {OTHER} sarif report of sweep {fleet.sweeps[0]} (id)") == 1
    )


def test_large_answers_are_compressed_on_request(http, tokens):
    response = http.get(
        "/reports/latest/national.html",
        headers={**bearer(tokens.by_name["operator"]), "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    assert "<html" in response.text  # httpx decompressed it


def test_answers_are_private_and_not_sniffed(http, tokens):
    response = http.get(f"/reports/latest/agency/{OWN}.json", headers=bearer(tokens.by_name["own"]))
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "authorization" in response.headers["vary"].lower()
    assert response.headers["content-type"] == "application/json"
