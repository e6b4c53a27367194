from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Article, ArticleTag, Comment, Favorite
from conduit.domain.sorting import parse_sort
from conduit.domain.types import ArticleChanges, ArticleFilter, Viewer
from conduit.repositories.articles import ArticleRepository, SlugTaken
from conduit.repositories.tags import TagRepository
from tests.factories import Factory

CountStatements = Callable[[], AbstractContextManager[list[str]]]


@pytest.fixture
def repo(session: AsyncSession) -> ArticleRepository:
    return ArticleRepository(session)


async def _seed(factory: Factory, count: int) -> Viewer:
    """`count` articles by followed authors, each tagged, favorited and commented."""
    reader = await factory.viewer("reader")
    authors = [await factory.viewer(f"author{i}") for i in range(3)]
    for author in authors:
        await factory.follow(reader, author)
    for i in range(count):
        author = authors[i % len(authors)]
        article = await factory.article(author, tags=[f"t{i % 4}", "common"])
        await factory.favorite(reader, article.slug)
        await factory.comment(reader, article.slug)
    return reader


class TestFixedStatementCount:
    """List pages must not issue per-row queries (N+1)."""

    async def test_list_and_feed_cost_the_same_at_any_page_size(
        self, session: AsyncSession, factory: Factory, count_statements: CountStatements
    ) -> None:
        reader = await _seed(factory, 100)
        await session.flush()
        costs: dict[tuple[str, int], int] = {}
        for limit in (1, 20, 100):
            with count_statements() as statements:
                page = await factory.articles.list_articles(
                    viewer=reader, filters=ArticleFilter(tag="common"), limit=limit
                )
            assert len(page.articles) == limit
            assert all(a.tag_list and a.favorited and a.author.following for a in page.articles)
            costs["list", limit] = len(statements)
            with count_statements() as statements:
                feed = await factory.articles.feed(viewer=reader, limit=limit)
            assert len(feed.articles) == limit
            costs["feed", limit] = len(statements)
        # the page, its tags and its total in one statement
        assert set(costs.values()) == {1}, costs


class TestPaginationWithTies:
    @pytest.mark.parametrize("sort", ["-createdAt", "createdAt", "-favoritesCount", "title"])
    async def test_pages_neither_repeat_nor_skip(
        self, session: AsyncSession, repo: ArticleRepository, factory: Factory, sort: str
    ) -> None:
        author = await factory.viewer("author")
        for _ in range(7):
            await factory.article(author, title="Same title")
        # Force ties on every sortable column.
        same_time = datetime(2026, 1, 1, tzinfo=UTC)
        await session.execute(
            update(Article).values(created_at=same_time).where(Article.author_id == author.id)
        )
        seen: list[str] = []
        for offset in range(0, 7, 3):
            page = await repo.list_page(
                filters=ArticleFilter(author="author"),
                viewer_id=None,
                sort=parse_sort(sort),
                limit=3,
                offset=offset,
            )
            seen.extend(a.slug for a in page.articles)
        assert len(seen) == len(set(seen)) == 7


class TestFavoritesCounter:
    async def test_counter_matches_favorite_rows(
        self, session: AsyncSession, repo: ArticleRepository, factory: Factory
    ) -> None:
        article = await factory.article()
        fans = [await factory.viewer() for _ in range(3)]
        stored = await repo.get_by_slug(article.slug)
        assert stored is not None
        slug = article.slug
        assert [await repo.add_favorite(f.id, slug) for f in fans] == [True, True, True]
        assert await repo.add_favorite(fans[0].id, slug) is False
        assert await repo.remove_favorite(fans[1].id, slug) is True
        assert await repo.remove_favorite(fans[1].id, slug) is False
        assert await repo.add_favorite(fans[1].id, "no-such-article") is False
        assert await repo.remove_favorite(fans[0].id, "no-such-article") is False
        rows = await session.scalar(
            select(func.count()).select_from(Favorite).where(Favorite.article_id == stored.id)
        )
        view = await repo.get_view(article.slug, None)
        assert view is not None
        assert view.favorites_count == rows == 2


