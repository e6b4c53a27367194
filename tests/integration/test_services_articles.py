from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.errors import Forbidden, NotFound, ValidationFailed
from conduit.domain.sorting import parse_sort
from conduit.domain.types import ArticleChanges, ArticleFilter, ArticleView, NewArticle
from conduit.services.articles import ArticleService
from tests.factories import Factory


@pytest.fixture
def articles(session: AsyncSession) -> ArticleService:
    return ArticleService(session)


def slugs(page_articles: list[ArticleView]) -> list[str]:
    return [a.slug for a in page_articles]


class TestCreate:
    async def test_slug_comes_from_title(self, articles: ArticleService, factory: Factory) -> None:
        me = await factory.viewer("me")
        article = await articles.create(
            me,
            NewArticle(
                title="How to Train Your Dragon",
                description="Ever wonder how?",
                body="You have to believe",
                tag_list=["dragons", "training"],
            ),
        )
        assert article.slug == "how-to-train-your-dragon"
        assert article.body == "You have to believe"
        assert (article.favorited, article.favorites_count) == (False, 0)
        assert article.author.username == "me"
        assert article.created_at == article.updated_at

    async def test_same_title_gets_a_suffixed_slug(self, factory: Factory) -> None:
        first = await factory.article(title="Hello World")
        second = await factory.article(title="Hello World")
        assert first.slug == "hello-world"
        assert re.fullmatch(r"hello-world-[0-9a-f]{6}", second.slug)

    async def test_tags_are_deduplicated_in_given_order(self, factory: Factory) -> None:
        article = await factory.article(tags=["zeta", "alpha", "zeta", " mid "])
        assert article.tag_list == ["zeta", "alpha", "mid"]

    async def test_tags_are_shared_between_articles(self, factory: Factory) -> None:
        await factory.article(tags=["python"])
        article = await factory.article(tags=["python", "sql"])
        assert article.tag_list == ["python", "sql"]


class TestGet:
    async def test_unknown_slug_is_404(self, articles: ArticleService) -> None:
        with pytest.raises(NotFound) as caught:
            await articles.get("nope", None)
        assert caught.value.field == "article"


