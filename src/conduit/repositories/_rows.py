"""Hot read statements, compiled once and run at the driver level on PostgreSQL.

A read on the list page, an article, its comments, a profile or the caller's account is one
statement, and SQLAlchemy's per-execution work (cache key, ORM compile state, result metadata,
row processing) cost more CPU than PostgreSQL spends answering it. A `Query` wraps a statement
built once (module level or ``lru_cache``): on asyncpg its SQL is compiled once and sent with
asyncpg's own prepared-statement cache; on any other backend (SQLite) it runs through the session
as usual. Either way it runs on the request session's connection, so inside its transaction
when there is one.

Rows come back as asyncpg ``Record``s or SQLAlchemy ``RowMapping``s; both are read by column
name. Only reads whose columns need no type processing belong here: asyncpg already returns
``timestamptz`` as aware UTC datetimes, arrays as lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

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

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Row]:
        dialect = session.get_bind().dialect
        if dialect.driver != "asyncpg":
            result = await session.execute(self.statement, dict(params))
            rows: Sequence[Row] = result.mappings().all()
            return rows
        # What session.execute would do first: the read must see this request's own changes.
        sync = session.sync_session
        if sync.autoflush and (sync.new or sync.dirty or sync.deleted):
            await session.flush()
        compiled = self._compiled or self._compile(dialect)
        arguments = [
            params[name] if name in params else compiled.defaults.get(name)
            for name in compiled.names
        ]
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        for listener in _listeners:
            listener(compiled.sql)
        try:
            records: list[asyncpg.Record] = await driver.fetch(compiled.sql, *arguments)
        except (asyncpg.InterfaceError, OSError):
            # The connection is broken or in an unknown state: never give it back to the pool.
            await connection.invalidate()
            raise
        return records

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
