"""Driver-level statements (``repositories._rows.Query``) on PostgreSQL, outside the Session.

A read request's session (``ReadSession``) runs them on a connection straight from the pool.
What must hold for the pool: a request never holds two connections (the ORM, used on the same
session, gets its connection only after the pooled one went back), closing the session returns
everything, and a connection that broke under a read is never handed out again.

A write request's first statement opens the session's transaction the way SQLAlchemy's asyncpg
adapter would: the session's commit and rollback must still end exactly that transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import Integer, bindparam, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conduit.db.engine import (
    ReadSession,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from conduit.db.models import Tag
from conduit.repositories._rows import ConnectionLost, Query, core_table

pytestmark = pytest.mark.postgres

BACKEND_PID = Query(select(func.pg_backend_pid().label("pid"), bindparam("n", type_=Integer)))
TAGS = core_table(Tag)
ADD_TAG = Query(insert(TAGS).values(name=bindparam("name")).returning(TAGS.c.id))


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


async def tag_exists(engine: AsyncEngine, name: str) -> bool:
    async with engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT count(*) FROM tags WHERE name = :n"), {"n": name}
        )
    return bool(found)


@pytest.mark.parametrize("ending", ["commit", "rollback"])
async def test_a_first_write_opens_the_transaction_the_session_ends(
    engine: AsyncEngine, ending: str
) -> None:
    name = f"driver-level-{ending}"
    async with create_sessionmaker(engine)() as session:
        assert not isinstance(session, ReadSession)
        (row,) = await ADD_TAG.write(session, {"name": name})
        assert row["id"] > 0
        connection = await session.connection()
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        assert driver.is_in_transaction()
        # Not visible outside the transaction before it ends...
        assert not await tag_exists(engine, name)
        await (session.commit() if ending == "commit" else session.rollback())
        assert not driver.is_in_transaction()
    # ...and after it, exactly as the session ended it.
    assert await tag_exists(engine, name) is (ending == "commit")


async def test_a_failed_checkout_is_sqlalchemys_error_as_through_the_session(
    live_database: str,
) -> None:
    # The pool hands out the driver's own error when it cannot connect; the API answers
    # SQLAlchemy's (a server shutting down is a 503), so a ReadSession must raise that one.
    missing = make_url(live_database).set(database="conduit_no_such_database")
    engine = create_engine(missing.render_as_string(hide_password=False))
    try:
        async with create_read_sessionmaker(engine)() as session:
            with pytest.raises(DBAPIError) as raised:
                await backend_pid(session)
        assert "conduit_no_such_database" in str(raised.value.orig)
    finally:
        await engine.dispose()
