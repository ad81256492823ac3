"""A synthetic slice served by the testbed once per session, and helpers to probe it.

The slice (seed 8, about 40 endpoints, a fifth of the gRPC endpoints on
grpcs) holds every gRPC and SSH behaviour the generator draws, grpcs among
them; ``test_slice_covers_every_behaviour`` says so before anything relies
on it. Its hosts are moved off the generator's address plan (``off_plan``).
SSH host keys are made once per session in one directory. Its grpcs
endpoints all get valid certificates (``testbed-tls`` tags dropped): the
TLS problems have a test of their own (``test_tls_problems.py``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from orchestrator.inventory import EndpointRef, dump_inventory, synthetic
from orchestrator.testbed.fleet import Fleet, start_fleet
from probes import registry
from probes.model import ProbeReport, Target
from probes.runner import CheckSettings, run_probe

SLICE_SEED, SLICE_ENDPOINTS, SLICE_GRPCS_SHARE = 8, 40, 0.2


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("testbed-keys")


def off_plan(document: dict) -> dict:
    """The document with every host ``127.a.b.1`` moved to ``127.a.b.77``.

    The generator's hosts all end in .1; a testbed someone runs on the real
    address plan (``interop testbed up``) then never holds the test's ports.
    """
    for app in document["applications"]:
        for ep in app["endpoints"]:
            scheme, rest = ep["url"].split("://")
            host, port = rest.rsplit(":", 1)
            assert host.startswith("127.") and host.endswith(".1")
            ep["url"] = f"{scheme}://{host[:-1]}77:{port}"
    return document


def without_tls_problems(document: dict) -> dict:
    for app in document["applications"]:
        for ep in app["endpoints"]:
            ep["tags"] = [tag for tag in ep["tags"] if not tag.startswith(synthetic.TLS_TAG + "=")]
    return document


@pytest.fixture(scope="session")
def slice_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slice") / "inventory.yaml"
    document = synthetic.generate(SLICE_SEED, slice_endpoints=SLICE_ENDPOINTS, grpcs_share=SLICE_GRPCS_SHARE)
    dump_inventory(off_plan(without_tls_problems(document)), path)
    return path


@pytest.fixture(scope="session")
def fleet(slice_path: Path, key_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with start_fleet(slice_path, tmp_path_factory.mktemp("fleet"), key_dir=key_dir) as running:
        yield running


def selection(check_ids: Sequence[str]) -> dict[str, CheckSettings]:
    checks = registry.checks()
    return {cid: CheckSettings(checks[cid].severity, dict(checks[cid].params)) for cid in check_ids}


def statuses(report: ProbeReport) -> dict[str, str]:
    return {result.check_id: result.status.value for result in report.results}


def result(report: ProbeReport, check_id: str):
    return next(r for r in report.results if r.check_id == check_id)


def probe_all(
    targets: Sequence[Target], check_ids: Sequence[str], concurrency: int = 16
) -> list[ProbeReport]:
    """Probe every target (from this process, on loopback) with only ``check_ids``."""
    chosen = selection(check_ids)

    async def run() -> list[ProbeReport]:
        gate = asyncio.Semaphore(concurrency)

        async def one(target: Target) -> ProbeReport:
            async with gate:
                return await run_probe(target, chosen)

        return await asyncio.gather(*(one(t) for t in targets))

    return asyncio.run(run())


# Run inside a network namespace: probe the targets given as JSON on stdin, print their statuses.
NAMESPACE_PROBE = """
import asyncio, json, sys
from probes import registry
from probes.model import Target
from probes.runner import CheckSettings, run_probe
request = json.load(sys.stdin)
checks = registry.checks()
chosen = {c: CheckSettings(checks[c].severity, dict(checks[c].params)) for c in request["checks"]}
async def main():
    reports = await asyncio.gather(*(run_probe(Target(**t), chosen) for t in request["targets"]))
    return {r.target: {x.check_id: x.status.value for x in r.results} for r in reports}
print(json.dumps(asyncio.run(main())))
"""


def target_json(ref: EndpointRef) -> dict:
    target = ref.to_target()
    return {
        "scheme": target.scheme,
        "host": target.host,
        "port": target.port,
        "services": list(target.services),
        "agency": target.agency,
        "application": target.application,
    }


def probe_inside(
    fleet: Fleet, refs: Sequence[EndpointRef], check_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Statuses per URL, probed from where the fleet's endpoints are reachable (its probe namespace)."""
    request = json.dumps({"checks": list(check_ids), "targets": [target_json(r) for r in refs]})
    out = subprocess.run(
        fleet.probe_argv([sys.executable, "-c", NAMESPACE_PROBE]),
        input=request,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)
