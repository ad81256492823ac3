"""Bringing Ray up without hanging, and saying why when it does not come up.

Joining a cluster (``--ray-address``)
    Left to itself, ``ray.init(address=...)`` keeps retrying when nothing
    answers there: with nothing listening on 127.0.0.1:6399 it printed only
    Ray's "Failed to connect to GCS" lines for more than 120 s (each of its
    connect attempts waits ~40 s, and it makes ``RAY_gcs_server_port_wait_time_s``
    of them). ``check_gcs`` asks the address first, within
    ``CONNECT_TIMEOUT_S`` + ``ANSWER_TIMEOUT_S``: a TCP connect, then one gRPC
    call that only a Ray GCS answers (``NodeInfoGcsService/GetClusterId``).

Starting an embedded node
    On a loaded 2-core machine Ray's own start-up waits can run out: the
    raylet registers with the GCS only after its Python agents have started.
    ``RayEngine.start`` lengthens those waits (``ray_engine.RAY_WAITS``),
    tries once more after cleaning up the failed attempt by pid
    (``processes.descendants``, ``kill_processes``), and ``describe_failed_start`` names the process
    that did not come up, with the end of its logs.

No Ray import here: these run before Ray is asked anything.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.engine import EngineError
from orchestrator.processes import reap, signal_each

CONNECT_TIMEOUT_S = 5.0
ANSWER_TIMEOUT_S = 10.0
# A method every Ray GCS serves and nothing else does; an empty request is a valid one.
GCS_PROBE_METHOD = "/ray.rpc.NodeInfoGcsService/GetClusterId"
LOG_TAIL_CHARS = 1500
GCS_WAIT = "RAY_gcs_server_port_wait_time_s"


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` -> (host, port); EngineError naming the address otherwise."""
    host, sep, port_text = address.rpartition(":")
    problem = None
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        problem = "give HOST:PORT of the cluster's head node (its GCS port, 6379 by default)"
    elif host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            problem = f"{host} is not an IPv6 address"
        host = host[1:-1]
    elif ":" in host:
        problem = "put an IPv6 address in brackets, e.g. [::1]:6379"
    if problem:
        raise EngineError(f"--ray-address {address!r}: {problem}")
    return host, int(port_text)


def check_gcs(
    address: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S, answer_timeout_s: float = ANSWER_TIMEOUT_S
) -> None:
    """Return if a Ray GCS answers at ``address``; raise EngineError saying what is there instead."""
    host, port = parse_address(address)
    lead = f"cannot join the Ray cluster at {address}"
    try:
        with socket.create_connection((host, port), timeout=connect_timeout_s):
            pass
    except TimeoutError:
        raise EngineError(f"{lead}: no answer to a TCP connect within {connect_timeout_s:.0f} s") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise EngineError(f"{lead}: nothing accepts connections there ({reason})") from None
    problem = _gcs_answer_problem(address, answer_timeout_s)
    if problem:
        raise EngineError(f"{lead}: {problem}")


def _gcs_answer_problem(address: str, timeout_s: float) -> str | None:
    import grpc

    # No proxy: the address is the cluster's own, never reached through http_proxy.
    with grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        try:
            probe: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(GCS_PROBE_METHOD)
            probe(b"", timeout=timeout_s)
            return None
        except grpc.RpcError as exc:
            code, details = exc.code(), (exc.details() or "").strip()
    answers = {
        # A GCS that wants a token is still a GCS: ray.init brings the token it has.
        grpc.StatusCode.UNAUTHENTICATED: None,
        grpc.StatusCode.PERMISSION_DENIED: None,
        grpc.StatusCode.DEADLINE_EXCEEDED: (
            f"something accepts connections there but gave no answer as a Ray GCS within {timeout_s:.0f} s "
            "(is this the head node's GCS port?)"
        ),
        grpc.StatusCode.UNIMPLEMENTED: "a gRPC server answers there, but it is not a Ray GCS",
        grpc.StatusCode.UNAVAILABLE: (
            f"something accepts connections there but does not speak gRPC ({details[:200]})"
        ),
    }
    return answers.get(code, f"the server there answered {code.name}: {details[:200]}")


@contextmanager
def gcs_wait(value: int | str) -> Iterator[None]:
    """``RAY_gcs_server_port_wait_time_s`` set to ``value`` for a start or a join, then restored.

    Ray reads it when it starts a node (seconds a new GCS has to publish its
    port) and when a driver joins one (how many connect attempts it makes).
    """
    previous = os.environ.get(GCS_WAIT)
    os.environ[GCS_WAIT] = str(value)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(GCS_WAIT, None)
        else:
            os.environ[GCS_WAIT] = previous


# -- a failed embedded start -------------------------------------------------------

# Which process a start-up error points at, and the logs that say why (the
# raylet waits for its agents, so theirs are shown with it). First match wins.
_RAYLET_LOGS = ("raylet.out", "raylet.err", "dashboard_agent.log", "runtime_env_agent.log")
_SUSPECTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("timed out during startup", "raylet", _RAYLET_LOGS),
    ("raylet", "raylet", _RAYLET_LOGS),
    ("gcs", "gcs_server", ("gcs_server.out", "gcs_server.err")),
)
_UNKNOWN_SUSPECT = ("gcs_server.out", "gcs_server.err", "raylet.out", "raylet.err")


def describe_failed_start(temp_dir: Path, exc: BaseException) -> str:
    """What failed (Ray's message), which process it points at, and the end of that process's logs."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    lowered = text.lower()
    process, logs = next(
        ((name, files) for pattern, name, files in _SUSPECTS if pattern in lowered), (None, _UNKNOWN_SUSPECT)
    )
    lines = [text[:600]]
    if process:
        lines.append(f"the {process} did not come up")
    sessions = sorted(
        (p for p in temp_dir.glob("session_*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.stat().st_mtime,
    )
    if not sessions:
        lines.append(f"(Ray wrote no session under {temp_dir})")
        return "\n".join(lines)
    log_dir = sessions[-1] / "logs"
    shown = list(logs) + sorted(
        p.name for p in log_dir.glob("*.err") if p.name not in logs and p.stat().st_size > 0
    )
    for name in shown:
        path = log_dir / name
        if path.exists() and path.stat().st_size > 0:
            tail = path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
            lines.append(f"--- end of {path}\n{tail.rstrip()}")
    return "\n".join(lines)


# -- processes of a failed attempt ---------------------------------------------------


def kill_processes(pids: set[int], wait_s: float = 10.0) -> None:
    """SIGKILL each of ``pids`` (the processes a failed start left) and reap our own children."""
    signal_each(pids, signal.SIGKILL)
    reap(pids, wait_s)
