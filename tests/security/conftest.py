"""Apps of their own for the security tests, on each backend, inside the test's transaction.

Each test builds the app it attacks, with the settings the attack needs (tight rate limits, a
CORS allow-list, HSTS): the shared integration app runs without limits.

- ``make_settings(**overrides)``: test settings on this backend's database (rate limits off
  unless overridden).
- ``serve(settings)``: ``async with serve(settings) as served``: ``create_app(settings)`` with its
  lifespan running and each request's session taken from this test's ``session_factory`` (so
  everything is rolled back). ``served.client`` calls it from 127.0.0.1;
  ``served.client_from(host)`` opens a client with another address.
- ``snapshot()``: every row of every table, to show that a refused request wrote nothing.
- ``cast``: the access-control attacks' people (tests/security/actors.py) on an app with the
  default test settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.core.security import TokenCodec
from conduit.core.settings import Settings
from conduit.main import create_app
from tests.app_settings import app_settings
from tests.integration.api import Account, db_snapshot
from tests.integration.conftest import BASE_URL, sessions_from

if TYPE_CHECKING:  # actors.py imports Served from here
    from tests.factories import Factory
    from tests.security.actors import Cast

JWT_SECRET = "security-tests-secret-of-at-least-32-chars"
CLIENT_HOST = "127.0.0.1"

Snapshot = dict[str, list[tuple[Any, ...]]]


@dataclass
class Served:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def tokens(self) -> TokenCodec:
        tokens: TokenCodec = self.app.state.tokens
        return tokens

    def client_from(self, host: str) -> httpx.AsyncClient:
        """A client whose requests come from ``host`` (the ASGI client address)."""
        transport = httpx.ASGITransport(app=self.app, client=(host, 50000))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)

    def account(self, user_id: int, username: str, email: str) -> Account:
        return Account(username, email, "unused", self.tokens.issue(user_id))


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        return app_settings(
            database_url, tmp_path / "var", **{"jwt_secret": SecretStr(JWT_SECRET), **overrides}
        )

    return build


Serve = Callable[[Settings], AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve(session_factory: async_sessionmaker[AsyncSession]) -> Serve:
    @asynccontextmanager
    async def run(settings: Settings) -> AsyncIterator[Served]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            with sessions_from(app, session_factory):
                transport = httpx.ASGITransport(app=app, client=(CLIENT_HOST, 50000))
                async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                    yield Served(app, client)

    return run


@pytest.fixture
def snapshot(
    session_factory: async_sessionmaker[AsyncSession],
) -> Callable[[], Awaitable[Snapshot]]:
    async def take() -> Snapshot:
        return await db_snapshot(session_factory)

    return take


@pytest.fixture
async def cast(
    serve: Serve, make_settings: Callable[..., Settings], factory: Factory
) -> AsyncIterator[Cast]:
    from tests.security.actors import build_cast  # here: actors.py imports this module

    async with serve(make_settings()) as served:
        yield await build_cast(served, factory)
