"""Which committed data a PostgreSQL statement saw, as a value that can key a cache.

``pg_current_snapshot()`` names what a statement sees: the oldest transaction still running,
the next transaction id, and those running in between. Two statements with the same snapshot
see exactly the same committed data, and once any transaction commits, no later statement in
any session gets an earlier snapshot back. Qualified by the database (a dropped and recreated
one starts its transaction ids over) and by the server's start (a restore from a backup takes
a restart, and may reuse ids that meant other data), it names the data exactly.

A statement that reads anyway can select the snapshot as one more column
(``snapshot_column``), and leave it on its session for whoever decides from it
(``api/response_cache.py``): one round trip fewer than asking separately.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.ext.asyncio import AsyncSession

_SNAPSHOT_SQL = (
    "pg_current_snapshot()::text"
    " || '@' || (SELECT oid FROM pg_database WHERE datname = current_database())::text"
    " || '@' || pg_postmaster_start_time()::text"
)
_OBSERVED = "conduit.snapshot"


def snapshot_column() -> ColumnElement[str]:
    """The statement's snapshot as a column named ``snapshot`` (PostgreSQL only)."""
    return literal_column(_SNAPSHOT_SQL).label("snapshot")


def remember_snapshot(session: AsyncSession, snapshot: str) -> None:
    """Leave on ``session`` the snapshot a statement it ran outside any transaction saw."""
    session.sync_session.info[_OBSERVED] = snapshot


def observed_snapshot(session: AsyncSession) -> str | None:
    """The snapshot the session's last statement that asked for it saw, if any did."""
    snapshot: str | None = session.sync_session.info.get(_OBSERVED)
    return snapshot
