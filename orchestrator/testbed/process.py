"""Start a server process, wait until its port answers, stop it by pid."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out; racy in theory, fine on loopback."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> tuple[int, ...]:
    """``count`` distinct ports: every socket stays bound until all are chosen,
    since the kernel may hand a just-released port out again."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return tuple(sock.getsockname()[1] for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def wait_for_port(host: str, port: int, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s} s")


@dataclass
class ServerProcess:
    """A server we started. ``stop`` terminates it by pid, then kills if needed."""

    name: str
    host: str
    port: int
    process: subprocess.Popen
    workdir: Path
    log_path: Path
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=3)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch(name: str, argv: list[str], host: str, port: int, workdir: Path) -> ServerProcess:
    """Start ``argv`` with its output in ``workdir/<name>.log``; ``spawn`` also waits for its port."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "LC_ALL": "C"},
        )
    return ServerProcess(name, host, port, process, workdir, log_path)


def spawn(
    name: str,
    argv: list[str],
    host: str,
    port: int,
    workdir: Path,
    timeout_s: float = 10.0,
    also: Iterable[tuple[str, int]] = (),
) -> ServerProcess:
    """Start ``argv`` with its output in ``workdir/<name>.log`` and wait for its port and the
    addresses ``also`` (a server listening on several)."""
    server = launch(name, argv, host, port, workdir)
    try:
        for address in [(host, port), *also]:
            wait_for_port(*address, timeout_s, server.process)
    except Exception as exc:
        server.stop()
        raise RuntimeError(f"{name} did not start: {exc}\n{server.log()[-2000:]}") from exc
    return server
