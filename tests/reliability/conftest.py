"""One real server on PostgreSQL for the concurrency tests, driven by truly parallel requests.

- ``live_database`` (package): a fresh migrated database on the shared PostgreSQL
  (``$CONDUIT_TEST_POSTGRES_URL``), dropped at the end; skipped without PostgreSQL, failed in CI.
- ``live_server`` (package): uvicorn on it (see ``tests.live_server``) with a pool large enough
  that requests race in the database, not in the pool queue.
- ``client``: an ``httpx.AsyncClient`` on ``<server>/api`` allowed hundreds of connections at once.
- ``db``: an engine on the same database, for checking rows behind the API's back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import POSTGRES_ADMIN_URL
from tests.live_server import (
    ServerProcess,
    cheap_argon2,
    fresh_database,
    running_server,
)

SERVER_SETTINGS = {
    **cheap_argon2,
    "CONDUIT_DB_POOL_SIZE": "20",
    "CONDUIT_DB_MAX_OVERFLOW": "5",
    # A burst of 100 queues on the pool on a 2-core machine; that is not what these tests measure.
    "CONDUIT_DB_POOL_TIMEOUT_SECONDS": "30",
}


@pytest.fixture(scope="package")
async def live_database() -> AsyncIterator[str]:
    async with fresh_database(POSTGRES_ADMIN_URL) as url:
        yield url


@pytest.fixture(scope="package")
async def live_server(
    live_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("reliability")
    async with running_server(live_database, directory, env=SERVER_SETTINGS) as server:
        yield server


@pytest.fixture
async def client(live_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them, or a
    # request could be sent on a connection the server is closing at that very moment.
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=2.0)
    async with httpx.AsyncClient(
        base_url=f"{live_server.base_url}/api", limits=limits, timeout=60.0
    ) as client:
        yield client


@pytest.fixture(scope="package")
async def db(live_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(live_database)
    yield engine
    await engine.dispose()
