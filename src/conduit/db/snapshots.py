"""Which committed data a PostgreSQL statement saw, as a value that can key a cache.

``pg_current_snapshot()`` names what a statement sees: the oldest transaction still running,
the next transaction id, and those running in between. Two statements with the same snapshot
see exactly the same committed data, and once any transaction commits, no later statement in
any session gets an earlier snapshot back. Qualified by the database (a dropped and recreated
one starts its transaction ids over) and by the server's start (a restore from a backup takes
a restart, and may reuse ids that meant other data), it names the data exactly.

A statement that reads anyway can select the snapshot as one more column
(``snapshot_column``), and leave it on its session for whoever decides from it
(``api/response_cache.py``): one round trip fewer than asking separately.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.ext.asyncio import AsyncSession

_SNAPSHOT_SQL = (
    "pg_current_snapshot()::text"
    " || '@' || (SELECT oid FROM pg_database WHERE datname = current_database())::text"
    " || '@' || pg_postmaster_start_time()::text"
)
_OBSERVED = "conduit.snapshot"


def snapshot_column() -> ColumnElement[str]:
    """The statement's snapshot as a column named ``snapshot`` (PostgreSQL only)."""
    return literal_column(_SNAPSHOT_SQL).label("snapshot")


def remember_snapshot(session: AsyncSession, snapshot: str) -> None:
    """Leave on ``session`` the snapshot a statement it ran outside any transaction saw."""
    session.sync_session.info[_OBSERVED] = snapshot


def observed_snapshot(session: AsyncSession) -> str | None:
    """The snapshot the session's last statement that asked for it saw, if any did."""
    snapshot: str | None = session.sync_session.info.get(_OBSERVED)
    return snapshot


class SharedSnapshot:
    """The database's current snapshot for many requests at once, from one statement.

    A read served from the response cache needs only the snapshot, and under load dozens of
    them ask within one round trip of each other: one statement each would cost a turn, a
    pooled connection and a round trip per request, more than the rest of a cache hit.

    ``current()`` returns a snapshot read by a statement *sent after it was called*, so the
    snapshot includes every commit acknowledged before the request asked: what keeps a cached
    answer from missing a write already confirmed to anyone. A request that asks while a read
    is in flight cannot share it (that statement may have been answered before a write the
    request already knows of committed); it waits for the next, which starts as soon as the
    one in flight ends and serves everyone who asked meanwhile. With one read in flight at a
    time, a worker sends at most one such statement per round trip, however busy it is.

    A failed read fails everyone waiting for it, with its error.
    """

    def __init__(self, read: Callable[[], Awaitable[str]]) -> None:
        self._read = read
        self._waiting: list[asyncio.Future[str]] = []
        self._reading: asyncio.Task[None] | None = None

    async def current(self) -> str:
        """A snapshot read after this call began."""
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._reading is None:
            self._start()
        return await waiter

    async def close(self) -> None:
        """Cancel the read in flight, and everyone waiting: the process is stopping."""
        reading = self._reading
        if reading is not None:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    def _start(self) -> None:
        waiters, self._waiting = self._waiting, []
        self._reading = asyncio.create_task(self._read_for(waiters))

    async def _read_for(self, waiters: list[asyncio.Future[str]]) -> None:
        try:
            snapshot = await self._read()
        except asyncio.CancelledError:
            # The process is stopping: nobody waits for another read.
            waiters += self._waiting
            self._waiting = []
            for waiter in waiters:
                waiter.cancel()
            raise
        except Exception as error:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
                    # Retrieved here, so a waiter cancelled meanwhile leaves no warning behind.
                    waiter.exception()
        else:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(snapshot)
        finally:
            self._reading = None
            if self._waiting:
                self._start()
