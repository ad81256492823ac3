"""``python -m orchestrator.cli``: the ``interop`` command without its installed script."""

from orchestrator.cli import app

app()
