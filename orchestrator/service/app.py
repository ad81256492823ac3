"""The HTTP application of ``interop serve`` (Starlette): its routes and who may call each.

``ROUTES`` is the one table of paths, handlers and access rules; anything
else is 404. With a tokens file every route but ``/healthz`` and ``/readyz``
needs ``Authorization: Bearer TOKEN`` (401 without one or with an unknown
one); ``operator`` may call everything; ``agency:<code>`` gets 403 for
``/status``, national reports and any other agency's report, and
``/metrics`` answers it with its own series only (``metrics.agency_view``).
Access is checked before anything is read, so a refused request learns
nothing about what exists. Without a tokens file every request is the
operator's (``serve`` then listens on loopback only).

Tokens never reach a log: the access log (``orchestrator.service.access_log``)
writes the client, method, the path as sent (no query string), status and the
token's id; uvicorn's own access log is off, and a token in the query string
is refused (400) rather than accepted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator import tool_version
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.metrics.agency_view import agency_view
from orchestrator.metrics.collector import StoreCollector, read_store
from orchestrator.reports.model import ReportError
from orchestrator.service.access import OPEN_ACCESS, Principal, TokenSource, TokensUnavailable, bearer_token
from orchestrator.service.language import UnknownLanguage, negotiate
from orchestrator.service.pages import index_page
from orchestrator.service.probe import (
    SCRAPE_TIMEOUT_HEADER,
    Prober,
    ProbeRefused,
    answer_metrics,
    scrape_timeout,
)
from orchestrator.service.reports import MEDIA_TYPES, ReportCache, ReportRequest
from orchestrator.store import AmbiguousSweep, Store, StoreNotFound, Sweep, UnknownSweep

log = logging.getLogger(__name__)
access_log = logging.getLogger("orchestrator.service.access_log")

# Who may call a route.
PUBLIC = "public"  # no token needed
ANY_TOKEN = "any token"  # noqa: S105 - a route's access level; any valid token; what it sees depends on its role
OPERATOR_ONLY = "operator"
OWN_AGENCY = "operator or the agency named in the path"
QUERY_TOKENS = ("token", "access_token", "bearer")  # refused: URLs end up in logs and browser histories
INDEX_SWEEPS = 100  # sweeps listed on /reports/
STATUS_SWEEPS = 10
QUIET_PATHS = frozenset({"/healthz", "/readyz"})  # probed every few seconds: logged only when not 200
BEARER = {"WWW-Authenticate": 'Bearer realm="interop"'}
PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Authorization, Accept-Language"}
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


@dataclass
class ServiceConfig:
    store_path: Path
    tokens_path: Path | None = None
    waivers_path: Path | None = None
    build_wait_s: float = 5.0
    scheduler: Any = None  # orchestrator.service.scheduler.Scheduler, when sweeps are scheduled
    listen: str = ""
    prober: Prober | None = None  # /probe's inventory and profile, when an inventory is served


class _Collected:
    """Already collected metric families, in the shape prometheus-client's encoders read."""

    def __init__(self, metrics: list):
        self.metrics = metrics

    def collect(self) -> list:
        return self.metrics


