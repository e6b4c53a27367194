"""With CONDUIT_REDIS_URL, every server process counts against the same limits: a brute force
spread over two servers (as a load balancer would spread it) is stopped at the same attempt as
one against a single server.

Two real uvicorn processes on one SQLite file and one Redis (``$CONDUIT_TEST_REDIS_URL``,
default ``redis://127.0.0.1:6379/0``), with a key prefix of this run's own. Without Redis the
test is skipped with the reason shown, or fails when ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import cast

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from conduit.db.migrate import upgrade_async
from tests.integration.api import assert_only_error
from tests.live_server import IN_CI, ServerProcess, cheap_argon2

REDIS_URL = os.environ.get("CONDUIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGIN_LIMIT = 4


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        # redis-py types its commands for both clients; this one's answer is awaitable.
        await cast(Awaitable[bool], client.ping())
    except (RedisError, OSError) as error:
        await client.aclose()
        reason = f"Redis at {REDIS_URL} unavailable: {error!r}"
        if IN_CI:
            pytest.fail(f"{reason} (required because CI=true)")
        pytest.skip(reason)
    yield client
    await client.aclose()


@pytest.fixture
async def key_prefix(redis: Redis) -> AsyncIterator[str]:
    prefix = f"conduit-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def servers(tmp_path: Path, key_prefix: str) -> AsyncIterator[list[ServerProcess]]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'conduit.db'}"
    await upgrade_async(database_url)
    env = {
        **cheap_argon2,
        "CONDUIT_REDIS_URL": REDIS_URL,
        "CONDUIT_RATE_LIMIT_ENABLED": "true",
        "CONDUIT_RATE_LIMIT_LOGIN": f"{LOGIN_LIMIT}/minute",
        "CONDUIT_RATE_LIMIT_KEY_PREFIX": key_prefix,
    }
    started = [ServerProcess.start(database_url, tmp_path, env=env) for _ in range(2)]
    try:
        await asyncio.gather(*(server.wait_ready() for server in started))
        yield started
    finally:
        await asyncio.gather(*(server.stop() for server in started))


async def test_the_login_limit_holds_across_two_server_processes(
    servers: list[ServerProcess], redis: Redis, key_prefix: str
) -> None:
    first, second = (httpx.AsyncClient(base_url=f"{s.base_url}/api") for s in servers)
    async with first, second:
        credentials = {"email": "jake@example.com", "password": "jakejakejake"}
        signup = {"user": {"username": "jake", **credentials}}
        assert (await first.post("/users", json=signup)).status_code == 201
        wrong = {"user": {**credentials, "password": "not jake's password"}}
        # Alternating: each server's answer counts the other's attempts too.
        for attempt in range(LOGIN_LIMIT):
            client = (first, second)[attempt % 2]
            response = await client.post("/users/login", json=wrong)
            assert response.status_code == 401, response.text
            assert response.headers["ratelimit-limit"] == str(LOGIN_LIMIT)
            assert response.headers["ratelimit-remaining"] == str(LOGIN_LIMIT - attempt - 1)
        # Over the limit on both servers, even with the right password.
        for client in (first, second):
            response = await client.post("/users/login", json={"user": credentials})
            assert_only_error(response, 429, "body")
            assert 1 <= int(response.headers["retry-after"]) <= 60
            assert response.headers["ratelimit-remaining"] == "0"
            assert "token" not in response.json()["errors"]
    # The counters are in Redis, under this run's prefix, keyed by the client's address only.
    keys = [key.decode() async for key in redis.scan_iter(match=f"{key_prefix}:*")]
    assert f"{key_prefix}:LIMITER/login/ip:127.0.0.1/{LOGIN_LIMIT}/1/minute" in keys
    assert all("/ip:127.0.0.1/" in key for key in keys), keys
    for server in servers:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            ready = (await client.get("/readyz")).json()
        assert ready["checks"] == {"database": "ok", "redis": "ok"}
