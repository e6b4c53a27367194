"""SQL helpers shared by the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Label,
    Table,
    exists,
    false,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Article, Base, Follow, FormerSlug, User


@dataclass(frozen=True, slots=True)
class UniqueRule:
    """How a unique constraint shows up in each backend's error text."""

    constraint: str  # PostgreSQL names the constraint
    columns: str  # SQLite names "table.column"
    field: str  # the error-body key to report

    def matches(self, error: IntegrityError) -> bool:
        text = str(error.orig)
        return self.constraint in text or f"UNIQUE constraint failed: {self.columns}" in text


def upsert_insert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT supporting `.on_conflict_do_nothing()` on the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def following_flag(
    author_id: Any, viewer_id: int | BindParameter[int] | None
) -> ColumnElement[bool]:
    """EXISTS column: does the viewer follow `author_id`? Constant false when anonymous."""
    if viewer_id is None:
        return false()
    return exists().where(Follow.follower_id == viewer_id, Follow.followee_id == author_id)


def has_slug(slug: str | BindParameter[str]) -> ColumnElement[bool]:
    """The article's slug is `slug` now, or was before a rename (a subquery, not a round trip)."""
    former = select(FormerSlug.article_id).where(FormerSlug.slug == slug).scalar_subquery()
    return or_(Article.slug == slug, Article.id == former)


def author_profile(table: Table) -> list[Label[Any]]:
    """The username, bio and image of the author of a row written to `table` (its
    ``author_id``), as scalar subqueries for the write's RETURNING: the new row comes back with
    its author's profile in the same round trip.

    SQLAlchemy neither correlates a RETURNING clause's subqueries to the table written (it adds
    a second copy of that table to the subquery's FROM) nor qualifies column names there on
    SQLite, so the written row's column is named by hand, with the table's own name: the
    subquery reads the users table under an alias, and an unqualified name inside it is the
    alias's.
    """
    author = User.__table__.alias("author")
    written: ColumnElement[int] = literal_column(f"{table.name}.author_id")
    return [
        select(author.c[name]).where(author.c.id == written).scalar_subquery().label(name)
        for name in ("username", "bio", "image")
    ]
