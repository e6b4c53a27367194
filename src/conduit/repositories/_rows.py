"""Hot statements, compiled once and run at the driver level on PostgreSQL.

A read on the list page, an article, its comments, a profile or the caller's account is one
statement, and SQLAlchemy's per-execution work (cache key, ORM compile state, result metadata,
row processing) cost more CPU than PostgreSQL spends answering it. A `Query` wraps a statement
built once (module level or ``lru_cache``): on asyncpg its SQL is compiled once and sent with
asyncpg's own prepared-statement cache; on any other backend (SQLite) it runs through the session
as usual. Either way it runs on the request session's connection, so inside its transaction
when there is one.

Rows come back as asyncpg ``Record``s or SQLAlchemy ``RowMapping``s; both are read by column
name. Only statements whose values need no type processing belong here: asyncpg returns
``timestamptz`` as aware UTC datetimes and arrays as lists, and takes aware datetimes (what
``utc_now`` gives) as they are. Writes run at the driver level only inside an open transaction
(see ``Query.write``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Delete, Insert, Select, Table, Update, event
from sqlalchemy.engine import CursorResult, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from conduit.db.engine import ReadSession
from conduit.db.errors import OUTDATED_STATEMENT, SchemaChanged
from conduit.db.models import Base

# Called with the SQL of every statement sent at the driver level, which SQLAlchemy's cursor
# events do not see: what tests count statements with (no N+1), and what tracing can hook.
_listeners: list[Callable[[str], None]] = []


@contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener`` with each driver-level statement sent while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


# What each driver-level statement of an engine runs inside, given its SQL: a tracing span
# (conduit.core.tracing), since the tracer's SQLAlchemy cursor events never see these either.
# Kept by pool: the read sessions' AUTOCOMMIT engine is a copy of the app's engine with other
# options, and shares only its pool.
StatementSpan = Callable[[str], AbstractContextManager[object]]
_statement_spans: WeakKeyDictionary[Pool, StatementSpan] = WeakKeyDictionary()


def trace_statements(engine: Engine, span: StatementSpan) -> None:
    """Run every driver-level statement sent on ``engine``'s connections inside ``span(sql)``."""
    _statement_spans[engine.pool] = span


Statement = Select[*tuple[Any, ...]] | Insert | Update | Delete


def core_table(model: type[Base]) -> Table:
    """The mapped class's Core table: writes here are Core statements, whose parameters are
    values (an ORM-enabled INSERT reads a parameter dictionary as rows to insert)."""
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - every model maps one table
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _autocommit(connection: AsyncConnection) -> bool:
    sync = connection.sync_connection
    return sync is not None and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


class ConnectionLost(ConnectionError):
    """The database connection broke under a driver-level statement: the server went away.

    asyncpg reports it as its own InterfaceError ("connection is closed"), which also means
    misuse, or, when the statement was sent after the server's FATAL goodbye arrived but
    before its socket closed, as an InternalClientError ("another operation is in progress")
    after which it closes the connection itself. SQLAlchemy would have raised an invalidated
    DBAPIError. As a ConnectionError it is answered like any unreachable database
    (api/errors.py: 503 with Retry-After).
    """


# What a driver-level statement raises when its connection, not the statement, failed.
_BROKEN = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InternalClientError,
    OSError,
)


_HELD = "conduit.transaction_connection"
"""Key of ``Session.info`` holding the connection of the session's transaction, once a
statement asked for it (``_transaction_connection``)."""


