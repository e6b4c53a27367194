"""Idempotency-Key on CreateArticle and CreateArticleComment, over HTTP on both backends.

A retry with the same key and body replays the first response; another body is 422; a retry
while the first request runs is 409; keys belong to their user, are released when the request
fails, and expire after the configured time. Clients that send no key see RealWorld unchanged.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.api import articles, idempotency
from conduit.api.deps import get_session, viewer_of
from conduit.api.idempotency import IdempotencySources, IdempotentRequests
from conduit.db.models import Article, Comment, IdempotencyKey
from conduit.db.types import utc_now
from conduit.domain.types import ArticleView, NewArticle, Viewer
from conduit.services.articles import ArticleService
from conduit.services.idempotency import IdempotencyService
from tests.integration.api import Account, Api, assert_only_error, count_rows

Json = dict[str, Any]
REPLAYED = "Idempotent-Replayed"


def new_key() -> str:
    return str(uuid.uuid4())


def article_body(title: str = "How to train your dragon") -> Json:
    return {"article": {"title": title, "description": "Ever wonder how?", "body": "Believe"}}


async def create(
    client: httpx.AsyncClient, author: Account, key: str | None, body: Json | None = None
) -> httpx.Response:
    headers = dict(author.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/api/articles", json=body or article_body(), headers=headers)


async def comment(
    client: httpx.AsyncClient, author: Account, slug: str, key: str, text: str = "Nice"
) -> httpx.Response:
    return await client.post(
        f"/api/articles/{slug}/comments",
        json={"comment": {"body": text}},
        headers={**author.headers, "Idempotency-Key": key},
    )


class Clock:
    """The time idempotency keys see; a test moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    clock = Clock()
    sources: IdempotencySources = app.state.idempotency
    sources.clock = clock
    try:
        yield clock
    finally:
        sources.clock = utc_now


