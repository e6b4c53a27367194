"""Follow edges between users. Writes are idempotent (ON CONFLICT DO NOTHING)."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Follow
from conduit.db.types import utc_now
from conduit.repositories._sql import upsert_insert


class FollowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def is_following(self, follower_id: int, followee_id: int) -> bool:
        """Whether `follower_id` follows `followee_id`."""
        query = select(
            exists().where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
        )
        return bool(await self.session.scalar(query))

    async def follow(self, follower_id: int, followee_id: int) -> None:
        """Add the edge unless it already exists (race-safe)."""
        stmt = (
            upsert_insert(self.session, Follow)
            .values(follower_id=follower_id, followee_id=followee_id, created_at=utc_now())
            .on_conflict_do_nothing()
        )
        await self.session.execute(stmt)

    async def unfollow(self, follower_id: int, followee_id: int) -> None:
        """Remove the edge if present."""
        await self.session.execute(
            delete(Follow).where(
                Follow.follower_id == follower_id, Follow.followee_id == followee_id
            )
        )
