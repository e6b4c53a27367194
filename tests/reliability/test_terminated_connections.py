"""PostgreSQL ends a pooled connection (a restart, ``pg_terminate_backend``, an idle timeout).

What a client must see: nothing at all if the connection was already closed when its request
drew it from the pool; a 503 with Retry-After, never a 500, if the request drew it in the
moment between the server's FATAL message and the socket's close (``proxy.py`` holds that
moment open); and the request after it served on a new connection either way. Each case runs
once through a driver-level statement (the article list) and once through the SQLAlchemy session
(a login), which fail differently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.main import create_app
from tests.app_settings import app_settings
from tests.conftest import POSTGRES_ADMIN_URL
from tests.live_server import fresh_database
from tests.reliability.proxy import HoldingProxy, holding_proxy

pytestmark = pytest.mark.postgres

# Long enough for the app's event loop to read what the proxy forwarded (the same loop runs
# both), short enough not to matter.
SETTLE_SECONDS = 0.2


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None
    status: int  # what it answers with a healthy database


CALLS = [
    pytest.param(Call("GET", "/api/articles", None, 200), id="driver-level-read"),
    pytest.param(
        Call(
            "POST",
            "/api/users/login",
            {"user": {"email": "nobody@example.com", "password": "not-a-real-password"}},
            401,
        ),
        id="session-transaction",
    ),
]


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    async with fresh_database(POSTGRES_ADMIN_URL) as url:
        yield url


@pytest.fixture
async def proxy(database: str) -> AsyncIterator[HoldingProxy]:
    target = make_url(database)
    async with holding_proxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        yield proxy


def app_behind(proxy: HoldingProxy, database: str, tmp_path: Path, **settings: Any) -> FastAPI:
    """The app, on ``database`` through ``proxy``."""
    url = make_url(database).set(host="127.0.0.1", port=proxy.port)
    return create_app(
        app_settings(
            url.render_as_string(hide_password=False),
            tmp_path,
            # One connection: every request draws the connection the test terminated.
            db_pool_size=1,
            db_max_overflow=0,
            **settings,
        )
    )


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as client,
    ):
        yield client


@pytest.fixture
async def client(
    database: str, proxy: HoldingProxy, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app_behind(proxy, database, tmp_path)) as client:
        yield client


async def send(client: httpx.AsyncClient, call: Call) -> httpx.Response:
    return await client.request(call.method, call.path, json=call.body)


async def terminate_app_connections(database: str, proxy: HoldingProxy) -> None:
    """End the app's connections from the server side, as an operator or a restart would."""
    admin = create_async_engine(database)
    try:
        async with admin.connect() as connection:
            ended = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'conduit'"
                )
            )
    finally:
        await admin.dispose()
    assert ended == 1, "the app should hold exactly one connection"
    await asyncio.wait_for(proxy.server_closed.wait(), timeout=5)
    await asyncio.sleep(SETTLE_SECONDS)


@pytest.mark.parametrize("call", CALLS)
async def test_a_connection_closed_in_the_pool_is_replaced_unnoticed(
    client: httpx.AsyncClient, proxy: HoldingProxy, database: str, call: Call
) -> None:
    assert (await send(client, call)).status_code == call.status

    await terminate_app_connections(database, proxy)

    response = await send(client, call)
    assert response.status_code == call.status, response.text


@pytest.mark.parametrize("call", CALLS)
async def test_a_connection_drawn_between_goodbye_and_close_is_a_503_then_replaced(
    client: httpx.AsyncClient, proxy: HoldingProxy, database: str, call: Call
) -> None:
    assert (await send(client, call)).status_code == call.status
    proxy.hold_next_close = True

    await terminate_app_connections(database, proxy)

    failed = await send(client, call)
    assert failed.status_code == 503, failed.text
    assert failed.headers["Retry-After"] == "1"
    assert failed.json() == {
        "errors": {"body": ["the service is temporarily unavailable; retry shortly"]}
    }
    recovered = await send(client, call)
    assert recovered.status_code == call.status, recovered.text


async def test_shutdown_gives_up_on_a_connection_the_server_ended_without_closing(
    proxy: HoldingProxy, database: str, tmp_path: Path
) -> None:
    # Closing a connection politely waits for the server to close its end; one that never will
    # (a server gone without a word, a network partition) must not hold the process forever.
    app = app_behind(proxy, database, tmp_path, db_connect_timeout_seconds=0.5)
    async with asyncio.timeout(30):  # the test's own guard: without the fix this hangs
        async with client_of(app) as client:
            assert (await client.get("/api/articles")).status_code == 200
            proxy.hold_next_close = True
            await terminate_app_connections(database, proxy)
            stopping = time.monotonic()
        stopped = time.monotonic()

    assert stopped - stopping < 5


@pytest.mark.parametrize("call", CALLS)
async def test_a_database_gone_silent_is_a_503_within_the_statement_timeout(
    proxy: HoldingProxy, database: str, tmp_path: Path, call: Call
) -> None:
    # A network partition: the connection stays open and nothing comes back. Without a limit,
    # the request would wait for the operating system to give up on TCP (minutes).
    app = app_behind(proxy, database, tmp_path, db_statement_timeout_seconds=1.0)
    async with asyncio.timeout(60), client_of(app) as client:
        assert (await send(client, call)).status_code == call.status
        proxy.stall()
        started = time.monotonic()
        failed = await send(client, call)
        waited = time.monotonic() - started
        proxy.resume()

        assert failed.status_code == 503, failed.text
        assert failed.headers["Retry-After"] == "1"
        assert waited < 5
        recovered = await send(client, call)
        assert recovered.status_code == call.status, recovered.text
