"""gRPC C-core's own log lines never reach the user's terminal; what they said is in the check's reason.

Unsilenced, grpcio 1.85 prints ``I1204 17:48:19.510286 26662
ssl_transport_security.cc:2563] Handshake failed ...`` on standard error for
every channel to a server whose certificate does not verify, or that does
not speak TLS at all. ``interop check`` runs here as a CI job runs it: a child
process, output piped, no GRPC_VERBOSITY of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE_LOG_LINE = re.compile(r"^[EWID]\d{4} ")  # absl's prefix: severity letter, MMDD


def piped_check(url: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GRPC_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "check",
            url,
            "--json",
            "--only",
            "GRPC-*",
            "--only",
            "TLS-*",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "servers, name, cause",
    [
        ("tls_servers", "tls", "CERTIFICATE_VERIFY_FAILED"),  # signed by a CA the client does not trust
        ("plain_servers", "conformant", "WRONG_VERSION_NUMBER"),  # no TLS at all
    ],
)
def test_a_failed_tls_handshake_leaves_no_core_log_line(servers, name, cause, request):
    port = request.getfixturevalue(servers).port(name)
    result = piped_check(f"grpcs://127.0.0.1:{port}")
    assert result.returncode in (1, 4), result.stderr
    assert not [line for line in result.stderr.splitlines() if CORE_LOG_LINE.match(line)], result.stderr
    assert "absl::InitializeLog" not in result.stderr, result.stderr
    # What the log line said, the gRPC checks' reasons say.
    reasons = {r["check_id"]: r["reason"] for r in json.loads(result.stdout)["results"]}
    assert cause in reasons["GRPC-HLTH-001"], reasons
