"""Comments on articles."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Insert, Select, bindparam, delete, false, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Article, Comment, User
from conduit.db.types import utc_now
from conduit.domain.types import CommentView, ProfileView
from conduit.repositories._rows import Query, Row, core_table
from conduit.repositories._sql import author_profile, following_flag, has_slug


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, comment_id: int) -> Comment | None:
        """The ORM comment, for ownership checks."""
        return await self.session.get(Comment, comment_id)

    async def add(self, *, slug: str, author_id: int, body: str) -> CommentView | None:
        """Comment on the article under `slug` (current or former) and return the comment as
        its author sees it; None when no article has that slug.

        One statement finds the article, inserts the comment and returns it with its author's
        profile: a comment costs one round trip where looking the article up first and reading
        the comment back after cost three.
        """
        now = utc_now()
        params = {
            "slug": slug,
            "author_id": author_id,
            "body": body,
            "created_at": now,
            "updated_at": now,
        }
        rows = await _INSERT.write(self.session, params)
        return _to_view(rows[0]) if rows else None

    async def delete(self, comment_id: int) -> bool:
        """Delete one comment; False when it was already gone (say, a concurrent delete)."""
        stmt = delete(Comment).where(Comment.id == comment_id).returning(Comment.id)
        return (await self.session.execute(stmt)).first() is not None

    async def list_views(
        self, article_id: int, viewer_id: int | None, *, limit: int
    ) -> list[CommentView]:
        """The ``limit`` newest comments of an article, newest first; one statement."""
        query = _list_query(viewer=viewer_id is not None)
        params = {"article_id": article_id, "viewer_id": viewer_id, "limit": limit}
        return [_to_view(row) for row in await query.all(self.session, params)]


def _insert_statement() -> Insert:
    table = core_table(Comment)
    names = ("author_id", "body", "created_at", "updated_at")
    values = [bindparam(name, type_=table.c[name].type) for name in names]
    article = select(Article.id, *values).where(has_slug(bindparam("slug")))
    return (
        insert(table)
        .from_select(["article_id", *names], article)
        .returning(
            table.c.id,
            table.c.body,
            table.c.created_at,
            table.c.updated_at,
            *author_profile(table),
            # The viewer is the author, and nobody follows themselves (a check constraint).
            false().label("following"),
        )
    )


_INSERT = Query(_insert_statement())


# Built once per shape, compiled once (see `_rows`): comments are read on every article page.
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
