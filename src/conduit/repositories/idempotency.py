"""Idempotency keys: claims, the responses they remember, and their expiry.

Every write that acts on a claim names its ``token``: a holder whose claim was taken over (it
stalled past the lock timeout) matches nothing and learns it lost the key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import IdempotencyKey
from conduit.domain.idempotency import Claim
from conduit.repositories._sql import upsert_insert

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


class IdempotencyKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def purge(self, *, created_until: datetime, limit: int) -> None:
        """Delete up to `limit` keys first used at or before `created_until`, oldest first."""
        expired = (
            select(IdempotencyKey.id)
            .where(IdempotencyKey.created_at <= created_until)
            .order_by(IdempotencyKey.created_at)
            .limit(limit)
        )
        await self.session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.id.in_(expired.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )

    async def insert(
        self, *, user_id: int, key: str, fingerprint: str, token: str, now: datetime
    ) -> Claim | None:
        """Claim a key nobody holds; None if the user already has it."""
        stmt = (
            upsert_insert(self.session, IdempotencyKey)
            .values(
                user_id=user_id,
                key=key,
                fingerprint=fingerprint,
                state=IN_PROGRESS,
                token=token,
                created_at=now,
                locked_at=now,
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.id)
        )
        claim_id = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if claim_id is None else Claim(claim_id, token)

    async def get(self, user_id: int, key: str) -> IdempotencyKey | None:
        """The user's key as it is now."""
        return await self.session.scalar(
            select(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )

    async def take_over(
        self, held: IdempotencyKey, *, token: str, now: datetime, fingerprint: str | None = None
    ) -> Claim | None:
        """Claim a key whose holder stalled; with `fingerprint`, restart an expired key as new.

        None if someone else changed the key since it was read.
        """
        values: dict[str, object] = {"token": token, "locked_at": now}
        if fingerprint is not None:
            values |= {
                "fingerprint": fingerprint,
                "state": IN_PROGRESS,
                "created_at": now,
                "response_status": None,
                "response_body": None,
            }
        stmt = (
            update(IdempotencyKey)
            .where(IdempotencyKey.id == held.id, IdempotencyKey.token == held.token)
            .values(values)
            .returning(IdempotencyKey.id)
            .execution_options(synchronize_session=False)
        )
        taken = (await self.session.execute(stmt)).first() is not None
        return Claim(held.id, token) if taken else None

    async def complete(self, claim: Claim, *, status: int, body: str) -> bool:
        """Record the response of the claimed request; False if the claim was taken over."""
        stmt = (
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == claim.id,
                IdempotencyKey.token == claim.token,
                IdempotencyKey.state == IN_PROGRESS,
            )
            .values(state=COMPLETED, response_status=status, response_body=body)
            .returning(IdempotencyKey.id)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def release(self, claim: Claim) -> None:
        """Forget a claim whose request failed, unless it was taken over meanwhile."""
        await self.session.execute(
            delete(IdempotencyKey)
            .where(
                IdempotencyKey.id == claim.id,
                IdempotencyKey.token == claim.token,
                IdempotencyKey.state == IN_PROGRESS,
            )
            .execution_options(synchronize_session=False)
        )
