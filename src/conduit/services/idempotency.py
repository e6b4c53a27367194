"""Idempotency keys of create requests, shared by every server process through the database.

A key is claimed in a short transaction of its own, committed before the request runs, so a
retry arriving meanwhile (in any process) finds it in progress. The response is stored in the
request's own transaction, with the work: both are committed, or neither. A request that fails
releases its key; one whose process died leaves it in progress, and after ``lock_timeout`` a
retry may take it over (the fencing token then stops the old holder from completing it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.db.types import utc_now
from conduit.domain.errors import RequestInProgress, ValidationFailed
from conduit.domain.idempotency import Claim, StoredResponse
from conduit.repositories.idempotency import COMPLETED, IdempotencyKeyRepository

# Expired keys deleted per claim: bounded work on the request path, and it keeps up with any
# rate of new keys.
PURGE_BATCH = 100
# A key that changes between reading and claiming it (released, purged, taken over) is read
# again; more changes than this in a row mean someone else is using it now.
MAX_CLAIM_ATTEMPTS = 3

Clock = Callable[[], datetime]


class IdempotencyService:
    def __init__(
        self,
        session: AsyncSession,
        own_sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: timedelta,
        lock_timeout: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._session = session  # the request's: completion joins the work's transaction
        self._own_sessions = own_sessions  # claims and releases commit on their own
        self._ttl = ttl
        self._lock_timeout = lock_timeout
        self._clock = clock

    async def claim(self, *, user_id: int, key: str, fingerprint: str) -> Claim | StoredResponse:
        """Claim `key` for a new request, or the response of the earlier identical request.

        ValidationFailed (422) if the key was used with another request; RequestInProgress (409)
        while the request that holds it is still running.
        """
        for _ in range(MAX_CLAIM_ATTEMPTS):
            # Services never commit the request's transaction; this one is not the request's.
            async with self._own_sessions.begin() as session:
                outcome = await self._try_claim(
                    IdempotencyKeyRepository(session), user_id, key, fingerprint
                )
            if outcome is not None:
                return outcome
        raise RequestInProgress()

    async def complete(self, claim: Claim, *, status: int, body: str) -> None:
        """Store the response, in the request's transaction; RequestInProgress if a retry took
        the key over meanwhile (the work is then rolled back, and the retry's stands)."""
        if not await IdempotencyKeyRepository(self._session).complete(
            claim, status=status, body=body
        ):
            raise RequestInProgress("was taken over by a retry; retry again to get its response")

    async def release(self, claim: Claim) -> None:
        """Forget the claim of a request that failed (and was rolled back), so a retry runs."""
        async with self._own_sessions.begin() as session:
            await IdempotencyKeyRepository(session).release(claim)

    async def _try_claim(
        self, keys: IdempotencyKeyRepository, user_id: int, key: str, fingerprint: str
    ) -> Claim | StoredResponse | None:
        now = self._clock()
        expired_until = now - self._ttl
        await keys.purge(created_until=expired_until, limit=PURGE_BATCH)
        token = secrets.token_hex(16)
        claim = await keys.insert(
            user_id=user_id, key=key, fingerprint=fingerprint, token=token, now=now
        )
        if claim is not None:
            return claim
        held = await keys.get(user_id, key)
        if held is None:  # released or purged since the insert found it
            return None
        if held.created_at <= expired_until:  # expired, not purged yet: a new key
            return await keys.take_over(held, token=token, now=now, fingerprint=fingerprint)
        if held.fingerprint != fingerprint:
            raise ValidationFailed("was already used with another request", field="Idempotency-Key")
        if held.state == COMPLETED and held.response_status is not None:
            return StoredResponse(held.response_status, held.response_body or "")
        if held.locked_at > now - self._lock_timeout:
            raise RequestInProgress()
        # Its holder has not finished within the lock timeout: its process presumably died.
        return await keys.take_over(held, token=token, now=now)
