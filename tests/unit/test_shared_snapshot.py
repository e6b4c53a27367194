"""One snapshot read serves every request that asked before it was sent, and only those.

A request must get a snapshot read by a statement sent after it asked: a read already in
flight may have been answered before a write the caller knows of committed.
"""

from __future__ import annotations

import asyncio

import pytest

from conduit.db.snapshots import SharedSnapshot


class Database:
    """Counts snapshot reads; each is answered when the test says so, with the next number."""

    def __init__(self) -> None:
        self.sent = 0
        self.answers: asyncio.Queue[str | Exception] = asyncio.Queue()

    async def read(self) -> str:
        self.sent += 1
        answer = await self.answers.get()
        if isinstance(answer, Exception):
            raise answer
        return answer


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def read_in_flight() -> tuple[Database, SharedSnapshot, asyncio.Task[str]]:
    """A worker's snapshots with one read sent, and the request that asked for it."""
    database = Database()
    snapshots = SharedSnapshot(database.read)
    first = asyncio.create_task(snapshots.current())
    await settle()
    assert database.sent == 1  # sent at once: nothing was in flight
    return database, snapshots, first


async def test_requests_asking_during_a_read_share_the_next_one() -> None:
    database, snapshots, early = await read_in_flight()

    late = [asyncio.create_task(snapshots.current()) for _ in range(10)]
    await settle()
    assert database.sent == 1  # the next read is sent only once this one is answered
    database.answers.put_nowait("before the write")
    assert await early == "before the write"
    await settle()
    assert database.sent == 2
    database.answers.put_nowait("after the write")

    # Not the read in flight when they asked: it may predate a write they already know of.
    assert await asyncio.gather(*late) == ["after the write"] * 10
    assert database.sent == 2


async def test_a_failed_read_fails_its_waiters_and_the_next_read_is_fresh() -> None:
    database, snapshots, first = await read_in_flight()
    second = asyncio.create_task(snapshots.current())
    await settle()
    database.answers.put_nowait(ConnectionRefusedError("database down"))
    database.answers.put_nowait(ConnectionRefusedError("still down"))

    with pytest.raises(ConnectionRefusedError, match="database down"):
        await first
    with pytest.raises(ConnectionRefusedError, match="still down"):
        await second
    database.answers.put_nowait("s3")
    assert await snapshots.current() == "s3"
    assert database.sent == 3


async def test_a_cancelled_waiter_leaves_the_others_their_snapshot() -> None:
    database, snapshots, first = await read_in_flight()
    leaving = asyncio.create_task(snapshots.current())
    staying = asyncio.create_task(snapshots.current())
    await settle()
    database.answers.put_nowait("s1")
    assert await first == "s1"

    leaving.cancel()
    await settle()
    database.answers.put_nowait("s2")

    assert await staying == "s2"
    assert leaving.cancelled()


async def test_closing_cancels_the_read_in_flight_and_everyone_waiting() -> None:
    database, snapshots, first = await read_in_flight()
    second = asyncio.create_task(snapshots.current())  # waits for the next read
    await settle()

    await snapshots.close()
    await settle()

    assert first.cancelled() and second.cancelled()
    assert database.sent == 1
