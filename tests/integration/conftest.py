"""The app over HTTP, on each backend, inside the test's rolled-back transaction.

- ``settings`` (session): test settings (fixed JWT secret, the cheapest argon2 the settings
  allow, the test database, a temporary ``var_dir`` so nothing touches the repository's ``var/``,
  no rate limits).
- ``app``: ``create_app(settings)``, built once per backend with its lifespan running, and
  ``get_session`` overridden so each request opens its session from this test's
  ``session_factory``: the request still commits once (releasing a SAVEPOINT) or rolls back, and
  the test's outer transaction discards it all. The sessions the app commits outside the
  request's transaction (idempotency claims, ``app.state.idempotency.own_sessions``) come from
  the same factory.
- ``client``: ``httpx.AsyncClient`` on ``ASGITransport``; an unhandled server error fails the test.
- ``api``: ``tests.integration.api.Api`` to register users, create articles, follow, favorite.
- ``tokens``: the app's ``TokenCodec``, for tokens of factory-made users and expired tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.api.deps import get_session
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


class RequestSessions:
    """Where each request's session comes from; the ``app`` fixture points it at the test's."""

    def __init__(self) -> None:
        self.factory: async_sessionmaker[AsyncSession] | None = None

    async def get_session(self) -> AsyncIterator[AsyncSession]:
        """``get_session`` on the test's connection, with the same commit-once/rollback rules."""
        assert self.factory is not None, "request outside a test's transaction"
        async with self.factory() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()


@pytest.fixture(scope="session")
async def app_per_backend(settings: Settings) -> AsyncIterator[tuple[FastAPI, RequestSessions]]:
    # Building the app costs tens of milliseconds (route and model set-up), so one app per
    # backend serves every test; only the session source changes between tests.
    app = create_app(settings)
    sessions = RequestSessions()
    app.dependency_overrides[get_session] = sessions.get_session
    async with app.router.lifespan_context(app):
        yield app, sessions


@pytest.fixture
def app(
    app_per_backend: tuple[FastAPI, RequestSessions],
    session_factory: async_sessionmaker[AsyncSession],
) -> Iterator[FastAPI]:
    app, sessions = app_per_backend
    # What the app commits outside the request (idempotency claims) goes to the test's
    # connection too: savepoints the test's outer transaction still discards.
    idempotency: IdempotencySources = app.state.idempotency
    sessions.factory = idempotency.own_sessions = session_factory
    try:
        yield app
    finally:
        sessions.factory = idempotency.own_sessions = None


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
