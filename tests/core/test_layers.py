"""The layer rules of docs/architecture.md ("Layers and who may import whom"), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("orchestrator", "probes")

# Who may not import whom: (the code a rule covers, what it must not import, why). A prefix
# ``orchestrator.engine`` covers the package and everything below it.
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "probes",
        ("orchestrator", "ray", "prometheus_client", "sqlite3", "typer", "rich"),
        "probes are pure asyncio probe code: they run in a CI gate, a Ray worker or a test alike",
    ),
    (
        "orchestrator.engine",
        ("orchestrator.cli", "orchestrator.metrics", "rich", "typer", "prometheus_client"),
        "the engine reports progress to an observer it is given; it never knows a terminal or the metrics",
    ),
    (
        "orchestrator.store",
        ("orchestrator.cli", "orchestrator.metrics", "rich", "typer", "prometheus_client"),
        "the store is read by the CLI, reports and metrics, never the other way round",
    ),
    (
        "orchestrator.sweep",
        ("orchestrator.cli", "rich", "typer"),
        "a sweep runs the same from the CLI, the service and tests: its observer is passed in",
    ),
    (
        "orchestrator.reports",
        ("orchestrator.cli", "rich", "typer"),
        "reports are written by the CLI and served by the service alike",
    ),
    (
        "orchestrator.metrics",
        ("orchestrator.cli", "rich", "typer"),
        "metrics are exported by the CLI and served by the service alike",
    ),
    (
        "orchestrator.service",
        ("orchestrator.cli", "rich", "typer"),
        "the service is started by the CLI and by tests alike; its scheduler runs sweeps as CLI child processes",
    ),
    (
        "orchestrator.gate",
        (
            "orchestrator.cli",
            "orchestrator.store",
            "orchestrator.metrics",
            "orchestrator.sweep",
            "ray",
            "rich",
            "typer",
            "prometheus_client",
        ),
        "a gate runs in a CI job, from the CLI or the pytest plugin: in-process, no Ray, no store, no terminal",
    ),
    (
        "orchestrator.testbed",
        (
            "orchestrator.cli",
            "orchestrator.engine",
            "orchestrator.store",
            "orchestrator.reports",
            "orchestrator.metrics",
            "orchestrator.sweep",
            "probes.runner",
            "probes.registry",
            "probes.ssh",
            "probes.tls",
            "probes.grpc",
        ),
        "the testbed serves tests, the demo and benchmarks; it knows servers, probes.model and the inventory",
    ),
)
LINE_LIMIT = 520  # "no module over ~500 lines unless it is data"
DATA_MODULES: frozenset[str] = frozenset()  # modules exempt from the limit because they are tables


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
    }


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(path: Path, module: str, top_level_only: bool = False) -> set[str]:
    """Every module name ``path`` imports (``from a import b`` counts ``a`` and ``a.b``).

    ``top_level_only`` leaves out imports inside functions and ``if TYPE_CHECKING:``
    blocks: those cannot make an import loop.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    nodes: list[ast.AST] = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.extend(ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node])
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _covers(prefix: str, name: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("covered, forbidden, why", RULES, ids=[rule[0] for rule in RULES])
def test_layer_rule(covered, forbidden, why):
    modules = {name: path for name, path in source_modules().items() if _covers(covered, name)}
    assert modules, f"the rule for {covered} covers no module: has it moved?"
    offenders = {
        name: sorted(i for i in imports(path, name) if any(_covers(f, i) for f in forbidden))
        for name, path in modules.items()
    }
    assert {name: found for name, found in offenders.items() if found} == {}, why


def test_no_import_loops():
    """Module-level imports between our own modules form no cycle (plan lives in engine/ for this)."""
    modules = source_modules()
    graph = {
        name: {i for i in imports(path, name, top_level_only=True) if i in modules and i != name}
        for name, path in modules.items()
    }
    # A package imports its submodules through its __init__ facade: that edge is not a loop.
    graph = {name: {i for i in deps if not _covers(i, name)} for name, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep] if dep in stack else [name, dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_every_module_says_what_it_is_for():
    missing = []
    for name, path in source_modules().items():
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if not docstring or not docstring.strip().splitlines()[0].strip():
            missing.append(name)
    assert missing == []


def test_no_module_is_a_second_architecture():
    long = {
        name: lines
        for name, path in source_modules().items()
        if name not in DATA_MODULES
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > LINE_LIMIT
    }
    assert long == {}
