"""Engine and session factory. Built by the app lifespan (or tests), never at import time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import Pool, PoolProxiedConnection, StaticPool
from sqlalchemy.util import await_only, greenlet_spawn

SQLITE_BUSY_TIMEOUT_MS = 5_000


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    pool_recycle: int = 1_800,
    pool_pre_ping: bool = False,
    connect_timeout: float = 5.0,
    statement_timeout: float | None = None,
    echo: bool = False,
    application_name: str = "conduit",
) -> AsyncEngine:
    """Create an async engine for `sqlite+aiosqlite://` or `postgresql+asyncpg://` URLs.

    Pool arguments apply to PostgreSQL and file-based SQLite. Pre-ping is off by
    default because it costs a round trip on every checkout. ``statement_timeout`` (seconds,
    PostgreSQL) bounds how long any statement may go unanswered; None waits as long as it
    takes (migrations, seeding).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(
            parsed,
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )
    kwargs: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout,
        "pool_recycle": pool_recycle,
        "pool_pre_ping": pool_pre_ping,
        "echo": echo,
        # Statement errors and echo show the SQL, never its values (hashes, emails, bodies).
        "hide_parameters": True,
    }
    if parsed.get_driver_name() == "asyncpg":
        kwargs["connect_args"] = {
            "server_settings": {"application_name": application_name},
            # asyncpg waits 60 s by default; with the database down, requests must fail fast.
            "timeout": connect_timeout,
            # Client-side, so it holds when the server cannot even be told to stop.
            "command_timeout": statement_timeout,
        }
        engine = _create_async_engine(parsed, **kwargs)
        _install_asyncpg_hooks(engine)
        return engine
    return _create_async_engine(parsed, **kwargs)


