"""What every binding shares: the request's session and the caller behind its token."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from enum import Enum
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, SecurityScopes
from sqlalchemy import event
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from conduit.api.response_cache import CACHEABLE, ResponseCache, read_snapshot
from conduit.api.route_plans import RoutePlan
from conduit.core.security import TokenClaims, TokenCodec, token_from_header
from conduit.db.engine import ReadSession, before_connecting
from conduit.db.snapshots import SharedSnapshot, observed_snapshot
from conduit.domain.errors import Forbidden, Unauthenticated
from conduit.domain.permissions import Role, satisfies
from conduit.domain.types import Viewer
from conduit.repositories.users import KnownAccesses
from conduit.services.users import UserService, viewer_from_access

logger = structlog.get_logger(__name__)

# The contract's `Token` security scheme; declaring it here is what puts it in FastAPI's
# derived schema, which a test holds against the contract.
token_header = APIKeyHeader(name="Authorization", scheme_name="Token", auto_error=False)

# Requests with these methods read; every other method writes (a banned account's token is
# refused with 403 on a write, and stands for nobody on a read).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


SESSION = "conduit.session"
"""Key of the request's ASGI ``state`` holding its session, once a dependency opened it."""


async def get_session(request: Request) -> AsyncSession:
    """The request's session: opened on first use, then the same one for the whole request.

    Requests take their turn for a connection (see ``ConnectionTurns``): writes as the session
    opens, reads on PostgreSQL only once they need a connection. Reads (GET, HEAD, OPTIONS) get
    a session that has nothing to commit and, on PostgreSQL, no transaction at all (see
    ``create_read_sessionmaker``). The route finishes it (``finish_session``, run by
    ``SessionRoute``): committed once when the endpoint succeeded, before the response is sent,
    so a failure at commit time becomes an error response, never a 2xx for a write that did not
    happen.

    A plain function rather than a ``yield`` dependency: a request's dependencies and the
    bindings call it directly, and FastAPI's machinery for a generator dependency (an exit
    stack and a context manager per request) cost a read more than opening the session did.
    """
    state: dict[str, Any] = request.scope.setdefault("state", {})
    session: AsyncSession | None = state.get(SESSION)
    if session is None:
        session = await _open_session(request)
        state[SESSION] = session
    return session


async def _open_session(request: Request) -> AsyncSession:
    app_state = request.app.state
    turns: ConnectionTurns | None = getattr(app_state, "connection_turns", None)
    reads = request.method in READ_METHODS
    sessions = app_state.read_sessionmaker if reads else app_state.sessionmaker
    session: AsyncSession = sessions()
    if turns is None:
        return session
    if isinstance(session, ReadSession):
        # Not before the session needs a connection: a read answered from the response cache
        # never does, and would otherwise hold a turn while it waits for the snapshot.
        before_connecting(session, lambda: _take_turn(session, turns))
    else:
        await _take_turn(session, turns)
    return session


async def _take_turn(session: AsyncSession, turns: ConnectionTurns) -> None:
    await turns.wait()
    session.sync_session.info[TURN] = turns


async def finish_session(request: Request, *, succeeded: bool) -> None:
    """Commit the request's session if it writes and ``succeeded``; close it either way.

    When the request or the commit failed, that error is what the client must see: an error
    while closing the session (a connection that broke with it) is logged, not raised instead.
    """
    state: dict[str, Any] | None = request.scope.get("state")
    session: AsyncSession | None = state.pop(SESSION, None) if state else None
    if session is None:
        return
    sync = session.sync_session
    try:
        if succeeded and request.method not in READ_METHODS:
            try:
                await session.commit()
            except BaseException:
                await _close_after_failure(session)
                raise
        if succeeded:
            await session.close()
        else:
            await _close_after_failure(session)  # rolls back
    finally:
        _give_back_turn(sync)


