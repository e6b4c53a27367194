"""The list pages run the same SQL statements whatever the page size (no N+1), through HTTP."""

from __future__ import annotations

from collections.abc import Callable
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
