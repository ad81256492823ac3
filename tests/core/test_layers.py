"""The layering rule of DESIGN.md: probes/ is pure asyncio probe code."""

from __future__ import annotations

import ast
from pathlib import Path

PROBES = Path(__file__).resolve().parents[2] / "probes"
FORBIDDEN = ("orchestrator", "ray", "prometheus_client", "sqlite3", "typer", "rich")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_probes_import_nothing_of_the_orchestrator_layer():
    offenders = {
        str(path.relative_to(PROBES.parent)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN
        )
        for path in PROBES.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert len(offenders) > 10  # the scan really saw the probe modules
