"""One transaction per request: a failure when it commits is a 5xx, never a 2xx, and nothing of
the request is kept.

These tests run the app's requests on sessions whose ``commit()`` fails the way a lost
connection or a deferred constraint would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from conduit.core.security import TokenCodec
from tests.factories import Factory
from tests.integration.api import Account, Json, assert_error, db_snapshot
from tests.integration.conftest import BASE_URL, sessions_from


class CommitFails(AsyncSession):
    async def commit(self) -> None:
        raise OperationalError("COMMIT", {}, ConnectionResetError("connection reset by peer"))


@dataclass(frozen=True, slots=True)
class World:
    jake: Account
    slug: str
    comment_id: int


@pytest.fixture
async def world(factory: Factory, tokens: TokenCodec) -> World:
    user = await factory.user("jake")
    jake = Account(user.username, user.email, "unused", tokens.issue(user.id))
    article = await factory.article(user.viewer, title="Existing", tags=["t"])
    await factory.user("other")
    comment = await factory.comment(user.viewer, article.slug)
    return World(jake, article.slug, comment.id)


@pytest.fixture
async def failing_client(
    app: FastAPI, connection: AsyncConnection, world: World
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app whose requests get sessions that cannot commit."""
    failing: async_sessionmaker[AsyncSession] = async_sessionmaker(
        bind=connection,
        class_=CommitFails,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    # The server re-raises unhandled errors after answering 500 (so servers can log them);
    # this client shows the answer instead.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with sessions_from(app, failing):
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


WRITES: list[tuple[str, str, Json | None]] = [
    (
        "POST",
        "/api/users",
        {"user": {"username": "newbie", "email": "newbie@example.com", "password": "password1"}},
    ),
    ("PUT", "/api/user", {"user": {"bio": "changed", "username": "renamed"}}),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "New", "description": "d", "body": "b", "tagList": ["new"]}},
    ),
    ("PUT", "/api/articles/{slug}", {"article": {"title": "Renamed", "tagList": []}}),
    ("DELETE", "/api/articles/{slug}", None),
    ("POST", "/api/articles/{slug}/comments", {"comment": {"body": "hello"}}),
    ("DELETE", "/api/articles/{slug}/comments/{comment_id}", None),
    ("POST", "/api/articles/{slug}/favorite", None),
    ("POST", "/api/profiles/other/follow", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
async def test_a_failed_commit_is_a_500_in_the_error_shape_and_keeps_nothing(
    failing_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    method: str,
    path: str,
    body: Any,
) -> None:
    before = await db_snapshot(session_factory)
    response = await failing_client.request(
        method,
        path.format(slug=world.slug, comment_id=world.comment_id),
        json=body,
        headers=world.jake.headers,
    )
    assert assert_error(response, 500, "body") == ["internal server error"]
    assert await db_snapshot(session_factory) == before
