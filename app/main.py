"""The application factory: `app.main:app` for uvicorn, `create_app()` for tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from starlette.datastructures import URL
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import cors, openapi_links, tracing
from app.auth import Principal
from app.body_limit import BodyLimit
from app.compression import Compression
from app.conditional import ConditionalGet
from app.config import Settings
from app.crypto import SecretBox
from app.cursors import Cursors
from app.db import migrate
from app.db.engine import create_engine, create_read_sessionmaker, create_sessionmaker
from app.idempotency import Idempotency
from app.key_cache import KeyCache
from app.keys import resolve_master_key, resolve_secret_keys
from app.methods import AllowedMethods
from app.metrics import Metrics
from app.openapi_meta import METADATA
from app.pages.csrf import CsrfTokens
from app.pages.render import ASSETS_URL as PAGE_ASSETS_URL
from app.pages.render import PageAssets
from app.problems import UnexpectedErrors
from app.problems import install as install_problem_handlers
from app.query_strings import StrictQueryStrings
from app.rate_limits import RateLimiter
from app.request_log import RequestLog
from app.routers import (
    audit,
    communications,
    docs,
    events,
    gesdent,
    health,
    instances,
    legacy,
    manifests,
    mappings,
    members,
    metrics,
    partners,
    portal_availability,
    portals,
    problem_types,
    reports,
    services,
    sync_data,
    sync_health,
    sync_runs,
    webhook_endpoints,
    webhooks,
)
from app.routers import settings as settings_routes
from app.search_cache import SearchCache
from app.sync.scheduler import SyncService

log = logging.getLogger("portico")


def create_app(settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The application; traced with `tracer_provider` if given, else as OTEL_EXPORTER_OTLP_ENDPOINT
    says (app/tracing.py)."""
    settings = settings or Settings()
    own_provider = tracer_provider is None
    provider = tracer_provider or tracing.provider_from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_database_dir()
        app.state.master_key = resolve_master_key(settings)
        secret_keys = resolve_secret_keys(settings)
        app.state.secret_box = SecretBox(secret_keys)
        app.state.csrf = CsrfTokens(secret_keys)
        app.state.cursors = Cursors(secret_keys)
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        tracing.instrument_engine(engine, provider)
        if settings.auto_migrate:
            await migrate.upgrade(engine)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        sync_service = _start_sync_service(app, settings, provider) if settings.scheduler else None
        app.state.sync_service = sync_service  # for `portico serve` to stop its claims on SIGTERM
        try:
            yield
        finally:
            if sync_service is not None:
                await sync_service.stop()
            await engine.dispose()
            await app.state.rate_limiter.close()
            if own_provider and provider is not None:
                provider.shutdown()  # exports the spans still in its batch

    app = FastAPI(
        **METADATA,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served by app.routers.docs, with bundled assets instead of a CDN
        redoc_url=None,
    )
    _set_state(app, settings)
    install_problem_handlers(app)
    openapi_links.install(app)
    for module in (
        health,
        partners,
        instances,
        settings_routes,
        communications,
        services,
        gesdent,
        portals,
        members,
        reports,
        mappings,
        manifests,
        sync_runs,
        sync_health,
        webhooks,
        webhook_endpoints,
        audit,
        legacy,
        sync_data,
        portal_availability,
        docs,
        problem_types,
        metrics,
    ):
        # The routes themselves, not the router: FastAPI matches an included router's routes through
        # a layer of its own (each route's context set and restored around its match, the router's
        # version walked, and the chosen router matched again), some fifth of a one-row read's cost.
        # A route of these routers takes nothing from its inclusion (no prefix, tags or dependencies).
        app.router.routes.extend(module.router.routes)
    app.webhooks.include_router(events.webhooks)  # in the spec only: what partners' endpoints receive
    app.mount(docs.ASSETS_URL, docs.DocsAssets(), name="docs-assets")
    app.mount(PAGE_ASSETS_URL, PageAssets(), name="page-assets")
    _add_body_middleware(app, settings)
    app.add_middleware(RelativeRedirects, public_url=settings.public_url)
    # The report is computed from many rows and has no version: its ETag is that of its bytes.
    app.add_middleware(ConditionalGet, tagged_by_bytes=[reports.portal_report])
    # Outside ConditionalGet: the 304 is decided on the uncompressed answer's tag.
    app.add_middleware(Compression)
    # Outside BodyLimit: a wrong query string is refused before BodyLimit reads a body.
    app.add_middleware(StrictQueryStrings, router=app.router)
    # Outside StrictQueryStrings: a method the path does not take is refused first, and a HEAD is
    # checked as the GET it becomes.
    app.add_middleware(AllowedMethods, router=app.router)
    # Added last, so outermost: an unexpected error anywhere below is answered as a problem.
    app.add_middleware(UnexpectedErrors)
    # Outside even that: the 500 a browser's page gets carries the CORS headers it needs to read it.
    cors.install(app, settings.cors_origin_list)
    # Outermost: every answer carries the request id (CORS preflights included), and its log line
    # times and sees all of it.
    app.add_middleware(RequestLog, routes=app.router.routes, metrics=app.state.metrics)
    # Around even that: the request's span covers all of it (added when the stack is built).
    tracing.instrument_app(app, provider)
    return app


