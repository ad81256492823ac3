"""The CI gate: targets probed at once in one process, one verdict, JUnit/SARIF/Markdown/JSON from the same run.

``interop gate`` and ``interop check`` (``orchestrator/cli/``) and the pytest
plugin (``pytest_plugin``) are its front ends; see docs/architecture.md.
"""
