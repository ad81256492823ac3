"""Conformance probes: pure asyncio code that talks to one server.

No Ray, no Prometheus, no store, no files written. See ``probes.runner`` for
the entry point and ``probes.registry`` for how checks are registered.
"""
