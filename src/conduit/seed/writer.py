"""Writing generated rows: COPY through asyncpg on PostgreSQL, Core executemany elsewhere.

Everything runs on the caller's connection and inside its transaction, so a seed either lands
whole or not at all (and tests can roll it back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.db.models import Base
from conduit.seed.data import Phase, Row, SeedData
from conduit.seed.progress import Progress

DEFAULT_BATCH_SIZE = 5_000
# Tables whose ids the seed assigns itself; their sequences must move past them afterwards.
SEQUENCED_TABLES = ("users", "tags", "articles", "comments")


class DatabaseNotEmpty(RuntimeError):
    """Seeding adds to nothing: generated names and ids would collide with existing rows."""


class RowWriter(Protocol):
    async def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...


class CopyWriter:
    """``COPY ... FROM STDIN`` in binary: an order of magnitude faster than INSERTs."""

    def __init__(self, driver_connection: Any) -> None:
        self._driver = driver_connection

    async def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        await self._driver.copy_records_to_table(table, records=rows, columns=list(columns))


class InsertWriter:
    """Core ``insert()`` with many parameter sets (executemany), for SQLite."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        statement = insert(Base.metadata.tables[table])
        await self._connection.execute(
            statement, [dict(zip(columns, row, strict=True)) for row in rows]
        )


async def seed(
    connection: AsyncConnection,
    data: SeedData,
    *,
    progress: Progress,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, int]:
    """Write every table of ``data`` into an empty database; rows written per table."""
    # Also the first statement of the transaction: on asyncpg it makes SQLAlchemy open the
    # driver-level transaction that the COPYs below then run in.
    await ensure_empty(connection)
    writer = await writer_for(connection)
    async with counting_triggers_off(connection):
        counts = {
            phase.table: await write_phase(writer, phase, progress=progress, batch_size=batch_size)
            for phase in data.phases()
        }
    await recount_articles(connection)
    await reset_sequences(connection)
    return counts


# The triggers of migration 0004 and the recount that replaces them during a bulk load.
COUNTING_TRIGGERS = {
    "articles": "count_articles",
    "article_tags": "count_tag_articles",
    "favorites": "count_fan_favorites",
}
RECOUNT = (
    "DELETE FROM article_counts",
    "INSERT INTO article_counts (scope, key, stripe, n) SELECT 'all', 0, 0, count(*) FROM articles",
    "INSERT INTO article_counts (scope, key, stripe, n) "
    "SELECT 'author', author_id, 0, count(*) FROM articles GROUP BY author_id",
    "INSERT INTO article_counts (scope, key, stripe, n) "
    "SELECT 'tag', tag_id, 0, count(*) FROM article_tags GROUP BY tag_id",
    "INSERT INTO article_counts (scope, key, stripe, n) "
    "SELECT 'fan', user_id, 0, count(*) FROM favorites GROUP BY user_id",
)


@asynccontextmanager
async def counting_triggers_off(connection: AsyncConnection) -> AsyncIterator[None]:
    """Bulk loads skip the per-row counting triggers on PostgreSQL (inside the transaction).

    Millions of updates of a few count rows in one transaction leave as many dead versions
    of them, each update slower than the last; one set-based recount afterwards is seconds.
    SQLite updates rows in place, so its triggers stay on.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    for table, trigger in COUNTING_TRIGGERS.items():
        await connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
    yield
    for table, trigger in COUNTING_TRIGGERS.items():
        await connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


async def recount_articles(connection: AsyncConnection) -> None:
    """Set every trigger-maintained count from the rows (idempotent), after a bulk load."""
    for statement in RECOUNT:
        await connection.execute(text(statement))


async def ensure_empty(connection: AsyncConnection) -> None:
    for table in ("users", "tags", "articles"):
        found = await connection.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {table})"))  # noqa: S608
        if found:
            raise DatabaseNotEmpty(f"the database already has {table}; seed an empty one")


async def writer_for(connection: AsyncConnection) -> RowWriter:
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "asyncpg":
        raw = await connection.get_raw_connection()
        return CopyWriter(raw.driver_connection)
    return InsertWriter(connection)


async def write_phase(
    writer: RowWriter, phase: Phase, *, progress: Progress, batch_size: int
) -> int:
    bar = progress.start(phase.table, phase.units)
    batch: list[Row] = []
    units = written = 0
    for unit_rows in phase.rows():
        batch.extend(unit_rows)
        units += 1
        if len(batch) >= batch_size:
            await writer.write(phase.table, phase.columns, batch)
            written += len(batch)
            bar.advance(units)
            batch, units = [], 0
    if batch:
        await writer.write(phase.table, phase.columns, batch)
        written += len(batch)
    bar.advance(units)
    bar.finish()
    return written


async def reset_sequences(connection: AsyncConnection) -> None:
    """Point PostgreSQL's id sequences past the seeded ids (SQLite uses max(rowid) + 1)."""
    if connection.dialect.name != "postgresql":
        return
    for table in SEQUENCED_TABLES:
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "  # noqa: S608
                f"FROM {table} HAVING max(id) IS NOT NULL"
            )
        )