class TestCreateArticle:
    async def test_a_retry_gets_the_first_response_and_creates_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        key = new_key()

        first = await create(client, jake, key)
        retry = await create(client, jake, key)

        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json()
        assert REPLAYED not in first.headers
        assert retry.headers[REPLAYED] == "true"
        assert await count_rows(session_factory, Article) == 1

    async def test_a_retry_gets_the_first_response_even_after_the_article_changed(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        first = await create(client, jake, key)
        slug = first.json()["article"]["slug"]
        await client.put(
            f"/api/articles/{slug}", json={"article": {"body": "Changed"}}, headers=jake.headers
        )

        retry = await create(client, jake, key)

        assert retry.json() == first.json()

    async def test_a_retry_after_the_article_was_deleted_is_409_and_creates_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        slug = (await create(client, jake, key)).json()["article"]["slug"]
        deleted = await client.delete(f"/api/articles/{slug}", headers=jake.headers)

        retry = await create(client, jake, key)

        assert deleted.status_code == 204
        assert_only_error(retry, 409, "Idempotency-Key")
        assert "deleted" in retry.json()["errors"]["Idempotency-Key"][0]
        assert await count_rows(session_factory, Article) == 0

    async def test_a_retry_is_409_when_a_new_article_took_the_deleted_ones_slug(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        slug = (await create(client, jake, key)).json()["article"]["slug"]
        await client.delete(f"/api/articles/{slug}", headers=jake.headers)
        successor = await create(client, jake, None)  # same title: the same slug again

        retry = await create(client, jake, key)

        assert successor.json()["article"]["slug"] == slug
        assert_only_error(retry, 409, "Idempotency-Key")
        assert await count_rows(session_factory, Article) == 1

    async def test_the_same_key_with_another_body_is_422_and_creates_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        await create(client, jake, key, article_body("First title"))

        other = await create(client, jake, key, article_body("Second title"))

        assert_only_error(other, 422, "Idempotency-Key")
        assert await count_rows(session_factory, Article) == 1

    async def test_the_body_is_compared_as_json_not_as_bytes(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        first = await create(client, jake, key)
        reordered = b'{"article": {"body": "Believe", "description": "Ever wonder how?",\n'
        reordered += b' "title": "How to train your dragon"}}'

        retry = await client.post(
            "/api/articles",
            content=reordered,
            headers={**jake.headers, "Idempotency-Key": key, "Content-Type": "application/json"},
        )

        assert (retry.status_code, retry.headers[REPLAYED]) == (201, "true")
        assert retry.json() == first.json()

    async def test_keys_belong_to_their_user(self, api: Api, client: httpx.AsyncClient) -> None:
        jake, jane = await api.register("jake"), await api.register("jane")
        key = new_key()

        by_jake = await create(client, jake, key)
        by_jane = await create(client, jane, key)

        assert (by_jake.status_code, by_jane.status_code) == (201, 201)
        assert REPLAYED not in by_jane.headers
        assert by_jane.json()["article"]["author"]["username"] == "jane"
        assert by_jane.json()["article"]["slug"] != by_jake.json()["article"]["slug"]

    async def test_without_a_key_every_request_creates_an_article(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")

        responses = [await create(client, jake, None) for _ in range(2)]

        assert [r.status_code for r in responses] == [201, 201]
        assert all(REPLAYED not in r.headers for r in responses)
        assert await count_rows(session_factory, Article) == 2
        assert await count_rows(session_factory, IdempotencyKey) == 0

    @pytest.mark.parametrize(
        "key",
        [b"", b"a b", b'"quoted"', b"x" * 256, "ключ".encode(), b"semi;colon"],
        ids=["empty", "space", "quoted", "too-long", "non-ascii", "semicolon"],
    )
    async def test_an_invalid_key_is_422_and_creates_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
        key: bytes,
    ) -> None:
        jake = await api.register("jake")
        headers = [(b"Authorization", f"Token {jake.token}".encode()), (b"Idempotency-Key", key)]

        response = await client.post("/api/articles", json=article_body(), headers=headers)

        assert_only_error(response, 422, "Idempotency-Key")
        assert await count_rows(session_factory, Article) == 0

    async def test_a_key_is_still_replayed_just_before_it_expires(
        self, api: Api, client: httpx.AsyncClient, clock: Clock
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        first = await create(client, jake, key)

        clock.now += timedelta(hours=24) - timedelta(seconds=1)
        retry = await create(client, jake, key)

        assert (retry.headers[REPLAYED], retry.json()) == ("true", first.json())

    async def test_an_expired_key_is_a_new_key(
        self,
        api: Api,
        client: httpx.AsyncClient,
        clock: Clock,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        key = new_key()
        first = await create(client, jake, key)

        clock.now += timedelta(hours=24)
        again = await create(client, jake, key, article_body("Another title"))

        assert again.status_code == 201
        assert REPLAYED not in again.headers
        assert again.json()["article"]["slug"] != first.json()["article"]["slug"]
        assert await count_rows(session_factory, Article) == 2
        assert await count_rows(session_factory, IdempotencyKey) == 1

    async def test_expired_keys_are_purged(
        self,
        api: Api,
        client: httpx.AsyncClient,
        clock: Clock,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        for _ in range(3):
            await create(client, jake, new_key(), article_body(f"Title {uuid.uuid4().hex}"))

        clock.now += timedelta(days=2)
        await create(client, jake, new_key())

        assert await count_rows(session_factory, IdempotencyKey) == 1


class HeldArticleService(ArticleService):
    """Creates articles only once the test opens the gate, so a retry can arrive meanwhile."""

    def __init__(self, session: AsyncSession, started: asyncio.Event, gate: asyncio.Event) -> None:
        super().__init__(session)
        self._started = started
        self._gate = gate

    async def create(self, viewer: Viewer, article: NewArticle) -> ArticleView:
        self._started.set()
        await self._gate.wait()
        return await super().create(viewer, article)


class TestARetryWhileTheFirstRequestRuns:
    @pytest.fixture
    def held(self, app: FastAPI) -> Iterator[tuple[asyncio.Event, asyncio.Event]]:
        started, gate = asyncio.Event(), asyncio.Event()

        async def provide_held(request: Request) -> articles.Articles:
            session = await get_session(request)
            return articles.Articles(
                HeldArticleService(session, started, gate),
                viewer_of(request),
                IdempotentRequests(request, session),
            )

        app.dependency_overrides[articles.provide] = provide_held
        try:
            yield started, gate
        finally:
            gate.set()
            del app.dependency_overrides[articles.provide]

    async def test_gets_409_and_the_first_request_creates_one_article(
        self,
        api: Api,
        client: httpx.AsyncClient,
        held: tuple[asyncio.Event, asyncio.Event],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        started, gate = held
        jake = await api.register("jake")
        key = new_key()
        first = asyncio.create_task(create(client, jake, key))
        await asyncio.wait_for(started.wait(), timeout=10)

        retry = await create(client, jake, key)
        gate.set()
        done = await first
        later = await create(client, jake, key)

        assert_only_error(retry, 409, "Idempotency-Key")
        assert done.status_code == 201
        assert (later.status_code, later.headers[REPLAYED]) == (201, "true")
        assert later.json() == done.json()
        assert await count_rows(session_factory, Article) == 1


class TestCreateArticleComment:
    async def test_a_retry_gets_the_same_comment(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        key = new_key()

        first = await comment(client, jake, slug, key)
        retry = await comment(client, jake, slug, key)

        assert (first.status_code, retry.status_code) == (200, 200)
        assert retry.json() == first.json()
        assert retry.headers[REPLAYED] == "true"
        assert await count_rows(session_factory, Comment) == 1

    @pytest.mark.parametrize("deleted", ["comment", "article"])
    async def test_a_retry_after_a_delete_is_409_and_adds_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
        deleted: str,
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        key = new_key()
        comment_id = (await comment(client, jake, slug, key)).json()["comment"]["id"]
        path = f"/api/articles/{slug}"
        if deleted == "comment":
            path += f"/comments/{comment_id}"
        assert (await client.delete(path, headers=jake.headers)).status_code in (200, 204)

        retry = await comment(client, jake, slug, key)

        assert_only_error(retry, 409, "Idempotency-Key")
        assert await count_rows(session_factory, Comment) == 0

    async def test_the_same_key_on_another_article_is_422(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        one, two = [(await api.create_article(jake))["slug"] for _ in range(2)]
        key = new_key()
        await comment(client, jake, one, key)

        other = await comment(client, jake, two, key)

        assert_only_error(other, 422, "Idempotency-Key")

    async def test_a_request_that_failed_leaves_its_key_free(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        key = new_key()

        failed = await comment(client, jake, "no-such-article", key)
        # Were the key remembered, another request with it would be 422.
        succeeded = await comment(client, jake, slug, key)

        assert failed.status_code == 404
        assert (succeeded.status_code, REPLAYED in succeeded.headers) == (200, False)
        assert await count_rows(session_factory, IdempotencyKey) == 1


class TestRequestsWithoutAKey:
    """Reads and creates without a key never build the idempotency service (issue 5: it was
    solved as a dependency on every request of the articles and comments tags)."""

    @pytest.fixture
    def services_built(self, monkeypatch: pytest.MonkeyPatch) -> list[IdempotencyService]:
        built: list[IdempotencyService] = []

        class Recorded(IdempotencyService):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                built.append(self)

        monkeypatch.setattr(idempotency, "IdempotencyService", Recorded)
        return built

    async def test_build_no_idempotency_service(
        self, api: Api, client: httpx.AsyncClient, services_built: list[IdempotencyService]
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        responses = [
            await client.get("/api/articles", headers=jake.headers),
            await client.get("/api/articles/feed", headers=jake.headers),
            await client.get(f"/api/articles/{slug}"),
            await client.get(f"/api/articles/{slug}/comments"),
            await client.post(
                f"/api/articles/{slug}/comments",
                json={"comment": {"body": "Nice"}},
                headers=jake.headers,
            ),
        ]

        assert [response.status_code for response in responses] == [200, 200, 200, 200, 200]
        assert services_built == []

    async def test_a_key_builds_one(
        self, api: Api, client: httpx.AsyncClient, services_built: list[IdempotencyService]
    ) -> None:
        jake = await api.register("jake")

        response = await create(client, jake, new_key())

        assert response.status_code == 201
        assert len(services_built) == 1
