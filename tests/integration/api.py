"""Helpers for the HTTP tests: a thin client that speaks the RealWorld API, and checks on what
a RealWorld client would notice (envelopes, error shape, timestamp format, database state)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.db.models import Base

PASSWORD = "correct horse battery staple"
# RFC 3339, UTC, exactly three fraction digits: 2016-02-18T03:22:56.637Z
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

USER_FIELDS = {"email", "token", "username", "bio", "image", "role"}
PROFILE_FIELDS = {"username", "bio", "image", "following"}
LIST_ITEM_FIELDS = {
    "slug",
    "title",
    "description",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
ARTICLE_FIELDS = LIST_ITEM_FIELDS | {"body"}
COMMENT_FIELDS = {"id", "createdAt", "updatedAt", "body", "author"}

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Account:
    """A registered user as a client knows it."""

    username: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def auth(token: str, scheme: str = "Token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def error_fields(response: httpx.Response) -> Json:
    """The ``errors`` object of an error response, after checking the contract's shape."""
    body = response.json()
    assert set(body) == {"errors"}, body
    errors = body["errors"]
    assert isinstance(errors, dict), body
    assert errors, body
    for messages in errors.values():
        assert isinstance(messages, list), body
        assert messages, body
        assert all(isinstance(message, str) and message for message in messages), body
    return errors


def assert_error(response: httpx.Response, status: int, field: str) -> list[str]:
    """The response is ``status`` with the contract's error body keyed by ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    errors = error_fields(response)
    assert field in errors, errors
    messages: list[str] = errors[field]
    return messages


def assert_only_error(response: httpx.Response, status: int, field: str) -> list[str]:
    """Like ``assert_error``, and no other field is blamed."""
    messages = assert_error(response, status, field)
    assert set(response.json()["errors"]) == {field}, response.text
    return messages


def assert_timestamp(value: object) -> None:
    assert isinstance(value, str), value
    assert TIMESTAMP.fullmatch(value), value


def slugs(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [article["slug"] for article in response.json()["articles"]]


class Api:
    """The operations tests use to build state, each asserting its documented success status."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._sequence = 0

    async def register(
        self, username: str | None = None, *, email: str | None = None, password: str = PASSWORD
    ) -> Account:
        self._sequence += 1
        username = username or f"user{self._sequence}"
        email = email or f"{username}@example.com"
        response = await self.client.post(
            "/api/users",
            json={"user": {"username": username, "email": email, "password": password}},
        )
        assert response.status_code == 201, response.text
        user = response.json()["user"]
        return Account(user["username"], user["email"], password, user["token"])

    async def login(self, email: str, password: str) -> httpx.Response:
        return await self.client.post(
            "/api/users/login", json={"user": {"email": email, "password": password}}
        )

    async def create_article(
        self,
        author: Account,
        *,
        title: str | None = None,
        description: str = "A description",
        body: str = "Some body text",
        tags: list[str] | None = None,
    ) -> Json:
        self._sequence += 1
        article: Json = {
            "title": title or f"Article {self._sequence}",
            "description": description,
            "body": body,
        }
        if tags is not None:
            article["tagList"] = tags
        response = await self.client.post(
            "/api/articles", json={"article": article}, headers=author.headers
        )
        assert response.status_code == 201, response.text
        created: Json = response.json()["article"]
        return created

    async def get_article(self, slug: str, viewer: Account | None = None) -> httpx.Response:
        return await self.client.get(f"/api/articles/{slug}", headers=_headers(viewer))

    async def list_articles(
        self, viewer: Account | None = None, **params: str | int
    ) -> httpx.Response:
        return await self.client.get("/api/articles", params=params, headers=_headers(viewer))

    async def feed(self, viewer: Account, **params: str | int) -> httpx.Response:
        return await self.client.get("/api/articles/feed", params=params, headers=viewer.headers)

    async def comment(self, author: Account, slug: str, body: str = "Nice article") -> Json:
        response = await self.client.post(
            f"/api/articles/{slug}/comments",
            json={"comment": {"body": body}},
            headers=author.headers,
        )
        assert response.status_code == 200, response.text
        comment: Json = response.json()["comment"]
        return comment

    async def comments(self, slug: str, viewer: Account | None = None) -> httpx.Response:
        return await self.client.get(f"/api/articles/{slug}/comments", headers=_headers(viewer))

    async def follow(self, follower: Account, username: str) -> None:
        response = await self.client.post(
            f"/api/profiles/{username}/follow", headers=follower.headers
        )
        assert response.status_code == 200, response.text

    async def favorite(self, viewer: Account, slug: str) -> Json:
        response = await self.client.post(f"/api/articles/{slug}/favorite", headers=viewer.headers)
        assert response.status_code == 200, response.text
        article: Json = response.json()["article"]
        return article

    async def tags(self) -> list[str]:
        response = await self.client.get("/api/tags")
        assert response.status_code == 200, response.text
        tags: list[str] = response.json()["tags"]
        return tags


def _headers(viewer: Account | None) -> dict[str, str]:
    return {} if viewer is None else viewer.headers


async def db_snapshot(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal snapshots mean nothing was written."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


async def count_rows(sessions: async_sessionmaker[AsyncSession], model: type[object]) -> int:
    """How many rows the table of ``model`` holds, read in a session of its own."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
