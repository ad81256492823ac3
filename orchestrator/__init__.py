"""spbe-interop's orchestrator: inventory, plan, engine, store, metrics, reports and the CLI over the probes."""

from __future__ import annotations


def tool_version() -> str:
    """The installed version of spbe-interop, as the CLI and every report print it."""
    # Imported here: importlib.metadata costs ~20 ms, and most commands (a sweep) never print it.
    from importlib import metadata

    try:
        return metadata.version("spbe-interop")
    except metadata.PackageNotFoundError:
        return "0+unknown"
