"""``make demo``: the main job end to end, on this machine only.

1. The testbed makes every endpoint of the embedded demo inventory
   (``examples/demo-inventory.yaml``: ~1,000 endpoints of agencies in all 38
   provinces, generated with ``interop inventory generate --seed 1 --slice
   1000``) a real server on loopback: gRPC servers of mixed conformance,
   OpenSSH and Dropbear with mixed configurations.
2. ``interop check`` against one SSH and one gRPC endpoint, as a CI gate runs it.
3. ``interop sweep run`` over the whole inventory on an embedded Ray (bound to
   127.0.0.1, usage statistics off); results stay in ``.interop/results.db``.
4. ``interop report`` writes the national HTML, JSON and JUnit reports and the
   HTML report of one agency (Kota Bandung) in Bahasa Indonesia and in
   English: it opens with what to fix and the index after each fix.
5. ``interop serve`` exposes ``/metrics``; the demo reads it once.
6. The service with access control: an operator and an agency token
   (``interop tokens add``, the file in ``.interop/demo``); with the agency's
   token it fetches that agency's report and its slice of ``/metrics``, and
   shows another agency's report refused (403).
7. Everything started is stopped by process id.

Every step runs the real command line, so what is printed is what a user sees.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from orchestrator.inventory import EndpointRef, Inventory
from orchestrator.inventory.synthetic import INTEROP_SERVICE
from orchestrator.testbed.fleet import start_fleet
from orchestrator.testbed.fleet_plan import FleetError
from orchestrator.testbed.process import free_port, wait_for_port
from probes.model import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "examples" / "demo-inventory.yaml"
WORKDIR = Path(".interop") / "demo"
STORE = Path(".interop") / "results.db"
INTEROP = [sys.executable, "-m", "orchestrator.cli"]
DEMO_AGENCY = "32.73"  # Kota Bandung: SSH and gRPC endpoints of mixed conformance in the demo inventory
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def heading(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def interop(*args: str, timeout_s: float = 900) -> int:
    print(f"\n$ interop {shlex.join(args)}", flush=True)
    completed = subprocess.run([*INTEROP, *args], stdin=subprocess.DEVNULL, env=ENV, timeout=timeout_s)
    print(f"(exit {completed.returncode})", flush=True)
    return completed.returncode


def agency_report(lang: str) -> Path:
    return WORKDIR / f"agency-{DEMO_AGENCY}.{lang}.html"


def first_endpoint(
    inventory: Inventory, scheme: str, behaviour: str, service: str | None = None
) -> EndpointRef:
    """The first endpoint of ``scheme`` with testbed ``behaviour`` (declaring ``service``, if given)."""
    for e in inventory.endpoints():
        declares = service is None or service in e.services
        if e.scheme == scheme and f"testbed={behaviour}" in e.tags and declares:
            return e
    raise LookupError(f"no {scheme} endpoint with testbed={behaviour} in the demo inventory")


def show_metrics(store: Path) -> None:
    port = free_port()
    argv = [*INTEROP, "serve", "--store", str(store), "--listen", f"127.0.0.1:{port}"]
    print(f"\n$ interop serve --store {store} --listen 127.0.0.1:{port}", flush=True)
    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=ENV)
    try:
        wait_for_port("127.0.0.1", port, 30, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
            lines = response.read().decode().splitlines()
        national = [
            line for line in lines if line.startswith(("interop_national_", "interop_sweep_endpoints"))
        ]
        print(f"http://127.0.0.1:{port}/metrics: {len(lines)} lines, among them:")
        for line in national[:8]:
            print(f"  {line}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print("(interop serve stopped)")


def add_token(role: str, tokens: Path) -> str:
    """``interop tokens add``: the token it prints once (shown here shortened)."""
    print(f"\n$ interop tokens add --role {role} --tokens {tokens}", flush=True)
    done = subprocess.run(
        [*INTEROP, "tokens", "add", "--role", role, "--tokens", str(tokens)],
        stdin=subprocess.DEVNULL,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        print(done.stderr, end="", flush=True)
    token = done.stdout.strip()
    print(f"{token[:10]}… (printed once; {tokens} keeps only its SHA-256)", flush=True)
    return token


def fetch(base: str, path: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def show_service(store: Path, other_agency: str) -> None:
    """The service with an operator and an agency token: what the agency gets, and what it is refused."""
    tokens = WORKDIR / "tokens.yaml"
    tokens.unlink(missing_ok=True)  # a fresh file each run: tokens of earlier runs are gone
    operator_token = add_token("operator", tokens)
    agency_token = add_token(f"agency:{DEMO_AGENCY}", tokens)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"\n$ interop serve --store {store} --tokens {tokens} --listen 127.0.0.1:{port}", flush=True)
    with open(WORKDIR / "serve.log", "w") as log:
        server = subprocess.Popen(
            [
                *INTEROP,
                "serve",
                "--store",
                str(store),
                "--tokens",
                str(tokens),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    try:
        wait_for_port("127.0.0.1", port, 30, server)
        path = f"/reports/latest/agency/{DEMO_AGENCY}.json"
        status, body = fetch(base, path, agency_token)
        report = json.loads(body) if status == 200 else {}
        score = report.get("score", {})
        print(
            f"GET {path} (agency token): {status}, {report.get('scope', {}).get('agency_name')}: "
            f"index {score.get('index')} ({(score.get('predicate') or {}).get('label')}), "
            f"{len(report.get('endpoints', []))} endpoints"
        )
        path = f"/reports/latest/agency/{DEMO_AGENCY}.html"
        status, body = fetch(base, path, agency_token)
        print(f"GET {path} (agency token): {status}, {len(body) // 1024} KiB of HTML")
        status, body = fetch(base, "/metrics", agency_token)
        samples = [
            sample for family in text_string_to_metric_families(body.decode()) for sample in family.samples
        ]
        agencies = sorted({sample.labels["agency"] for sample in samples if "agency" in sample.labels})
        print(f"GET /metrics (agency token): {status}, {len(samples)} series, agency labels: {agencies}")
        for sample in samples:
            if sample.name == "interop_agency_spbe_index":
                print(f'  interop_agency_spbe_index{{agency="{sample.labels["agency"]}"}} {sample.value}')
        for path in (f"/reports/latest/agency/{other_agency}.html", "/reports/latest/national.html"):
            status, _ = fetch(base, path, agency_token)
            print(f"GET {path} (agency token): {status}{' refused' if status == 403 else ''}")
        status, body = fetch(base, "/status", operator_token)
        sweeps = json.loads(body)["sweeps"] if status == 200 else []
        print(f"GET /status (operator token): {status}, {len(sweeps)} sweeps in the store")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
    print(f"(interop serve stopped, exit {code}; its log: {WORKDIR / 'serve.log'})")


def main() -> int:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    heading(f"Testbed: the endpoints of {INVENTORY.name} as real servers on 127.0.0.0/8")
    started = time.monotonic()
    # The fleet first: it writes the test CA that the grpcs:// endpoints' ca_file names, then validates.
    with start_fleet(INVENTORY, WORKDIR / "testbed") as fleet:
        inventory = fleet.inventory
        print(
            f"{len(inventory)} endpoints, {len(fleet.processes)} server processes up in "
            f"{time.monotonic() - started:.1f} s"
        )

        heading("One server at a time: interop check (what a CI gate runs)")
        ssh = first_endpoint(inventory, "ssh", "default")
        grpc = first_endpoint(inventory, "grpc", "conformant", INTEROP_SERVICE)  # with the interop cases
        interop("check", ssh.url)
        services = [arg for name in grpc.services for arg in ("--service", name)]
        interop("check", grpc.url, "--agency", grpc.agency, "--application", grpc.application, *services)

        heading("The national sweep: every endpoint, on an embedded Ray cluster")
        code = interop("sweep", "run", "--inventory", str(INVENTORY), "--store", str(STORE), "--summary")
        if code not in (0, 1):
            print("the sweep did not complete; the testbed is stopped and the demo ends here")
            return code

    heading("Reports")
    for fmt, name in (("html", "report.html"), ("json", "report.json"), ("junit", "report.junit.xml")):
        interop("report", "latest", "--store", str(STORE), "--format", fmt, "--out", str(WORKDIR / name))
    for lang in LANGUAGES:
        interop(
            "report",
            "latest",
            "--store",
            str(STORE),
            "--format",
            "html",
            "--agency",
            DEMO_AGENCY,
            "--lang",
            lang,
            "--out",
            str(agency_report(lang)),
        )
    interop("report", "latest", "--store", str(STORE), "--format", "md", "--lang", "en")

    heading("Metrics")
    show_metrics(STORE)

    other_agency = next(e.agency for e in inventory.endpoints() if e.agency != DEMO_AGENCY)
    heading("Where things are")
    print(f"results store   {STORE}  (interop sweep list / show / diff --store {STORE})")
    print(f"HTML report     {WORKDIR / 'report.html'}")
    print(f"agency report   {', '.join(str(agency_report(lang)) for lang in LANGUAGES)}  (what to fix first)")
    print(f"JSON, JUnit     {WORKDIR / 'report.json'}, {WORKDIR / 'report.junit.xml'}")
    print(f"metrics         interop serve --store {STORE}  → http://127.0.0.1:9477/metrics")
    print(
        f"service         interop serve --store {STORE} --tokens {WORKDIR / 'tokens.yaml'}  → /reports/, /metrics"
    )
    print("All demo servers stopped.")

    heading("The service: an agency reads its own report and metrics with its token")
    show_service(STORE, other_agency)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FleetError as exc:
        # Typically another testbed (a benchmark, `interop testbed up`) holds the same addresses.
        print(f"\nthe testbed could not start: {exc}", file=sys.stderr)
        sys.exit(2)
