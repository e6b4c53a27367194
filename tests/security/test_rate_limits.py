"""Brute force and flooding (OWASP API4:2023, unrestricted resource consumption): login and
registration are limited per client address, writes per user; over the limit is 429 with
Retry-After and the RateLimit-* headers, and the refused request changes nothing.

In-process, on each backend, with in-memory counters; tests/security/test_rate_limits_redis.py
shows the same limits shared by two server processes through Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr, ValidationError

from conduit.api.rate_limits import quotas_by_operation
from conduit.core.settings import Settings
from conduit.domain.types import UserView
from generated.manifest import OPERATIONS, SECURITY
from tests.factories import DEFAULT_PASSWORD, Factory
from tests.integration.api import Account, assert_only_error, auth
from tests.security.conftest import Serve, Served, Snapshot

Snap = Callable[[], Awaitable[Snapshot]]
RATE_LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


def limited(make_settings: Callable[..., Settings], **overrides: Any) -> Settings:
    return make_settings(rate_limit_enabled=True, **overrides)


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    body = {"user": {"email": email, "password": password}}
    return await client.post("/api/users/login", json=body)


async def register(client: httpx.AsyncClient, username: str) -> httpx.Response:
    body = {
        "user": {"username": username, "email": f"{username}@example.com", "password": "pw12345678"}
    }
    return await client.post("/api/users", json=body)


async def create_article(client: httpx.AsyncClient, account: Account, title: str) -> httpx.Response:
    body = {"article": {"title": title, "description": "d", "body": "b"}}
    return await client.post("/api/articles", json=body, headers=account.headers)


def account_of(served: Served, user: UserView) -> Account:
    return served.account(user.id, user.username, user.email)


def assert_counted(
    response: httpx.Response, *, limit: int, remaining: int, window: int = 60
) -> None:
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == str(remaining)
    assert 0 <= int(response.headers["ratelimit-reset"]) <= window
    assert "retry-after" not in response.headers


def assert_too_many(response: httpx.Response, *, limit: int, window: int = 60) -> None:
    messages = assert_only_error(response, 429, "body")
    assert messages[0].startswith("too many requests")
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(response.headers["ratelimit-reset"]) <= window


def assert_not_counted(response: httpx.Response) -> None:
    assert not any(name in response.headers for name in RATE_LIMIT_HEADERS), response.headers


class TestLogin:
    async def test_the_attempt_over_the_limit_is_429_even_with_the_right_password(
        self,
        serve: Serve,
        make_settings: Callable[..., Settings],
        factory: Factory,
        snapshot: Snap,
    ) -> None:
        user = await factory.user(email="victim@example.com")
        async with serve(limited(make_settings, rate_limit_login="3/minute")) as served:
            for remaining in (2, 1, 0):
                response = await login(served.client, user.email, "wrong password")
                assert_only_error(response, 401, "credentials")
                assert_counted(response, limit=3, remaining=remaining)
            before = await snapshot()
            response = await login(served.client, user.email, DEFAULT_PASSWORD)
            assert_too_many(response, limit=3)
            assert "token" not in response.text
            assert await snapshot() == before

    async def test_each_client_address_has_its_own_budget(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        async with serve(limited(make_settings, rate_limit_login="1/minute")) as served:
            assert (await login(served.client, user.email, "wrong")).status_code == 401
            assert_too_many(await login(served.client, user.email, "wrong"), limit=1)
            async with served.client_from("203.0.113.9") as elsewhere:
                response = await login(elsewhere, user.email, DEFAULT_PASSWORD)
                assert response.status_code == 200, response.text

    async def test_one_ipv6_network_of_64_bits_shares_one_budget(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        async with serve(limited(make_settings, rate_limit_login="1/minute")) as served:
            async with served.client_from("2001:db8:0:1::1") as first:
                assert (await login(first, user.email, "wrong")).status_code == 401
            async with served.client_from("2001:db8:0:1:ffff::2") as same_network:
                assert_too_many(await login(same_network, user.email, "wrong"), limit=1)
            async with served.client_from("2001:db8:0:2::1") as other_network:
                assert (await login(other_network, user.email, "wrong")).status_code == 401

    async def test_with_several_limits_the_one_that_refuses_is_reported(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        settings = limited(make_settings, rate_limit_login="5/minute;2/hour")
        async with serve(settings) as served:
            for remaining in (1, 0):
                response = await login(served.client, user.email, "x")
                assert_counted(response, limit=2, remaining=remaining, window=3600)
            response = await login(served.client, user.email, "x")
            assert_too_many(response, limit=2, window=3600)
            assert int(response.headers["retry-after"]) > 60


class TestRegistration:
    async def test_the_registration_over_the_limit_is_429_and_creates_no_user(
        self, serve: Serve, make_settings: Callable[..., Settings], snapshot: Snap
    ) -> None:
        async with serve(limited(make_settings, rate_limit_register="2/minute")) as served:
            for n, remaining in ((1, 1), (2, 0)):
                response = await register(served.client, f"newcomer{n}")
                assert response.status_code == 201, response.text
                assert_counted(response, limit=2, remaining=remaining)
            before = await snapshot()
            assert_too_many(await register(served.client, "newcomer3"), limit=2)
            assert await snapshot() == before

    async def test_login_keeps_its_own_budget_when_registration_is_spent(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        async with serve(limited(make_settings, rate_limit_register="1/minute")) as served:
            assert (await register(served.client, "first")).status_code == 201
            assert_too_many(await register(served.client, "second"), limit=1)
            assert (await login(served.client, user.email, DEFAULT_PASSWORD)).status_code == 200


class TestWrites:
    async def test_a_user_over_the_limit_gets_429_and_writes_nothing(
        self,
        serve: Serve,
        make_settings: Callable[..., Settings],
        factory: Factory,
        snapshot: Snap,
    ) -> None:
        jake, jane = await factory.user(), await factory.user()
        async with serve(limited(make_settings, rate_limit_writes="2/minute")) as served:
            author = account_of(served, jake)
            for n, remaining in ((1, 1), (2, 0)):
                response = await create_article(served.client, author, f"Title {n}")
                assert response.status_code == 201, response.text
                assert_counted(response, limit=2, remaining=remaining)
            before = await snapshot()
            assert_too_many(await create_article(served.client, author, "Title 3"), limit=2)
            assert await snapshot() == before
            # Per user: another user from the same address still writes.
            other = account_of(served, jane)
            assert (await create_article(served.client, other, "Jane's")).status_code == 201

    async def test_reads_are_never_counted(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        async with serve(limited(make_settings, rate_limit_writes="1/minute")) as served:
            account = account_of(served, user)
            for path in ("/api/user", "/api/articles", "/api/articles/feed", "/api/tags") * 3:
                response = await served.client.get(path, headers=account.headers)
                assert response.status_code == 200, response.text
                assert_not_counted(response)
            assert (await create_article(served.client, account, "Still free")).status_code == 201

    async def test_every_kind_of_write_spends_the_same_budget(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        author, fan = await factory.user(), await factory.user()
        article = await factory.article(author.viewer)
        async with serve(limited(make_settings, rate_limit_writes="3/minute")) as served:
            account = account_of(served, fan)
            slug = article.slug
            responses = [
                await served.client.post(f"/api/articles/{slug}/favorite", headers=account.headers),
                await served.client.delete(
                    f"/api/articles/{slug}/favorite", headers=account.headers
                ),
                await served.client.post(
                    f"/api/profiles/{author.username}/follow", headers=account.headers
                ),
            ]
            assert [r.status_code for r in responses] == [200, 200, 200]
            response = await served.client.put(
                "/api/user", json={"user": {"bio": "new"}}, headers=account.headers
            )
            assert_too_many(response, limit=3)

    async def test_the_budget_is_the_users_not_the_tokens(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        async with serve(limited(make_settings, rate_limit_writes="1/minute")) as served:
            first, second = account_of(served, user), account_of(served, user)
            assert first.token != second.token
            assert (await create_article(served.client, first, "One")).status_code == 201
            assert_too_many(await create_article(served.client, second, "Two"), limit=1)

    async def test_a_forged_token_cannot_spend_another_users_budget(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        victim = await factory.user()
        async with serve(limited(make_settings, rate_limit_writes="1/minute")) as served:
            forged = forged_token(served, victim.id)
            body = {"article": {"title": "Forged", "description": "d", "body": "b"}}
            response = await served.client.post("/api/articles", json=body, headers=auth(forged))
            assert_only_error(response, 401, "token")
            # The forgery was counted against its sender's address, not against the victim...
            account = account_of(served, victim)
            assert (await create_article(served.client, account, "Mine")).status_code == 201
            # ...and anonymous writes from that address are now over their budget.
            response = await served.client.post("/api/articles", json=body)
            assert_too_many(response, limit=1)


def forged_token(served: Served, user_id: int) -> str:
    """A well-formed token for ``user_id``, signed with a key the server does not have."""
    settings: Settings = served.app.state.settings
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(hours=1),
        "jti": "forged",
    }
    return jwt.encode(claims, "an-attacker-secret-of-at-least-32-characters", algorithm="HS256")


class TestConfiguration:
    async def test_limits_can_be_turned_off(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        settings = make_settings(rate_limit_enabled=False, rate_limit_login="1/minute")
        async with serve(settings) as served:
            for _ in range(5):
                response = await login(served.client, user.email, "wrong")
                assert response.status_code == 401
                assert_not_counted(response)

    async def test_an_unreachable_redis_fails_open_and_is_not_ready(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user()
        settings = limited(
            make_settings,
            rate_limit_login="1/minute",
            redis_url=SecretStr("redis://127.0.0.1:1/0"),
            redis_timeout_seconds=0.5,
        )
        async with serve(settings) as served:
            for _ in range(3):
                response = await login(served.client, user.email, "wrong")
                assert response.status_code == 401
                assert_not_counted(response)
            response = await served.client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["redis"] == "unreachable"

    def test_malformed_limits_refuse_to_start(self) -> None:
        for value in ("ten per minute", "", "5/fortnight", "0/minute"):
            with pytest.raises(ValidationError):
                Settings(rate_limit_login=value)

    def test_only_redis_urls_are_taken(self) -> None:
        with pytest.raises(ValidationError):
            Settings(redis_url=SecretStr("http://127.0.0.1:6379"))
        assert Settings(redis_url=SecretStr("rediss://cache:6380/2")).redis_url is not None


def test_login_and_registration_count_per_address_and_every_authenticated_write_per_user() -> None:
    quotas = quotas_by_operation(Settings())
    assert (quotas["Login"].quota.name, quotas["Login"].per) == ("login", "client")
    assert (quotas["CreateUser"].quota.name, quotas["CreateUser"].per) == ("register", "client")
    writes = {op for op, limited in quotas.items() if limited.quota.name == "writes"}
    assert writes == {
        op
        for op, operation in OPERATIONS.items()
        if operation.method != "GET" and SECURITY[op] != "public"
    }
    assert writes >= {
        "UpdateCurrentUser",
        "FollowUserByUsername",
        "UnfollowUserByUsername",
        "CreateArticle",
        "UpdateArticle",
        "DeleteArticle",
        "CreateArticleComment",
        "DeleteArticleComment",
        "CreateArticleFavorite",
        "DeleteArticleFavorite",
    }
    assert all(quota.per == "user" for op, quota in quotas.items() if op in writes)
    assert not any(OPERATIONS[op].method == "GET" for op in quotas)