def _add_body_middleware(app: FastAPI, settings: Settings) -> None:
    """The innermost middleware: BodyLimit, and inside it Idempotency, which reads the bodies BodyLimit
    bounded and keeps the answers of the routes as they gave them (uncompressed)."""
    app.add_middleware(Idempotency, router=app.router)
    larger = dict.fromkeys(manifests.WHOLE_PORTAL_PATHS, settings.max_manifest_bytes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, larger=larger)


def _start_sync_service(app: FastAPI, settings: Settings, provider: TracerProvider | None) -> SyncService:
    """The scheduler and workers of the syncs, started (app/sync/scheduler.py)."""
    sync_service = SyncService.from_settings(
        settings,
        app.state.sessionmaker,
        app.state.secret_box,
        metrics=app.state.metrics,
        tracer_provider=provider,
    )
    sync_service.start()
    return sync_service


def _set_state(app: FastAPI, settings: Settings) -> None:
    """What the app holds from its creation, not from its lifespan."""
    app.state.settings = settings
    app.state.metrics = Metrics()  # here, not in the lifespan: the middleware counts into it
    # The principals of the API keys presented lately, for a second (app/key_cache.py).
    app.state.principals = KeyCache[Principal]()
    # Requests per API key and failed authentications per address (app/rate_limits.py).
    app.state.rate_limiter = RateLimiter(settings)
    # Answers of the portal search, served again while their portal's generation holds (app/search_cache.py).
    app.state.search_cache = SearchCache(settings.search_cache_entries, settings.search_cache_bytes)


class RelativeRedirects:
    """Make the service's redirects to itself relative, or absolute on PORTICO_PUBLIC_URL.

    Starlette answers `/v1/instances/` with a redirect to `/v1/instances` whose Location it builds
    from the request's `Host`, which the client chooses: `Host: evil.example` came back as
    `Location: http://evil.example/v1/instances`."""

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app = app
        self.public_url = public_url or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and httpx.codes.is_redirect(message["status"]):
                message["headers"] = [
                    (name, self._relative(value.decode("latin-1"), scope).encode("latin-1"))
                    if name.lower() == b"location"
                    else (name, value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, relative)

    def _relative(self, location: str, scope: Scope) -> str:
        own = URL(scope=scope)  # what Starlette built the Location from
        prefix = f"{own.scheme}://{own.netloc}"
        rest = location[len(prefix) :]
        if location.startswith(prefix) and (not rest or rest[0] in "/?#"):
            return self.public_url + (rest or "/")
        return location


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` keeps working, while importing this module reads no settings: the app is
    # built from the environment on first access, not at import (where a bad setting is a traceback).
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
