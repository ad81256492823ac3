"""``/probe?target=URL``: one endpoint of the served inventory probed now, its verdict as metrics.

Against the real gRPC servers of the service fleet (``conftest.py``): Bandung's
conform, Surabaya's report NOT_SERVING, the ministry's serve no reflection (a
waiver covers GRPC-REFL-001). A second service, started per test, serves an
inventory the test rewrites (reload, an endpoint nobody listens on, a file
turned invalid) and a server that answers slowly (the scrape timeout).
"""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.service.probe import OUTCOMES, PROBE_FAMILIES
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.process import free_port, free_ports, spawn
from tests.service.conftest import OTHER, OWN, THIRD, bearer, serve_argv
from tests.sweep.support import write_profile


def answer(response: httpx.Response) -> dict[str, list]:
    """Family name -> samples of a /probe answer."""
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(families: dict[str, list], name: str) -> float:
    (sample,) = families[name]
    return sample.value


def outcome(families: dict[str, list]) -> str:
    chosen = [s.labels["outcome"] for s in families["interop_probe_outcome"] if s.value == 1]
    assert len(chosen) == 1 and len(families["interop_probe_outcome"]) == len(OUTCOMES)
    return chosen[0]


def statuses(families: dict[str, list]) -> dict[str, str]:
    return {s.labels["check"]: s.labels["status"] for s in families["interop_probe_check_status"]}


def probe(http: httpx.Client, token: str | None, target: str, **params: str) -> httpx.Response:
    return http.get("/probe", params={"target": target, **params}, headers=bearer(token))


def test_a_conformant_endpoint_is_success_with_every_check_of_the_profile(http, tokens, fleet):
    url = fleet.urls[OWN][0]
    families = answer(probe(http, tokens.by_name["operator"], url))
    assert set(families) == {family.name for family in PROBE_FAMILIES}
    assert value(families, "interop_probe_success") == 1 and outcome(families) == "conformant"
    checks = statuses(families)
    assert checks["GRPC-HLTH-001"] == "pass" and checks["GRPC-REFL-001"] == "pass"
    assert {c.split("-")[1] for c in checks} == {"HLTH", "REFL"}  # the served profile's checks only
    (info,) = families["interop_probe_info"]
    assert info.labels["endpoint"] == url and info.labels["agency"] == OWN
    assert info.labels["application"] == "bdg-simpeg"
    assert 0 < value(families, "interop_probe_duration_seconds") < 30


def test_a_finding_is_no_success_and_names_the_failing_check(http, tokens, fleet):
    families = answer(probe(http, tokens.by_name["operator"], fleet.urls[THIRD][0]))
    assert value(families, "interop_probe_success") == 0 and outcome(families) == "findings"
    assert statuses(families)["GRPC-HLTH-001"] == "fail"


def test_waivers_apply_as_in_the_gate(http, tokens, fleet):
    families = answer(probe(http, tokens.by_name["operator"], fleet.urls[OTHER][0]))
    assert statuses(families)["GRPC-REFL-001"] == "waived"


def test_an_agency_probes_its_own_endpoints_only(http, tokens, fleet):
    own = tokens.by_name["own"]
    assert value(answer(probe(http, own, fleet.urls[OWN][1])), "interop_probe_success") == 1
    for target in (fleet.urls[OTHER][0], "grpc://127.0.0.1:1", "not a url"):
        response = probe(http, own, target)
        # Refused before anything is looked up: whether the target exists is not told.
        assert response.status_code == 403 and "own agency's endpoints only" in response.text, target
    assert probe(http, None, fleet.urls[OWN][0]).status_code == 401


def test_what_cannot_be_probed_is_refused_with_the_reason(http, tokens, fleet):
    operator = tokens.by_name["operator"]
    cases = {
        "": (400, "give the endpoint to probe"),
        "http://127.0.0.1:1": (400, "scheme must be ssh://, grpc:// or grpcs://"),
        "grpc://127.0.0.1:1": (404, "is not an endpoint of the served inventory"),
    }
    for target, (status, words) in cases.items():
        response = probe(http, operator, target)
        assert response.status_code == status and words in response.text, (target, response.text)
    response = probe(http, operator, fleet.urls[OWN][0], profile="no-such-profile")
    assert response.status_code == 400 and "spbe-baseline" in response.text
    # The inventory's spelling of an endpoint and the probe's may differ in case: the host is one.
    assert probe(http, operator, fleet.urls[OWN][0].upper().replace("GRPC://", "grpc://")).status_code == 200