class TestUpdate:
    async def test_author_edits_fields_and_slug_follows_title(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        original = await factory.article(me, title="Old title", tags=["a"])
        updated = await articles.update(
            original.slug, me, ArticleChanges(title="New title", body="New body")
        )
        assert (updated.slug, updated.title, updated.body) == ("new-title", "New title", "New body")
        assert updated.description == original.description
        assert updated.tag_list == ["a"]
        assert updated.updated_at >= original.updated_at

    async def test_old_slug_still_leads_to_the_renamed_article(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        original = await factory.article(me, title="Old title")
        await articles.update(original.slug, me, ArticleChanges(title="New title"))

        via_old_slug = await articles.get("old-title", None)
        renamed_again = await articles.update("old-title", me, ArticleChanges(title="Old title"))

        assert via_old_slug.slug == "new-title"
        assert renamed_again.slug == "old-title"
        assert (await articles.get("new-title", None)).slug == "old-title"

    async def test_a_former_slug_takes_favorites_for_the_renamed_article(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        fan = await factory.viewer("fan")
        original = await factory.article(me, title="Old title")
        await articles.update(original.slug, me, ArticleChanges(title="New title"))

        favorited = await articles.favorite("old-title", fan)
        assert (favorited.slug, favorited.favorited, favorited.favorites_count) == (
            "new-title",
            True,
            1,
        )
        unfavorited = await articles.unfavorite("old-title", fan)
        assert (unfavorited.favorited, unfavorited.favorites_count) == (False, 0)

    async def test_a_former_slug_of_another_article_is_not_reused(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        first = await factory.article(me, title="Hello")
        await articles.update(first.slug, me, ArticleChanges(title="Goodbye"))

        second = await factory.article(me, title="Hello")

        assert re.fullmatch(r"hello-[0-9a-f]{6}", second.slug)
        assert (await articles.get("hello", None)).slug == "goodbye"

    async def test_title_with_same_slug_keeps_slug(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        await factory.article(me, title="Hello")
        suffixed = await factory.article(me, title="Hello")
        updated = await articles.update(suffixed.slug, me, ArticleChanges(title="hello!"))
        assert updated.slug == suffixed.slug

    async def test_new_title_colliding_gets_suffix(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        await factory.article(me, title="Taken")
        other = await factory.article(me, title="Other")
        updated = await articles.update(other.slug, me, ArticleChanges(title="Taken"))
        assert re.fullmatch(r"taken-[0-9a-f]{6}", updated.slug)

    async def test_tag_list_replaces_and_empty_list_clears(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        article = await factory.article(me, tags=["a", "b"])
        replaced = await articles.update(article.slug, me, ArticleChanges(tag_list=["c", "a"]))
        assert replaced.tag_list == ["c", "a"]
        cleared = await articles.update(article.slug, me, ArticleChanges(tag_list=[]))
        assert cleared.tag_list == []

    async def test_someone_else_cannot_edit(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        article = await factory.article()
        intruder = await factory.viewer("intruder")
        with pytest.raises(Forbidden):
            await articles.update(article.slug, intruder, ArticleChanges(title="Mine"))

    async def test_unknown_slug_is_404(self, articles: ArticleService, factory: Factory) -> None:
        me = await factory.viewer("me")
        with pytest.raises(NotFound):
            await articles.update("nope", me, ArticleChanges(title="x"))


class TestDelete:
    async def test_author_deletes(self, articles: ArticleService, factory: Factory) -> None:
        me = await factory.viewer("me")
        article = await factory.article(me)
        await articles.delete(article.slug, me)
        with pytest.raises(NotFound):
            await articles.get(article.slug, me)

    async def test_someone_else_cannot_delete(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        article = await factory.article()
        intruder = await factory.viewer("intruder")
        with pytest.raises(Forbidden):
            await articles.delete(article.slug, intruder)
        assert (await articles.get(article.slug, None)).slug == article.slug


class TestFavorite:
    async def test_favorite_counts_once_per_user(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        article = await factory.article()
        fan, other = await factory.viewer("fan"), await factory.viewer("other")
        await articles.favorite(article.slug, fan)
        again = await articles.favorite(article.slug, fan)
        assert (again.favorited, again.favorites_count) == (True, 1)
        both = await articles.favorite(article.slug, other)
        assert both.favorites_count == 2
        seen_by_anonymous = await articles.get(article.slug, None)
        assert (seen_by_anonymous.favorited, seen_by_anonymous.favorites_count) == (False, 2)

    async def test_unfavorite_is_idempotent(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        article = await factory.article()
        fan = await factory.viewer("fan")
        await articles.favorite(article.slug, fan)
        await articles.unfavorite(article.slug, fan)
        again = await articles.unfavorite(article.slug, fan)
        assert (again.favorited, again.favorites_count) == (False, 0)

    async def test_unknown_slug_is_404(self, articles: ArticleService, factory: Factory) -> None:
        fan = await factory.viewer("fan")
        with pytest.raises(NotFound):
            await articles.favorite("nope", fan)


class TestListArticles:
    async def test_newest_first_without_bodies(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        first = await factory.article()
        second = await factory.article()
        page = await articles.list_articles(viewer=None)
        assert slugs(page.articles) == [second.slug, first.slug]
        assert page.total == 2
        assert all(a.body is None for a in page.articles)

    async def test_filters_combine(self, articles: ArticleService, factory: Factory) -> None:
        jake, anna, fan = (
            await factory.viewer("jake"),
            await factory.viewer("anna"),
            await factory.viewer("fan"),
        )
        target = await factory.article(jake, tags=["go"])
        await factory.article(jake, tags=["go"])  # not favorited
        await factory.article(anna, tags=["go"])  # other author
        liked_untagged = await factory.article(jake)
        await factory.favorite(fan, target.slug)
        await factory.favorite(fan, liked_untagged.slug)
        page = await articles.list_articles(
            viewer=None, filters=ArticleFilter(tag="go", author="jake", favorited="fan")
        )
        assert (slugs(page.articles), page.total) == ([target.slug], 1)

    @pytest.mark.parametrize(
        "filters",
        [
            ArticleFilter(tag="none"),
            ArticleFilter(author="ghost"),
            ArticleFilter(favorited="ghost"),
        ],
    )
    async def test_unknown_filter_values_match_nothing(
        self, articles: ArticleService, factory: Factory, filters: ArticleFilter
    ) -> None:
        await factory.article(tags=["go"])
        page = await articles.list_articles(viewer=None, filters=filters)
        assert (page.articles, page.total) == ([], 0)

    async def test_limit_and_offset_page_through_total(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        created = [await factory.article() for _ in range(5)]
        newest_first = [a.slug for a in reversed(created)]
        page = await articles.list_articles(viewer=None, limit=2, offset=2)
        assert (slugs(page.articles), page.total) == (newest_first[2:4], 5)
        beyond = await articles.list_articles(viewer=None, limit=2, offset=10)
        assert (beyond.articles, beyond.total) == ([], 5)

    async def test_viewer_flags(self, articles: ArticleService, factory: Factory) -> None:
        author, me = await factory.viewer("author"), await factory.viewer("me")
        article = await factory.article(author)
        await factory.follow(me, author)
        await factory.favorite(me, article.slug)
        [seen] = (await articles.list_articles(viewer=me)).articles
        assert (seen.favorited, seen.favorites_count, seen.author.following) == (True, 1, True)

    async def test_sort_by_title_and_favorites(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        b = await factory.article(title="bravo")
        a = await factory.article(title="alpha")
        c = await factory.article(title="charlie")
        fan = await factory.viewer("fan")
        await factory.favorite(fan, c.slug)
        by_title = await articles.list_articles(viewer=None, sort=parse_sort("title"))
        assert slugs(by_title.articles) == [a.slug, b.slug, c.slug]
        by_fans = await articles.list_articles(
            viewer=None, sort=parse_sort("-favoritesCount,-title")
        )
        assert slugs(by_fans.articles) == [c.slug, b.slug, a.slug]

    @pytest.mark.parametrize(("limit", "offset", "field"), [(-1, 0, "limit"), (1, -1, "offset")])
    async def test_negative_paging_is_rejected(
        self, articles: ArticleService, limit: int, offset: int, field: str
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            await articles.list_articles(viewer=None, limit=limit, offset=offset)
        assert caught.value.field == field


class TestFeed:
    async def test_only_followed_authors_newest_first(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        followed, stranger = await factory.viewer("followed"), await factory.viewer("stranger")
        await factory.follow(me, followed)
        older = await factory.article(followed)
        await factory.article(stranger)
        await factory.article(me)
        newer = await factory.article(followed)
        page = await articles.feed(viewer=me)
        assert (slugs(page.articles), page.total) == ([newer.slug, older.slug], 2)
        assert all(a.author.following for a in page.articles)

    async def test_empty_when_following_nobody(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        await factory.article()
        page = await articles.feed(viewer=me)
        assert (page.articles, page.total) == ([], 0)

    async def test_unfollowing_removes_from_feed(
        self, articles: ArticleService, factory: Factory
    ) -> None:
        me, author = await factory.viewer("me"), await factory.viewer("author")
        await factory.follow(me, author)
        await factory.article(author)
        await factory.profiles.unfollow("author", me)
        assert (await articles.feed(viewer=me)).total == 0
