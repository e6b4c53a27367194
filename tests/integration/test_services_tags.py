from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.services.tags import TagService
from tests.factories import Factory


@pytest.fixture
def tags(session: AsyncSession) -> TagService:
    return TagService(session)


async def test_empty_without_articles(tags: TagService) -> None:
    assert await tags.list_tags() == []


async def test_most_used_first_then_by_name(tags: TagService, factory: Factory) -> None:
    await factory.article(tags=["rare", "common", "beta"])
    await factory.article(tags=["common", "alpha"])
    await factory.article(tags=["common", "alpha"])
    assert await tags.list_tags() == ["common", "alpha", "beta", "rare"]
    assert await tags.list_tags(limit=2) == ["common", "alpha"]


async def test_tags_of_deleted_articles_disappear(tags: TagService, factory: Factory) -> None:
    me = await factory.viewer("me")
    keep = await factory.article(me, tags=["kept"])
    gone = await factory.article(me, tags=["gone", "kept"])
    await factory.articles.delete(gone.slug, me)
    assert await tags.list_tags() == ["kept"]
    assert keep.tag_list == ["kept"]


async def test_tags_removed_from_an_article_disappear(tags: TagService, factory: Factory) -> None:
    from conduit.domain.types import ArticleChanges

    me = await factory.viewer("me")
    article = await factory.article(me, tags=["old"])
    await factory.articles.update(article.slug, me, ArticleChanges(tag_list=["new"]))
    assert await tags.list_tags() == ["new"]
