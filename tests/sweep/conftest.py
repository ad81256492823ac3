"""Fixtures shared by the sweep tests; helpers live in ``support.py``."""

from __future__ import annotations

import socket

import pytest

import orchestrator.engine.ray_engine  # noqa: F401  - sets RAY_* in os.environ before any Ray import


@pytest.fixture
def quiet_listener():
    """A listening socket nothing should ever connect to: proves 'nothing was probed'."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()
