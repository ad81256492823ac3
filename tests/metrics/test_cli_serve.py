"""``interop serve``: options, usage errors (exit 2), a store that does not exist yet, SIGTERM (exit 0),
a store in a directory it cannot write while a sweep writes it."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli.serve import parse_listen, serve_app
from orchestrator.metrics.collector import StoreCollector
from orchestrator.store import Store
from orchestrator.testbed.process import free_port, wait_for_port
from tests.metrics.conftest import E5, build_scenario, samples, scrape, value
from tests.metrics.support import report as metrics_report
from tests.store.read_only_dir import REPO, assert_read_only_for_commands, listing, read_only


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:9477", ("127.0.0.1", 9477)),
        ("[::1]:9477", ("::1", 9477)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_parse_listen(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text", ["9477", "127.0.0.1", "127.0.0.1:http", "::1:9477", "[::g]:1", "h:70000", ":9477"]
)
def test_parse_listen_rejects(text):
    with pytest.raises(ValueError, match=r"^--listen '"):  # every refusal names the option and the value
        parse_listen(text)


def invoke(*args: str):
    app = typer.Typer()
    app.add_typer(serve_app)
    app.command("other")(lambda: None)  # a second command, as in the real CLI: `serve` is then a subcommand
    return CliRunner().invoke(app, ["serve", *args])


def test_usage_errors_exit_2(scenario, tmp_path):
    result = invoke("--store", str(scenario.path), "--listen", "9477")
    assert result.exit_code == 2 and "give HOST:PORT" in result.output
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - id: W-1\n    check: NO-SUCH-001\n")
    result = invoke("--store", str(scenario.path), "--waivers", str(waivers))
    assert result.exit_code == 2 and "waivers file" in result.output
    not_a_store = tmp_path / "garbage.db"
    not_a_store.write_bytes(b"this is not SQLite" * 100)
    result = invoke("--store", str(not_a_store))
    assert result.exit_code == 2 and "cannot open results store" in result.output


def test_address_in_use_exits_2(scenario):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("--store", str(scenario.path), "--listen", f"127.0.0.1:{port}")
    assert result.exit_code == 2 and "cannot listen" in result.output


def test_serve_before_the_first_sweep_and_stop_on_sigterm(tmp_path):
    port = free_port()
    store = tmp_path / "not-yet" / "results.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "serve",
            "--store",
            str(store),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            parsed = samples(response.read().decode("utf-8"))
        assert value(parsed, "interop_store_up") == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        err = process.stderr.read()
        assert "interop_store_up is 0" in err and "stopped" in err
        assert f"http://127.0.0.1:{port}/metrics" in err
        assert not store.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


# -- a store in a directory serve cannot write (systemd ReadOnlyPaths=) ----------------


def _scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return samples(response.read().decode("utf-8"))


def _running_done(parsed: dict, sweep_id: str) -> float | None:
    return value(parsed, "interop_running_sweep_endpoints_done", inventory="nasional", sweep=sweep_id)


def test_serve_reads_a_store_in_a_directory_it_cannot_write_while_a_sweep_writes(tmp_path):
    """As deploy/systemd/interop-serve.service runs it: ReadOnlyPaths= over the store's directory."""
    directory = tmp_path / "state"
    directory.mkdir()
    built = build_scenario(directory / "results.db")
    (tmp_path / "copy").mkdir()
    copy = shutil.copy(built.path, tmp_path / "copy" / "results.db")  # read here, leaving the original alone
    expected = samples(scrape(StoreCollector(copy)))
    assert_read_only_for_commands(directory)
    before = listing(directory)
    assert list(before) == ["results.db"]  # no writer: nothing to share, the hardest case
    port = free_port()
    process = subprocess.Popen(
        read_only(
            directory,
            sys.executable,
            "-m",
            "orchestrator.cli",
            "serve",
            "--store",
            str(built.path),
            "--listen",
            f"127.0.0.1:{port}",
            "--build-wait",
            "60",
        ),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 60, process)
        parsed = _scrape(port)
        assert value(parsed, "interop_store_up") == 1
        results = {k: v for k, v in parsed.items() if k[0] == "interop_sweep_results"}
        assert results and results == {k: v for k, v in expected.items() if k[0] == "interop_sweep_results"}
        assert _running_done(parsed, built.running) == 2

        # A sweep writes meanwhile (outside the read-only view): each scrape reads its commits.
        writer = Store(built.path)
        try:
            writer.record(built.running, E5, metrics_report(E5))
            assert (directory / "results.db-wal").exists()
            assert _running_done(_scrape(port), built.running) == 3
        finally:
            writer.close()
        parsed = _scrape(port)
        assert _running_done(parsed, built.running) == 3 and value(parsed, "interop_store_up") == 1

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        err = process.stderr.read()
        assert "stopped" in err and "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    assert list(listing(directory)) == ["results.db"]
