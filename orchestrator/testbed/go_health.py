"""Many grpc.health.v1.Health endpoints served by grpc-go: few processes, many addresses.

    python -m orchestrator.testbed.go_health build [--dir build/go-health]

    binary = build()
    with start_fleet(binary, workdir, count=200, tls=issued) as fleet:   # 127.x.y.1:<port> each
        fleet.endpoints   # [("127.160.1.1", 43121), ...]

The server (``go_health/main.go``) registers grpc-go's own health service
(the empty service name answers SERVING) and reflection on one
``grpc.Server`` and serves it on every address it is given, plaintext or TLS.
It is built offline like grpc-go's interop peers (``grpc_go``): Debian's
``golang-go`` and the grpc-go library of ``golang-google-grpc-dev`` under
/usr/share/gocode, ``GO111MODULE=off``. The binary is cached under
``build/go-health`` with a stamp naming its source hash, the library version
and the Go version; it is rebuilt when any of them changes. A failed build
raises ``BuildError``: nothing that needs these servers skips for want of them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.testbed.grpc_go import (
    LIBRARY_PACKAGE,
    SYSTEM_GOPATH,
    build_command,
    build_lock,
    go_version,
    installed_version,
    run_step,
)
from orchestrator.testbed.pki import Issued
from orchestrator.testbed.process import ServerProcess, free_port, launch, wait_for_port

SOURCE = Path(__file__).resolve().parent / "go_health" / "main.go"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "build" / "go-health"
PACKAGE = "healthfleet"
STAMP = "built-from"
BUILD_TIMEOUT_S = 600
ENDPOINTS_PER_OCTET = 250  # 127.<a>.<1..250>.1, then the next <a>
READY_TIMEOUT_S = 30.0


def _stamp() -> str:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return f"{SOURCE.name} {digest}; {LIBRARY_PACKAGE} {installed_version(LIBRARY_PACKAGE)}; {go_version()}"


def build(directory: Path = DEFAULT_DIR, log: Callable[[str], object] | None = None) -> Path:
    """The server binary, built into ``directory/bin`` unless it is there from this source already."""
    say = log or (lambda message: None)
    with build_lock(directory):
        wanted = _stamp()
        binary, stamp = directory / "bin" / PACKAGE, directory / "bin" / STAMP
        if os.access(binary, os.X_OK) and stamp.is_file() and stamp.read_text().strip() == wanted:
            return binary
        started = time.monotonic()
        work = directory / "work"
        shutil.rmtree(work, ignore_errors=True)
        package_dir = work / "gopath" / "src" / PACKAGE
        package_dir.mkdir(parents=True)
        shutil.copy(SOURCE, package_dir / SOURCE.name)
        staging = directory / "bin.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        env = {
            **os.environ,
            "GO111MODULE": "off",
            "GOPATH": f"{SYSTEM_GOPATH}:{work / 'gopath'}",
            "GOCACHE": str(directory / "gocache"),
            "GOFLAGS": "",
            "CGO_ENABLED": "0",
        }
        say("go health fleet server: go build …")
        run_step(
            ["go", "build", "-o", str(staging / PACKAGE), PACKAGE],
            "go build",
            BUILD_TIMEOUT_S,
            env=env,
            cwd=work,
        )
        (staging / STAMP).write_text(wanted + "\n")
        shutil.rmtree(directory / "bin", ignore_errors=True)
        staging.rename(directory / "bin")
        shutil.rmtree(work)
        say(f"go health fleet server: built in {time.monotonic() - started:.1f} s into {binary}")
        return binary


def fleet_addresses(count: int, first_octet: int) -> list[str]:
    """``count`` distinct loopback addresses 127.<first_octet + i // 250>.<i % 250 + 1>.1."""
    if count < 1 or first_octet + (count - 1) // ENDPOINTS_PER_OCTET > 254:
        raise ValueError(f"cannot place {count} endpoints from 127.{first_octet}.x.1")
    return [
        f"127.{first_octet + i // ENDPOINTS_PER_OCTET}.{i % ENDPOINTS_PER_OCTET + 1}.1" for i in range(count)
    ]


@dataclass
class HealthFleet:
    """One server process; ``endpoints`` are (address, port), every one SERVING."""

    server: ServerProcess
    endpoints: list[tuple[str, int]]
    tls: Issued | None = None
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.server.pid

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> HealthFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_fleet(
    binary: Path,
    workdir: Path,
    count: int,
    first_octet: int = 160,
    tls: Issued | None = None,
    name: str = "go-health",
) -> HealthFleet:
    """``count`` health endpoints on distinct addresses sharing one free port, served by one process.

    ``tls``: the certificate (its SANs must name what clients verify) and key; plaintext when None.
    """
    addresses = fleet_addresses(count, first_octet)
    port = free_port(addresses[0])
    workdir.mkdir(parents=True, exist_ok=True)
    listen_file = workdir / f"{name}.listen"
    listen_file.write_text("".join(f"{address}:{port}\n" for address in addresses))
    argv = [str(binary), "-listen-file", str(listen_file)]
    if tls is not None:
        argv += ["-cert", str(tls.cert_path), "-key", str(tls.key_path)]
    server = launch(name, argv, addresses[0], port, workdir)
    try:
        for address in (addresses[0], addresses[-1]):  # bound in order: the last one means all
            wait_for_port(address, port, READY_TIMEOUT_S, server.process)
    except Exception as exc:
        server.stop()
        raise RuntimeError(f"{name} did not start: {exc}\n{server.log()[-2000:]}") from exc
    return HealthFleet(server, [(address, port) for address in addresses], tls)


def main(argv: list[str] | None = None) -> int:
    return build_command(argv, __doc__.splitlines()[0], DEFAULT_DIR, build, "the go health fleet server", str)


if __name__ == "__main__":
    sys.exit(main())
