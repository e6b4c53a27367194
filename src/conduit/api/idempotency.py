"""The Idempotency-Key header of the create operations, between the routes and the service.

A binding hands its work to ``IdempotentRequests.run`` with the key it received. Without a key
the work just runs. With one, in this order:

1. the read transaction that authentication opened in the request's session is ended, so the
   work starts a fresh one after the claim commits (SQLite cannot write from a snapshot older
   than the latest commit; PostgreSQL does not mind);
2. the key is claimed in a transaction of its own (or its stored response is replayed, with
   ``Idempotent-Replayed: true``, if what it created still exists; or 409/422);
3. the work runs, and the response is stored in the request's transaction, committed with it;
4. if anything fails, the request's transaction is rolled back first and the claim released
   after, so a retry runs again and never meets a half-done attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.api.deps import viewer_of
from conduit.api.profiles import required
from conduit.core.settings import Settings
from conduit.db.types import utc_now
from conduit.domain.errors import CreatedResourceGone
from conduit.domain.idempotency import StoredResponse, request_fingerprint
from conduit.services.idempotency import IdempotencyService
from generated.manifest import STATUS_CODES

logger = logging.getLogger(__name__)

ResponseT = TypeVar("ResponseT", bound=BaseModel)
REPLAYED = "true"


class ReplayHeaders(Protocol):
    """The generated response headers of an operation that takes Idempotency-Key."""

    idempotent_replayed: str | None


class IdempotentRequests:
    """Runs a create operation at most once per Idempotency-Key (see the module docstring)."""

    def __init__(self, request: Request, session: AsyncSession) -> None:
        # Built by the articles and comments providers for every request, reads included, so
        # it only keeps what it is given: the service behind it is built by the first request
        # that sends a key (reads never do, creates without a key neither).
        self._request = request
        self._session = session

    async def run(
        self,
        operation_id: str,
        key: str | None,
        *,
        body: BaseModel,
        response_model: type[ResponseT],
        headers: ReplayHeaders,
        work: Callable[[], Awaitable[ResponseT]],
        still_exists: Callable[[ResponseT], Awaitable[bool]],
    ) -> ResponseT:
        """`work`'s response, or the stored one of an earlier request with `key`.

        `still_exists` tells whether the resource a stored response announces is still there:
        a replay never answers 201 for something deleted since (CreatedResourceGone, 409).
        """
        if key is None:
            return await work()
        canonical = orjson.dumps(
            body.model_dump(mode="json", exclude_unset=True), option=orjson.OPT_SORT_KEYS
        )
        request = self._request
        fingerprint = request_fingerprint(request.method, request.url.path, canonical)
        service = self._service()
        await self._session.rollback()  # step 1: nothing but authentication's reads to lose
        outcome = await service.claim(
            user_id=required(viewer_of(request)).id, key=key, fingerprint=fingerprint
        )
        if isinstance(outcome, StoredResponse):
            replay = response_model.model_validate_json(outcome.body)
            if not await still_exists(replay):
                raise CreatedResourceGone()
            headers.idempotent_replayed = REPLAYED
            return replay
        try:
            result = await work()
            status = STATUS_CODES[operation_id][0]
            await service.complete(outcome, status=status, body=result.model_dump_json())
        except BaseException:
            await self._session.rollback()
            try:
                await service.release(outcome)
            except Exception:  # the key then frees itself after the lock timeout
                logger.warning("idempotency_key_not_released", exc_info=True)
            raise
        return result

    def _service(self) -> IdempotencyService:
        state = self._request.app.state
        settings: Settings = state.settings
        sources: IdempotencySources = state.idempotency
        return IdempotencyService(
            self._session,
            sources.own_sessions or state.sessionmaker,
            ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            lock_timeout=timedelta(seconds=settings.idempotency_lock_timeout_seconds),
            clock=sources.clock,
        )


@dataclass(slots=True)
class IdempotencySources:
    """What idempotency keys take from outside the request; ``app.state.idempotency``.

    Plain attributes rather than FastAPI dependencies: the articles and comments providers
    run on every read of their tags, and each dependency FastAPI solves there costs CPU on every
    list page, for the two create operations that use it. Tests replace them here.
    """

    clock: Callable[[], datetime] = utc_now
    """What time it is for idempotency keys; tests move it to let keys expire."""

    own_sessions: async_sessionmaker[AsyncSession] | None = None
    """Sessions outside the request's transaction, where claims commit on their own; None
    for the app's sessionmaker (``app.state.sessionmaker``)."""
