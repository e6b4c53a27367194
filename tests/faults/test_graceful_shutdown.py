"""SIGTERM while requests are in flight: they finish, new connections are refused, exit 0.

The requests are made slow the way production makes them slow, in the database: another
session holds a lock on ``articles`` until after the signal, so every request is still
running when the server is told to stop.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.faults.conftest import StartServer
from tests.faults.load import (
    client_for,
    create_article,
    register,
    send,
    table_locked,
    unique,
    wait_for_lock_waiters,
)

DRAIN_SECONDS = 15.0


async def _refuses_connections(base_url: str, within: float = 5.0) -> bool:
    """Whether a new connection is refused within ``within`` s (the listener closes at once)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=1.0) as fresh:
        while time.monotonic() < deadline:
            try:
                await fresh.get("/healthz")
            except httpx.ConnectError:
                return True
            await asyncio.sleep(0.1)
    return False


async def test_sigterm_drains_requests_in_flight_and_exits_0(
    database: str, start_server: StartServer
) -> None:
    server = await start_server({})
    async with client_for(server.base_url) as client:
        author, *fans = [await register(client) for _ in range(4)]
        slug = await create_article(client, author, ["drain"])
        comment = unique("last words ")
        title = unique("Published while draining ")
        async with table_locked(database, "articles") as watcher:
            requests = [
                send(client, "GET", f"/articles/{slug}"),
                send(client, "GET", "/articles"),
                send(
                    client,
                    "POST",
                    f"/articles/{slug}/comments",
                    json={"comment": {"body": comment}},
                    headers=author.headers,
                ),
                send(
                    client,
                    "POST",
                    "/articles",
                    json={"article": {"title": title, "description": "d", "body": "b"}},
                    headers=author.headers,
                ),
                *(
                    send(client, "POST", f"/articles/{slug}/favorite", headers=f.headers)
                    for f in fans
                ),
            ]
            in_flight = [asyncio.create_task(request) for request in requests]
            await wait_for_lock_waiters(watcher, len(in_flight))

            server.terminate()
            assert await _refuses_connections(server.base_url), "still accepting after SIGTERM"
            assert server.process.poll() is None, f"exited while draining:\n{server.tail()}"
            assert not any(task.done() for task in in_flight)
        # The lock is released: the drained requests may now finish.
        outcomes = await asyncio.gather(*in_flight)

    assert all(o.status is not None and 200 <= o.status < 300 for o in outcomes), [
        str(o) for o in outcomes
    ]
    status = await server.wait_exit(DRAIN_SECONDS)
    assert status == 0, f"exit status {status}:\n{server.tail()}"

    engine = create_async_engine(database)
    try:
        async with engine.connect() as connection:
            counts = (
                await connection.execute(
                    text(
                        "SELECT (SELECT count(*) FROM comments WHERE body = :comment),"
                        " (SELECT count(*) FROM articles WHERE title = :title),"
                        " (SELECT favorites_count FROM articles WHERE slug = :slug)"
                    ),
                    {"comment": comment, "title": title, "slug": slug},
                )
            ).one()
    finally:
        await engine.dispose()
    assert tuple(counts) == (1, 1, len(fans))
