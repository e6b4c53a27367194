"""Races over real HTTP: many requests at once against one server process on PostgreSQL.

Every scenario fires its requests together (``asyncio.gather`` over separate connections), so
they interleave inside the server and meet in the database. Each asserts the exact outcome a
client is promised, every status (so a single 500 fails it), and the rows behind the API.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.api import PASSWORD, Account

pytestmark = pytest.mark.postgres

Json = dict[str, Any]


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _statuses(responses: Iterable[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def _all(requests: Iterable[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*requests))


async def _all_behind_lock(
    db: AsyncEngine, lock: str, requests: Sequence[Awaitable[httpx.Response]], **params: Any
) -> list[httpx.Response]:
    """Run ``requests`` while a transaction holds ``lock``, released once all wait behind it.

    The worst interleaving, every time: each request passes its checks before any of them
    writes. Without the gate, requests arriving a few milliseconds apart often serialise.
    """
    async with db.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(text(lock), params)
        responses = asyncio.ensure_future(asyncio.gather(*requests))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not responses.done():
            if await _waiting_on_locks(db) >= len(requests):
                break
            await asyncio.sleep(0.02)
        await transaction.rollback()
    return list(await responses)


async def _waiting_on_locks(db: AsyncEngine) -> int:
    waiting: int = await _scalar(
        db,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return waiting


def _signup(username: str, email: str) -> Json:
    return {"user": {"username": username, "email": email, "password": PASSWORD}}


async def _register_many(client: httpx.AsyncClient, count: int) -> list[Account]:
    names = [_name("u") for _ in range(count)]
    responses = await _all(
        client.post("/users", json=_signup(n, f"{n}@example.com")) for n in names
    )
    assert _statuses(responses) == {201: count}, responses[0].text
    return [
        Account(n, f"{n}@example.com", PASSWORD, r.json()["user"]["token"])
        for n, r in zip(names, responses, strict=True)
    ]


async def _article(client: httpx.AsyncClient, author: Account, title: str = "") -> str:
    body = {"article": {"title": title or _name("Race "), "description": "d", "body": "b"}}
    response = await client.post("/articles", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    slug: str = response.json()["article"]["slug"]
    return slug


async def _scalar(db: AsyncEngine, sql: str, **params: Any) -> Any:
    async with db.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def _favorites(db: AsyncEngine, slug: str) -> tuple[int, int]:
    """(favorites rows, the article's maintained counter)."""
    rows = await _scalar(
        db,
        "SELECT count(*) FROM favorites f JOIN articles a ON a.id = f.article_id"
        " WHERE a.slug = :slug",
        slug=slug,
    )
    counter = await _scalar(
        db, "SELECT favorites_count FROM articles WHERE slug = :slug", slug=slug
    )
    return rows, counter


class TestFavorites:
    async def test_a_hundred_users_favorite_then_unfavorite_at_once(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        author, *fans = await _register_many(client, 101)
        slug = await _article(client, author)
        path = f"/articles/{slug}/favorite"

        favorited = await _all(client.post(path, headers=fan.headers) for fan in fans)
        assert _statuses(favorited) == {200: 100}
        article = (await client.get(f"/articles/{slug}")).json()["article"]
        assert article["favoritesCount"] == 100
        assert await _favorites(db, slug) == (100, 100)

        unfavorited = await _all(client.delete(path, headers=fan.headers) for fan in fans)
        assert _statuses(unfavorited) == {200: 100}
        article = (await client.get(f"/articles/{slug}")).json()["article"]
        assert article["favoritesCount"] == 0
        assert await _favorites(db, slug) == (0, 0)

    async def test_one_user_favoriting_from_twenty_requests_counts_once(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        author, fan = await _register_many(client, 2)
        slug = await _article(client, author)
        path = f"/articles/{slug}/favorite"

        responses = await _all(client.post(path, headers=fan.headers) for _ in range(20))
        assert _statuses(responses) == {200: 20}
        assert all(r.json()["article"]["favorited"] for r in responses)
        assert await _favorites(db, slug) == (1, 1)

        responses = await _all(client.delete(path, headers=fan.headers) for _ in range(20))
        assert _statuses(responses) == {200: 20}
        assert not any(r.json()["article"]["favorited"] for r in responses)
        assert await _favorites(db, slug) == (0, 0)


class TestRegistration:
    async def test_twenty_signups_with_one_username_make_one_account(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        username = _name("same")
        responses = await _all(
            client.post("/users", json=_signup(username, f"{_name('e')}@example.com"))
            for _ in range(20)
        )
        assert _statuses(responses) == {201: 1, 409: 19}
        assert all("username" in r.json()["errors"] for r in responses if r.status_code == 409)
        rows = await _scalar(db, "SELECT count(*) FROM users WHERE username = :u", u=username)
        assert rows == 1

    async def test_twenty_signups_with_one_email_make_one_account(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        local = _name("same")
        # Emails are unique case-insensitively: the race must hold across spellings too.
        emails = [f"{local}@example.com", f"{local.upper()}@Example.COM"] * 10
        responses = await _all(
            client.post("/users", json=_signup(_name("u"), email)) for email in emails
        )
        assert _statuses(responses) == {201: 1, 409: 19}
        assert all("email" in r.json()["errors"] for r in responses if r.status_code == 409)
        rows = await _scalar(
            db, "SELECT count(*) FROM users WHERE email = :e", e=f"{local}@example.com"
        )
        assert rows == 1


class TestArticles:
    async def test_twenty_articles_with_one_title_get_twenty_slugs(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        [author] = await _register_many(client, 1)
        title = _name("Same title ")
        body = {"article": {"title": title, "description": "d", "body": "b", "tagList": ["t"]}}
        responses = await _all(
            client.post("/articles", json=body, headers=author.headers) for _ in range(20)
        )
        assert _statuses(responses) == {201: 20}
        slugs = {r.json()["article"]["slug"] for r in responses}
        assert len(slugs) == 20
        assert await _scalar(db, "SELECT count(*) FROM articles WHERE title = :t", t=title) == 20


class TestFollows:
    async def test_twenty_identical_follows_make_one_edge(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        star, fan = await _register_many(client, 2)
        path = f"/profiles/{star.username}/follow"
        responses = await _all(client.post(path, headers=fan.headers) for _ in range(20))
        assert _statuses(responses) == {200: 20}
        assert all(r.json()["profile"]["following"] for r in responses)
        assert await self._edges(db, fan, star) == 1

        responses = await _all(client.delete(path, headers=fan.headers) for _ in range(20))
        assert _statuses(responses) == {200: 20}
        assert await self._edges(db, fan, star) == 0

    async def test_follows_and_unfollows_racing_leave_a_consistent_state(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        star, fan = await _register_many(client, 2)
        path = f"/profiles/{star.username}/follow"
        responses = await _all(
            (client.post if n % 2 else client.delete)(path, headers=fan.headers) for n in range(40)
        )
        assert _statuses(responses) == {200: 40}
        edges = await self._edges(db, fan, star)
        assert edges in (0, 1)
        profile = (await client.get(f"/profiles/{star.username}", headers=fan.headers)).json()
        assert profile["profile"]["following"] is (edges == 1)

    @staticmethod
    async def _edges(db: AsyncEngine, fan: Account, star: Account) -> int:
        edges: int = await _scalar(
            db,
            "SELECT count(*) FROM follows f"
            " JOIN users a ON a.id = f.follower_id JOIN users b ON b.id = f.followee_id"
            " WHERE a.username = :fan AND b.username = :star",
            fan=fan.username,
            star=star.username,
        )
        return edges


class TestComments:
    async def test_twenty_deletes_of_one_comment_delete_it_once(
        self, client: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        [author] = await _register_many(client, 1)
        slug = await _article(client, author)
        created = await client.post(
            f"/articles/{slug}/comments",
            json={"comment": {"body": "doomed"}},
            headers=author.headers,
        )
        assert created.status_code == 200, created.text
        comment_id = created.json()["comment"]["id"]
        path = f"/articles/{slug}/comments/{comment_id}"

        deletes = [client.delete(path, headers=author.headers) for _ in range(20)]
        responses = await _all_behind_lock(
            db, "SELECT 1 FROM comments WHERE id = :i FOR UPDATE", deletes, i=comment_id
        )
        # Deleting is not idempotent in the contract: the comment is gone for all but one.
        assert _statuses(responses) == {204: 1, 404: 19}
        assert all("comment" in r.json()["errors"] for r in responses if r.status_code == 404)
        assert await _scalar(db, "SELECT count(*) FROM comments WHERE id = :i", i=comment_id) == 0
