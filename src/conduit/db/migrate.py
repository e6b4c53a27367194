"""Run Alembic migrations from code; there is no alembic.ini.

    python -m conduit.db.migrate [DATABASE_URL]     # defaults to $CONDUIT_DATABASE_URL

`upgrade(url)` is for sync callers (CLI, Makefile); `upgrade_async(url)` for code
already inside an event loop (app lifespan, pytest fixtures).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from conduit.db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/conduit.db"

_Action = Callable[[Config], None]


def make_config(database_url: str) -> Config:
    """Alembic Config built in code; usable with any `alembic.command` function."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on "%" in passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` up to `revision` (in one transaction)."""
    await _run(database_url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade_async(database_url: str, revision: str = "base") -> None:
    """Migrate down to `revision`; used by the round-trip test."""
    await _run(database_url, lambda cfg: command.downgrade(cfg, revision))


def upgrade(database_url: str, revision: str = "head") -> None:
    """Sync entry point; must not be called from inside a running event loop."""
    asyncio.run(upgrade_async(database_url, revision))


async def _run(database_url: str, action: _Action) -> None:
    # Our own engine factory, so SQLite gets foreign keys and transactional DDL.
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_with_connection, database_url, action)
    finally:
        await engine.dispose()


def _with_connection(connection: Connection, database_url: str, action: _Action) -> None:
    config = make_config(database_url)
    config.attributes["connection"] = connection
    action(config)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("CONDUIT_DATABASE_URL", DEFAULT_DATABASE_URL)
    upgrade(url)


if __name__ == "__main__":
    main()
