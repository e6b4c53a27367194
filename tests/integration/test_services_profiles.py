from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.domain.errors import Forbidden, NotFound
from conduit.services.profiles import ProfileService
from tests.factories import Factory


@pytest.fixture
def profiles(session: AsyncSession) -> ProfileService:
    return ProfileService(session)


class TestGetProfile:
    async def test_anonymous_viewer_is_not_following(
        self, profiles: ProfileService, factory: Factory
    ) -> None:
        await factory.user("jake", bio="bio", image="img")
        profile = await profiles.get("jake", None)
        assert (profile.username, profile.bio, profile.image, profile.following) == (
            "jake",
            "bio",
            "img",
            False,
        )

    async def test_unknown_username_is_404(self, profiles: ProfileService) -> None:
        with pytest.raises(NotFound):
            await profiles.get("ghost", None)

    async def test_username_is_case_sensitive(
        self, profiles: ProfileService, factory: Factory
    ) -> None:
        await factory.user("jake")
        with pytest.raises(NotFound):
            await profiles.get("Jake", None)


class TestFollow:
    async def test_follow_then_profile_shows_following(
        self, profiles: ProfileService, factory: Factory
    ) -> None:
        jake, me = await factory.viewer("jake"), await factory.viewer("me")
        assert (await profiles.follow("jake", me)).following is True
        assert (await profiles.get("jake", me)).following is True
        assert (await profiles.get("me", jake)).following is False

    async def test_follow_twice_is_idempotent(
        self, profiles: ProfileService, factory: Factory
    ) -> None:
        await factory.user("jake")
        me = await factory.viewer("me")
        await profiles.follow("jake", me)
        assert (await profiles.follow("jake", me)).following is True

    async def test_unfollow_is_idempotent(self, profiles: ProfileService, factory: Factory) -> None:
        await factory.user("jake")
        me = await factory.viewer("me")
        await profiles.follow("jake", me)
        assert (await profiles.unfollow("jake", me)).following is False
        assert (await profiles.unfollow("jake", me)).following is False
        assert (await profiles.get("jake", me)).following is False

    async def test_following_yourself_is_forbidden(
        self, profiles: ProfileService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        with pytest.raises(Forbidden) as caught:
            await profiles.follow("me", me)
        assert caught.value.field == "username"

    async def test_unfollowing_yourself_is_a_no_op(
        self, profiles: ProfileService, factory: Factory
    ) -> None:
        me = await factory.viewer("me")
        assert (await profiles.unfollow("me", me)).following is False

    async def test_unknown_user_is_404(self, profiles: ProfileService, factory: Factory) -> None:
        me = await factory.viewer("me")
        with pytest.raises(NotFound):
            await profiles.follow("ghost", me)
