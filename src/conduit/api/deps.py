"""FastAPI dependencies shared by every binding, published as ``Annotated`` aliases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, SecurityScopes
from sqlalchemy import event
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from conduit.core.passwords import PasswordHasher
from conduit.core.security import TokenCodec, token_from_header
from conduit.core.settings import Settings
from conduit.domain.errors import Forbidden, Unauthenticated
from conduit.domain.permissions import Role, satisfies
from conduit.domain.types import Viewer
from conduit.services.users import UserService

# The contract's `Token` security scheme; declaring it here is what puts it in FastAPI's
# derived schema, which a test holds against the contract.
token_header = APIKeyHeader(name="Authorization", scheme_name="Token", auto_error=False)

# Requests with these methods read; every other method writes (a banned account's token is
# refused with 403 on a write, and stands for nobody on a read).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_tokens(request: Request) -> TokenCodec:
    tokens: TokenCodec = request.app.state.tokens
    return tokens


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed once when the handler succeeds.

    Scoped to the endpoint function (``scope="function"``), so the commit runs before the
    response is sent: a failure at commit time becomes an error response, never a 2xx for a
    write that did not happen. Reads (GET, HEAD, OPTIONS) get a session that has nothing to
    commit and, on PostgreSQL, no transaction at all (see ``create_read_sessionmaker``).
    Requests take their turn for a connection first (see ``ConnectionTurns``).
    """
    turns: ConnectionTurns | None = getattr(request.app.state, "connection_turns", None)
    if turns is not None:
        await turns.wait()
    sessions = request.app.state.sessionmaker
    if request.method in READ_METHODS:
        sessions = getattr(request.app.state, "read_sessionmaker", None) or sessions
    session: AsyncSession = sessions()
    session.sync_session.info[TURN] = turns
    try:
        async with session:
            if sessions is request.app.state.sessionmaker:
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
            else:
                yield session
    finally:
        _give_back_turn(session.sync_session)


TURN = "conduit.connection_turn"
"""Key of ``Session.info`` holding the ConnectionTurns a request took its turn from."""


@event.listens_for(Session, "after_transaction_end")
def _give_back_turn(session: Session, transaction: SessionTransaction | None = None) -> None:
    """A request's turn ends with its session's (outermost) transaction, when the connection
    goes back to the pool, not with the request: a login gives it back before argon2 runs."""
    if transaction is not None and transaction.parent is not None:
        return
    turns: ConnectionTurns | None = session.info.pop(TURN, None)
    if turns is not None:
        turns.done()


class ConnectionTurns:
    """Requests wait for a pooled connection in arrival order.

    SQLAlchemy's pool hands a returned connection to whoever asks first: under load a request
    that just arrived takes it before one that has waited since long before (the waiter is woken
    but runs later), so a few requests waited up to the pool timeout while most waited none, and
    p99 was ten times p50. An asyncio semaphore sized like the pool hands each freed turn to the
    longest waiter instead; a request holding a turn finds a connection free in the pool.
    """

    def __init__(self, connections: int, timeout: float) -> None:
        self._turns = asyncio.Semaphore(connections)
        self._timeout = timeout

    async def wait(self) -> None:
        """Take a turn; after the pool timeout, the same error as a pool that stayed empty."""
        if not self._turns.locked():
            await self._turns.acquire()  # returns at once
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._turns.acquire()
        except TimeoutError as error:
            raise PoolTimeout("no database connection became free in time") from error

    def done(self) -> None:
        self._turns.release()


SettingsDep = Annotated[Settings, Depends(get_settings)]
TokensDep = Annotated[TokenCodec, Depends(get_tokens)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def optional_viewer(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Security(token_header)],
) -> Viewer | None:
    """The caller, or None when no token was sent; a bad token is 401 even where optional.

    Used as the route-level security dependency of operations whose contract lists `Token`;
    the result is kept on the request for the bindings (see ``route_viewer``). A revoked token
    is 401; a banned account's token is 403 on a write and None (anonymous) on a read.
    """
    token = token_from_header(authorization)
    viewer = None
    if token is not None:
        # Straight from app.state rather than through TokensDep/HasherDep: every request of
        # every operation with a security requirement solves this, and each sub-dependency
        # FastAPI solves costs more than the lookup itself.
        state = request.app.state
        tokens: TokenCodec = state.tokens
        claims = tokens.verify(token)
        viewer = await UserService(session, state.hasher).viewer_for(
            claims.user_id,
            token_version=claims.version,
            writing=request.method not in READ_METHODS,
        )
    request.state.viewer = viewer
    return viewer


OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


async def require_viewer(security_scopes: SecurityScopes, viewer: OptionalViewerDep) -> Viewer:
    """The caller; 401 when no token was sent, 403 when it lacks a role the route requires.

    The generated route passes the roles its contract lists (`security: [{Token: [admin]}]`) as
    scopes: the role check is declared at the route, and decided by the permission table.
    """
    if viewer is None:
        raise Unauthenticated("is missing or invalid", field="token")
    for role in security_scopes.scopes:
        if not satisfies(viewer.role, Role(role)):
            raise Forbidden(f"needs the {role} role", field="user")
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]


def viewer_of(request: Request) -> Viewer | None:
    """What ``route_viewer`` returns, for providers that already take the request (one
    dependency fewer to solve on every request)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return viewer


async def route_viewer(request: Request) -> Viewer | None:
    """The viewer the route's security dependency resolved, for the tag's binding.

    Providers are per tag but security is per operation: a public operation (``security: []``,
    e.g. Login) must ignore any Authorization header, even a stale one, while GetCurrentUser in
    the same tag must verify it. So providers never parse the header themselves; FastAPI solves
    a route's own ``dependencies=[Security(...)]`` before the endpoint's parameters, and that
    dependency leaves its result here. On public operations this is always None.
    """
    return viewer_of(request)


RouteViewerDep = Annotated[Viewer | None, Depends(route_viewer)]
