"""The application factory: one place where settings, database and contract are wired."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from conduit.api import articles, comments, deps, favorites, profiles, tags, users
from conduit.api.docs import install_docs
from conduit.api.errors import install_error_handlers
from conduit.api.health import install_health, watch_for_shutdown
from conduit.api.middleware import BodySizeLimit
from conduit.api.observability import Metrics, RequestObservability
from conduit.core.logging import configure_logging
from conduit.core.passwords import Argon2Params, PasswordHasher
from conduit.core.security import TokenCodec
from conduit.core.settings import Settings
from conduit.db.engine import create_engine, create_sessionmaker
from generated.app import include_contract
from generated.routes import AuthDependencies, Providers


def create_app(settings: Settings) -> FastAPI:
    """A ready-to-serve app; the database engine is opened and closed by its lifespan."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.resolved_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
        )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        metrics.watch_pool(engine)
        # Here, not at build time: the server installs its own signal handlers before startup.
        watch_for_shutdown(app)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Conduit API",
        lifespan=lifespan,
        # The served document is the hand-written contract (api/docs.py), not a derivation.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tokens = TokenCodec(
        secret=settings.resolved_jwt_secret(),
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
    include_contract(
        app,
        providers=Providers(
            users=users.provide,
            profiles=profiles.provide,
            articles=articles.provide,
            comments=comments.provide,
            favorites=favorites.provide,
            tags=tags.provide,
        ),
        auth=AuthDependencies(required=deps.require_viewer, optional=deps.optional_viewer),
    )
    install_error_handlers(app)
    install_docs(app)
    install_health(app, metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # Oversized bodies are refused before anything reads them...
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # ...and outermost of all, every request (413s included) gets an id, a log line and metrics.
    app.add_middleware(RequestObservability, metrics=metrics)
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for uvicorn/gunicorn (``--factory``): settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
