"""Readers open the store read-only (issue 7, section 5).

``sweep list/show/diff``, ``report`` and ``serve`` only read: they must work
where the store's directory cannot be written (systemd ``ReadOnlyPaths=``),
never write or migrate the store, read what a running writer commits, and
refuse a store of an older schema with exit 2 and a message saying how to
upgrade it. ``serve`` is covered in tests/metrics/test_cli_serve.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.store import Store, StoreError, StoreNotFound
from orchestrator.store.db import _read_only_uri
from orchestrator.store.migrations import SCHEMA_VERSION, migrate
from orchestrator.testbed.process import free_port
from probes.model import Status

from .conftest import endpoint, new_sweep, report
from .read_only_dir import REPO, assert_read_only_for_commands, interop, listing, run_read_only

JAKARTA, BANDUNG = endpoint(1), endpoint(2, agency="kota-bandung", province="Jawa Barat")


def run_interop(*args: str) -> subprocess.CompletedProcess:
    """``interop ARGS`` as a writer runs it: no read-only view."""
    return subprocess.run(interop(*args), cwd=REPO, capture_output=True, text=True, timeout=60)


def _at(day: int) -> datetime:
    return datetime(2026, 11, day, 1, 0, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path) -> dict:
    """Two complete sweeps; SSH-KEX-001 of Jakarta regresses from pass to fail. Written, then closed."""
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "results.db"
    with Store(path) as store:
        ids = []
        for day, jakarta in ((20, Status.PASS), (21, Status.FAIL)):
            sweep_id = new_sweep(store, [JAKARTA, BANDUNG], started_at=_at(day))
            store.record_many(
                sweep_id,
                [
                    (JAKARTA.endpoint_id, report(JAKARTA.url, {"SSH-KEX-001": jakarta})),
                    (BANDUNG.endpoint_id, report(BANDUNG.url, {"SSH-KEX-001": Status.PASS})),
                ],
            )
            store.set_state(sweep_id, "complete")
            ids.append(sweep_id)
    # A closed WAL store: no -wal/-shm beside it, so a reader in a read-only
    # directory cannot share a writer's (the hardest case).
    assert list(listing(directory)) == ["results.db"]
    return {"dir": directory, "path": path, "old": ids[0], "new": ids[1]}


def _list(h, out):
    assert [s["id"] for s in json.loads(out)] == [h["new"], h["old"]]


def _show(h, out):
    shown = json.loads(out)
    assert shown["sweep"]["id"] == h["new"]
    assert shown["progress"]["done"] == 2 and shown["summary"]["by_status"] == {"fail": 1, "pass": 1}


def _diff(h, out):
    diff = json.loads(out)
    assert [(e["endpoint_id"], e["check_id"], e["before"], e["after"]) for e in diff["regressions"]] == [
        (JAKARTA.endpoint_id, "SSH-KEX-001", "pass", "fail")
    ]


def _report(h, out):
    assert h["new"] in out and JAKARTA.endpoint_id in out
    json.loads(out)


READERS = {
    "sweep list": (lambda h: ["sweep", "list", "--json"], _list),
    "sweep show": (lambda h: ["sweep", "show", h["new"], "--json"], _show),
    "sweep diff": (lambda h: ["sweep", "diff", h["old"], h["new"], "--json"], _diff),
    "report": (lambda h: ["report", h["new"], "--format", "json"], _report),
}


@pytest.mark.parametrize("command", list(READERS))
def test_readers_work_in_a_directory_they_cannot_write(history, command):
    arguments, check = READERS[command]
    assert_read_only_for_commands(history["dir"])
    before = listing(history["dir"])

    result = run_read_only(history["dir"], *interop(*arguments(history), "--store", str(history["path"])))

    assert result.returncode == 0, result.stderr
    check(history, result.stdout)
    assert listing(history["dir"]) == before


def test_a_reader_in_a_read_only_directory_sees_what_a_running_writer_commits(history):
    def shown_done(sweep_id: str) -> int:
        result = run_read_only(
            history["dir"], *interop("sweep", "show", sweep_id, "--json", "--store", str(history["path"]))
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["progress"]["done"]

    third = endpoint(3)
    writer = Store(history["path"])  # outside the namespace: it can write
    try:
        running = new_sweep(writer, [JAKARTA, BANDUNG, third], started_at=_at(22))
        writer.record(running, JAKARTA.endpoint_id, report(JAKARTA.url))
        assert Path(f"{history['path']}-wal").exists()  # the writer's WAL, which the reader shares
        assert shown_done(running) == 1
        writer.record(running, BANDUNG.endpoint_id, report(BANDUNG.url))
        assert shown_done(running) == 2
    finally:
        writer.close()
    # The writer gone (its WAL checkpointed and removed): the file holds every commit.
    assert not Path(f"{history['path']}-wal").exists()
    assert shown_done(running) == 2


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_readers_refuse_an_older_schema_and_write_nothing(tmp_path, journal):
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "results.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    assert migrate(conn, target=2) == 2
    conn.close()
    before = listing(directory)
    port = str(free_port())
    commands = (
        ["sweep", "list"],
        ["report", "latest"],
        ["serve", "--listen", f"127.0.0.1:{port}"],
    )
    for arguments in commands:
        result = run_read_only(directory, *interop(*arguments, "--store", str(path)))
        message = " ".join(result.stderr.split())
        assert result.returncode == 2, (arguments, result.stderr)
        assert f"cannot open results store {path}" in message
        assert f"at schema version 2, older than this program's ({SCHEMA_VERSION})" in message
        assert "interop sweep migrate" in message and "Traceback" not in result.stderr
    assert listing(directory) == before

    # The one command that upgrades it (it writes: outside the read-only view).
    upgraded = run_interop("sweep", "migrate", "--store", str(path))
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema version {SCHEMA_VERSION}" in upgraded.stdout
    result = run_read_only(directory, *interop("sweep", "list", "--json", "--store", str(path)))
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_migrate_of_a_missing_store_exits_2_and_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "results.db"
    result = run_interop("sweep", "migrate", "--store", str(missing))
    assert result.returncode == 2 and f"no results store at {missing}" in result.stderr
    assert not missing.parent.exists()


# -- the Store API -------------------------------------------------------------------


def test_a_read_only_store_refuses_writes(history):
    with Store(history["path"], read_only=True) as store:
        assert store.get_sweep(history["new"]).state.value == "complete"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.set_state(history["new"], "failed")
    with Store(history["path"], read_only=True) as store:
        assert store.get_sweep(history["new"]).state.value == "complete"


def test_a_missing_store_is_not_created_by_a_reader(tmp_path):
    missing = tmp_path / "nowhere" / "results.db"
    with pytest.raises(StoreNotFound):
        Store(missing, read_only=True)
    with pytest.raises(StoreNotFound):
        Store(missing, create=True, read_only=True)  # read_only wins
    assert not missing.parent.exists()


def test_a_reader_refuses_a_newer_schema(history):
    with sqlite3.connect(history["path"]) as conn:
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from the future', '2030-01-01T00:00:00+00:00')",
            (SCHEMA_VERSION + 1,),
        )
    with pytest.raises(StoreError, match="newer"):
        Store(history["path"], read_only=True)


def _wal_store(directory: Path) -> Path:
    directory.mkdir()
    path = directory / "results.db"
    Store(path).close()
    assert list(listing(directory)) == ["results.db"]
    return path


def test_how_a_reader_opens_the_file(tmp_path):
    # Rollback journal: shared locks on the file itself, nothing beside it.
    journal = tmp_path / "journal.db"
    Store(journal, wal=False).close()
    assert _read_only_uri(journal).endswith("?mode=ro")
    # WAL, no writer, a directory we may write and a store we own: SQLite's -shm, with locks.
    ours = _wal_store(tmp_path / "ours")
    assert _read_only_uri(ours).endswith("?mode=ro")
    # WAL with a writer's -wal present: shared with the writer.
    with Store(ours):
        assert _read_only_uri(ours).endswith("?mode=ro")
    # WAL, no writer, a store owned by someone else: files we created there
    # would be ours, and the next writer (its owner) could not use them.
    theirs = _wal_store(tmp_path / "theirs")
    os.chown(theirs, 65534, 65534)
    assert _read_only_uri(theirs).endswith("?mode=ro&immutable=1")


def test_reading_a_store_of_another_user_creates_no_file_beside_it(history):
    os.chown(history["path"], 65534, 65534)
    before = listing(history["dir"])
    with Store(history["path"], read_only=True) as store:
        assert [s.id for s in store.list_sweeps()] == [history["new"], history["old"]]
        assert store.progress(history["new"]).by_status == {"fail": 1, "pass": 1}
    assert listing(history["dir"]) == before


_WRITE_THEN_DIE = """
import os, signal, sys
from pathlib import Path
from orchestrator.store import Store
from tests.store.conftest import endpoint, new_sweep, report
store = Store(Path(sys.argv[1]))
sweep_id = new_sweep(store, [endpoint(1), endpoint(2)])
store.record(sweep_id, endpoint(1).endpoint_id, report(endpoint(1).url))
print(sweep_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no checkpoint, no clean-up: its WAL stays as it was
"""


def test_a_reader_in_a_read_only_directory_reads_what_a_killed_writer_committed(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir()
    path = directory / "results.db"
    writer = subprocess.run(
        [sys.executable, "-c", _WRITE_THEN_DIE, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert writer.returncode == -9, writer.stderr
    sweep_id = writer.stdout.strip()
    assert Path(f"{path}-wal").stat().st_size > 0  # the commits are only in the WAL
    before = listing(directory)

    result = run_read_only(directory, *interop("sweep", "show", sweep_id, "--json", "--store", str(path)))

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["sweep"]["state"] == "running" and shown["progress"]["done"] == 1
    assert listing(directory) == before
