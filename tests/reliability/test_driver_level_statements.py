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
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conduit.db.engine import (
    ReadSession,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from conduit.db.errors import SchemaChanged
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


# A table and a composite type of the test's own, changed under statements already prepared.
PROBES = Table(
    "driver_level_probes",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("amount", Integer),
    Column("shape", Integer),  # a composite type in the database; read only as a whole row
)
READ_PROBE = Query(select(PROBES.c.id, PROBES.c.shape).where(PROBES.c.id == bindparam("id")))
BUMP_PROBE = Query(
    update(PROBES)
    .where(PROBES.c.id == bindparam("probe_id"))
    .values(amount=PROBES.c.amount + 1)
    .returning(PROBES.c.amount)
)


@pytest.fixture
async def probes(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """A single-connection engine (every statement on the connection that prepared the last),
    over a fresh probe table."""
    async with engine.begin() as connection:
        for statement in (
            "DROP TABLE IF EXISTS driver_level_probes",
            "DROP TYPE IF EXISTS driver_level_shape",
            "CREATE TYPE driver_level_shape AS (x integer)",
            "CREATE TABLE driver_level_probes"
            " (id integer PRIMARY KEY, amount integer, shape driver_level_shape)",
            "INSERT INTO driver_level_probes VALUES (1, 1, ROW(7))",
        ):
            await connection.execute(text(statement))
    single = create_engine(str(engine.url.render_as_string(hide_password=False)), pool_size=1)
    yield single
    await single.dispose()
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE driver_level_probes"))
        await connection.execute(text("DROP TYPE driver_level_shape"))


async def migrate(engine: AsyncEngine, statement: str) -> None:
    """What a deploy's migration does while the server runs: from another connection."""
    async with engine.begin() as connection:
        await connection.execute(text(statement))


async def test_a_read_prepared_before_a_migration_is_prepared_again(
    engine: AsyncEngine, probes: AsyncEngine
) -> None:
    async with create_read_sessionmaker(probes)() as session:
        before = await READ_PROBE.first(session, {"id": 1})
        assert before is not None and before["shape"]["x"] == 7
        # asyncpg decodes the composite with the attributes it cached: one, now two.
        await migrate(engine, "ALTER TYPE driver_level_shape ADD ATTRIBUTE y text")

        after = await READ_PROBE.first(session, {"id": 1})

    assert after is not None and (after["shape"]["x"], after["shape"]["y"]) == (7, None)


async def test_a_write_whose_statement_went_stale_mid_transaction_is_schema_changed(
    engine: AsyncEngine, probes: AsyncEngine
) -> None:
    writes = create_sessionmaker(probes)
    async with writes() as session:
        (row,) = await BUMP_PROBE.write(session, {"probe_id": 1})
        await session.commit()
    assert row["amount"] == 2
    # The prepared UPDATE's RETURNING changes type: PostgreSQL refuses the cached plan, and the
    # transaction it was sent in is aborted.
    await migrate(engine, "ALTER TABLE driver_level_probes ALTER COLUMN amount TYPE bigint")

    async with writes() as session:
        with pytest.raises(SchemaChanged):
            await BUMP_PROBE.write(session, {"probe_id": 1})
        await session.rollback()
    # The client's retry finds the statement prepared afresh; the refused one changed nothing.
    async with writes() as session:
        (row,) = await BUMP_PROBE.write(session, {"probe_id": 1})
        await session.commit()
    assert row["amount"] == 3


@pytest.mark.parametrize("ending", ["commit", "rollback"])
async def test_after_its_transaction_a_session_never_runs_on_the_connection_it_gave_back(
    engine: AsyncEngine, ending: str
) -> None:
    """The connection a transaction's statements share is the session's only until it ends:
    the pool may hand it to anyone next, here a session with work of its own in flight."""
    writes = create_sessionmaker(engine)
    name = f"someone-elses-{ending}"
    async with writes() as first, writes() as other:
        await ADD_TAG.write(first, {"name": f"driver-level-first-{ending}"})
        given_back = await backend_pid(first)
        await (first.commit() if ending == "commit" else first.rollback())

        await ADD_TAG.write(other, {"name": name})  # uncommitted, on the freed connection
        assert await backend_pid(other) == given_back

        assert await backend_pid(first) != given_back
        seen = await Query(select(TAGS.c.id).where(TAGS.c.name == bindparam("name"))).all(
            first, {"name": name}
        )
        assert seen == []  # the other session's uncommitted row
        await other.rollback()