class Service:
    """The state behind the routes: the metrics collector, the report cache, the tokens."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.collector = StoreCollector(
            config.store_path, waivers_path=config.waivers_path, build_wait_s=config.build_wait_s
        )
        self.reports = ReportCache(config.store_path, config.waivers_path)
        self.tokens = TokenSource(config.tokens_path) if config.tokens_path is not None else None
        self.started_at = datetime.now(UTC)

    def close(self) -> None:
        self.collector.close()
        self.reports.close()

    # -- access ------------------------------------------------------------

    def authorise(self, request: Request, rule: str) -> Principal:
        """The caller, if ``rule`` lets them in; HTTPException 400/401/403/503 otherwise."""
        if any(name in request.query_params for name in QUERY_TOKENS):
            raise HTTPException(400, "tokens are not accepted in the URL: send Authorization: Bearer TOKEN")
        if self.tokens is None:
            principal = OPEN_ACCESS
        else:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                raise HTTPException(401, "a token is needed: Authorization: Bearer TOKEN", headers=BEARER)
            try:
                found = self.tokens.authenticate(token)
            except TokensUnavailable as exc:
                log.error("tokens file unusable, refusing every token: %s", exc)
                raise HTTPException(
                    503, "access control is unavailable; the operator has been told"
                ) from None
            if found is None:
                raise HTTPException(401, "unknown or revoked token", headers=BEARER)
            principal = found
        request.state.principal = principal
        role = principal.role
        if rule == OPERATOR_ONLY and not role.is_operator:
            raise HTTPException(403, f"not for the role {role}")
        if rule == OWN_AGENCY and not role.is_operator and request.path_params.get("code") != role.agency:
            raise HTTPException(403, f"the role {role} may read its own agency's reports only")
        return principal

    # -- routes ------------------------------------------------------------

    async def healthz(self, request: Request, principal: Principal | None) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(self, request: Request, principal: Principal | None) -> Response:
        ready, checks = await run_in_threadpool(self._readiness)
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    def _readiness(self) -> tuple[bool, dict[str, str]]:
        scheduler = self.config.scheduler
        checks: dict[str, str] = {}
        try:
            read_store(self.config.store_path, lambda store: store.list_sweeps(1))
            checks["store"], ready = "readable", True
        except StoreNotFound:
            checks["store"], ready = "absent", scheduler is not None  # the first scheduled sweep creates it
        except Exception as exc:  # noqa: BLE001 - any reason is "not ready"; the reason goes to the log
            log.warning("readiness: results store %s unreadable: %s", self.config.store_path, exc)
            checks["store"], ready = "unreadable", False
        if scheduler is not None:
            alive = scheduler.alive()
            checks["scheduler"] = "alive" if alive else "stopped"
            ready = ready and alive
        if self.tokens is not None:
            usable = self.tokens.problem() is None
            checks["tokens"] = "readable" if usable else "unreadable"
            ready = ready and usable
        return ready, checks

    async def metrics(self, request: Request, principal: Principal) -> Response:
        body, content_type = await run_in_threadpool(
            self._exposition, principal, request.headers.get("accept")
        )
        return Response(body, headers={"Content-Type": content_type, **PRIVATE})

    def _exposition(self, principal: Principal, accept: str | None) -> tuple[bytes, str]:
        metrics = self.collector.collect()
        role = principal.role
        if role.is_operator:
            if self.config.scheduler is not None:
                metrics = [*metrics, *self.config.scheduler.collector().collect()]
        else:
            metrics = agency_view(metrics, role.agency or "")
        encoder, content_type = choose_encoder(accept or "")
        return encoder(_Collected(metrics)), content_type

    async def probe(self, request: Request, principal: Principal) -> Response:
        prober = self.config.prober
        if prober is None:
            raise HTTPException(404, "no inventory is served here: start interop serve with --inventory FILE")
        role = principal.role
        try:
            planned = await prober.target(
                request.query_params.get("target"), None if role.is_operator else role.agency
            )
            profile = prober.profile(request.query_params.get("profile"))
            timeout = scrape_timeout(request.headers.get(SCRAPE_TIMEOUT_HEADER))
            answer = await prober.probe(planned, profile, timeout)
        except ProbeRefused as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except (OSError, ConfigError) as exc:  # no verdict without the waivers in force
            raise waivers_unusable(exc) from None
        encoder, content_type = choose_encoder(request.headers.get("accept") or "")
        body = encoder(_Collected(answer_metrics(answer)))
        return Response(body, headers={"Content-Type": content_type, **PRIVATE})

    async def status(self, request: Request, principal: Principal) -> Response:
        return JSONResponse(await run_in_threadpool(self._status))

    def _status(self) -> dict[str, Any]:
        store: dict[str, Any] = {"path": str(self.config.store_path)}
        sweeps = []
        try:
            sweeps = read_store(self.config.store_path, lambda s: s.list_sweeps(STATUS_SWEEPS))
            store["readable"] = True
        except StoreNotFound:
            store.update(readable=False, error="no results store yet")
        except Exception as exc:  # noqa: BLE001 - /status reports it
            store.update(readable=False, error=str(exc))
        scheduler = self.config.scheduler
        return {
            "service": {
                "version": tool_version(),
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "listen": self.config.listen,
                "access": "tokens" if self.tokens else "open",
            },
            "store": store,
            "sweeps": [sweep.to_dict() for sweep in sweeps],
            "scheduler": scheduler.status() if scheduler is not None else None,
        }

    async def index(self, request: Request, principal: Principal) -> Response:
        lang = _lang(request)
        agency = None if principal.role.is_operator else principal.role.agency

        def visible(store: Store) -> list[Sweep]:
            sweeps = store.list_sweeps(INDEX_SWEEPS)
            return [s for s in sweeps if agency is None or store.has_agency(s.id, agency)]

        try:
            sweeps = await run_in_threadpool(read_store, self.config.store_path, visible)
        except StoreNotFound:
            sweeps = []
        return HTMLResponse(index_page(sweeps, agency, lang), headers={**PRIVATE, "Content-Language": lang})

    async def national(self, request: Request, principal: Principal) -> Response:
        return await self._report(request, None)

    async def agency(self, request: Request, principal: Principal) -> Response:
        return await self._report(request, request.path_params["code"])

    async def _report(self, request: Request, agency: str | None) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in MEDIA_TYPES:
            raise HTTPException(404, f"no {fmt!r} report: {', '.join(MEDIA_TYPES)}")
        lang = _lang(request)
        reference = request.path_params["sweep"]
        try:
            sweep = await run_in_threadpool(self.reports.sweep, reference)
            body = await self.reports.render(ReportRequest(sweep, fmt, agency, lang))
        except StoreNotFound:
            raise HTTPException(404, "no sweeps yet") from None
        except UnknownSweep:
            raise HTTPException(404, f"no sweep {reference!r}") from None
        except AmbiguousSweep as exc:
            raise HTTPException(404, str(exc)) from None
        except ReportError as exc:  # the agency has no endpoints in that sweep
            raise HTTPException(404, str(exc)) from None
        except ConfigError as exc:
            raise waivers_unusable(exc) from None
        headers = {**PRIVATE, "Content-Language": lang}
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def waivers_unusable(exc: Exception) -> HTTPException:
    """The waivers file broke since start: the detail goes to the operator's log, the caller gets 503."""
    log.error("waivers file: %s", exc)
    return HTTPException(503, "the waivers file is invalid; the operator has been told")