class TestDeleteCascades:
    async def test_deleting_an_article_removes_comments_favorites_and_tag_links(
        self, session: AsyncSession, repo: ArticleRepository, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        article = await factory.article(me, tags=["x", "y"])
        await factory.comment(me, article.slug)
        await factory.favorite(me, article.slug)
        stored = await repo.get_by_slug(article.slug)
        assert stored is not None
        await repo.delete(stored.id)
        for model in (Comment, Favorite, ArticleTag):
            remaining = await session.scalar(
                select(func.count()).select_from(model).where(model.article_id == stored.id)
            )
            assert remaining == 0, model.__name__


class TestSlugUniqueness:
    async def test_duplicate_slug_raises_and_transaction_survives(
        self, repo: ArticleRepository, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        article = await factory.article(me, title="Taken")
        with pytest.raises(SlugTaken):
            await repo.add(slug="taken", title="t", description="d", body="b", author_id=me.id)
        assert (await repo.get_view(article.slug, None)) is not None


class TestTags:
    async def test_ensure_is_idempotent_and_ordered(self, session: AsyncSession) -> None:
        tags = TagRepository(session)
        first = await tags.ensure(["b", "a"])
        again = await tags.ensure(["a", "c", "b"])
        assert again[0] == first[1]
        assert again[2] == first[0]
        assert len(set(again)) == 3


class TestTimestamps:
    async def test_round_trip_is_aware_utc_with_milliseconds(
        self, repo: ArticleRepository, factory: Factory
    ) -> None:
        article = await factory.article()
        view = await repo.get_view(article.slug, None)
        assert view is not None
        assert view.created_at.tzinfo is not None
        assert view.created_at.utcoffset() == UTC.utcoffset(None)
        assert view.created_at.microsecond % 1000 == 0
        assert view.created_at == article.created_at


class TestMaintainedCounts:
    """`articlesCount` comes from counts the database keeps on write; they must match the rows."""

    async def _totals(self, factory: Factory, reader: Viewer) -> dict[str, int]:
        service = factory.articles
        return {
            "all": (await service.list_articles(viewer=None, limit=0)).total,
            "tag": (await service.list_articles(viewer=None, filters=ArticleFilter(tag="t"))).total,
            "author": (
                await service.list_articles(viewer=None, filters=ArticleFilter(author="writer"))
            ).total,
            "favorited": (
                await service.list_articles(viewer=None, filters=ArticleFilter(favorited="reader"))
            ).total,
            "feed": (await service.feed(viewer=reader)).total,
            "tag+author": (
                await service.list_articles(
                    viewer=None, filters=ArticleFilter(tag="t", author="writer")
                )
            ).total,
        }

    async def test_counts_follow_creates_edits_favorites_and_deletes(
        self, session: AsyncSession, factory: Factory
    ) -> None:
        reader, writer = await factory.viewer("reader"), await factory.viewer("writer")
        await factory.follow(reader, writer)
        base = await self._totals(factory, reader)
        first = await factory.article(writer, tags=["t", "u"])
        second = await factory.article(writer, tags=["t"])
        await factory.article(tags=["t"])
        await factory.favorite(reader, first.slug)
        await factory.favorite(reader, second.slug)
        await factory.favorite(reader, second.slug)  # idempotent: counted once
        assert await self._totals(factory, reader) == {
            "all": base["all"] + 3,
            "tag": 3,
            "author": 2,
            "favorited": 2,
            "feed": 2,
            "tag+author": 2,
        }
        await factory.articles.update(second.slug, writer, ArticleChanges(tag_list=["u"]))
        await factory.articles.unfavorite(first.slug, reader)
        # Deleting cascades to tag links and favorites; their counts follow.
        await factory.articles.delete(second.slug, writer)
        assert await self._totals(factory, reader) == {
            "all": base["all"] + 2,
            "tag": 2,
            "author": 1,
            "favorited": 0,
            "feed": 1,
            "tag+author": 1,
        }

    async def test_unknown_names_count_nothing(self, factory: Factory) -> None:
        await factory.article(tags=["t"])
        for filters in (
            ArticleFilter(tag="nope"),
            ArticleFilter(author="nobody"),
            ArticleFilter(favorited="nobody"),
        ):
            page = await factory.articles.list_articles(viewer=None, filters=filters)
            assert (page.articles, page.total) == ([], 0)

    async def test_a_page_past_the_end_still_has_the_total(self, factory: Factory) -> None:
        await factory.article(tags=["t"])
        full = await factory.articles.list_articles(viewer=None)
        past = await factory.articles.list_articles(viewer=None, offset=full.total + 5)
        assert (past.articles, past.total) == ([], full.total)

    async def test_tags_keep_the_authors_order(self, factory: Factory) -> None:
        article = await factory.article(tags=["zeta", "alpha", "mid"])
        page = await factory.articles.list_articles(
            viewer=None, filters=ArticleFilter(author=article.author.username)
        )
        assert [a.tag_list for a in page.articles] == [["zeta", "alpha", "mid"]]
