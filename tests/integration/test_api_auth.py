"""Authentication on every operation: what each one does with a missing, malformed, forged or
expired token, as its contract's `security` says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.core.security import TokenCodec
from generated.manifest import OPERATION_IDS
from tests.factories import Factory
from tests.integration.api import Json, assert_error, auth, db_snapshot


@dataclass(frozen=True, slots=True)
class World:
    user_id: int
    slug: str
    comment_id: int


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    body: Json | None = None


REQUIRED = {
    "GetCurrentUser": Operation("GET", "/api/user"),
    "UpdateCurrentUser": Operation("PUT", "/api/user", {"user": {"bio": "x"}}),
    "FollowUserByUsername": Operation("POST", "/api/profiles/other/follow"),
    "UnfollowUserByUsername": Operation("DELETE", "/api/profiles/other/follow"),
    "GetArticlesFeed": Operation("GET", "/api/articles/feed"),
    "CreateArticle": Operation(
        "POST", "/api/articles", {"article": {"title": "t", "description": "d", "body": "b"}}
    ),
    "UpdateArticle": Operation("PUT", "/api/articles/{slug}", {"article": {"body": "x"}}),
    "DeleteArticle": Operation("DELETE", "/api/articles/{slug}"),
    "CreateArticleComment": Operation(
        "POST", "/api/articles/{slug}/comments", {"comment": {"body": "x"}}
    ),
    "DeleteArticleComment": Operation("DELETE", "/api/articles/{slug}/comments/{comment_id}"),
    "CreateArticleFavorite": Operation("POST", "/api/articles/{slug}/favorite"),
    "DeleteArticleFavorite": Operation("DELETE", "/api/articles/{slug}/favorite"),
    "Logout": Operation("POST", "/api/user/logout"),
    "ListUsers": Operation("GET", "/api/admin/users"),
    "SetUserRole": Operation("PUT", "/api/admin/users/other/role", {"user": {"role": "moderator"}}),
    "BanUser": Operation("POST", "/api/admin/users/other/ban"),
    "UnbanUser": Operation("DELETE", "/api/admin/users/other/ban"),
}
OPTIONAL = {
    "GetProfileByUsername": Operation("GET", "/api/profiles/other"),
    "GetArticles": Operation("GET", "/api/articles"),
    "GetArticle": Operation("GET", "/api/articles/{slug}"),
    "GetArticleComments": Operation("GET", "/api/articles/{slug}/comments"),
}
PUBLIC = {
    "Login": Operation(
        "POST", "/api/users/login", {"user": {"email": "jake@example.com", "password": "wrong"}}
    ),
    "CreateUser": Operation(
        "POST",
        "/api/users",
        {"user": {"username": "newbie", "email": "newbie@example.com", "password": "password1"}},
    ),
    "GetTags": Operation("GET", "/api/tags"),
}
SUCCESS = {"Login": 401, "CreateUser": 201, "GetTags": 200}

BadToken = Callable[[World, TokenCodec], str]


def forged(world: World, tokens: TokenCodec) -> str:
    claims = jwt.decode(tokens.issue(world.user_id), options={"verify_signature": False})
    return "Token " + jwt.encode(claims, "someone-elses-secret-of-32-characters", "HS256")


def expired(world: World, tokens: TokenCodec) -> str:
    return "Token " + tokens.issue(world.user_id, now=datetime.now(UTC) - timedelta(days=365))


def unknown_user(world: World, tokens: TokenCodec) -> str:
    return "Token " + tokens.issue(2_000_000_000)


BAD_TOKENS: dict[str, BadToken] = {
    "garbage": lambda world, tokens: "Token garbage",
    "empty": lambda world, tokens: "Token ",
    "no-scheme": lambda world, tokens: tokens.issue(world.user_id),
    "basic": lambda world, tokens: "Basic amFrZTpqYWtl",
    "forged": forged,
    "expired": expired,
    "unknown-user": unknown_user,
}


@pytest.fixture
async def world(factory: Factory) -> World:
    jake = await factory.user("jake", email="jake@example.com")
    await factory.user("other")
    article = await factory.article(jake.viewer)
    comment = await factory.comment(jake.viewer, article.slug)
    return World(jake.id, article.slug, comment.id)


@pytest.fixture(autouse=True)
async def unchanged(
    world: World, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    before = await db_snapshot(session_factory)
    yield
    assert await db_snapshot(session_factory) == before


async def call(
    client: httpx.AsyncClient, world: World, operation: Operation, authorization: str | None
) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.request(
        operation.method,
        operation.path.format(slug=world.slug, comment_id=world.comment_id),
        json=operation.body,
        headers=headers,
    )


def good_token(world: World, tokens: TokenCodec) -> str:
    return tokens.issue(world.user_id)


class TestRequiredToken:
    @pytest.mark.parametrize("name", REQUIRED)
    async def test_missing_token_is_401(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        response = await call(client, world, REQUIRED[name], None)
        assert assert_error(response, 401, "token") == ["is missing or invalid"]
        assert response.headers["www-authenticate"] == "Token"

    @pytest.mark.parametrize("bad", BAD_TOKENS)
    @pytest.mark.parametrize("name", REQUIRED)
    async def test_bad_token_is_401(
        self,
        client: httpx.AsyncClient,
        world: World,
        tokens: TokenCodec,
        name: str,
        bad: str,
    ) -> None:
        response = await call(client, world, REQUIRED[name], BAD_TOKENS[bad](world, tokens))
        assert_error(response, 401, "token")


class TestOptionalToken:
    @pytest.mark.parametrize("name", OPTIONAL)
    async def test_anonymous_is_200(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        assert (await call(client, world, OPTIONAL[name], None)).status_code == 200

    @pytest.mark.parametrize("scheme", ["Token", "Bearer"])
    @pytest.mark.parametrize("name", OPTIONAL)
    async def test_valid_token_in_either_scheme_is_200(
        self, client: httpx.AsyncClient, world: World, tokens: TokenCodec, name: str, scheme: str
    ) -> None:
        token = good_token(world, tokens)
        response = await call(client, world, OPTIONAL[name], auth(token, scheme)["Authorization"])
        assert response.status_code == 200

    @pytest.mark.parametrize("bad", BAD_TOKENS)
    @pytest.mark.parametrize("name", OPTIONAL)
    async def test_bad_token_is_401_not_anonymous(
        self,
        client: httpx.AsyncClient,
        world: World,
        tokens: TokenCodec,
        name: str,
        bad: str,
    ) -> None:
        response = await call(client, world, OPTIONAL[name], BAD_TOKENS[bad](world, tokens))
        assert_error(response, 401, "token")


class TestPublicOperations:
    @pytest.fixture(autouse=True)
    async def unchanged(self) -> None:
        """CreateUser writes: these tests check what is answered, not the database."""

    @pytest.mark.parametrize("bad", BAD_TOKENS)
    @pytest.mark.parametrize("name", PUBLIC)
    async def test_ignore_any_token_sent(
        self,
        client: httpx.AsyncClient,
        world: World,
        tokens: TokenCodec,
        name: str,
        bad: str,
    ) -> None:
        response = await call(client, world, PUBLIC[name], BAD_TOKENS[bad](world, tokens))
        assert response.status_code == SUCCESS[name], response.text
        if name == "Login":
            assert_error(response, 401, "credentials")


def test_every_operation_of_the_contract_is_covered() -> None:
    covered: dict[str, Operation] = {**REQUIRED, **OPTIONAL, **PUBLIC}
    assert sorted(covered) == sorted(OPERATION_IDS)