def _install_asyncpg_hooks(engine: AsyncEngine) -> None:
    """Never hand out a connection the server has already closed.

    Pre-ping would find them with a round trip per checkout; this looks at state asyncpg
    already has. A connection the server ends while it is in use is the request's 503
    (api/errors.py), and is then discarded.
    """

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Closed while it sat in the pool (server restart, idle timeout, a killed backend):
        # the pool replaces it with a new one instead of failing the request that drew it.
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects returned by services stay readable after the
    # request's single commit without a surprise reload.
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read; on PostgreSQL they run without BEGIN/COMMIT.

    Under READ COMMITTED (PostgreSQL's default) every statement takes its own snapshot even
    inside a transaction, so wrapping a read in one buys no consistency and costs two round
    trips. SQLite keeps its transaction: there, it is what gives the reads one snapshot.
    On asyncpg they are ``ReadSession``s.
    """
    if engine.dialect.name != "postgresql":
        return create_sessionmaker(engine)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    session_class = ReadSession if engine.dialect.driver == "asyncpg" else AsyncSession
    return async_sessionmaker(autocommit, class_=session_class, expire_on_commit=False)


_POOLED = "conduit.pooled_connection"
"""Key of ``Session.info`` holding a ReadSession's pooled connection, while it has one."""
_BEFORE_CONNECTING = "conduit.before_connecting"
"""Key of ``Session.info`` holding what a ReadSession awaits before its first connection."""

BeforeConnecting = Callable[[], Awaitable[None]]


def before_connecting(session: ReadSession, wait: BeforeConnecting) -> None:
    """Have ``session`` await ``wait()`` once, before it first takes a connection.

    A request's turn for a connection (api/deps.py) is taken there rather than when its session
    opens: a read answered without the database never waits for one.
    """
    session.sync_session.info[_BEFORE_CONNECTING] = wait


class ReadSession(AsyncSession):
    """A read-only request's session, whose driver-level statements skip the Session.

    A request that only reads sends one or two statements, all driver-level (``Query``) and
    none in a transaction. Opening the Session's own connection for them (a transaction
    object, an engine ``Connection``, their events and their closing) cost the request more
    CPU than PostgreSQL spent answering it. Here those statements take a connection straight
    from the same pool instead, and give it back when the session closes.

    The ORM still works on this session: it begins as usual, and the pooled connection is
    given back first (see ``_give_back_pooled``), so a request never holds two connections.
    With no transaction, nothing is lost by changing connection between statements.
    """

    @property
    def engine(self) -> AsyncEngine:
        bind = self.bind
        if not isinstance(bind, AsyncEngine):  # pragma: no cover - always bound to the engine
            raise TypeError("a ReadSession is bound to an engine")
        return bind

    @property
    def pool(self) -> Pool:
        return self.engine.sync_engine.pool

    async def pooled_connection(self) -> PoolProxiedConnection:
        """The connection driver-level reads run on: checked out of the pool on first use.

        A failure to connect is raised as SQLAlchemy's wrapper around the driver's error, as
        the Session's own checkout raises it, so it is answered alike (a server starting up or
        shutting down is a 503, api/errors.py). The pool hands the driver's error out bare.
        """
        info = self.sync_session.info
        pooled: PoolProxiedConnection | None = info.get(_POOLED)
        if pooled is None:
            wait: BeforeConnecting | None = info.pop(_BEFORE_CONNECTING, None)
            if wait is not None:
                await wait()
            engine = self.engine
            dialect = engine.dialect
            try:
                pooled = await engine.raw_connection()
            except dialect.loaded_dbapi.Error as error:
                raise DBAPIError.instance(
                    None,
                    None,
                    error,
                    dialect.loaded_dbapi.Error,
                    hide_parameters=True,
                    connection_invalidated=dialect.is_disconnect(error, None, None),
                    dialect=dialect,
                ) from error
            self.sync_session.info[_POOLED] = pooled
        return pooled

    async def discard_pooled_connection(self) -> None:
        """Close the pooled connection for good (it broke) instead of giving it back."""
        pooled: PoolProxiedConnection | None = self.sync_session.info.pop(_POOLED, None)
        if pooled is not None:
            await greenlet_spawn(pooled.invalidate)

    async def close(self) -> None:
        sync = self.sync_session
        pooled: PoolProxiedConnection | None = sync.info.pop(_POOLED, None)
        if pooled is not None:
            await greenlet_spawn(pooled.close)
        # A session the ORM never used holds nothing to close; closing it anyway (a trip into
        # the greenlet, emptying empty collections) was a measurable part of a small read.
        if sync.in_transaction() or sync.identity_map or sync.new or sync.deleted:
            await super().close()


@event.listens_for(Session, "after_transaction_create")
def _give_back_pooled(session: Session, transaction: SessionTransaction) -> None:
    """Before the ORM takes a connection for a ReadSession, its pooled one goes back, or, if it
    has none yet, it awaits what comes before its first connection.

    Runs inside the session's greenlet, where the pool's checkin may wait on the driver, and
    where ``await_only`` may wait for a turn."""
    if transaction.parent is None:
        pooled: PoolProxiedConnection | None = session.info.pop(_POOLED, None)
        if pooled is not None:
            pooled.close()
        wait: BeforeConnecting | None = session.info.pop(_BEFORE_CONNECTING, None)
        if wait is not None:
            await_only(wait())


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the folder of a file-based SQLite database (e.g. `var/`) if missing."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _create_sqlite_engine(
    url: URL, *, echo: bool, pool_size: int, max_overflow: int, pool_timeout: float
) -> AsyncEngine:
    ensure_sqlite_directory(url)
    if _is_memory(url):
        # One shared connection, otherwise every checkout sees a different empty database.
        engine = _create_async_engine(url, echo=echo, hide_parameters=True, poolclass=StaticPool)
    else:
        engine = _create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )
    _install_sqlite_hooks(engine, wal=not _is_memory(url))
    return engine


def _install_sqlite_hooks(engine: AsyncEngine, *, wal: bool) -> None:
    """Make SQLite honour foreign keys, real transactions and SAVEPOINTs.

    Python 3.11's sqlite3 driver starts transactions lazily and not for SAVEPOINT,
    which breaks nested transactions; SQLAlchemy's documented fix is to disable the
    driver's handling and emit BEGIN ourselves.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if wal:
            # WAL lets readers proceed while one writer commits.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