async def _transaction_connection(
    session: AsyncSession,
) -> tuple[AsyncConnection, PoolProxiedConnection]:
    """The connection the session's transaction runs on, and the pool's record of it.

    Asked of the session once per transaction: ``session.connection()`` and
    ``get_raw_connection()`` each pass through a greenlet, which cost about a third as much
    CPU as the statement's own round trip, and their answer cannot change before the
    transaction ends (``_forget_transaction_connection``) or its connection is discarded.
    """
    info = session.sync_session.info
    held: tuple[AsyncConnection, PoolProxiedConnection] | None = info.get(_HELD)
    if held is None:
        connection = await session.connection()
        held = (connection, await connection.get_raw_connection())
        info[_HELD] = held
    return held


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction_connection(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost: a SAVEPOINT keeps the connection
        session.info.pop(_HELD, None)


async def _invalidate(session: AsyncSession, connection: AsyncConnection) -> None:
    """Close the transaction's connection for good: it broke under a statement."""
    session.sync_session.info.pop(_HELD, None)
    await connection.invalidate()


async def _begin(raw: PoolProxiedConnection, discard: Callable[[], Awaitable[None]]) -> bool:
    """Open the session's transaction on ``raw`` as SQLAlchemy's asyncpg adapter would on its
    first execution; False if this adapter cannot be asked to (then the statement must go
    through the session, which opens it).

    Sending a write's first statement through the session instead cost it more CPU than the
    round trip: an ORM execution of a Core statement. The adapter keeps the transaction it
    opened and ends it at the session's commit or rollback.
    """
    start = getattr(raw.dbapi_connection, "_start_transaction", None)
    if start is None:  # pragma: no cover - an adapter without it goes through the session
        return False
    driver: asyncpg.Connection = raw.driver_connection
    try:
        await start()
    except Exception as error:
        await _discard_broken(driver, discard, error)
        raise
    return True


async def _discard_broken(
    driver: asyncpg.Connection, discard: Callable[[], Awaitable[None]], error: BaseException
) -> None:
    """The connection under ``driver`` failed with ``error``: ``discard`` it, and raise
    ``ConnectionLost`` if the database went away (the caller re-raises ``error`` otherwise).

    Asked before discarding, which closes it: closed by the server or by asyncpg giving up on it
    is "the database went away"; open, the statement misused it. Either way its state is unknown
    and it never goes back to the pool.
    """
    lost = driver.is_closed() and not isinstance(error, ConnectionError)
    await discard()
    if lost:
        # Said the way SQLAlchemy would say it: the database went away (503), not a bug.
        raise ConnectionLost("the database connection was lost") from error


class Row(Protocol):
    """A result row, read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameter names in positional order
    defaults: Mapping[str, Any]  # values bound when the statement was built (literals)


class Query:
    """A read statement, compiled once per dialect."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Row]:
        """The rows the statement returns."""
        return await self._run(session, params, writes=False)

    async def write(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Row]:
        """Run a data-changing statement (its RETURNING rows, if any) in the session's
        transaction.

        SQLAlchemy's asyncpg adapter opens the session's transaction lazily, on its own first
        execution; a write that comes first opens it the adapter's way (see ``_begin``), so the
        adapter's COMMIT and ROLLBACK still apply to it.
        """
        return await self._run(session, params, writes=True)

    async def _run(
        self, session: AsyncSession, params: Mapping[str, Any], *, writes: bool
    ) -> Sequence[Row]:
        dialect = session.get_bind().dialect
        if dialect.driver != "asyncpg":
            return await self._through_session(session, params)
        # What session.execute would do first: the statement must see this request's changes.
        sync = session.sync_session
        if sync.autoflush and (sync.new or sync.dirty or sync.deleted):
            await session.flush()
        if not writes and isinstance(session, ReadSession) and not session.in_transaction():
            pooled = await session.pooled_connection()
            return await self._fetch(
                pooled.driver_connection,
                params,
                dialect=dialect,
                pool=session.pool,
                discard=session.discard_pooled_connection,
            )
        connection, raw = await _transaction_connection(session)
        driver: asyncpg.Connection = raw.driver_connection
        discard = partial(_invalidate, session, connection)
        opens = writes and not driver.is_in_transaction() and not _autocommit(connection)
        if opens and not await _begin(raw, discard):
            return await self._through_session(session, params)
        return await self._fetch(
            driver,
            params,
            dialect=dialect,
            pool=connection.sync_engine.pool,
            discard=discard,
        )

    async def _fetch(
        self,
        driver: asyncpg.Connection,
        params: Mapping[str, Any],
        *,
        dialect: Dialect,
        pool: Pool,
        discard: Callable[[], Awaitable[None]],
    ) -> list[asyncpg.Record]:
        """Send the statement on ``driver``; ``discard`` closes its connection for good."""
        compiled = self._compiled or self._compile(dialect)
        arguments = [
            params[name] if name in params else compiled.defaults.get(name)
            for name in compiled.names
        ]
        for attempt in (1, 2):
            try:
                return await self._send(driver, compiled.sql, arguments, pool)
            except OUTDATED_STATEMENT as error:
                # asyncpg has dropped its stale caches: outside a transaction the statement is
                # sent again, and prepared afresh.
                if attempt == 2 or driver.is_in_transaction():
                    raise SchemaChanged("the schema changed under a statement") from error
            except _BROKEN as error:
                await _discard_broken(driver, discard, error)
                raise
        raise AssertionError("unreachable")  # pragma: no cover - attempt 2 returns or raises

    @staticmethod
    async def _send(
        driver: asyncpg.Connection, sql: str, arguments: list[Any], pool: Pool
    ) -> list[asyncpg.Record]:
        for listener in _listeners:
            listener(sql)
        span = _statement_spans.get(pool) if _statement_spans else None
        with span(sql) if span is not None else nullcontext():
            records: list[asyncpg.Record] = await driver.fetch(sql, *arguments)
        return records

    async def _through_session(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> Sequence[Row]:
        result = await session.execute(self.statement, dict(params))
        if isinstance(result, CursorResult) and not result.returns_rows:
            return []
        rows: Sequence[Row] = result.mappings().all()
        return rows

    async def first(self, session: AsyncSession, params: Mapping[str, Any]) -> Row | None:
        rows = await self.all(session, params)
        return rows[0] if rows else None

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError("a Query needs a statement with positional bind parameters")
        defaults = {
            compiled.bind_names[bind]: bind.value
            for bind in compiled.binds.values()
            if bind.value is not None and not bind.callable
        }
        self._compiled = _Compiled(
            sql=compiled.string, names=tuple(compiled.positiontup), defaults=defaults
        )
        return self._compiled
