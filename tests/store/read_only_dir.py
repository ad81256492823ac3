"""Run a command where a directory cannot be written, as systemd's ``ReadOnlyPaths=`` does it.

A read-only bind mount of the directory over itself, in a private mount
namespace (``unshare --mount``): only the command sees it read-only, a writer
outside keeps writing. The tests run as root, which ignores permission bits
but not a read-only mount, so this holds for root as well (running as
``nobody`` instead would need the virtualenv's Python to be readable by
``nobody``, which a clone under /root is not).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_MOUNT_READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'


def read_only(directory: Path, *command: str) -> list[str]:
    """``command`` wrapped so that it runs with ``directory`` mounted read-only (the same pid: exec)."""
    return [
        "unshare", "--mount", "--propagation", "private", "--",
        "sh", "-c", _MOUNT_READ_ONLY, "sh", str(directory), *command,
    ]  # fmt: skip


def interop(*args: str) -> list[str]:
    """The ``interop`` CLI as a command line."""
    return [sys.executable, "-m", "orchestrator.cli", *args]


def run_read_only(directory: Path, *command: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        read_only(directory, *command),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


def assert_read_only_for_commands(directory: Path) -> None:
    """The test's premise: inside the wrapper even root cannot create a file in ``directory``."""
    probe = directory / ".write-probe"
    result = run_read_only(directory, "touch", str(probe), timeout_s=30)
    assert result.returncode != 0 and "Read-only file system" in result.stderr, result
    assert not probe.exists()


def listing(directory: Path) -> dict[str, bytes]:
    """Every file of ``directory`` with its content: proof that nothing was written."""
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()}