async def _close_after_failure(session: AsyncSession) -> None:
    try:
        await session.close()
    except Exception:
        logger.warning("session_close_failed", exc_info=True)


class SessionRoute(APIRoute):
    """A route that finishes the request's session (``finish_session``) once its endpoint has
    run and its response is built, before a byte of it is sent.

    An error from the commit is raised from the route, where the app's error handlers answer it
    like any other. Where a ``RoutePlan`` covers the route, requests are handled from the plan,
    and FastAPI's own handler is kept for the requests a plan does not apply to.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        cacheable = self.operation_id in CACHEABLE
        around = _through_cache if cacheable else None
        plannable = self.max_body_size is None
        self.plan = RoutePlan.for_route(self, around=around) if plannable else None
        if self.plan is not None:
            early = _early_lookup(self) if cacheable else None
            self.app = _planned_app(self.plan, fallback=self.app, early=early)

        # The part of the path before its first parameter: a request path without it cannot
        # match, and the router asks every route in turn until one does.
        self._literal_prefix = self.path_format.partition("{")[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and not scope.get("root_path")
            and not scope["path"].startswith(self._literal_prefix)
            # Inside an included router, FastAPI matches against the inclusion's own path.
            and _EFFECTIVE_ROUTE not in scope.get("fastapi", ())
        ):
            return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await _finishing_session(handler, request)

        return handle


async def _finishing_session(
    handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request
) -> Response:
    try:
        response = await handler(request)
    except BaseException:
        await finish_session(request, succeeded=False)
        raise
    await finish_session(request, succeeded=True)
    return response


async def _through_cache(request: Request, produce: Callable[[], Awaitable[Response]]) -> Response:
    """The response from the app's response cache, where it has one (on PostgreSQL)."""
    cache: ResponseCache | None = getattr(request.app.state, "response_cache", None)
    if cache is None:
        return await produce()
    missed: str | None = request.scope["state"].get(MISSED_AT)
    if missed is not None:
        # The early lookup missed at this snapshot, and the viewer was found at it too.
        return await cache.fill(request, missed, produce)
    return await cache.respond(request, lambda: _snapshot_for(request), produce)


class _Caller(Enum):
    """Whom a cacheable route's response is for, as its security dependency decides."""

    ANYONE = "anyone"  # no security requirement: a token, if sent, is ignored
    OPTIONAL = "optional"  # the token's owner, or anonymous without one
    REQUIRED = "required"  # the token's owner; 401 without one


EarlyLookup = Callable[[Request], Awaitable[Response | None]]


def _early_lookup(route: APIRoute) -> EarlyLookup | None:
    """For a cacheable route, a lookup of the response cache made before the route solves its
    dependencies (``_answer_early``); None for a route whose caller it cannot tell."""
    calls = {sub.call: sub for sub in route.dependant.dependencies}
    required = calls.get(require_viewer)
    if required is not None and required.own_oauth_scopes:
        return None  # roles are checked by the dependency; no cacheable route has any
    caller = (
        _Caller.REQUIRED
        if required is not None
        else _Caller.OPTIONAL
        if optional_viewer in calls
        else _Caller.ANYONE
    )
    return lambda request: _answer_early(request, caller)


async def _answer_early(request: Request, caller: _Caller) -> Response | None:
    """The cached response to a read, found before the route validates its parameters and
    solves its dependencies; None to let the route answer.

    A response is stored only for a request that was valid and succeeded, under its path, its
    query and its caller, so an equal request needs neither step to find it; what it needs is
    the caller and the snapshot, found exactly as the route's security dependency finds them
    (the same token check, the same shared snapshot, the same decision from the account). The
    lookup stands aside whenever that would take a statement: an account not yet read at this
    snapshot is left to the dependency, which reads it, at the snapshot kept here.
    """
    cache: ResponseCache | None = getattr(request.app.state, "response_cache", None)
    if cache is None or cache.resting():
        return None
    found = await _caller_at_snapshot(request, caller)
    if found is None:
        return None
    snapshot, viewer = found
    state: dict[str, Any] = request.scope["state"]
    state["viewer"] = viewer
    response = cache.lookup(request, snapshot)
    if response is None:
        state[MISSED_AT] = snapshot
    return response


