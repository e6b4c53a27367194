"""Public profiles and following.

Following yourself is refused with Forbidden(field="username"): the request is
well-formed (so not 422) but not allowed. Unfollowing yourself is a no-op, since
the requested state ("not following") already holds.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import User
from conduit.domain.errors import Forbidden, NotFound
from conduit.domain.types import ProfileView, Viewer
from conduit.repositories.follows import FollowRepository
from conduit.repositories.users import UserRepository


def to_profile_view(user: User, *, following: bool) -> ProfileView:
    return ProfileView(username=user.username, bio=user.bio, image=user.image, following=following)


class ProfileService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)
        self.follows = FollowRepository(session)

    async def get(self, username: str, viewer: Viewer | None) -> ProfileView:
        """A profile with `following` from the viewer's point of view."""
        profile = await self.users.get_profile(username, None if viewer is None else viewer.id)
        if profile is None:
            raise NotFound(field="profile")
        return profile

    async def follow(self, username: str, viewer: Viewer) -> ProfileView:
        """Follow a user; idempotent."""
        user = await self._load(username)
        if user.id == viewer.id:
            raise Forbidden("cannot follow yourself", field="username")
        await self.follows.follow(viewer.id, user.id)
        return to_profile_view(user, following=True)

    async def unfollow(self, username: str, viewer: Viewer) -> ProfileView:
        """Stop following a user; idempotent."""
        user = await self._load(username)
        await self.follows.unfollow(viewer.id, user.id)
        return to_profile_view(user, following=False)

    async def _load(self, username: str) -> User:
        user = await self.users.get_by_username(username)
        if user is None:
            raise NotFound(field="profile")
        return user
