"""deploy/systemd: the units pass ``systemd-analyze verify`` as they are shipped.

``verify`` checks that each ExecStart binary exists, and the units name the
install location (/opt/spbe-interop/.venv). The test copies the real units
and substitutes that install prefix, and nothing else, with this checkout's
virtualenv, whose ``interop`` is the same program; every other line is
verified as shipped. ``verify`` reports most mistakes (an unknown key, a bad
value) as warnings with exit 0, so any output fails the test too.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
INSTALL_PREFIX = "/opt/spbe-interop/.venv"
HERE_PREFIX = sys.prefix  # this checkout's virtualenv: bin/interop is installed there


def installed_copies(destination: Path, edit=lambda name, text: text) -> list[Path]:
    destination.mkdir()
    copies = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text()
        replaced = text.replace(INSTALL_PREFIX, HERE_PREFIX)
        # Only ExecStart lines name the install prefix.
        changed = [
            line
            for line, original in zip(replaced.splitlines(), text.splitlines())
            if line != original
        ]
        assert all(line.startswith("ExecStart=") for line in changed), changed
        copy = destination / unit.name
        copy.write_text(edit(unit.name, replaced))
        copies.append(copy)
    return copies


def verify(units: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, timeout=60
    )


def test_the_shipped_units_pass_systemd_analyze_verify(tmp_path):
    assert shutil.which("systemd-analyze"), "systemd is a test dependency (Makefile DEBIAN_PACKAGES)"
    assert (Path(HERE_PREFIX) / "bin" / "interop").exists()
    units = installed_copies(tmp_path / "units")
    assert sorted(u.name for u in units) == [
        "interop-serve.service",
        "interop-sweep.service",
        "interop-sweep.timer",
    ]
    result = verify(units)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""


def test_the_check_sees_a_mistake(tmp_path):
    """The control: a unit with a misspelt key does not pass."""
    units = installed_copies(
        tmp_path / "units",
        lambda name, text: (
            text.replace("ReadOnlyPaths=", "ReadOnlyPath=") if name == "interop-serve.service" else text
        ),
    )
    result = verify(units)
    assert "Unknown key" in result.stdout + result.stderr and "ReadOnlyPath" in result.stdout + result.stderr


def _directive(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


@pytest.mark.parametrize("unit", ["interop-serve.service"])
def test_the_exporter_reads_a_store_the_unit_makes_read_only(unit):
    """What tests/metrics/test_cli_serve.py runs `interop serve` under: its --store inside ReadOnlyPaths."""
    text = (UNITS / unit).read_text()
    [command] = _directive(text, "ExecStart")
    arguments = shlex.split(command)
    store = Path(arguments[arguments.index("--store") + 1])
    read_only = [Path(p) for entry in _directive(text, "ReadOnlyPaths") for p in re.split(r"\s+", entry) if p]
    assert any(store.is_relative_to(path) for path in read_only), (store, read_only)