async def _caller_at_snapshot(
    request: Request, caller: _Caller
) -> tuple[str, Viewer | None] | None:
    """The shared snapshot, and the caller the route's security dependency finds at it; None
    when finding the caller takes a statement, or when the dependency answers 401 instead.

    A malformed or invalid token raises here what it raises there."""
    app_state = request.app.state
    snapshots: SharedSnapshot = app_state.snapshots
    if caller is _Caller.ANYONE:
        return await snapshots.current(), None
    claims = _claims(request.headers.get("authorization"), app_state.tokens)
    snapshot = await snapshots.current()
    # Where the lookup stands aside, the dependency checks the account at this snapshot.
    request.scope["state"][EARLY_SNAPSHOT] = snapshot
    viewer: Viewer | None = None
    if claims is not None:
        accesses: KnownAccesses = app_state.accesses
        access = accesses.get(claims.user_id, snapshot)
        if access is None:
            return None
        viewer = viewer_from_access(access, token_version=claims.version, writing=False)
    if viewer is None and caller is _Caller.REQUIRED:
        return None  # the dependency answers 401
    return snapshot, viewer


EARLY_SNAPSHOT = "conduit.early_snapshot"
"""Key of the request's ASGI ``state`` holding the shared snapshot its early lookup read."""

MISSED_AT = "conduit.cache_missed_at"
"""Key of the request's ASGI ``state`` holding the snapshot its early lookup missed at."""


async def _snapshot_for(request: Request) -> str:
    """The database's snapshot for ``request``, read after it began.

    A signed-in caller's account was checked at one (``UserRepository.get_access``); an
    anonymous read shares the worker's next snapshot read, and takes no connection unless the
    cache misses.
    """
    state: dict[str, Any] | None = request.scope.get("state")
    session: AsyncSession | None = state.get(SESSION) if state else None
    if session is not None:
        seen = observed_snapshot(session)
        if seen is not None:
            return seen
        if TURN in session.sync_session.info:
            # It holds a turn already: waiting for one more for the shared read could wait on
            # requests that wait the same way.
            return await read_snapshot(session)
    snapshots: SharedSnapshot = request.app.state.snapshots
    return await snapshots.current()


async def _early_snapshot(request: Request) -> str | None:
    """For a read, the snapshot its caller's account is checked at, where the response cache
    works: the shared one, so that an account already read at it needs no statement (and the
    response cache uses the same), and the one the early lookup read if it did. None while the
    cache rests: writes keep moving the snapshot, and the account's own statement reads one
    anyway."""
    # Also solved by FastAPI's own handler (overrides, tracing), which runs no early lookup.
    early: str | None = request.scope.get("state", {}).get(EARLY_SNAPSHOT)
    if early is not None:
        return early
    app_state = request.app.state
    cache: ResponseCache | None = getattr(app_state, "response_cache", None)
    if cache is None or cache.resting():
        return None
    snapshots: SharedSnapshot = app_state.snapshots
    return await snapshots.current()


def shared_snapshot(app_state: Any) -> SharedSnapshot:
    """Snapshot reads for the app's requests, each on a session of its own, in turn with them."""

    async def read() -> str:
        turns: ConnectionTurns = app_state.connection_turns
        await turns.wait()
        try:
            session: AsyncSession = app_state.read_sessionmaker()
            try:
                return await read_snapshot(session)
            finally:
                await session.close()
        finally:
            turns.done()

    return SharedSnapshot(read)


