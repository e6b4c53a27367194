"""Users over HTTP: registration, login, the current user, authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.core.security import TokenCodec
from conduit.db.models import User
from tests.integration.api import (
    PASSWORD,
    USER_FIELDS,
    Account,
    Api,
    assert_error,
    auth,
    db_snapshot,
)


async def current_user(
    client: httpx.AsyncClient, token: str, scheme: str = "Token"
) -> httpx.Response:
    return await client.get("/api/user", headers=auth(token, scheme))


async def update_user(
    client: httpx.AsyncClient, account: Account, **fields: object
) -> httpx.Response:
    return await client.put("/api/user", json={"user": fields}, headers=account.headers)


class TestCreateUser:
    async def test_answers_201_with_the_user_envelope_and_a_token(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/users",
            json={"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}},
        )
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"user"}
        assert set(body["user"]) == USER_FIELDS
        user = body["user"]
        assert (user["username"], user["email"], user["bio"], user["image"]) == (
            "jake",
            "jake@jake.jake",
            None,
            None,
        )
        assert (await current_user(client, user["token"])).status_code == 200

    async def test_email_is_stored_lower_cased(self, api: Api) -> None:
        account = await api.register("jake", email="Jake@Example.COM")
        assert account.email == "jake@example.com"

    async def test_taken_username_is_409_on_username_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        await api.register("jake")
        before = await db_snapshot(session_factory)
        response = await client.post(
            "/api/users",
            json={"user": {"username": "jake", "email": "new@example.com", "password": PASSWORD}},
        )
        assert assert_error(response, 409, "username") == ["has already been taken"]
        assert await db_snapshot(session_factory) == before

    async def test_taken_email_in_another_case_is_409_on_email(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        await api.register("jake", email="jake@example.com")
        before = await db_snapshot(session_factory)
        response = await client.post(
            "/api/users",
            json={"user": {"username": "other", "email": "JAKE@Example.com", "password": PASSWORD}},
        )
        assert assert_error(response, 409, "email") == ["has already been taken"]
        assert await db_snapshot(session_factory) == before

    async def test_a_stale_token_sent_along_does_not_block_registration(
        self, client: httpx.AsyncClient
    ) -> None:
        # RealWorld front ends send the stored token on every request, even to public ones.
        response = await client.post(
            "/api/users",
            json={"user": {"username": "jake", "email": "jake@jake.jake", "password": PASSWORD}},
            headers=auth("stale.or.garbage"),
        )
        assert response.status_code == 201, response.text


class TestLogin:
    async def test_answers_200_with_the_user_and_a_working_token(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        account = await api.register("jake")
        response = await api.login(account.email, account.password)
        assert response.status_code == 200
        user = response.json()["user"]
        assert set(user) == USER_FIELDS
        assert (user["username"], user["email"]) == ("jake", account.email)
        assert (await current_user(client, user["token"])).json()["user"]["username"] == "jake"

    async def test_email_matches_in_any_case(self, api: Api) -> None:
        account = await api.register("jake", email="jake@example.com")
        response = await api.login("JAKE@example.COM", account.password)
        assert response.status_code == 200

    async def test_unknown_email_and_wrong_password_get_the_same_401(self, api: Api) -> None:
        account = await api.register("jake")
        wrong_password = await api.login(account.email, "not the password")
        unknown_email = await api.login("nobody@example.com", account.password)
        assert assert_error(wrong_password, 401, "credentials") == ["email or password is invalid"]
        assert unknown_email.status_code == wrong_password.status_code
        assert unknown_email.json() == wrong_password.json()

    async def test_a_stale_token_sent_along_does_not_block_login(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        account = await api.register("jake")
        response = await client.post(
            "/api/users/login",
            json={"user": {"email": account.email, "password": account.password}},
            headers=auth("expired.or.garbage"),
        )
        assert response.status_code == 200, response.text


class TestGetCurrentUser:
    async def test_returns_the_user_with_a_fresh_token(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        account = await api.register("jake")
        response = await current_user(client, account.token)
        assert response.status_code == 200
        user = response.json()["user"]
        assert set(user) == USER_FIELDS
        assert (user["username"], user["email"], user["bio"], user["image"]) == (
            "jake",
            account.email,
            None,
            None,
        )
        assert (await current_user(client, user["token"])).status_code == 200

    @pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "bearer"])
    async def test_accepts_token_and_bearer_schemes(
        self, api: Api, client: httpx.AsyncClient, scheme: str
    ) -> None:
        account = await api.register("jake")
        response = await current_user(client, account.token, scheme)
        assert response.status_code == 200

    async def test_missing_token_is_401_on_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/user")
        assert assert_error(response, 401, "token") == ["is missing or invalid"]
        assert response.headers["www-authenticate"] == "Token"

    @pytest.mark.parametrize(
        "header",
        ["", "Token", "Token ", "Basic dXNlcjpwYXNz", "Token a b", "JWT abc", "garbage"],
    )
    async def test_malformed_header_is_401(
        self, api: Api, client: httpx.AsyncClient, header: str
    ) -> None:
        await api.register("jake")
        response = await client.get("/api/user", headers={"Authorization": header})
        assert_error(response, 401, "token")

    async def test_token_signed_with_another_secret_is_401(
        self, api: Api, client: httpx.AsyncClient, tokens: TokenCodec
    ) -> None:
        account = await api.register("jake")
        claims = jwt.decode(account.token, options={"verify_signature": False})
        forged = jwt.encode(claims, "another-secret-that-is-long-enough-32", algorithm="HS256")
        assert_error(await current_user(client, forged), 401, "token")

    async def test_unsigned_token_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        account = await api.register("jake")
        claims = jwt.decode(account.token, options={"verify_signature": False})
        unsigned = jwt.encode(claims, key=None, algorithm="none")
        assert_error(await current_user(client, unsigned), 401, "token")

    async def test_expired_token_is_401(
        self, api: Api, client: httpx.AsyncClient, tokens: TokenCodec
    ) -> None:
        account = await api.register("jake")
        user_id = int(jwt.decode(account.token, options={"verify_signature": False})["sub"])
        expired = tokens.issue(user_id, now=datetime.now(UTC) - timedelta(days=30))
        assert_error(await current_user(client, expired), 401, "token")

    async def test_token_of_a_deleted_account_is_401(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        account = await api.register("jake")
        async with session_factory() as session:
            await session.execute(delete(User).where(User.username == "jake"))
            await session.commit()
        assert_error(await current_user(client, account.token), 401, "token")


class TestUpdateCurrentUser:
    async def test_changes_only_the_fields_sent(self, api: Api, client: httpx.AsyncClient) -> None:
        account = await api.register("jake")
        response = await update_user(client, account, bio="I work at statefarm")
        assert response.status_code == 200
        user = response.json()["user"]
        assert set(user) == USER_FIELDS
        assert (user["username"], user["email"], user["bio"], user["image"]) == (
            "jake",
            account.email,
            "I work at statefarm",
            None,
        )
        again = (await current_user(client, account.token)).json()["user"]
        assert again["bio"] == "I work at statefarm"

    async def test_empty_user_object_changes_nothing(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        account = await api.register("jake")
        await update_user(client, account, bio="bio", image="https://example.com/a.png")
        response = await update_user(client, account)
        assert response.status_code == 200
        user = response.json()["user"]
        assert (user["bio"], user["image"]) == ("bio", "https://example.com/a.png")

    async def test_username_and_email_change_and_the_old_token_still_works(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        account = await api.register("jake")
        response = await update_user(client, account, username="jacob", email="Jacob@Example.com")
        assert response.status_code == 200
        user = response.json()["user"]
        assert (user["username"], user["email"]) == ("jacob", "jacob@example.com")
        assert (await current_user(client, account.token)).json()["user"]["username"] == "jacob"
        assert (await client.get("/api/profiles/jacob")).status_code == 200
        assert (await client.get("/api/profiles/jake")).status_code == 404
        assert (await api.login("jacob@example.com", account.password)).status_code == 200

    async def test_null_bio_and_image_clear_them(self, api: Api, client: httpx.AsyncClient) -> None:
        account = await api.register("jake")
        await update_user(client, account, bio="bio", image="https://example.com/a.png")
        response = await update_user(client, account, bio=None, image=None)
        assert response.status_code == 200
        user = response.json()["user"]
        assert (user["bio"], user["image"]) == (None, None)
        profile = (await client.get("/api/profiles/jake")).json()["profile"]
        assert (profile["bio"], profile["image"]) == (None, None)

    async def test_empty_image_clears_it(self, api: Api, client: httpx.AsyncClient) -> None:
        account = await api.register("jake")
        await update_user(client, account, image="https://example.com/a.png")
        response = await update_user(client, account, image="")
        assert response.status_code == 200
        assert response.json()["user"]["image"] is None

    async def test_new_password_replaces_the_old_one(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        account = await api.register("jake")
        response = await update_user(client, account, password="a brand new password")
        assert response.status_code == 200
        assert set(response.json()["user"]) == USER_FIELDS
        assert_error(await api.login(account.email, account.password), 401, "credentials")
        assert (await api.login(account.email, "a brand new password")).status_code == 200
        async with session_factory() as session:
            stored = await session.get(User, _user_id(account))
            assert stored is not None
            assert stored.password_hash.startswith("$argon2id$")
            assert "a brand new password" not in stored.password_hash

    async def test_taken_username_is_409_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        await api.register("taken")
        account = await api.register("jake")
        before = await db_snapshot(session_factory)
        response = await update_user(client, account, username="taken", bio="changed")
        assert assert_error(response, 409, "username") == ["has already been taken"]
        assert await db_snapshot(session_factory) == before

    async def test_taken_email_in_another_case_is_409_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        await api.register("other", email="taken@example.com")
        account = await api.register("jake")
        before = await db_snapshot(session_factory)
        response = await update_user(client, account, email="TAKEN@example.com", bio="changed")
        assert assert_error(response, 409, "email") == ["has already been taken"]
        assert await db_snapshot(session_factory) == before

    async def test_own_email_in_another_case_is_not_a_conflict(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        account = await api.register("jake", email="jake@example.com")
        response = await update_user(client, account, email="JAKE@example.com", username="jake")
        assert response.status_code == 200
        assert response.json()["user"]["email"] == "jake@example.com"

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/api/user", json={"user": {"bio": "x"}})
        assert_error(response, 401, "token")


def _user_id(account: Account) -> int:
    return int(jwt.decode(account.token, options={"verify_signature": False})["sub"])
