"""Comments on articles."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Comment, User
from conduit.db.types import utc_now
from conduit.domain.types import CommentView, ProfileView
from conduit.repositories._rows import Query, Row, core_table
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
        params = {
            "article_id": article_id,
            "author_id": author_id,
            "body": body,
            "created_at": now,
            "updated_at": now,
        }
        rows = await _INSERT.write(self.session, params)
        return int(rows[0]["id"])

    async def delete(self, comment_id: int) -> bool:
        """Delete one comment; False when it was already gone (say, a concurrent delete)."""
        stmt = delete(Comment).where(Comment.id == comment_id).returning(Comment.id)
        return (await self.session.execute(stmt)).first() is not None

    async def get_view(self, comment_id: int, viewer_id: int | None) -> CommentView | None:
        """One comment with its author's profile as seen by the viewer."""
        query = _one_query(viewer=viewer_id is not None)
        row = await query.first(self.session, {"comment_id": comment_id, "viewer_id": viewer_id})
        return None if row is None else _to_view(row)

    async def list_views(
        self, article_id: int, viewer_id: int | None, *, limit: int
    ) -> list[CommentView]:
        """The ``limit`` newest comments of an article, newest first; one statement."""
        query = _list_query(viewer=viewer_id is not None)
        params = {"article_id": article_id, "viewer_id": viewer_id, "limit": limit}
        return [_to_view(row) for row in await query.all(self.session, params)]


_INSERT = Query(
    insert(core_table(Comment))
    .values(
        article_id=bindparam("article_id"),
        author_id=bindparam("author_id"),
        body=bindparam("body"),
        created_at=bindparam("created_at"),
        updated_at=bindparam("updated_at"),
    )
    .returning(core_table(Comment).c.id)
)


# Built once per shape, compiled once (see `_rows`): comments are read on every article page.
@lru_cache(maxsize=4)
def _one_query(*, viewer: bool) -> Query:
    return Query(_view_query(viewer).where(Comment.id == bindparam("comment_id")))


@lru_cache(maxsize=4)
def _list_query(*, viewer: bool) -> Query:
    return Query(
        _view_query(viewer)
        .where(Comment.article_id == bindparam("article_id"))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(bindparam("limit"))
    )


def _view_query(viewer: bool) -> Select[*tuple[Any, ...]]:
    viewer_id: BindParameter[int] | None = bindparam("viewer_id") if viewer else None
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


def _to_view(row: Row) -> CommentView:
    return CommentView(
        id=row["id"],
        body=row["body"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        author=ProfileView(
            username=row["username"],
            bio=row["bio"],
            image=row["image"],
            following=bool(row["following"]),
        ),
    )
