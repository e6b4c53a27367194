"""Profiles tag: public profiles and following."""

from __future__ import annotations

from fastapi import Request

from conduit.api.deps import get_session, viewer_of
from conduit.domain.errors import Unauthenticated
from conduit.domain.types import ProfileView, Viewer
from conduit.services.profiles import ProfileService
from generated import models
from generated.interfaces import ProfilesApi


def to_profile_out(profile: ProfileView) -> models.Profile:
    """Shared by every resource that embeds an author."""
    return models.Profile(
        username=profile.username,
        bio=profile.bio,
        image=profile.image,
        following=profile.following,
    )


def required(viewer: Viewer | None) -> Viewer:
    """Narrow an optional viewer on an operation whose route already demands a token."""
    if viewer is None:
        raise Unauthenticated("is missing or invalid", field="token")
    return viewer


class Profiles(ProfilesApi):
    def __init__(self, service: ProfileService, viewer: Viewer | None) -> None:
        self._service = service
        self._viewer = viewer

    async def get_profile_by_username(self, *, username: str) -> models.ProfileResponse:
        profile = await self._service.get(username, self._viewer)
        return models.ProfileResponse(profile=to_profile_out(profile))

    async def follow_user_by_username(self, *, username: str) -> models.ProfileResponse:
        profile = await self._service.follow(username, required(self._viewer))
        return models.ProfileResponse(profile=to_profile_out(profile))

    async def unfollow_user_by_username(self, *, username: str) -> models.ProfileResponse:
        profile = await self._service.unfollow(username, required(self._viewer))
        return models.ProfileResponse(profile=to_profile_out(profile))


async def provide(request: Request) -> Profiles:
    return Profiles(ProfileService(await get_session(request)), viewer_of(request))
