"""A read request's session (``ReadSession``) on PostgreSQL: one pooled connection, given back.

Its driver-level reads take a connection straight from the pool rather than through the
Session. What must hold for the pool: a request never holds two connections (the ORM, used on
the same session, gets its connection only after the pooled one went back), closing the session
returns everything, and a connection that broke under a read is never handed out again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conduit.db.engine import ReadSession, create_engine, create_read_sessionmaker
from conduit.repositories._rows import ConnectionLost, Query

pytestmark = pytest.mark.postgres

BACKEND_PID = Query(select(func.pg_backend_pid().label("pid"), bindparam("n", type_=Integer)))


@pytest.fixture
async def engine(live_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(live_database, pool_size=2, max_overflow=0, pool_timeout=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def reads(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_read_sessionmaker(engine)


def checked_out(engine: AsyncEngine) -> int:
    count: int = engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
    return count


async def backend_pid(session: AsyncSession) -> int:
    row = await BACKEND_PID.first(session, {"n": 1})
    assert row is not None
    pid: int = row["pid"]
    return pid


async def test_read_sessions_are_read_sessions_on_asyncpg(
    reads: async_sessionmaker[AsyncSession],
) -> None:
    async with reads() as session:
        assert isinstance(session, ReadSession)


async def test_reads_share_one_pooled_connection_given_back_at_close(
    engine: AsyncEngine, reads: async_sessionmaker[AsyncSession]
) -> None:
    async with reads() as session:
        assert checked_out(engine) == 0  # nothing until the first statement
        first = await backend_pid(session)
        second = await backend_pid(session)
        assert first == second
        assert checked_out(engine) == 1
        assert not session.in_transaction()
    assert checked_out(engine) == 0


async def test_the_orm_on_the_same_session_never_holds_a_second_connection(
    engine: AsyncEngine, reads: async_sessionmaker[AsyncSession]
) -> None:
    async with reads() as session:
        await backend_pid(session)
        assert checked_out(engine) == 1
        assert await session.scalar(text("SELECT 1")) == 1
        assert checked_out(engine) == 1
        # Inside the ORM's transaction, driver-level reads use the Session's connection.
        orm_pid = await session.scalar(select(func.pg_backend_pid()))
        assert await backend_pid(session) == orm_pid
        assert checked_out(engine) == 1
    assert checked_out(engine) == 0


async def test_a_pool_of_two_serves_many_read_sessions_in_turn(
    engine: AsyncEngine, reads: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(10):  # would time out on the pool if a connection were ever kept
        async with reads() as session:
            await backend_pid(session)
            await session.scalar(text("SELECT 1"))
    assert checked_out(engine) == 0


async def test_a_connection_that_broke_under_a_read_is_discarded(
    engine: AsyncEngine, reads: async_sessionmaker[AsyncSession]
) -> None:
    async with reads() as session:
        doomed = await backend_pid(session)
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": doomed})
        with pytest.raises(ConnectionLost):
            await backend_pid(session)
        assert checked_out(engine) == 0
        # The same session reads again, on a new connection.
        assert await backend_pid(session) != doomed
    assert checked_out(engine) == 0
    async with reads() as session:
        assert await backend_pid(session) != doomed
