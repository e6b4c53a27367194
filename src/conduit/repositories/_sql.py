"""SQL helpers shared by the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, exists, false
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Base, Follow


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
