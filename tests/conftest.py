"""Shared database fixtures: one migrated database per backend, one rolled-back
transaction per test.

Fixtures (all async, pytest-asyncio session loop):

- ``database_url`` (session, parametrized ``sqlite`` / ``postgresql``): URL of a
  database migrated with Alembic (``conduit.db.migrate.upgrade_async``).
  SQLite is a temp file; PostgreSQL is a fresh ``conduit_test_<hex>`` database on
  ``$CONDUIT_TEST_POSTGRES_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``),
  dropped at the end. If PostgreSQL does not answer, its tests are skipped with
  the reason shown, or fail when ``CI=true``. PostgreSQL params carry the
  ``postgres`` marker, so ``-m "not postgres"`` runs SQLite only.
- ``engine`` (session): ``AsyncEngine`` for ``database_url``.
- ``connection`` (function): an ``AsyncConnection`` inside an outer transaction
  that is rolled back after the test, so tests never see each other's rows.
- ``session`` (function): ``AsyncSession`` bound to ``connection`` with
  ``join_transaction_mode="create_savepoint"``: code under test may ``commit()``
  (that releases a SAVEPOINT) and everything is still rolled back.
- ``session_factory`` (function): an ``async_sessionmaker`` producing such
  sessions, for overriding the app's per-request session dependency.
- ``password_hasher`` (session): a ``PasswordHasher`` with cheap argon2 params.
- ``factory`` (function): ``tests.factories.Factory`` building users, articles,
  comments, follows and favorites through the real services.
- ``count_statements`` (function): ``with count_statements() as statements:``
  collects SQL sent on ``engine`` (to assert fixed query counts).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from conduit.core.passwords import Argon2Params, PasswordHasher
from conduit.db.engine import create_engine
from conduit.db.migrate import upgrade_async
from conduit.repositories._rows import listening as driver_statements
from tests.factories import Factory

POSTGRES_ADMIN_URL = os.environ.get(
    "CONDUIT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'conduit.db'}"
        await upgrade_async(url)
        yield url
    else:
        async for url in _postgres_database():
            yield url


async def _postgres_database() -> AsyncIterator[str]:
    name = f"conduit_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )
    try:
        await _execute(admin, f'CREATE DATABASE "{name}"')
    except (OSError, SQLAlchemyError) as error:  # refused, timed out, auth failed, ...
        await admin.dispose()
        _postgres_unavailable(error)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade_async(url)
        yield url
    finally:
        await _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


def _postgres_unavailable(error: BaseException) -> None:
    reason = f"PostgreSQL at {POSTGRES_ADMIN_URL} unavailable: {error!r}"
    if IN_CI:
        pytest.fail(f"{reason} (required because CI=true)")
    pytest.skip(reason)


async def _execute(engine: AsyncEngine, sql: str) -> None:
    async with engine.connect() as conn:
        await conn.execute(text(sql))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture(scope="session")
def password_hasher() -> PasswordHasher:
    # Minimum argon2 cost: tests exercise behaviour, not hashing strength.
    return PasswordHasher(Argon2Params(memory_cost=8, time_cost=1, parallelism=1))


@pytest.fixture
def factory(session: AsyncSession, password_hasher: PasswordHasher) -> Factory:
    return Factory(session, password_hasher)


@pytest.fixture
def count_statements(
    engine: AsyncEngine,
) -> Callable[[], AbstractContextManager[list[str]]]:
    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            # Hot reads bypass SQLAlchemy's cursor on PostgreSQL (conduit.repositories._rows).
            with driver_statements(statements.append):
                yield statements
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)

    return counter
