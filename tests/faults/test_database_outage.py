"""PostgreSQL stops in the middle of a load and comes back; the connection pool runs dry.

What a client must see while the database is gone: a quick 503 with Retry-After and the
contract's error body, never a hang, a 500 or a trace; and the same process serving 200s again
once PostgreSQL is back, without a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType

import httpx
import pytest

from tests.faults.cluster import PostgresCluster
from tests.faults.conftest import StartServer
from tests.faults.load import (
    Outcome,
    client_for,
    create_article,
    register,
    send,
    table_locked,
    unique,
    wait_for_lock_waiters,
)
from tests.integration.api import Account

# asyncpg's connect timeout (CONDUIT_DB_CONNECT_TIMEOUT_SECONDS, 3 s) is the longest a request
# may wait on a database that does not answer; the rest is slack for a busy 2-core machine.
FAIL_FAST_SECONDS = 5.0
RECOVERY_SECONDS = 15.0
WORKERS = 6
# Words that would mean internals leaked into a response body.
LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "psycopg", 'File "')


class Load:
    """``WORKERS`` clients each cycling through reads and writes until the block exits."""

    def __init__(self, client: httpx.AsyncClient, accounts: list[Account], slug: str) -> None:
        self.client = client
        self.accounts = accounts
        self.slug = slug
        self.outcomes: list[Outcome] = []
        self._stopping = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []

    def _requests(self, account: Account) -> list[Callable[[], tuple[str, str, dict[str, object]]]]:
        article = f"/articles/{self.slug}"
        auth: dict[str, object] = {"headers": account.headers}
        return [
            lambda: ("GET", article, {}),
            lambda: ("GET", "/articles?limit=5", {}),
            lambda: ("POST", f"{article}/comments", {**auth, "json": _comment()}),
            lambda: ("POST", f"{article}/favorite", auth),
            lambda: ("DELETE", f"{article}/favorite", auth),
            lambda: ("GET", "/user", auth),
        ]

    async def _work(self, account: Account) -> None:
        requests = self._requests(account)
        step = 0
        while not self._stopping.is_set():
            method, path, kwargs = requests[step % len(requests)]()
            self.outcomes.append(await send(self.client, method, path, **kwargs))
            step += 1
            # A steady load, not a busy loop: answers are instant while the database is down.
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> Load:
        self._workers = [asyncio.create_task(self._work(a)) for a in self.accounts]
        return self

    async def __aexit__(
        self, _: type[BaseException] | None, __: BaseException | None, ___: TracebackType | None
    ) -> None:
        self._stopping.set()
        await asyncio.gather(*self._workers)

    def between(self, start: float, end: float) -> list[Outcome]:
        """Requests sent and answered within [start, end]."""
        return [o for o in self.outcomes if o.started >= start and o.finished <= end]

    async def recovered(self, since: float, within: float) -> float:
        """When the first read and the first write sent after ``since`` succeeded."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            ok = [o for o in self.outcomes if o.started >= since and o.status == 200]
            reads = [o.finished for o in ok if o.method == "GET"]
            writes = [o.finished for o in ok if o.method != "GET"]
            if reads and writes:
                return max(min(reads), min(writes))
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"no recovery within {within:.0f}s of PostgreSQL's restart; last answers:\n"
            + "\n".join(map(str, self.outcomes[-5:]))
        )


def _comment() -> dict[str, object]:
    return {"comment": {"body": unique("comment ")}}


def assert_unavailable(outcome: Outcome) -> None:
    """The contract's answer while the database is unreachable."""
    assert outcome.status == 503, str(outcome)
    assert outcome.headers.get("Retry-After", "").isdigit(), str(outcome)
    body = outcome.json()
    assert set(body) == {"errors"}, str(outcome)
    assert all(isinstance(m, list) and m for m in body["errors"].values()), str(outcome)
    assert not any(word in outcome.text for word in LEAKS), str(outcome)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_stopping_postgresql_under_load_is_503_fast_then_recovers_by_itself(
    cluster: PostgresCluster, start_server: StartServer, mode: str
) -> None:
    server = await start_server({"CONDUIT_DB_POOL_SIZE": "5"})
    async with client_for(server.base_url) as client:
        accounts = [await register(client) for _ in range(WORKERS)]
        slug = await create_article(client, accounts[0], ["outage"])
        async with Load(client, accounts, slug) as load:
            await asyncio.sleep(1.0)
            stopping = time.monotonic()
            await asyncio.to_thread(cluster.stop, mode)
            stopped = time.monotonic()
            await asyncio.sleep(2.0)
            starting = time.monotonic()
            await asyncio.to_thread(cluster.start)
            started = time.monotonic()
            recovered = await load.recovered(started, RECOVERY_SECONDS)
            await asyncio.sleep(1.5)
            ended = time.monotonic()

    everything = load.outcomes
    assert all(o.status in (200, 503) for o in everything), [
        str(o) for o in everything if o.status not in (200, 503)
    ]
    slowest = max(everything, key=lambda o: o.seconds)
    assert slowest.seconds < FAIL_FAST_SECONDS, str(slowest)
    for outcome in everything:
        if outcome.status == 503:
            assert_unavailable(outcome)

    before = [o for o in everything if o.finished < stopping]
    assert before, "the load never ran before the outage"
    assert all(o.status == 200 for o in before), [str(o) for o in before if o.status != 200]
    down = load.between(stopped, starting)
    assert len(down) >= 2 * WORKERS, f"only {len(down)} requests while PostgreSQL was down"
    assert all(o.status == 503 for o in down), [str(o) for o in down if o.status != 503]
    after = load.between(recovered + 0.5, ended)
    assert len(after) >= WORKERS, f"only {len(after)} requests after recovery"
    assert all(o.status == 200 for o in after), [str(o) for o in after if o.status != 200]
    assert recovered - started < RECOVERY_SECONDS
    assert server.process.poll() is None, "the server died instead of recovering"


async def test_an_exhausted_pool_is_503_within_the_pool_timeout(
    database: str, start_server: StartServer
) -> None:
    pool_timeout = 0.5
    server = await start_server(
        {
            "CONDUIT_DB_POOL_SIZE": "1",
            "CONDUIT_DB_MAX_OVERFLOW": "0",
            "CONDUIT_DB_POOL_TIMEOUT_SECONDS": str(pool_timeout),
        }
    )
    async with client_for(server.base_url) as client:
        author = await register(client)
        await create_article(client, author)
        async with table_locked(database, "articles") as watcher:
            # The first request takes the only connection and waits on the lock with it...
            holder = asyncio.create_task(send(client, "GET", "/articles"))
            await wait_for_lock_waiters(watcher, 1)
            # ...so these find the pool empty.
            queued = await asyncio.gather(*(send(client, "GET", "/articles") for _ in range(9)))
            assert not holder.done(), str(holder.result())
        first = await holder

    assert first.status == 200, str(first)
    for outcome in queued:
        assert_unavailable(outcome)
        # Waited for the pool, then gave up promptly.
        assert pool_timeout * 0.8 <= outcome.seconds < pool_timeout + 2.5, str(outcome)
    assert server.process.poll() is None
