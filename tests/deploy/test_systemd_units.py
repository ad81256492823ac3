"""deploy/systemd: the units pass ``systemd-analyze verify`` as shipped, are hardened, and run what exists.

``verify`` checks that each ExecStart binary exists, and the units name the
install location (/opt/spbe-interop/.venv). The test copies the real units
and substitutes that install prefix, and nothing else, with this checkout's
virtualenv, whose ``interop`` and ``ray`` are the same programs; every other
line is verified as shipped. ``verify`` reports most mistakes (an unknown
key, a bad value) as warnings with exit 0, so any output fails the test too.

Hardening is measured by ``systemd-analyze security --offline=true`` (its
exposure score, 0 best to 10 worst), and the units' command lines are parsed
by the programs' own option parsers (``interop serve``, ``ray start``), so a
renamed or misspelt option fails here rather than at an operator's boot.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.commands import SERVE_OPTIONS, interop_params, ray_start_params

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
OPERATORS_DOC = REPO / "docs" / "operators.md"
INSTALL_PREFIX = "/opt/spbe-interop/.venv"
HERE_PREFIX = sys.prefix  # this checkout's virtualenv: bin/interop and bin/ray are installed there
SHIPPED = ["interop-ray-head.service", "interop-ray-worker.service", "interop-serve.service"]
STATE = Path("/var/lib/spbe-interop")  # StateDirectory=spbe-interop: writable under ProtectSystem=strict
# systemd-analyze security's --threshold is ten times the exposure it prints: 20 means "at most 2.0".
MAX_EXPOSURE = 20
# The hardening every unit carries (systemd.exec(5)); value None: present with any value.
HARDENING: dict[str, str | None] = {
    "User": "interop",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
    "SystemCallFilter": "@system-service",
    "StateDirectory": "spbe-interop",
    "UMask": "0027",
}
# Every process that may start Ray says so, and how.
RAY_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}


def installed_copies(destination: Path, edit=lambda name, text: text) -> list[Path]:
    destination.mkdir()
    copies = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text()
        replaced = text.replace(INSTALL_PREFIX, HERE_PREFIX)
        # Only ExecStart lines name the install prefix.
        changed = [
            line
            for line, original in zip(replaced.splitlines(), text.splitlines(), strict=True)
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


def security(unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            "--no-pager",
            f"--threshold={MAX_EXPOSURE}",
            str(unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit.parent,
    )


def _directive(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def _command(unit: str) -> list[str]:
    [command] = _directive((UNITS / unit).read_text(), "ExecStart")
    return shlex.split(command)


def _environment(text: str) -> dict[str, str]:
    pairs = [pair.split("=", 1) for entry in _directive(text, "Environment") for pair in shlex.split(entry)]
    return dict(pairs)


def test_the_shipped_units_pass_systemd_analyze_verify(tmp_path):
    assert shutil.which("systemd-analyze"), "systemd is a test dependency (Makefile DEBIAN_PACKAGES)"
    assert (Path(HERE_PREFIX) / "bin" / "interop").exists() and (Path(HERE_PREFIX) / "bin" / "ray").exists()
    units = installed_copies(tmp_path / "units")
    assert [u.name for u in units] == SHIPPED
    result = verify(units)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""


def test_the_check_sees_a_mistake(tmp_path):
    """The control: a unit with a misspelt key does not pass."""
    units = installed_copies(
        tmp_path / "units",
        lambda name, text: (
            text.replace("ProtectSystem=", "ProtectSystm=") if name == "interop-serve.service" else text
        ),
    )
    result = verify(units)
    assert "Unknown key" in result.stdout + result.stderr and "ProtectSystm" in result.stdout + result.stderr


@pytest.mark.parametrize("unit", SHIPPED)
def test_each_unit_carries_the_hardening(unit):
    text = (UNITS / unit).read_text()
    for key, value in HARDENING.items():
        values = _directive(text, key)
        assert values, f"{unit}: no {key}="
        if value is not None:
            assert value in values, f"{unit}: {key}={values}, expected {value}"


@pytest.mark.parametrize("unit", SHIPPED)
def test_each_unit_is_within_the_exposure_budget(tmp_path, unit):
    [copy] = [u for u in installed_copies(tmp_path / "units") if u.name == unit]
    result = security(copy)
    overall = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert overall, result.stdout[-2000:] + result.stderr
    assert result.returncode == 0, f"{unit}: exposure {overall.group(1)} > {MAX_EXPOSURE / 10}"


def test_the_exposure_budget_refuses_an_unhardened_unit(tmp_path):
    """The control: the service without its hardening section is over the budget."""
    text = (UNITS / "interop-serve.service").read_text().replace(INSTALL_PREFIX, HERE_PREFIX)
    bare = text.split("# Hardening", 1)[0] + "[Install]\nWantedBy=multi-user.target\n"
    (tmp_path / "interop-serve.service").write_text(bare)
    result = security(tmp_path / "interop-serve.service")
    assert "Overall exposure level" in result.stdout and result.returncode != 0


@pytest.mark.parametrize("unit", SHIPPED)
def test_ray_starts_with_token_auth_and_without_usage_statistics(unit):
    environment = _environment((UNITS / unit).read_text())
    assert {k: environment.get(k) for k in RAY_ENVIRONMENT} == RAY_ENVIRONMENT


@pytest.mark.parametrize("unit", ["interop-ray-head.service", "interop-ray-worker.service"])
def test_ray_units_run_what_ray_start_accepts(unit):
    arguments = _command(unit)
    assert arguments[1] == "start"
    params = ray_start_params(arguments[2:])  # Ray's own parser: names and types
    assert params["head"] == ("head" in unit) and (params["address"] is not None) == ("worker" in unit)
    assert params["block"] and params["disable_usage_stats"]  # systemd keeps it; no reporting
    # Ray's directory, where drivers on this node (the service's sweeps) find its sockets:
    # the same on every node, inside the state directory (PrivateTmp hides /tmp between units).
    assert Path(params["temp_dir"]).is_relative_to(STATE)


def test_the_worker_carries_its_vantage_resources():
    arguments = _command("interop-ray-worker.service")
    assert "--resources=${RAY_WORKER_RESOURCES}" in arguments
    assert _environment((UNITS / "interop-ray-worker.service").read_text())["RAY_WORKER_RESOURCES"] == "{}"


def test_the_service_runs_its_schedule_with_options_interop_serve_has():
    arguments = _command("interop-serve.service")
    params = interop_params(arguments[1:])  # the CLI's own parser: names, types, ranges
    assert arguments[1] == "serve"
    assert set(SERVE_OPTIONS) <= set(arguments), set(SERVE_OPTIONS) - set(arguments)
    assert params["every"] == "6h" and params["keep"] >= 1 and params["ray_address"] == "${RAY_HEAD_ADDRESS}"
    # The service writes its store (scheduled sweeps, compaction): inside the state directory.
    assert params["store_path"].is_relative_to(STATE)
    assert not _directive((UNITS / "interop-serve.service").read_text(), "ReadOnlyPaths")


def test_every_variable_a_unit_uses_is_set_by_it_or_by_the_documented_ray_env():
    """${VAR} in ExecStart is set by Environment= or by /etc/spbe-interop/ray.env as docs/operators.md writes it."""
    documented: set[str] = set()
    heredoc = r"cat > /etc/spbe-interop/ray\.env <<'EOF'\n(.*?)\nEOF"
    for block in re.findall(heredoc, OPERATORS_DOC.read_text(), re.S):
        documented |= {line.split("=", 1)[0] for line in block.splitlines() if "=" in line}
    assert documented, "docs/operators.md writes no /etc/spbe-interop/ray.env"
    for unit in SHIPPED:
        text = (UNITS / unit).read_text()
        used = set(re.findall(r"\$\{(\w+)\}", " ".join(_directive(text, "ExecStart"))))
        assert _directive(text, "EnvironmentFile") == ["/etc/spbe-interop/ray.env"]
        assert used <= documented | set(_environment(text)), (unit, used - documented)
