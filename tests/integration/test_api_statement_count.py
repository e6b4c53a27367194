"""The list pages run the same SQL statements whatever the page size (no N+1), through HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.security import TokenCodec
from conduit.db.models import Article, ArticleTag, Favorite
from conduit.domain.types import Viewer
from conduit.repositories.tags import TagRepository
from tests.factories import Factory
from tests.integration.api import auth

CountStatements = Callable[[], AbstractContextManager[list[str]]]
LIMITS = (1, 20, 100)
_SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
ARTICLES = 105


@pytest.fixture
async def reader(factory: Factory, session: AsyncSession) -> Viewer:
    """A reader who follows three authors of 105 tagged articles, some favorited by several."""
    reader = await factory.viewer("reader")
    authors = [await factory.viewer(f"author{n}") for n in range(3)]
    fans = [reader, await factory.viewer("fan0"), await factory.viewer("fan1")]
    for author in authors:
        await factory.follow(reader, author)
    await seed_articles(session, authors, fans)
    return reader


async def seed_articles(session: AsyncSession, authors: list[Viewer], fans: list[Viewer]) -> None:
    """Bulk rows, a few statements in all: going through the services 105 times takes seconds."""
    now = datetime.now(UTC)
    tag_names = [f"tag{n}" for n in range(7)] + ["common"]
    tag_ids = await TagRepository(session).ensure(tag_names)
    articles = [
        {
            "slug": f"seeded-{n}",
            "title": f"Seeded {n}",
            "description": "d",
            "body": "b",
            "author_id": authors[n % len(authors)].id,
            "favorites_count": n % 4,
            "created_at": now - timedelta(seconds=n),
            "updated_at": now - timedelta(seconds=n),
        }
        for n in range(ARTICLES)
    ]
    ids = list(await session.scalars(insert(Article).returning(Article.id), articles))
    await session.execute(
        insert(ArticleTag),
        [
            {"article_id": article_id, "tag_id": tag_id, "position": position}
            for n, article_id in enumerate(ids)
            for position, tag_id in enumerate((tag_ids[n % 7], tag_ids[-1]))
        ],
    )
    await session.execute(
        insert(Favorite),
        [
            {"user_id": fan.id, "article_id": article_id, "created_at": now}
            for n, article_id in enumerate(ids)
            for fan in fans[: n % 4]
        ],
    )
    await session.flush()


async def statements_per_limit(
    client: httpx.AsyncClient,
    count_statements: CountStatements,
    path: str,
    headers: dict[str, str],
) -> dict[int, int]:
    counts: dict[int, int] = {}
    for limit in LIMITS:
        with count_statements() as statements:
            response = await client.get(path, params={"limit": limit}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["articles"]) == limit
        assert body["articlesCount"] == ARTICLES
        counts[limit] = len(statements)
    return counts


class TestListStatementCount:
    async def test_get_articles_is_the_same_for_1_20_and_100_anonymously(
        self, client: httpx.AsyncClient, count_statements: CountStatements, reader: Viewer
    ) -> None:
        counts = await statements_per_limit(client, count_statements, "/api/articles", {})
        assert len(set(counts.values())) == 1, counts

    async def test_get_articles_is_the_same_for_1_20_and_100_for_a_viewer(
        self,
        client: httpx.AsyncClient,
        count_statements: CountStatements,
        reader: Viewer,
        tokens: TokenCodec,
    ) -> None:
        headers = auth(tokens.issue(reader.id))
        counts = await statements_per_limit(client, count_statements, "/api/articles", headers)
        assert len(set(counts.values())) == 1, counts

    async def test_get_articles_feed_is_the_same_for_1_20_and_100(
        self,
        client: httpx.AsyncClient,
        count_statements: CountStatements,
        reader: Viewer,
        tokens: TokenCodec,
    ) -> None:
        headers = auth(tokens.issue(reader.id))
        counts = await statements_per_limit(client, count_statements, "/api/articles/feed", headers)
        assert len(set(counts.values())) == 1, counts


Write = Callable[..., Awaitable[list[str]]]


@pytest.fixture
async def write(
    client: httpx.AsyncClient,
    count_statements: CountStatements,
    factory: Factory,
    tokens: TokenCodec,
) -> Write:
    """Send a write as a new user; the statements it ran, besides its transaction's own."""
    headers = auth(tokens.issue((await factory.viewer()).id))

    async def send(method: str, path: str, body: object = None) -> list[str]:
        with count_statements() as statements:
            response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        # Here a request's transaction is a SAVEPOINT of the test's own: those stand for the
        # server's BEGIN and COMMIT, which are not counted either.
        return [sql for sql in statements if not sql.lstrip().upper().startswith(_SAVEPOINTS)]

    return send


class TestWriteStatementCount:
    """A write's round trips are what its CPU goes to: each statement counted here is one,
    besides the transaction's BEGIN and COMMIT. The caller's account is the first of each."""

    async def test_a_comment_is_written_and_read_back_in_one_statement(
        self, write: Write, factory: Factory
    ) -> None:
        article = await factory.article()
        body = {"comment": {"body": "Thank you"}}
        sent = await write("POST", f"/api/articles/{article.slug}/comments", body)
        assert len(sent) == 2, sent

    async def test_a_favorite_is_the_insert_its_counter_and_the_article(
        self, write: Write, factory: Factory
    ) -> None:
        path = f"/api/articles/{(await factory.article()).slug}/favorite"
        assert len(sent := await write("POST", path)) == 4, sent
        assert len(sent := await write("DELETE", path)) == 4, sent

    async def test_a_new_article_with_known_tags_is_not_read_back(
        self, write: Write, factory: Factory
    ) -> None:
        await factory.article(tags=["known", "tags"])
        article = {"title": "New", "description": "d", "body": "b", "tagList": ["known", "tags"]}
        sent = await write("POST", "/api/articles", {"article": article})
        # The account, the article, the tags' ids, the article's tag links.
        assert len(sent) == 4, sent