def _lang(request: Request) -> str:
    try:
        return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    except UnknownLanguage as exc:
        raise HTTPException(400, str(exc)) from None


class AccessLog:
    """ASGI middleware: one log line per request without query or headers; hardening headers on every answer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "backslashreplace")
            shown = path.decode("ascii", "backslashreplace")  # as sent: percent-encoded, no query
            if not (status == 200 and scope["path"] in QUIET_PATHS):
                principal = scope.get("state", {}).get("principal")
                client = scope.get("client") or ("-", 0)
                access_log.info(
                    '%s "%s %s" %d %s %.3fs',
                    client[0],
                    scope["method"],
                    shown,
                    status or 500,
                    principal.token_id if principal else "-",
                    time.perf_counter() - started,
                )


# The routes: path, handler (a method of Service) and who may call it. Nothing else is served.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/healthz", "healthz", PUBLIC),
    ("/readyz", "readyz", PUBLIC),
    ("/metrics", "metrics", ANY_TOKEN),
    ("/probe", "probe", ANY_TOKEN),  # an agency: its own endpoints only (service.probe)
    ("/status", "status", OPERATOR_ONLY),
    ("/reports/", "index", ANY_TOKEN),
    ("/reports/{sweep}/national.{fmt}", "national", OPERATOR_ONLY),
    ("/reports/{sweep}/agency/{code}.{fmt}", "agency", OWN_AGENCY),
)


def _guarded(service: Service, handler_name: str, rule: str) -> Callable[[Request], Awaitable[Response]]:
    handler = getattr(service, handler_name)

    async def endpoint(request: Request) -> Response:
        principal = None if rule == PUBLIC else service.authorise(request, rule)
        return await handler(request, principal)

    endpoint.__name__ = handler_name
    return endpoint


def create_app(config: ServiceConfig) -> tuple[Starlette, Service]:
    """The application and the service behind it (close it after the server stopped)."""
    service = Service(config)
    routes = [Route(path, _guarded(service, name, rule)) for path, name, rule in ROUTES]
    middleware = [Middleware(AccessLog), Middleware(GZipMiddleware, minimum_size=1024)]
    app = Starlette(routes=routes, middleware=middleware)
    app.router.redirect_slashes = False  # /reports is not /reports/: anything but the routes is 404
    return app, service
