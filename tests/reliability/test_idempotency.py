"""Safe retries and concurrent edits across two real server processes on one PostgreSQL.

Idempotency keys live in the database, so a retry sent to another process than the first
request still finds the key: in progress (409) while the first runs, its response once done.
A lock held by the test keeps the first request in flight for as long as the test needs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.api import PASSWORD, Account, assert_only_error
from tests.live_server import ServerProcess, running_server
from tests.reliability.conftest import SERVER_SETTINGS

pytestmark = pytest.mark.postgres

Json = dict[str, Any]
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
async def other_server(
    live_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    """A second process on the same database as ``live_server``."""
    directory = tmp_path_factory.mktemp("other-server")
    async with running_server(live_database, directory, env=SERVER_SETTINGS) as server:
        yield server


@pytest.fixture
async def other(other_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{other_server.base_url}/api", timeout=60.0) as client:
        yield client


async def _register(client: httpx.AsyncClient) -> Account:
    name = f"u{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    response = await client.post("/users", json={"user": user})
    assert response.status_code == 201, response.text
    return Account(name, f"{name}@example.com", PASSWORD, response.json()["user"]["token"])


def _create(client: httpx.AsyncClient, author: Account, key: str, title: str) -> Any:
    body = {"article": {"title": title, "description": "d", "body": "b"}}
    return client.post("/articles", json=body, headers={**author.headers, "Idempotency-Key": key})


async def _scalar(db: AsyncEngine, sql: str, **params: Any) -> Any:
    async with db.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def _lock_waiters(db: AsyncEngine) -> int:
    waiting: int = await _scalar(
        db,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return waiting


async def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


async def _behind_lock(
    db: AsyncEngine,
    lock: str,
    requests: Sequence[Awaitable[httpx.Response]],
    *,
    blocked: int,
    params: dict[str, Any] | None = None,
) -> list[httpx.Response]:
    """Send ``requests`` while a transaction holds ``lock``; release it once ``blocked`` of them
    wait on it and every other one has been answered."""
    async with db.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(text(lock), params or {})
        tasks = [asyncio.ensure_future(request) for request in requests]

        async def settled() -> bool:
            answered = sum(task.done() for task in tasks)
            return answered == len(tasks) - blocked and await _lock_waiters(db) >= blocked

        try:
            await _until(settled, f"{blocked} request(s) wait on the lock, the rest answered")
        finally:
            await transaction.rollback()
        return list(await asyncio.gather(*tasks))


class TestIdempotencyKeyAcrossProcesses:
    async def test_a_retry_on_another_process_while_the_first_runs_gets_409(
        self, client: httpx.AsyncClient, other: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        author = await _register(client)
        key, title = str(uuid.uuid4()), f"Retried {uuid.uuid4().hex}"

        # The first request (process one) claims the key, then waits to insert its article;
        # the retry (process two) finds the key in progress and gets 409 at once.
        async with db.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(text("LOCK TABLE articles IN SHARE MODE"))
            pending = asyncio.ensure_future(_create(client, author, key, title))

            async def first_is_waiting() -> bool:
                return await _lock_waiters(db) >= 1

            try:
                await _until(first_is_waiting, "the first request waits on the lock")
                retry = await _create(other, author, key, title)
            finally:
                await transaction.rollback()
        first = await pending
        later = await _create(other, author, key, title)

        assert first.status_code == 201, first.text
        assert_only_error(retry, 409, "Idempotency-Key")
        assert (later.status_code, later.headers["Idempotent-Replayed"]) == (201, "true")
        assert later.json() == first.json()
        assert await _scalar(db, "SELECT count(*) FROM articles WHERE title = :t", t=title) == 1

    async def test_twenty_concurrent_retries_on_two_processes_create_one_article(
        self, client: httpx.AsyncClient, other: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        author = await _register(client)
        key, title = str(uuid.uuid4()), f"Stormed {uuid.uuid4().hex}"
        requests = [_create((client, other)[n % 2], author, key, title) for n in range(20)]

        responses = await _behind_lock(db, "LOCK TABLE articles IN SHARE MODE", requests, blocked=1)

        assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
        assert await _scalar(db, "SELECT count(*) FROM articles WHERE title = :t", t=title) == 1
        created = next(r for r in responses if r.status_code == 201).json()
        replayed = await _create(client, author, key, title)
        assert (replayed.status_code, replayed.json()) == (201, created)


class TestIfMatchAcrossProcesses:
    async def test_two_updates_from_the_same_version_one_wins_one_gets_412(
        self, client: httpx.AsyncClient, other: httpx.AsyncClient, db: AsyncEngine
    ) -> None:
        author = await _register(client)
        created = await _create(client, author, str(uuid.uuid4()), f"Edited {uuid.uuid4().hex}")
        slug = created.json()["article"]["slug"]
        etag = (await client.get(f"/articles/{slug}")).headers["ETag"]

        def put(target: httpx.AsyncClient, text_: str) -> Awaitable[httpx.Response]:
            return target.put(
                f"/articles/{slug}",
                json={"article": {"body": text_}},
                headers={**author.headers, "If-Match": etag},
            )

        # Both pass the If-Match check, then queue on the row; the second to get it finds the
        # version gone.
        responses = await _behind_lock(
            db,
            "SELECT id FROM articles WHERE slug = :slug FOR UPDATE",
            [put(client, "from one"), put(other, "from two")],
            blocked=2,
            params={"slug": slug},
        )

        assert sorted(r.status_code for r in responses) == [200, 412]
        winner = next(r for r in responses if r.status_code == 200)
        final = (await other.get(f"/articles/{slug}")).json()["article"]
        assert final["body"] == winner.json()["article"]["body"]
        assert (await other.get(f"/articles/{slug}")).headers["ETag"] == winner.headers["ETag"]
