"""Comments on articles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Comment, User
from conduit.db.types import utc_now
from conduit.domain.types import CommentView, ProfileView
from conduit.repositories._sql import following_flag


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, comment_id: int) -> Comment | None:
        """The ORM comment, for ownership checks."""
        return await self.session.get(Comment, comment_id)

    async def add(self, *, article_id: int, author_id: int, body: str) -> int:
        """Insert a comment and return its id."""
        now = utc_now()
        comment = Comment(
            article_id=article_id, author_id=author_id, body=body, created_at=now, updated_at=now
        )
        self.session.add(comment)
        await self.session.flush()
        return comment.id

    async def delete(self, comment_id: int) -> bool:
        """Delete one comment; False when it was already gone (say, a concurrent delete)."""
        stmt = delete(Comment).where(Comment.id == comment_id).returning(Comment.id)
        return (await self.session.execute(stmt)).first() is not None

    async def get_view(self, comment_id: int, viewer_id: int | None) -> CommentView | None:
        """One comment with its author's profile as seen by the viewer."""
        row = (
            await self.session.execute(_view_query(viewer_id).where(Comment.id == comment_id))
        ).first()
        return None if row is None else _to_view(row)

    async def list_views(
        self, article_id: int, viewer_id: int | None, *, limit: int
    ) -> list[CommentView]:
        """The ``limit`` newest comments of an article, newest first; one statement."""
        query = (
            _view_query(viewer_id)
            .where(Comment.article_id == article_id)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(limit)
        )
        return [_to_view(row) for row in (await self.session.execute(query)).all()]


def _view_query(viewer_id: int | None) -> Select[*tuple[Any, ...]]:
    return select(
        Comment.id,
        Comment.body,
        Comment.created_at,
        Comment.updated_at,
        User.username,
        User.bio,
        User.image,
        following_flag(Comment.author_id, viewer_id).label("following"),
    ).join(User, User.id == Comment.author_id)


def _to_view(row: Any) -> CommentView:
    return CommentView(
        id=row.id,
        body=row.body,
        created_at=row.created_at,
        updated_at=row.updated_at,
        author=ProfileView(
            username=row.username, bio=row.bio, image=row.image, following=bool(row.following)
        ),
    )