def _planned_app(
    plan: RoutePlan, *, fallback: ASGIApp, early: EarlyLookup | None = None
) -> ASGIApp:
    """The route's ASGI app: the plan's handler, with the app's exception handlers around it as
    for any route (FastAPI's exit stacks only serve ``yield`` dependencies, which a plan has
    none of). A cacheable route first looks for its response in the cache (``early``)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if not plan.applies():
            await fallback(scope, receive, send)
            return
        scope.setdefault("state", {})
        request = Request(scope, receive, send)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await early(request) if early is not None else None
            if response is None:
                response = await _finishing_session(plan.handle, request)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(respond, request)(scope, receive, send)

    return app


# Where FastAPI keeps, in the request's scope, the route context of an included router.
_EFFECTIVE_ROUTE = "effective_route_context"

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
    p99 was ten times p50. Here each freed turn goes to the longest waiter instead; a request
    holding a turn finds a connection free in the pool.

    Under load nearly every request waits, so waiting is kept cheap: one timer for the whole
    queue (everyone waits as long, so the oldest waiter's deadline comes first), not one each.
    """

    def __init__(self, connections: int, timeout: float) -> None:
        self._free = connections
        self._timeout = timeout
        self._waiters: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._expiry: asyncio.TimerHandle | None = None

    async def wait(self) -> None:
        """Take a turn; after the pool timeout, the same error as a pool that stayed empty."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiters.append((loop.time() + self._timeout, turn))
        if self._expiry is None:
            self._expiry = loop.call_at(self._waiters[0][0], self._expire)
        try:
            await turn
        except asyncio.CancelledError:
            # Cancelled after the turn was handed over: it is this waiter's to pass on.
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.done()
            raise

    def done(self) -> None:
        """Give a turn back: to the longest waiter still waiting, else to the free ones."""
        while self._waiters:
            _, turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    def _expire(self) -> None:
        self._expiry = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._waiters and (self._waiters[0][0] <= now or self._waiters[0][1].done()):
            _, turn = self._waiters.popleft()
            if not turn.done():
                turn.set_exception(PoolTimeout("no database connection became free in time"))
        if self._waiters:
            self._expiry = loop.call_at(self._waiters[0][0], self._expire)


async def optional_viewer(
    request: Request,
    authorization: Annotated[str | None, Security(token_header)],
) -> Viewer | None:
    """The caller, or None when no token was sent; a bad token is 401 even where optional.

    Used as the route-level security dependency of operations whose contract lists `Token`;
    the result is kept on the request for the bindings (see ``route_viewer``). A revoked token
    is 401; a banned account's token is 403 on a write and None (anonymous) on a read.
    """
    # Straight from app.state and get_session rather than through sub-dependencies: every
    # request of every operation with a security requirement solves this, and each
    # sub-dependency FastAPI solves costs more than the lookup itself.
    state = request.app.state
    claims = _claims(authorization, state.tokens)
    viewer = None
    if claims is not None:
        writing = request.method not in READ_METHODS
        snapshot = None if writing else await _early_snapshot(request)
        session = await get_session(request)
        viewer = await UserService(session, state.hasher, state.accesses).viewer_for(
            claims.user_id, token_version=claims.version, writing=writing, snapshot=snapshot
        )
    request.state.viewer = viewer
    return viewer


def _claims(authorization: str | None, tokens: TokenCodec) -> TokenClaims | None:
    """The verified claims of the request's token; None without one, 401 for a bad one."""
    token = token_from_header(authorization)
    return None if token is None else tokens.verify(token)


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


def viewer_of(request: Request) -> Viewer | None:
    """The viewer the route's security dependency resolved, for the tag's binding.

    Providers are per tag but security is per operation: a public operation (``security: []``,
    e.g. Login) must ignore any Authorization header, even a stale one, while GetCurrentUser in
    the same tag must verify it. So providers never parse the header themselves; FastAPI solves
    a route's own ``dependencies=[Security(...)]`` before the endpoint's parameters, and that
    dependency leaves its result here. On public operations this is always None.
    """
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return viewer
