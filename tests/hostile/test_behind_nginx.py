"""The common deployment: gRPC behind nginx ``grpc_pass``. Green while the backend serves, red once it stops.

The same nginx, the same URLs: first through to a conformant grpcio backend
(proving the proxy carries gRPC — health, Watch streams, reflection, the
interop cases — so what follows is about the backend), then with the backend
stopped, when nginx answers every call itself.
"""

from __future__ import annotations

import pytest

from orchestrator.outcome import EXIT_FINDINGS, EXIT_OK
from orchestrator.testbed.grpc_server import start_grpc_servers
from orchestrator.testbed.grpc_spec import GrpcServerSpec
from orchestrator.testbed.nginx import start_grpc_proxy
from tests.hostile.conftest import check

IDENTITY = ("32.73", "bdg-perizinan")


@pytest.mark.timeout(180)
def test_grpc_behind_nginx_fails_the_gate_when_the_backend_stops(tmp_path, hostile_ca, profiles):
    backend = start_grpc_servers([GrpcServerSpec("backend", identity=IDENTITY)], tmp_path / "backend")
    try:
        with start_grpc_proxy(
            tmp_path / "nginx", backend.port("backend"), tls=hostile_ca.issue("proxy")
        ) as proxy:
            urls = {
                "plain": f"grpc://127.0.0.1:{proxy.port('plain')}",
                "status": f"grpc://127.0.0.1:{proxy.port('status')}",
                "tls": f"grpcs://127.0.0.1:{proxy.port('tls')}",
            }
            options = {
                name: [
                    "--profile",
                    str(profiles["patient"]),
                    "--agency",
                    IDENTITY[0],
                    "--application",
                    IDENTITY[1],
                ]
                + (["--ca", str(hostile_ca.ca_path)] if name == "tls" else [])
                for name in urls
            }

            for name, url in urls.items():
                serving = check(url, *options[name])
                assert serving.exit_code == EXIT_OK, (name, serving.output)
                assert serving.status("GRPC-HLTH-001") == "pass"
                assert serving.status("GRPC-REFL-003") == "pass"  # a bidi stream through the proxy
                assert serving.report["undetermined"] == 0

            backend.stop()

            for name, url in urls.items():
                stopped = check(url, *options[name])
                assert stopped.exit_code == EXIT_FINDINGS, (name, stopped.output)
                assert stopped.status("GRPC-HLTH-001") == "fail"
                assert stopped.result("GRPC-HLTH-001")["severity"] == "high"
                assert stopped.report["findings"] >= 1
            assert stopped.status("TLS-CERT-001") == "pass"  # the proxy's TLS is fine; the service is not
    finally:
        backend.stop()
