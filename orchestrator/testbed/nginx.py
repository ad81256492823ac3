"""nginx as a gRPC reverse proxy on loopback (Debian's nginx-light), for tests.

The common deployment of a gRPC service: nginx terminates HTTP/2 (and TLS)
and hands calls to the application with ``grpc_pass``. When the application
is down, nginx answers every call itself: HTTP 502, or — with the error page
many deployments add — a gRPC status UNAVAILABLE. Both are answers a gate
must call a failure of the service, not an error of the probe.

``legacy_terminator_config`` is the fleet's use (``fleet.py``): an old TLS
terminator that still accepts TLS 1.0 and 1.1 (Debian's OpenSSL 3 offers
them only at ``@SECLEVEL=0``), in front of the testbed's gRPC listeners.

One nginx process serves every listener of a ``GrpcProxy``. It runs in the
foreground with a single process (``daemon off``, ``master_process off``),
with its configuration, pid file, logs and temporary files all in its own
work directory, and is stopped by its pid.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from orchestrator.testbed.pki import Issued
from orchestrator.testbed.process import ServerProcess, free_ports, spawn

NGINX = shutil.which("nginx", path="/usr/sbin:/usr/bin") or "/usr/sbin/nginx"
HOST = "127.0.0.1"

# What a listener does when the backend does not answer, as nginx config.
# "status": nginx's documented way to answer gRPC clients in gRPC terms.
FAILURE_MODES = {
    "http_502": "",
    "status_unavailable": """
    error_page 502 503 504 = @grpc_unavailable;
""",
}
STATUS_PAGE = """
  location @grpc_unavailable {
    default_type application/grpc;
    add_header grpc-status 14;
    add_header grpc-message "backend unavailable";
    return 204;
  }
"""


@dataclass(frozen=True)
class Listener:
    name: str
    port: int
    tls: Issued | None = None
    on_failure: str = "http_502"  # a key of FAILURE_MODES


@dataclass
class GrpcProxy:
    """A running nginx; ``port(name)`` is where listener ``name`` accepts."""

    process: ServerProcess
    listeners: dict[str, Listener]
    backend_port: int

    def port(self, name: str) -> int:
        return self.listeners[name].port

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> GrpcProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _server_block(listener: Listener, backend_port: int) -> str:
    if listener.tls is None:
        listen = f"listen {HOST}:{listener.port} http2;"
        tls = ""
    else:
        listen = f"listen {HOST}:{listener.port} ssl http2;"
        tls = f"""
    ssl_certificate {listener.tls.cert_path};
    ssl_certificate_key {listener.tls.key_path};
    ssl_protocols TLSv1.2 TLSv1.3;"""
    return f"""
  server {{
    {listen}{tls}
    location / {{
      grpc_pass grpc://{HOST}:{backend_port};{FAILURE_MODES[listener.on_failure]}
    }}{STATUS_PAGE if listener.on_failure == "status_unavailable" else ""}
  }}
"""


def config_text(workdir: Path, listeners: list[Listener], backend_port: int) -> str:
    servers = "".join(_server_block(listener, backend_port) for listener in listeners)
    return _config(workdir, servers)


# What the legacy terminator accepts: every version Debian's OpenSSL still has, every cipher.
LEGACY_PROTOCOLS = "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"
LEGACY_CIPHERS = "ALL:@SECLEVEL=0"


@dataclass(frozen=True)
class Route:
    """TLS on ``listen`` terminated with ``tls``, calls passed to the plaintext gRPC ``backend``."""

    listen: tuple[str, int]
    backend: tuple[str, int]
    tls: Issued


def legacy_terminator_config(workdir: Path, routes: list[Route]) -> str:
    """One nginx terminating TLS 1.0-1.3 for every route (no access log: a sweep sends thousands of calls).

    ``keepalive`` upstreams: without them nginx opens a backend connection per call.
    """
    blocks = []
    for n, route in enumerate(routes):
        (host, port), (backend_host, backend_port) = route.listen, route.backend
        blocks.append(f"""
  upstream backend_{n} {{ server {backend_host}:{backend_port}; keepalive 2; }}
  server {{
    listen {host}:{port} ssl http2;
    ssl_certificate {route.tls.cert_path};
    ssl_certificate_key {route.tls.key_path};
    ssl_protocols {LEGACY_PROTOCOLS};
    ssl_ciphers {LEGACY_CIPHERS};
    location / {{ grpc_pass grpc://backend_{n}; }}
  }}
""")
    return _config(workdir, "".join(blocks), log_level="warn", access_log="off", connections=4096)


def _config(
    workdir: Path,
    servers: str,
    log_level: str = "info",
    access_log: str | None = None,
    connections: int = 256,
) -> str:
    temp = {kind: workdir / f"{kind}_temp" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {4 * connections};
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} {log_level};
events {{ worker_connections {connections}; }}
http {{
  access_log {access_log or workdir / "access.log"};
  client_body_temp_path {temp["client_body"]};
  proxy_temp_path {temp["proxy"]};
  fastcgi_temp_path {temp["fastcgi"]};
  uwsgi_temp_path {temp["uwsgi"]};
  scgi_temp_path {temp["scgi"]};
  grpc_connect_timeout 5s;
{servers}}}
"""


def start_grpc_proxy(
    workdir: Path,
    backend_port: int,
    tls: Issued | None = None,
    timeout_s: float = 10.0,
) -> GrpcProxy:
    """nginx in front of ``backend_port``: listeners ``plain`` (HTTP 502 when the backend is
    down), ``status`` (gRPC UNAVAILABLE instead) and, with a certificate, ``tls`` (502 too)."""
    workdir.mkdir(parents=True, exist_ok=True)
    plans: list[tuple[str, Issued | None, str]] = [
        ("plain", None, "http_502"),
        ("status", None, "status_unavailable"),
    ]
    if tls is not None:
        plans.append(("tls", tls, "http_502"))
    ports = free_ports(len(plans))
    listeners = [
        Listener(name, port, cert, mode) for (name, cert, mode), port in zip(plans, ports, strict=True)
    ]
    config = workdir / "nginx.conf"
    config.write_text(config_text(workdir, listeners, backend_port))
    argv = [NGINX, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(config)]
    process = spawn(
        "nginx",
        argv,
        HOST,
        listeners[0].port,
        workdir,
        timeout_s,
        also=[(HOST, listener.port) for listener in listeners[1:]],
    )
    return GrpcProxy(process, {listener.name: listener for listener in listeners}, backend_port)
