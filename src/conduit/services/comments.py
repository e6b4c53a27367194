"""Comments on articles."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.errors import Forbidden, NotFound
from conduit.domain.permissions import Permission, can
from conduit.domain.types import CommentView, Viewer
from conduit.repositories.articles import ArticleRepository
from conduit.repositories.comments import CommentRepository

# The contract caps the list (maxItems: 500): a popular article must not make one response
# unbounded in size and time. RealWorld has no comment pagination to offer instead.
MAX_COMMENTS = 500


class CommentService:
    def __init__(self, session: AsyncSession) -> None:
        self.articles = ArticleRepository(session)
        self.comments = CommentRepository(session)

    async def list_comments(self, slug: str, viewer: Viewer | None) -> list[CommentView]:
        """An article's newest comments, newest first; NotFound for an unknown slug."""
        article_id = await self._article_id(slug)
        return await self.comments.list_views(article_id, _id(viewer), limit=MAX_COMMENTS)

    async def add(self, slug: str, viewer: Viewer, *, body: str) -> CommentView:
        """Comment on an article."""
        view = await self.comments.add(slug=slug, author_id=viewer.id, body=body)
        if view is None:
            raise NotFound(field="article")
        return view

    async def delete(self, slug: str, comment_id: int, viewer: Viewer) -> None:
        """Delete a comment of that article; its author or a moderator may."""
        article_id = await self._article_id(slug)
        comment = await self.comments.get(comment_id)
        if comment is None or comment.article_id != article_id:
            raise NotFound(field="comment")
        if comment.author_id != viewer.id and not can(viewer.role, Permission.DELETE_ANY_COMMENT):
            raise Forbidden(
                "only the author or a moderator may delete this comment", field="comment"
            )
        # Two deletes can both find the comment; only the one that really removes it succeeds.
        if not await self.comments.delete(comment.id):
            raise NotFound(field="comment")

    async def still_exists(self, slug: str, comment_id: int) -> bool:
        """Whether that comment of that article is still there (ids are never reused)."""
        article_id = await self.articles.get_id_by_slug(slug)
        comment = await self.comments.get(comment_id)
        return comment is not None and comment.article_id == article_id

    async def _article_id(self, slug: str) -> int:
        article_id = await self.articles.get_id_by_slug(slug)
        if article_id is None:
            raise NotFound(field="article")
        return article_id


def _id(viewer: Viewer | None) -> int | None:
    return None if viewer is None else viewer.id
