"""Profiles over HTTP: reading a profile, following and unfollowing."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.api import PROFILE_FIELDS, Api, assert_error, auth, db_snapshot


class TestGetProfile:
    async def test_anonymous_sees_the_profile_not_followed(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        await client.put(
            "/api/user",
            json={"user": {"bio": "I work at statefarm", "image": "https://example.com/j.png"}},
            headers=jake.headers,
        )
        response = await client.get("/api/profiles/jake")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"profile"}
        assert body["profile"] == {
            "username": "jake",
            "bio": "I work at statefarm",
            "image": "https://example.com/j.png",
            "following": False,
        }

    async def test_a_follower_sees_following_true(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        await api.register("jake")
        fan = await api.register("fan")
        await api.follow(fan, "jake")
        response = await client.get("/api/profiles/jake", headers=fan.headers)
        assert response.json()["profile"]["following"] is True

    async def test_someone_else_sees_following_false(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        await api.register("jake")
        await api.follow(await api.register("fan"), "jake")
        stranger = await api.register("stranger")
        response = await client.get("/api/profiles/jake", headers=stranger.headers)
        assert response.json()["profile"]["following"] is False

    async def test_username_is_case_sensitive(self, api: Api, client: httpx.AsyncClient) -> None:
        await api.register("jake")
        assert_error(await client.get("/api/profiles/Jake"), 404, "profile")

    async def test_unknown_username_is_404_on_profile(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/profiles/nobody")
        assert assert_error(response, 404, "profile") == ["not found"]

    async def test_an_invalid_token_is_401_even_though_auth_is_optional(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        await api.register("jake")
        response = await client.get("/api/profiles/jake", headers=auth("not-a-jwt"))
        assert_error(response, 401, "token")


class TestFollowUser:
    async def test_answers_the_profile_with_following_true(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        await api.register("jake")
        fan = await api.register("fan")
        response = await client.post("/api/profiles/jake/follow", headers=fan.headers)
        assert response.status_code == 200
        profile = response.json()["profile"]
        assert set(profile) == PROFILE_FIELDS
        assert (profile["username"], profile["following"]) == ("jake", True)

    async def test_following_twice_is_harmless(self, api: Api, client: httpx.AsyncClient) -> None:
        await api.register("jake")
        fan = await api.register("fan")
        await api.follow(fan, "jake")
        response = await client.post("/api/profiles/jake/follow", headers=fan.headers)
        assert response.status_code == 200
        assert response.json()["profile"]["following"] is True

    async def test_following_yourself_is_403_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        before = await db_snapshot(session_factory)
        response = await client.post("/api/profiles/jake/follow", headers=jake.headers)
        assert_error(response, 403, "username")
        assert await db_snapshot(session_factory) == before

    async def test_unknown_username_is_404(self, api: Api, client: httpx.AsyncClient) -> None:
        fan = await api.register("fan")
        response = await client.post("/api/profiles/nobody/follow", headers=fan.headers)
        assert_error(response, 404, "profile")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        await api.register("jake")
        assert_error(await client.post("/api/profiles/jake/follow"), 401, "token")


class TestUnfollowUser:
    async def test_answers_the_profile_with_following_false(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        await api.register("jake")
        fan = await api.register("fan")
        await api.follow(fan, "jake")
        response = await client.delete("/api/profiles/jake/follow", headers=fan.headers)
        assert response.status_code == 200
        profile = response.json()["profile"]
        assert set(profile) == PROFILE_FIELDS
        assert (profile["username"], profile["following"]) == ("jake", False)
        again = await client.get("/api/profiles/jake", headers=fan.headers)
        assert again.json()["profile"]["following"] is False

    async def test_unfollowing_someone_not_followed_is_harmless(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        await api.register("jake")
        fan = await api.register("fan")
        response = await client.delete("/api/profiles/jake/follow", headers=fan.headers)
        assert response.status_code == 200
        assert response.json()["profile"]["following"] is False

    async def test_unknown_username_is_404(self, api: Api, client: httpx.AsyncClient) -> None:
        fan = await api.register("fan")
        response = await client.delete("/api/profiles/nobody/follow", headers=fan.headers)
        assert_error(response, 404, "profile")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        await api.register("jake")
        assert_error(await client.delete("/api/profiles/jake/follow"), 401, "token")
