"""Which database failures are "try again shortly" (503 + Retry-After) and which are bugs (500).

The live versions of these failures (PostgreSQL stopping, starting, crashing, a pool running
dry) are tests/faults/test_database_outage.py under `make test-faults`.
"""

from __future__ import annotations

import errno
import socket

import asyncpg
import pytest
from sqlalchemy import exc as sa

from conduit.api.errors import database_unavailable
from conduit.db.errors import SchemaChanged
from conduit.repositories._rows import ConnectionLost


class DriverError(Exception):
    """Stands in for SQLAlchemy's adapted asyncpg error, which keeps the SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(sqlstate: str) -> sa.DBAPIError:
    return sa.DBAPIError("SELECT 1", None, DriverError(sqlstate))


def stale_through_the_orm() -> sa.DBAPIError:
    """What SQLAlchemy raises for a statement PostgreSQL refused because a migration changed
    its result type: its adapter's error, caused by asyncpg's."""
    adapted = DriverError("0A000")
    adapted.__cause__ = asyncpg.exceptions.InvalidCachedStatementError(
        "cached plan must not change result type"
    )
    return sa.NotSupportedError("SELECT 1", None, adapted)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(wrapped("57P03"), id="starting-up-or-shutting-down"),
        pytest.param(wrapped("57P01"), id="admin-shutdown"),
        pytest.param(wrapped("57P02"), id="crash-shutdown"),
        pytest.param(wrapped("53300"), id="too-many-connections"),
        pytest.param(asyncpg.exceptions.CannotConnectNowError(), id="driver-cannot-connect"),
        pytest.param(asyncpg.exceptions.TooManyConnectionsError(), id="driver-no-slot"),
        pytest.param(ConnectionRefusedError(errno.ECONNREFUSED, "refused"), id="refused"),
        pytest.param(socket.gaierror(socket.EAI_NONAME, "unknown host"), id="unknown-host"),
        pytest.param(OSError(errno.EHOSTUNREACH, "no route"), id="host-unreachable"),
        pytest.param(TimeoutError(), id="connect-timeout"),
        pytest.param(sa.TimeoutError(), id="pool-timeout"),
        pytest.param(
            sa.DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True),
            id="connection-lost",
        ),
        pytest.param(ConnectionLost("the database connection was lost"), id="driver-level-lost"),
        pytest.param(SchemaChanged("the schema changed"), id="schema-changed-mid-transaction"),
        pytest.param(stale_through_the_orm(), id="schema-changed-through-the-orm"),
    ],
)
def test_these_mean_the_database_is_unavailable(error: BaseException) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(wrapped("23505"), id="unique-violation"),
        pytest.param(wrapped("42P01"), id="undefined-table"),
        pytest.param(OSError(errno.ENOENT, "no such file"), id="file-error"),
        pytest.param(ValueError("bug"), id="bug"),
    ],
)
def test_these_are_bugs(error: BaseException) -> None:
    assert not database_unavailable(error)
