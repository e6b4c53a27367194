from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.errors import Forbidden, NotFound
from conduit.domain.types import ArticleChanges
from conduit.services import comments as comment_service
from conduit.services.articles import ArticleService
from conduit.services.comments import CommentService
from tests.factories import Factory


@pytest.fixture
def comments(session: AsyncSession) -> CommentService:
    return CommentService(session)


class TestComments:
    async def test_add_returns_comment_with_author(
        self, comments: CommentService, factory: Factory
    ) -> None:
        article = await factory.article()
        me = await factory.viewer("me")
        comment = await comments.add(article.slug, me, body="Thank you so much!")
        assert (comment.body, comment.author.username, comment.author.following) == (
            "Thank you so much!",
            "me",
            False,
        )
        assert comment.created_at.tzinfo is not None

    async def test_list_keeps_only_the_newest_comments_up_to_the_cap(
        self,
        comments: CommentService,
        factory: Factory,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(comment_service, "MAX_COMMENTS", 3)
        article = await factory.article()
        me = await factory.viewer("me")
        added = [await factory.comment(me, article.slug, f"comment {n}") for n in range(5)]
        listed = await comments.list_comments(article.slug, None)
        assert [c.id for c in listed] == [c.id for c in reversed(added)][:3]

    async def test_list_is_newest_first_with_following_flag(
        self, comments: CommentService, factory: Factory
    ) -> None:
        article = await factory.article()
        me, friend = await factory.viewer("me"), await factory.viewer("friend")
        await factory.follow(me, friend)
        first = await factory.comment(friend, article.slug, "first")
        second = await factory.comment(me, article.slug, "second")
        listed = await comments.list_comments(article.slug, me)
        assert [c.id for c in listed] == [second.id, first.id]
        assert [c.author.following for c in listed] == [False, True]

    async def test_comments_stay_on_their_article(
        self, comments: CommentService, factory: Factory
    ) -> None:
        one, two = await factory.article(), await factory.article()
        me = await factory.viewer("me")
        await factory.comment(me, one.slug)
        assert await comments.list_comments(two.slug, None) == []

    async def test_unknown_article_is_404(self, comments: CommentService, factory: Factory) -> None:
        me = await factory.viewer("me")
        with pytest.raises(NotFound):
            await comments.list_comments("nope", None)
        with pytest.raises(NotFound):
            await comments.add("nope", me, body="hi")

    async def test_a_former_slug_leads_to_the_renamed_article(
        self, comments: CommentService, session: AsyncSession, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        original = await factory.article(me, title="Old title")
        await ArticleService(session).update(original.slug, me, ArticleChanges(title="New title"))

        await comments.add("old-title", me, body="still here")

        assert [c.body for c in await comments.list_comments("new-title", None)] == ["still here"]


class TestDeleteComment:
    async def test_author_deletes(self, comments: CommentService, factory: Factory) -> None:
        article = await factory.article()
        me = await factory.viewer("me")
        comment = await factory.comment(me, article.slug)
        await comments.delete(article.slug, comment.id, me)
        assert await comments.list_comments(article.slug, None) == []

    async def test_article_author_cannot_delete_others_comment(
        self, comments: CommentService, factory: Factory
    ) -> None:
        author = await factory.viewer("author")
        article = await factory.article(author)
        commenter = await factory.viewer("commenter")
        comment = await factory.comment(commenter, article.slug)
        with pytest.raises(Forbidden):
            await comments.delete(article.slug, comment.id, author)

    async def test_comment_of_another_article_is_404(
        self, comments: CommentService, factory: Factory
    ) -> None:
        one, two = await factory.article(), await factory.article()
        me = await factory.viewer("me")
        comment = await factory.comment(me, one.slug)
        with pytest.raises(NotFound) as caught:
            await comments.delete(two.slug, comment.id, me)
        assert caught.value.field == "comment"

    async def test_unknown_comment_is_404(self, comments: CommentService, factory: Factory) -> None:
        article = await factory.article()
        me = await factory.viewer("me")
        with pytest.raises(NotFound):
            await comments.delete(article.slug, 999_999, me)
