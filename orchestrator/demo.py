"""``make demo``: real local servers, checked end to end with the real CLI.

Starts an OpenSSH server with Debian's default configuration and a
conformant gRPC server (health, reflection, the SPBE identity contract and
grpc.testing.TestService) on 127.0.0.1, runs ``interop check`` against
both exactly as a user or a CI job would, and stops everything it started.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from orchestrator.testbed.grpc_server import GrpcServerSpec, start_grpc_servers
from orchestrator.testbed.sshd import host_key, start_openssh

INTEROP = [sys.executable, "-m", "orchestrator.cli"]


def run_cli(args: list[str]) -> int:
    print(f"\n$ interop {shlex.join(args)}", flush=True)
    completed = subprocess.run([*INTEROP, *args], stdin=subprocess.DEVNULL, timeout=120)
    print(f"(exit {completed.returncode})", flush=True)
    return completed.returncode


def single_target_checks(workdir: Path) -> None:
    keys = [host_key(workdir / "keys", "ed25519"), host_key(workdir / "keys", "rsa", 3072)]
    with (
        start_openssh(workdir, profile="default", host_keys=keys, name="demo-sshd") as sshd,
        start_grpc_servers(
            [GrpcServerSpec("demo", identity=("32.73", "bdg-perizinan"))], workdir / "grpc"
        ) as grpc_servers,
    ):
        print("== One server at a time: interop check (what a CI gate runs) ==")
        print(
            f"OpenSSH (Debian defaults) on 127.0.0.1:{sshd.port}, gRPC on 127.0.0.1:{grpc_servers.port('demo')}"
        )
        run_cli(["check", f"ssh://127.0.0.1:{sshd.port}"])
        run_cli(
            [
                "check",
                f"grpc://127.0.0.1:{grpc_servers.port('demo')}",
                "--service",
                "grpc.testing.TestService",
                "--agency",
                "32.73",
                "--application",
                "bdg-perizinan",
            ]
        )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="spbe-demo-") as tmp:
        single_target_checks(Path(tmp))
    print("\nAll demo servers stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
