"""docs/operators.md's backup commands make a whole, consistent copy of a store that is being written.

The commands are taken from the document, with its paths replaced by this
test's (and `sudo -u interop` dropped: the test is the store's owner), and
run while another process records sweeps into the store through the
project's own ``Store``, as a running sweep does. The copy must pass SQLite's
integrity check, open as a results store, and hold every sweep committed
before the backup began and none that was not committed in the source.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.store import Store
from tests.metrics.conftest import build_scenario

REPO = Path(__file__).resolve().parents[2]
OPERATORS_DOC = REPO / "docs" / "operators.md"
DOC_STORE = "/var/lib/spbe-interop/results.db"
DOC_COPY = "/var/backups/spbe-interop/results-$(date +%F).db"
DOC_PYTHON = "/opt/spbe-interop/.venv/bin/python"
BACKUP_TIMEOUT_S = 120
WRITER_LIMIT_S = BACKUP_TIMEOUT_S + 60  # the writer stops when told, at the latest after this long
WRITER_SWEEPS = 1_000_000

# Records one small complete sweep after another into the store, until STOP exists.
WRITER = """
import sys, time
from datetime import datetime, timedelta
from pathlib import Path
from orchestrator.store import Store
from tests.metrics.conftest import E1, RECORDS
from tests.metrics.support import add_sweep, report

store_path, stop = sys.argv[1], Path(sys.argv[2])
deadline = time.monotonic() + float(sys.argv[3])
start = datetime(2030, 1, 1)
with Store(Path(store_path)) as store:
    for n in range(int(sys.argv[4])):
        if stop.exists() or time.monotonic() > deadline:
            break
        started = (start + timedelta(minutes=n)).isoformat()
        add_sweep(store, "writer", [(RECORDS[E1], report(E1), None)], started=started)
        if n == 2:
            print("writing", flush=True)
"""


def backup_commands() -> dict[str, str]:
    """The document's backup commands (console lines that write under /var/backups), by tool."""
    lines = [
        line[2:]
        for line in OPERATORS_DOC.read_text().splitlines()
        if line.startswith("# ") and DOC_COPY in line
    ]
    found = {("sqlite3" if "VACUUM INTO" in line else "python"): line for line in lines}
    assert sorted(found) == ["python", "sqlite3"], lines
    return found


def _sweep_ids(path: Path) -> set[str]:
    with Store(path, read_only=True) as store:
        return {sweep.id for sweep in store.list_sweeps(limit=None)}


@pytest.mark.parametrize("tool", ["sqlite3", "python"])
def test_the_documented_backup_copies_a_store_while_a_sweep_writes_it(tmp_path, tool):
    if tool == "sqlite3":
        assert shutil.which("sqlite3"), "sqlite3 is a test dependency (Makefile DEBIAN_PACKAGES)"
    store = tmp_path / "state" / "results.db"
    store.parent.mkdir()
    build_scenario(store)
    copy = tmp_path / "backups" / "results.db"
    copy.parent.mkdir()
    command = backup_commands()[tool]
    command = command.removeprefix("sudo -u interop ").replace(DOC_PYTHON, sys.executable)
    command = command.replace(DOC_STORE, str(store)).replace(DOC_COPY, str(copy))
    assert "/var/" not in command and "/opt/" not in command, command

    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store), str(stop), str(WRITER_LIMIT_S), str(WRITER_SWEEPS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = writer.stdout.readline().strip()
        assert started == "writing", writer.stderr.read() if writer.poll() is not None else started
        before = _sweep_ids(store)  # committed before the backup starts: all must be in the copy
        backup = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=BACKUP_TIMEOUT_S, cwd=tmp_path
        )
        still_writing = writer.poll() is None
    finally:
        stop.touch()
        _out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert backup.returncode == 0, backup.stderr
    assert still_writing, "the writer had stopped before the backup ended: the test did not test a busy store"

    connection = sqlite3.connect(copy)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()
    copied, after = _sweep_ids(copy), _sweep_ids(store)
    assert before <= copied <= after and before < after