def test_a_built_in_profile_is_chosen_by_name(http, tokens, fleet):
    response = probe(http, tokens.by_name["operator"], fleet.urls[OWN][0], profile="spbe-baseline")
    families = answer(response)
    (info,) = families["interop_probe_info"]
    assert info.labels["profile"] == "spbe-baseline"
    assert len(statuses(families)) > 2  # more than the served profile's health and reflection checks


# -- a service of its own: reloads, nothing listening, a slow server -----------------------------


INVENTORY = """\
version: 1
scope: {{networks: [127.0.0.0/8]}}
agencies:
  - {{code: "32.73", name: Kota Bandung, level: kota, province: "32"}}
applications:
  - id: bdg-simpeg
    name: SIMPEG Bandung
    agency: "32.73"
    endpoints:
{endpoints}
"""


def write_inventory(path, urls: list[str]) -> None:
    path.write_text(INVENTORY.format(endpoints="".join(f"      - url: {url}\n" for url in urls)))


@pytest.fixture
def slow_server(tmp_path):
    port = free_ports(1, "127.0.0.71")[0]
    spec = GrpcServerSpec(name="slow", host="127.0.0.71", ports=(port,), identity=("32.73", "bdg-simpeg"))
    slow = GrpcServerSpec(name="slower", host="127.0.0.72", ports=free_ports(1, "127.0.0.72"), latency_s=3.0)
    servers = start_grpc_servers([spec, slow], tmp_path / "servers", name="probe-fleet")
    try:
        yield f"grpc://127.0.0.71:{port}", f"grpc://127.0.0.72:{slow.ports[0]}"
    finally:
        servers.stop()


@pytest.fixture
def own_service(fleet, tmp_path, slow_server):
    inventory = tmp_path / "inventory.yaml"
    write_inventory(inventory, list(slow_server))
    profile = write_profile(tmp_path / "profile.yaml", ("GRPC-HLTH-*",))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: []\n")
    port = free_port()
    argv = serve_argv(fleet.store, port, "--inventory", str(inventory), "--profile", str(profile))
    argv += ["--waivers", str(waivers)]
    with (
        spawn("interop-serve-probe", argv, "127.0.0.1", port, tmp_path / "serve", timeout_s=60) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client,
    ):
        yield client, inventory, server


def test_the_inventory_is_reloaded_when_it_changes_and_kept_when_it_breaks(own_service, slow_server):
    http, inventory, server = own_service
    nobody = f"grpc://127.0.0.73:{free_port('127.0.0.73')}"
    assert probe(http, None, nobody).status_code == 404
    write_inventory(inventory, [*slow_server, nobody])
    families = answer(probe(http, None, nobody))
    assert value(families, "interop_probe_success") == 0 and outcome(families) == "unreachable"
    assert set(statuses(families).values()) == {"error"}  # not assessed is never pass
    inventory.write_text("version: 1\nagencies: [\n")  # an edit gone wrong
    assert outcome(answer(probe(http, None, nobody))) == "unreachable"  # the last good inventory
    assert "probing its last good version" in server.log()
    assert value(answer(probe(http, None, slow_server[0])), "interop_probe_success") == 1


def test_the_answer_comes_before_prometheus_scrape_timeout(own_service, slow_server):
    http, _, _ = own_service
    started = time.monotonic()
    response = http.get(
        "/probe", params={"target": slow_server[1]}, headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"}
    )
    elapsed = time.monotonic() - started
    families = answer(response)
    assert elapsed < 2.0, elapsed  # the deadline was the scrape timeout less the margin
    assert (
        outcome(families) in ("undetermined", "unreachable") and value(families, "interop_probe_success") == 0
    )
    assert "pass" not in statuses(families).values()


def test_no_verdict_while_the_waivers_file_is_broken(own_service, slow_server):
    http, inventory, server = own_service
    waivers = inventory.parent / "waivers.yaml"
    waivers.write_text("waivers:\n  - id: W-1\n    check: [\n")
    response = probe(http, None, slow_server[0])
    assert response.status_code == 503 and "waivers file is invalid" in response.text
    assert "waivers file" in server.log()
    waivers.write_text("waivers: []\n")
    assert value(answer(probe(http, None, slow_server[0])), "interop_probe_success") == 1


def test_without_an_inventory_there_is_nothing_to_probe(fleet, tmp_path):
    port = free_port()
    argv = serve_argv(fleet.store, port)
    with spawn("interop-serve-bare", argv, "127.0.0.1", port, tmp_path, timeout_s=60):
        response = httpx.get(f"http://127.0.0.1:{port}/probe", params={"target": fleet.urls[OWN][0]})
    assert response.status_code == 404 and "--inventory" in response.text
