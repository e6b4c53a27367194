"""Client side of the fault tests: requests that record what happened to them, and set-up
helpers speaking the RealWorld API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.integration.api import PASSWORD, Account

# Longer than any answer the server may legitimately take, so a hang shows up as a duration
# instead of disappearing into a client timeout.
CLIENT_TIMEOUT_SECONDS = 30.0


def client_for(base_url: str) -> httpx.AsyncClient:
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=2)
    return httpx.AsyncClient(
        base_url=f"{base_url}/api", timeout=CLIENT_TIMEOUT_SECONDS, limits=limits
    )


@dataclass
class Outcome:
    """One request: when it ran and how it ended (``status`` None: no HTTP response)."""

    method: str
    path: str
    started: float
    finished: float
    status: int | None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    text: str = ""
    error: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def json(self) -> Any:
        return httpx.Response(200, text=self.text).json()

    def __str__(self) -> str:
        result = self.error or f"{self.status} {self.text[:300]}"
        return f"{self.method} {self.path} after {self.seconds:.2f}s: {result}"


async def send(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Outcome:
    meta = kwargs.pop("meta", {})
    started = time.monotonic()
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.TransportError as error:
        return Outcome(method, path, started, time.monotonic(), None, error=repr(error), meta=meta)
    return Outcome(
        method,
        path,
        started,
        time.monotonic(),
        response.status_code,
        response.headers,
        response.text,
        meta=meta,
    )


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def register(client: httpx.AsyncClient) -> Account:
    name = unique("u")
    email = f"{name}@example.com"
    body = {"user": {"username": name, "email": email, "password": PASSWORD}}
    response = await client.post("/users", json=body)
    assert response.status_code == 201, response.text
    return Account(name, email, PASSWORD, response.json()["user"]["token"])


async def create_article(
    client: httpx.AsyncClient, author: Account, tags: list[str] | None = None
) -> str:
    body = {
        "article": {
            "title": unique("Fault "),
            "description": "d",
            "body": "b",
            "tagList": tags or [],
        }
    }
    response = await client.post("/articles", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    slug: str = response.json()["article"]["slug"]
    return slug


@asynccontextmanager
async def table_locked(database_url: str, table: str) -> AsyncIterator[AsyncEngine]:
    """Hold ``ACCESS EXCLUSIVE`` on ``table`` from another session: every request touching it
    waits in the database until the block exits. Yields an engine for watching the waiters."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            try:
                yield engine
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


async def wait_for_lock_waiters(engine: AsyncEngine, count: int, within: float = 15.0) -> None:
    """Until ``count`` sessions of the database wait on a lock (the requests are in flight)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + within
    waiting = 0
    while time.monotonic() < deadline:
        async with engine.connect() as connection:
            waiting = (await connection.execute(query)).scalar_one()
        if waiting >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {waiting} of {count} requests reached the database lock")
