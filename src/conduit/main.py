"""The application factory: one place where settings, database and contract are wired."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from conduit.api import admin, articles, comments, deps, favorites, profiles, tags, users
from conduit.api.docs import install_docs
from conduit.api.errors import install_error_handlers
from conduit.api.hardening import Cors, SecurityHeaders, security_headers
from conduit.api.health import install_health, watch_for_shutdown
from conduit.api.idempotency import IdempotencySources
from conduit.api.middleware import BodySizeLimit, RequireJsonBody
from conduit.api.observability import Metrics, RequestObservability
from conduit.api.rate_limits import RateLimit, quotas_by_operation
from conduit.api.response_cache import ResponseCache, ResponseCacheCollector
from conduit.api.routing import OperationIndex
from conduit.core.logging import configure_logging
from conduit.core.passwords import Argon2Params, PasswordHasher
from conduit.core.rate_limits import QuotaLimiter
from conduit.core.security import SigningKey, TokenCodec
from conduit.core.settings import Settings
from conduit.db.engine import create_engine, create_read_sessionmaker, create_sessionmaker
from conduit.repositories.users import KnownAccesses
from generated.app import include_contract
from generated.routes import AuthDependencies, Providers

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = structlog.get_logger(__name__)

API_PREFIX = "/api"
# Young collection after 10,000 net allocations, older ones every 10 of the one below.
GC_THRESHOLDS = (10_000, 10, 10)


def create_app(settings: Settings) -> FastAPI:
    """A ready-to-serve app; the database engine (and Redis) are opened and closed by its
    lifespan."""
    metrics = Metrics()
    limiter = QuotaLimiter(
        strategy=settings.rate_limit_strategy, key_prefix=settings.rate_limit_key_prefix
    )
    tracer_provider = _tracer_provider(settings)
    response_cache = _response_cache(settings, metrics)
    # Where responses are cached by snapshot, so are the callers' accounts (one statement fewer
    # for a signed-in read).
    accesses = None if response_cache is None else KnownAccesses()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.resolved_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
            statement_timeout=settings.db_statement_timeout_seconds,
        )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        if response_cache is not None and accesses is not None:
            # Snapshots name data only within one database: a new lifespan may serve another.
            response_cache.clear()
            accesses.clear()
        app.state.connection_turns = deps.ConnectionTurns(
            settings.db_pool_size + settings.db_max_overflow, settings.db_pool_timeout_seconds
        )
        app.state.snapshots = deps.shared_snapshot(app.state)
        metrics.watch_pool(engine)
        if tracer_provider is not None:
            from conduit.core.tracing import trace_engine

            trace_engine(engine, tracer_provider)
        app.state.redis = redis = _redis_client(settings)
        if redis is not None and settings.redis_url is not None:
            limiter.use_redis(redis, settings.redis_url.get_secret_value())
        elif settings.rate_limit_enabled and settings.environment == "production":
            logger.warning("rate_limits_per_process", reason="CONDUIT_REDIS_URL is not set")
        # Here, not at build time: the server installs its own signal handlers before startup.
        watch_for_shutdown(app)
        # What exists now (modules, routes, models, schemas) lives as long as the process; out
        # of the collector's generations, full collections stop rescanning it each time, which
        # paused every request in flight for tens of milliseconds.
        gc.collect()
        gc.freeze()
        # A young collection every 700 net allocations (Python's default) ran every few
        # requests; with 64 requests in flight, their live objects survived it, were promoted
        # and left for the older generations: the collector took about a tenth of the CPU of a
        # list page. Rarer collections find most of a request's objects already freed.
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await app.state.snapshots.close()
            await _close_database(engine, settings)
            if redis is not None:
                await redis.aclose()
            if tracer_provider is not None:
                from conduit.core.tracing import shutdown_tracing

                await shutdown_tracing(tracer_provider)

    app = FastAPI(
        title="Conduit API",
        lifespan=lifespan,
        # The served document is the hand-written contract (api/docs.py), not a derivation.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=_telemetry(tracer_provider),
    )
    app.state.settings = settings
    app.state.tracer_provider = tracer_provider
    app.state.tokens = TokenCodec(
        keys=[SigningKey(key.kid, key.secret) for key in settings.resolved_jwt_keys()],
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.jwt_ttl_seconds),
    )
    app.state.hasher = PasswordHasher(
        Argon2Params(
            memory_cost=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        )
    )
    app.state.security_headers = security_headers(settings)
    app.state.idempotency = IdempotencySources()
    app.state.response_cache = response_cache
    app.state.accesses = accesses
    # Every route finishes the request's session (commit, close) before its response is sent.
    app.router.route_class = deps.SessionRoute
    include_contract(
        app,
        providers=Providers(
            users=users.provide,
            profiles=profiles.provide,
            articles=articles.provide,
            comments=comments.provide,
            favorites=favorites.provide,
            tags=tags.provide,
            admin=admin.provide,
        ),
        auth=AuthDependencies(required=deps.require_viewer, optional=deps.optional_viewer),
        prefix=API_PREFIX,
    )
    install_error_handlers(app)
    install_docs(app)
    install_health(app, metrics)
    _add_middleware(app, settings, metrics, limiter, tracer_provider)
    return app


async def _close_database(engine: AsyncEngine, settings: Settings) -> None:
    """Close the pool's connections, waiting at most as long as for a new one to open.

    Closing a connection sends the server a goodbye and waits, without a limit, for the server
    to close its end. One the server ended without the socket closing (a server gone without a
    word, a network partition) never is, and the worker would never exit. It is exiting: what
    is left open, the operating system closes.
    """
    timeout = settings.db_connect_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            await engine.dispose()
    except TimeoutError:
        logger.warning("database_close_timed_out", seconds=timeout)


def _tracer_provider(settings: Settings) -> TracerProvider | None:
    """The app's tracer provider when CONDUIT_OTEL_ENABLED, else None.

    The SDK is imported here and in the lifespan, not at the top: with tracing off, a process
    never loads it (FastAPI imports only the API, a no-op without a provider), and no request
    pays for a span.
    """
    if not settings.otel_enabled:
        return None
    from conduit.core.tracing import build_tracer_provider

    return build_tracer_provider(settings)


def _telemetry(tracer_provider: TracerProvider | None) -> TelemetryConfig:
    """FastAPI's own OpenTelemetry instrumentation: request spans with this app's provider.

    Metrics stay with Prometheus (/metrics) and logs with structlog, so FastAPI records neither.
    Off, it is off for good: it would otherwise trace as soon as anything in the process set a
    global provider, or export wherever FASTAPI_OTEL_AUTO_CONFIGURE says; CONDUIT_OTEL_ENABLED
    is the one switch.
    """
    if tracer_provider is None:
        return TelemetryConfig(tracing=False, metrics=False, logs=False, auto_configure=False)
    from conduit.api.tracing import untraced

    return TelemetryConfig(
        tracing=True,
        tracer_provider=tracer_provider,
        metrics=False,
        logs=False,
        auto_configure=False,
        exclude=untraced,
    )


def _add_middleware(
    app: FastAPI,
    settings: Settings,
    metrics: Metrics,
    limiter: QuotaLimiter,
    tracer_provider: TracerProvider | None,
) -> None:
    """From the inside out: each layer sees what the layers inside it answer."""
    operations = OperationIndex(app)
    # Bodies that are not JSON, and oversized ones, are refused before anything reads them...
    app.add_middleware(RequireJsonBody, operations=operations)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # ...every request of a limited operation counts, refused ones included...
    if settings.rate_limit_enabled:
        quotas = quotas_by_operation(settings)
        app.add_middleware(RateLimit, limiter=limiter, quotas=quotas, operations=operations)
    # ...CORS answers preflights and lets browsers read every answer above (429s too)...
    if settings.cors_origins:
        app.add_middleware(Cors, origins=settings.cors_origins)
    # ...every response, preflights included, gets the security headers...
    app.add_middleware(SecurityHeaders, headers=app.state.security_headers, api_prefix=API_PREFIX)
    # ...every request gets an id, a log line and metrics...
    app.add_middleware(RequestObservability, metrics=metrics)
    # ...and outermost of all, with tracing on, the request span's ids go into every log line
    # (FastAPI opens that span around the whole stack).
    if tracer_provider is not None:
        from conduit.api.tracing import TraceContext

        app.add_middleware(TraceContext)


def _response_cache(settings: Settings, metrics: Metrics) -> ResponseCache | None:
    """The read responses' cache, on PostgreSQL (whose snapshots key it) unless turned off."""
    url = make_url(settings.resolved_database_url)
    if settings.response_cache_mb == 0 or url.get_backend_name() != "postgresql":
        return None
    cache = ResponseCache(
        max_bytes=settings.response_cache_mb * 1024 * 1024,
        max_age=settings.response_cache_max_age_seconds,
    )
    metrics.registry.register(ResponseCacheCollector(cache))
    return cache


def _redis_client(settings: Settings) -> Redis | None:
    """A client of CONDUIT_REDIS_URL (it connects on first use), or None without one."""
    if settings.redis_url is None:
        return None
    timeout = settings.redis_timeout_seconds
    client: Redis = Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return client


def create_app_from_env() -> FastAPI:
    """Entry point for uvicorn/gunicorn (``--factory``): settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
