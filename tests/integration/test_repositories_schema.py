"""Migrations are the only way the schema is made; they must match the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.db.engine import create_engine
from conduit.db.migrate import downgrade_async, upgrade, upgrade_async
from conduit.db.models import Base


def _diff(sync_connection: Connection) -> list[Any]:
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_models(connection: AsyncConnection) -> None:
    assert await connection.run_sync(_diff) == []


async def test_foreign_keys_are_enforced(connection: AsyncConnection) -> None:
    # SQLite ignores FOREIGN KEY clauses unless the connection turns them on.
    if connection.dialect.name == "sqlite":
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_downgrade_and_upgrade_round_trip(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'roundtrip.db'}"
    await upgrade_async(url)
    await downgrade_async(url, "base")
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_sync_upgrade_creates_missing_folder_and_is_repeatable(tmp_path: Path) -> None:
    # The CLI path: no running event loop, relative folders like var/ may not exist yet.
    database = tmp_path / "var" / "conduit.db"
    upgrade(f"sqlite+aiosqlite:///{database}")
    upgrade(f"sqlite+aiosqlite:///{database}")
    assert database.exists()
