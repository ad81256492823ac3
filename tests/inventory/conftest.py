"""Fixtures for the inventory tests: files written into tmp dirs, one national inventory per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.inventory import synthetic

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "inventory-tiny.yaml"
MARK = "# <-"


def marked_line(text: str, mark: str = MARK) -> int:
    """1-based line of the only line carrying ``mark``: where the test expects the problem."""
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if mark in line]
    assert len(lines) == 1, f"{mark!r} must mark exactly one line"
    return lines[0]


@pytest.fixture
def write(tmp_path):
    """write(text, name="inventory.yaml") -> Path of a file in this test's tmp dir."""

    def _write(text: str, name: str = "inventory.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def national() -> dict:
    """The full synthetic national inventory document for seed 7 (plain data, not validated)."""
    return synthetic.generate(7)


@pytest.fixture(scope="session")
def national_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("national") / "national.yaml"
    synthetic.write_generated(path, 7)
    write_ca_bundle(path.parent / "testbed-ca.pem")  # what the testbed writes for the grpcs endpoints
    return path


def write_ca_bundle(path: Path) -> Path:
    """A real CA bundle at ``path`` (validation parses what an inventory references)."""
    from orchestrator.testbed.pki import TestCA

    path.write_bytes(TestCA(path.parent / f".{path.name}.ca").ca_pem)
    return path


def write_private_key(path: Path) -> Path:
    """A real unencrypted Ed25519 key in OpenSSH format at ``path``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return path
