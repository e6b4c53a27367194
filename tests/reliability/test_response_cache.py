"""The response cache on PostgreSQL, with requests that really commit.

Two apps on one database stand for two server processes: each has its own cache, and nothing
but the database is shared. What a user must never notice: a response that misses a write
already acknowledged to anyone, in any process, or one meant for another caller.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import structlog.testing
from fastapi import FastAPI
from sqlalchemy import text

from conduit.api.response_cache import ResponseCache
from conduit.main import create_app
from conduit.repositories._rows import listening
from tests.app_settings import app_settings
from tests.integration.api import Account, Api

pytestmark = pytest.mark.postgres


@pytest.fixture
async def processes(live_database: str, tmp_path: Path) -> AsyncIterator[tuple[Api, Api, FastAPI]]:
    """Two apps with caches of their own, as two workers would be; the first is returned too."""
    settings = app_settings(live_database, tmp_path, response_cache_mb=4)
    first, second = create_app(settings), create_app(settings)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as two,
    ):
        yield Api(one), Api(two), first


def cache_of(app: FastAPI) -> ResponseCache:
    cache = app.state.response_cache
    assert isinstance(cache, ResponseCache)
    return cache


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def test_a_repeated_read_is_answered_from_the_cache_byte_for_byte(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    api, _, app = processes
    author = await api.register(unique("author"))
    slug = (await api.create_article(author, tags=["cached"]))["slug"]
    cache = cache_of(app)

    first = await api.get_article(slug)
    hits = cache.hits
    again = await api.get_article(slug)

    assert cache.hits == hits + 1
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Type"] == first.headers["Content-Type"]


async def test_a_write_through_another_process_is_seen_at_once(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    one, two, _ = processes
    author = await one.register(unique("author"))
    reader = await two.register(unique("reader"))
    slug = (await one.create_article(author))["slug"]
    for _ in range(2):  # the second time from the first process's cache
        assert (await one.get_article(slug)).json()["article"]["favoritesCount"] == 0
        assert not (await one.get_article(slug, reader)).json()["article"]["favorited"]

    await two.favorite(reader, slug)  # acknowledged by the second process

    assert (await one.get_article(slug)).json()["article"]["favoritesCount"] == 1
    mine = (await one.get_article(slug, reader)).json()["article"]
    assert (mine["favorited"], mine["favoritesCount"]) == (True, 1)
    newer = (await two.create_article(author))["slug"]
    listed = (await one.list_articles(author=author.username)).json()
    assert newer in [item["slug"] for item in listed["articles"]]


async def test_each_caller_gets_their_own_answer(processes: tuple[Api, Api, FastAPI]) -> None:
    api, _, app = processes
    author = await api.register(unique("author"))
    fan = await api.register(unique("fan"))
    stranger = await api.register(unique("stranger"))
    await api.follow(fan, author.username)
    cache = cache_of(app)

    def following(response: httpx.Response) -> bool:
        value: bool = response.json()["profile"]["following"]
        return value

    path = f"/api/profiles/{author.username}"
    for _ in range(2):  # the second round is answered from the cache
        assert following(await api.client.get(path, headers=fan.headers))
        assert not following(await api.client.get(path, headers=stranger.headers))
        assert not following(await api.client.get(path))
    assert cache.hits >= 3


async def test_the_current_user_is_never_cached(processes: tuple[Api, Api, FastAPI]) -> None:
    api, _, app = processes
    account: Account = await api.register(unique("me"))
    cache = cache_of(app)
    lookups = cache.hits + cache.misses

    for _ in range(2):
        response = await api.client.get("/api/user", headers=account.headers)
        assert response.status_code == 200

    assert cache.hits + cache.misses == lookups


async def test_the_metrics_count_the_lookups(processes: tuple[Api, Api, FastAPI]) -> None:
    api, _, _ = processes
    await api.tags()
    await api.tags()
    metrics = (await api.client.get("/metrics")).text
    assert 'conduit_response_cache_lookups_total{result="hit"}' in metrics
    assert "conduit_response_cache_bytes" in metrics


async def test_a_signed_in_read_checks_the_account_at_the_current_snapshot(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    one, two, _ = processes
    reader = await one.register(unique("reader"))
    assert (await two.feed(reader)).status_code == 200
    sent: list[str] = []
    with listening(sent.append):
        assert (await two.feed(reader)).status_code == 200
    # Nothing committed in between: the account read at this snapshot stands, and so does the
    # page; only the snapshot itself was asked for.
    assert len(sent) == 1 and "pg_current_snapshot" in sent[0]

    logout = await one.client.post("/api/user/logout", headers=reader.headers)
    assert logout.status_code == 204  # acknowledged by the first process

    assert (await two.feed(reader)).status_code == 401
    assert (await two.get_article("anything", reader)).status_code == 401


async def test_each_read_is_one_lookup_a_miss_or_a_hit(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    api, _, app = processes
    author = await api.register(unique("author"))
    slug = (await api.create_article(author))["slug"]
    cache = cache_of(app)

    for caller in (None, author):
        hits, misses = cache.hits, cache.misses
        assert (await api.get_article(slug, caller)).status_code == 200
        assert (cache.hits, cache.misses) == (hits, misses + 1)
        assert (await api.get_article(slug, caller)).status_code == 200
        assert (cache.hits, cache.misses) == (hits + 1, misses + 1)


async def test_a_cached_answer_never_lets_a_bad_token_through(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    api, _, app = processes
    author = await api.register(unique("author"))
    await api.create_article(author, tags=["guarded"])
    for _ in range(2):  # warm: the anonymous answers are cached
        assert (await api.client.get("/api/articles")).status_code == 200
        assert (await api.client.get("/api/tags")).status_code == 200
    hits = cache_of(app).hits

    for header in ("Token not-a-jwt", "Token", "Basic abc"):
        refused = await api.client.get("/api/articles", headers={"Authorization": header})
        assert refused.status_code == 401, header
        assert "token" in refused.json()["errors"]
    # The feed needs a caller: no token is 401, however warm the cache.
    assert (await api.client.get("/api/articles/feed")).status_code == 401
    # The tag list's contract takes no token: a bad one is ignored, and the answer cached.
    tags = await api.client.get("/api/tags", headers={"Authorization": "Token not-a-jwt"})
    assert tags.status_code == 200
    assert cache_of(app).hits == hits + 1


async def test_a_banned_reader_reads_as_anyone_from_the_cache(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    api, _, app = processes
    author = await api.register(unique("author"))
    reader = await api.register(unique("reader"))
    slug = (await api.create_article(author))["slug"]
    await api.favorite(reader, slug)
    assert (await api.get_article(slug, reader)).json()["article"]["favorited"]

    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE users SET banned_at = now() WHERE username = :name"),
            {"name": reader.username},
        )
    anonymous = await api.get_article(slug)
    for _ in range(2):  # the second time from the cache
        as_banned = await api.get_article(slug, reader)
        assert (as_banned.status_code, as_banned.content) == (200, anonymous.content)
        assert (await api.feed(reader)).status_code == 401


async def test_a_hit_is_logged_with_its_route_and_caller(
    processes: tuple[Api, Api, FastAPI],
) -> None:
    api, _, app = processes
    author = await api.register(unique("author"))
    slug = (await api.create_article(author))["slug"]
    await api.get_article(slug, author)
    hits = cache_of(app).hits

    with structlog.testing.capture_logs() as logs:
        assert (await api.get_article(slug, author)).status_code == 200

    assert cache_of(app).hits == hits + 1
    [line] = [entry for entry in logs if entry["event"] == "request_finished"]
    assert (line["route"], line["status"]) == ("/api/articles/{slug}", 200)
    assert line["user_id"] is not None
