"""The app over HTTP, on each backend, inside the test's rolled-back transaction.

- ``settings`` (session): test settings (fixed JWT secret, the cheapest argon2 the settings
  allow, the test database, a temporary ``var_dir`` so nothing touches the repository's ``var/``,
  no rate limits).
- ``app``: ``create_app(settings)``, built once per backend with its lifespan running, with
  every session it opens coming from this test's ``session_factory`` (``sessions_from``): each
  request still commits once (releasing a SAVEPOINT) or rolls back, the sessions the app
  commits outside the request's transaction (idempotency claims) come from the same factory, and
  the test's outer transaction discards it all.
- ``client``: ``httpx.AsyncClient`` on ``ASGITransport``; an unhandled server error fails the test.
- ``api``: ``tests.integration.api.Api`` to register users, create articles, follow, favorite.
- ``tokens``: the app's ``TokenCodec``, for tokens of factory-made users and expired tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.api.idempotency import IdempotencySources
from conduit.core.security import TokenCodec
from conduit.core.settings import Settings
from conduit.main import create_app
from tests.app_settings import app_settings
from tests.integration.api import Api

BASE_URL = "http://conduit.test"


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Rate limits off: one app serves every test of a backend; tests/security tests the limits
    # on apps of their own.
    return app_settings(database_url, tmp_path_factory.mktemp("var"))


@contextmanager
def sessions_from(app: FastAPI, factory: async_sessionmaker[AsyncSession]) -> Iterator[None]:
    """Open every session of the app from ``factory`` while the block runs: each request's
    (reads and writes alike) and those it commits on its own (idempotency claims)."""
    state = app.state
    idempotency: IdempotencySources = state.idempotency
    saved = (state.sessionmaker, state.read_sessionmaker, idempotency.own_sessions)
    state.sessionmaker = state.read_sessionmaker = idempotency.own_sessions = factory
    try:
        yield
    finally:
        state.sessionmaker, state.read_sessionmaker, idempotency.own_sessions = saved


@pytest.fixture(scope="session")
async def app_per_backend(settings: Settings) -> AsyncIterator[FastAPI]:
    # Building the app costs tens of milliseconds (route and model set-up), so one app per
    # backend serves every test; only the session source changes between tests.
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def app(
    app_per_backend: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> Iterator[FastAPI]:
    with sessions_from(app_per_backend, session_factory):
        yield app_per_backend


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
def tokens(app: FastAPI) -> TokenCodec:
    codec: TokenCodec = app.state.tokens
    return codec
