"""Concurrent writers, with real commits on separate connections.

These tests cannot use the rolled-back `session` fixture, so they delete the
users they created (cascading to their articles) when done.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conduit.core.passwords import PasswordHasher
from conduit.db.engine import create_sessionmaker
from conduit.db.models import User
from conduit.domain.types import NewArticle, Viewer
from conduit.services.articles import ArticleService
from conduit.services.users import UserService


@pytest.fixture
async def committed_author(
    engine: AsyncEngine, password_hasher: PasswordHasher
) -> AsyncIterator[Viewer]:
    sessions = create_sessionmaker(engine)
    name = f"racer-{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        user = await UserService(session, password_hasher).register(
            username=name, email=f"{name}@example.com", password="pw"
        )
        await session.commit()
    yield user.viewer
    async with sessions() as session:
        await session.execute(delete(User).where(User.id == user.id))
        await session.commit()


async def _create_and_commit(
    sessions: async_sessionmaker[AsyncSession], author: Viewer, title: str
) -> str:
    async with sessions() as session:
        article = await ArticleService(session).create(
            author, NewArticle(title=title, description="d", body="b", tag_list=[])
        )
        # Hold the transaction open so the other writer collides with it.
        await asyncio.sleep(0.1)
        await session.commit()
        return article.slug


async def test_concurrent_creates_with_same_title_get_distinct_slugs(
    engine: AsyncEngine, committed_author: Viewer
) -> None:
    sessions = create_sessionmaker(engine)
    title = f"Race {uuid.uuid4().hex[:8]}"
    slugs = await asyncio.gather(
        _create_and_commit(sessions, committed_author, title),
        _create_and_commit(sessions, committed_author, title),
    )
    base = title.lower().replace(" ", "-")
    assert len(set(slugs)) == 2
    assert base in slugs
    assert any(re.fullmatch(rf"{base}-[0-9a-f]{{6}}", slug) for slug in slugs)
