"""Bad input over HTTP: every mistake gets a clear 4xx in the contract's error shape, keyed by the
field at fault, never a 500, and nothing is written."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.core.security import TokenCodec
from tests.factories import DEFAULT_PASSWORD, Factory
from tests.integration.api import Account, Json, assert_error, assert_only_error, db_snapshot


@dataclass(frozen=True, slots=True)
class World:
    jake: Account
    slug: str
    comment_id: int


@dataclass(frozen=True, slots=True)
class BodyOperation:
    """An operation that takes a JSON body, with a valid body to spoil."""

    method: str
    path: str
    envelope: str
    valid: Json

    def url(self, world: World) -> str:
        return self.path.format(slug=world.slug)


OPERATIONS = {
    "Login": BodyOperation(
        "POST", "/api/users/login", "user", {"email": "jake@example.com", "password": "pw"}
    ),
    "CreateUser": BodyOperation(
        "POST",
        "/api/users",
        "user",
        {"username": "newbie", "email": "newbie@example.com", "password": "password123"},
    ),
    "UpdateCurrentUser": BodyOperation("PUT", "/api/user", "user", {"bio": "new bio"}),
    "CreateArticle": BodyOperation(
        "POST",
        "/api/articles",
        "article",
        {"title": "A title", "description": "D", "body": "B", "tagList": ["t"]},
    ),
    "UpdateArticle": BodyOperation("PUT", "/api/articles/{slug}", "article", {"body": "new"}),
    "CreateArticleComment": BodyOperation(
        "POST", "/api/articles/{slug}/comments", "comment", {"body": "hello"}
    ),
}


@pytest.fixture
async def world(factory: Factory, tokens: TokenCodec) -> World:
    # Built through the services rather than HTTP: hundreds of cases share this set-up.
    user = await factory.user("jake", email="jake@example.com")
    jake = Account(user.username, user.email, DEFAULT_PASSWORD, tokens.issue(user.id))
    article = await factory.article(user.viewer, title="Existing article", tags=["old"])
    comment = await factory.comment(user.viewer, article.slug)
    return World(jake, article.slug, comment.id)


@pytest.fixture
async def unchanged(
    world: World, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    """Fails the test if the database differs after it from before it."""
    before = await db_snapshot(session_factory)
    yield
    assert await db_snapshot(session_factory) == before


async def send(
    client: httpx.AsyncClient,
    world: World,
    name: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    operation = OPERATIONS[name]
    all_headers = {**world.jake.headers, **(headers or {})}
    if content is None:
        return await client.request(
            operation.method, operation.url(world), json=json, headers=all_headers
        )
    all_headers.setdefault("Content-Type", "application/json")
    return await client.request(
        operation.method, operation.url(world), content=content, headers=all_headers
    )


def spoiled(name: str, field: str, value: Any) -> Json:
    """The operation's valid body with ``field`` set to ``value`` (inside the envelope)."""
    operation = OPERATIONS[name]
    inner = copy.deepcopy(operation.valid)
    inner[field] = value
    return {operation.envelope: inner}


def without(name: str, field: str) -> Json:
    operation = OPERATIONS[name]
    inner = {k: v for k, v in operation.valid.items() if k != field}
    return {operation.envelope: inner}


def cases(*rows: tuple[Any, ...]) -> list[Any]:
    return [pytest.param(*row, id="-".join(str(part)[:20] for part in row[:3])) for row in rows]


pytestmark = pytest.mark.usefixtures("unchanged")


class TestMalformedBody:
    @pytest.mark.parametrize("name", OPERATIONS)
    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b'{"user": {', id="truncated"),
            pytest.param(b"{'user': {}}", id="single-quotes"),
            pytest.param(b'{"a": 1,}', id="trailing-comma"),
            pytest.param(b"null", id="null"),
            pytest.param(b"[]", id="array"),
            pytest.param(b'"user"', id="string"),
            pytest.param(b"42", id="number"),
            pytest.param(b"NaN", id="nan"),
            pytest.param(b'{"user": {"username": "\xff\xfe"}}', id="non-utf8"),
            pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
            pytest.param(b'{"user": ' + b"9" * 5000 + b"}", id="5000-digit-number"),
        ],
    )
    async def test_is_422_on_body(
        self, client: httpx.AsyncClient, world: World, name: str, content: bytes
    ) -> None:
        response = await send(client, world, name, content=content)
        assert_only_error(response, 422, "body")

    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_empty_body_is_422(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        response = await send(client, world, name, content=b"")
        assert_only_error(response, 422, "body")

    @pytest.mark.parametrize("name", OPERATIONS)
    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
    async def test_a_body_that_is_not_declared_json_is_415(
        self, client: httpx.AsyncClient, world: World, name: str, content_type: str
    ) -> None:
        operation = OPERATIONS[name]
        content = httpx.Request("POST", "/", json={operation.envelope: operation.valid}).content
        response = await send(
            client, world, name, content=content, headers={"Content-Type": content_type}
        )
        assert_only_error(response, 415, "body")


class TestEnvelope:
    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_missing_envelope_is_422_on_the_envelope(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        operation = OPERATIONS[name]
        response = await send(client, world, name, json=operation.valid)
        assert assert_error(response, 422, operation.envelope) == ["can't be blank"]

    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_null_envelope_is_422_on_the_envelope(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        envelope = OPERATIONS[name].envelope
        response = await send(client, world, name, json={envelope: None})
        assert_only_error(response, 422, envelope)

    @pytest.mark.parametrize("name", OPERATIONS)
    @pytest.mark.parametrize("value", [[], "x", 1, True], ids=["list", "str", "int", "bool"])
    async def test_envelope_of_the_wrong_type_is_422_on_the_envelope(
        self, client: httpx.AsyncClient, world: World, name: str, value: object
    ) -> None:
        envelope = OPERATIONS[name].envelope
        response = await send(client, world, name, json={envelope: value})
        assert_only_error(response, 422, envelope)

    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_unknown_top_level_field_is_422_on_it(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        operation = OPERATIONS[name]
        body = {operation.envelope: operation.valid, "admin": True}
        response = await send(client, world, name, json=body)
        assert assert_only_error(response, 422, "admin") == ["is not a known field"]

    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_unknown_field_inside_the_envelope_is_422_on_it(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        response = await send(client, world, name, json=spoiled(name, "favoritesCount", 99))
        assert assert_only_error(response, 422, "favoritesCount") == ["is not a known field"]


REQUIRED_FIELDS = [
    ("Login", "email"),
    ("Login", "password"),
    ("CreateUser", "username"),
    ("CreateUser", "email"),
    ("CreateUser", "password"),
    ("CreateArticle", "title"),
    ("CreateArticle", "description"),
    ("CreateArticle", "body"),
    ("CreateArticleComment", "body"),
]

WRONG_TYPES = [
    ("Login", "email", 1),
    ("Login", "password", 12345678),
    ("CreateUser", "username", 1),
    ("CreateUser", "username", ["jake"]),
    ("CreateUser", "email", {"address": "a@b.c"}),
    ("CreateUser", "password", 12345678),
    ("UpdateCurrentUser", "username", 1),
    ("UpdateCurrentUser", "email", True),
    ("UpdateCurrentUser", "password", 12345678.0),
    ("UpdateCurrentUser", "bio", 1),
    ("UpdateCurrentUser", "image", False),
    ("CreateArticle", "title", 1),
    ("CreateArticle", "description", 1.5),
    ("CreateArticle", "body", True),
    ("CreateArticle", "tagList", "dragons"),
    ("CreateArticle", "tagList", [1]),
    ("CreateArticle", "tagList", {"0": "a"}),
    ("UpdateArticle", "title", 1),
    ("UpdateArticle", "tagList", [None]),
    ("CreateArticleComment", "body", 1),
    ("CreateArticleComment", "body", ["hello"]),
]

NULLS = [
    ("Login", "email"),
    ("Login", "password"),
    ("CreateUser", "username"),
    ("CreateUser", "email"),
    ("CreateUser", "password"),
    ("UpdateCurrentUser", "username"),
    ("UpdateCurrentUser", "email"),
    ("UpdateCurrentUser", "password"),
    ("CreateArticle", "title"),
    ("CreateArticle", "description"),
    ("CreateArticle", "body"),
    ("CreateArticle", "tagList"),
    ("UpdateArticle", "title"),
    ("UpdateArticle", "description"),
    ("UpdateArticle", "body"),
    ("UpdateArticle", "tagList"),
    ("CreateArticleComment", "body"),
]

OVERSIZED = [
    ("CreateUser", "username", "j" * 33),
    ("CreateUser", "email", "j" * 250 + "@example.com"),
    ("CreateUser", "password", "p" * 129),
    ("Login", "password", "p" * 129),
    ("Login", "email", "j" * 250 + "@example.com"),
    ("UpdateCurrentUser", "username", "j" * 33),
    ("UpdateCurrentUser", "bio", "b" * 1001),
    ("UpdateCurrentUser", "image", "https://example.com/" + "i" * 2030),
    ("UpdateCurrentUser", "password", "p" * 129),
    ("CreateArticle", "title", "t" * 256),
    ("CreateArticle", "description", "d" * 1001),
    ("CreateArticle", "body", "b" * 100_001),
    ("CreateArticle", "tagList", ["t" * 65]),
    ("CreateArticle", "tagList", [f"tag{n}" for n in range(11)]),
    ("UpdateArticle", "title", "t" * 256),
    ("UpdateArticle", "tagList", [f"tag{n}" for n in range(11)]),
    ("CreateArticleComment", "body", "c" * 10_001),
]

INVALID_VALUES = [
    ("CreateUser", "username", ""),
    ("CreateUser", "username", "ja ke"),
    ("CreateUser", "username", "jake/../admin"),
    ("CreateUser", "email", "not-an-email"),
    ("CreateUser", "email", ""),
    ("CreateUser", "password", "short"),
    ("Login", "email", "not-an-email"),
    ("Login", "password", ""),
    ("UpdateCurrentUser", "username", ""),
    ("UpdateCurrentUser", "email", "not-an-email"),
    ("UpdateCurrentUser", "password", "short"),
    ("UpdateCurrentUser", "image", "javascript:alert(1)"),
    ("UpdateCurrentUser", "image", "not a url"),
    ("CreateArticle", "title", ""),
    ("CreateArticle", "title", "   "),
    ("CreateArticle", "description", ""),
    ("CreateArticle", "body", "\n\t "),
    ("CreateArticle", "tagList", [""]),
    ("CreateArticle", "tagList", [" leading"]),
    ("CreateArticle", "tagList", ["a,b"]),
    ("UpdateArticle", "title", " "),
    ("UpdateArticle", "body", ""),
    ("CreateArticleComment", "body", ""),
    ("CreateArticleComment", "body", "   "),
]


class TestFields:
    @pytest.mark.parametrize(("name", "field"), REQUIRED_FIELDS)
    async def test_missing_required_field_is_422_on_it(
        self, client: httpx.AsyncClient, world: World, name: str, field: str
    ) -> None:
        response = await send(client, world, name, json=without(name, field))
        assert assert_only_error(response, 422, field) == ["can't be blank"]

    @pytest.mark.parametrize(("name", "field", "value"), cases(*WRONG_TYPES))
    async def test_wrong_type_is_422_on_the_field(
        self, client: httpx.AsyncClient, world: World, name: str, field: str, value: object
    ) -> None:
        response = await send(client, world, name, json=spoiled(name, field, value))
        assert_only_error(response, 422, field)

    @pytest.mark.parametrize(("name", "field"), NULLS)
    async def test_null_for_a_non_nullable_field_is_422_on_it(
        self, client: httpx.AsyncClient, world: World, name: str, field: str
    ) -> None:
        response = await send(client, world, name, json=spoiled(name, field, None))
        assert_only_error(response, 422, field)

    @pytest.mark.parametrize(("name", "field", "value"), cases(*OVERSIZED))
    async def test_oversized_field_is_422_on_it(
        self, client: httpx.AsyncClient, world: World, name: str, field: str, value: object
    ) -> None:
        response = await send(client, world, name, json=spoiled(name, field, value))
        assert_only_error(response, 422, field)

    async def test_a_value_breaking_a_pattern_is_invalid_without_quoting_the_regex(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await send(
            client, world, "CreateUser", json=spoiled("CreateUser", "username", "ja ke")
        )
        assert assert_only_error(response, 422, "username") == ["is invalid"]

    @pytest.mark.parametrize(("name", "field", "value"), cases(*INVALID_VALUES))
    async def test_invalid_value_is_422_on_the_field(
        self, client: httpx.AsyncClient, world: World, name: str, field: str, value: object
    ) -> None:
        response = await send(client, world, name, json=spoiled(name, field, value))
        assert_only_error(response, 422, field)


ONE_MIB = 1024 * 1024


class TestBodySize:
    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_over_1_mib_with_content_length_is_413(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        content = b'{"x": "' + b"a" * ONE_MIB + b'"}'
        response = await send(client, world, name, content=content)
        assert int(response.request.headers["content-length"]) > ONE_MIB
        assert_only_error(response, 413, "body")

    @pytest.mark.parametrize("name", OPERATIONS)
    async def test_over_1_mib_chunked_without_content_length_is_413(
        self, client: httpx.AsyncClient, world: World, name: str
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"x": "'
            for _ in range(17):
                yield b"a" * 65536
            yield b'"}'

        operation = OPERATIONS[name]
        response = await client.request(
            operation.method,
            operation.url(world),
            content=chunks(),
            headers={**world.jake.headers, "Content-Type": "application/json"},
        )
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_only_error(response, 413, "body")

    async def test_a_chunked_body_under_the_limit_is_read_whole(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"user": {"email": "jake@example.com", '
            yield b'"password": "' + b"p" * 100 + b'"}}'

        response = await client.post(
            "/api/users/login", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_only_error(response, 401, "credentials")

    async def test_a_lying_small_content_length_does_not_bypass_the_limit(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(17):
                yield b"a" * 65536

        response = await client.post(
            "/api/articles",
            content=chunks(),
            headers={
                **world.jake.headers,
                "Content-Type": "application/json",
                "Content-Length": "10",
            },
        )
        assert_only_error(response, 413, "body")


class TestQueryParameters:
    @pytest.mark.parametrize("path", ["/api/articles", "/api/articles/feed"])
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "101"),
            ("limit", "1000000"),
            ("limit", "9" * 40),
            ("limit", "1.5"),
            ("limit", "abc"),
            ("limit", ""),
            ("limit", "1e3"),
            ("limit", "0x10"),
            ("offset", "-1"),
            ("offset", "1000001"),
            ("offset", "9" * 40),
            ("offset", "-" + "9" * 40),
            ("offset", "abc"),
            ("offset", ""),
            ("sort", "unknown"),
            ("sort", "createdAt,title"),
            ("sort", ""),
        ],
    )
    async def test_invalid_value_is_422_on_the_parameter(
        self, client: httpx.AsyncClient, world: World, path: str, name: str, value: str
    ) -> None:
        response = await client.get(path, params={name: value}, headers=world.jake.headers)
        assert_only_error(response, 422, name)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("tag", ""),
            ("tag", "t" * 65),
            ("tag", " padded "),
            ("author", ""),
            ("author", "a" * 33),
            ("author", "not a username"),
            ("favorited", "f" * 33),
        ],
    )
    async def test_invalid_filter_is_422_on_the_filter(
        self, client: httpx.AsyncClient, world: World, name: str, value: str
    ) -> None:
        response = await client.get("/api/articles", params={name: value})
        assert_only_error(response, 422, name)

    async def test_a_repeated_limit_is_not_a_500(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await client.get("/api/articles", params=[("limit", "1"), ("limit", "abc")])
        assert response.status_code in (200, 422), response.text


LONG_SLUG = "a" * 256
SLUG_PATHS = [
    ("GET", "/api/articles/{slug}"),
    ("PUT", "/api/articles/{slug}"),
    ("DELETE", "/api/articles/{slug}"),
    ("GET", "/api/articles/{slug}/comments"),
    ("POST", "/api/articles/{slug}/comments"),
    ("DELETE", "/api/articles/{slug}/comments/1"),
    ("POST", "/api/articles/{slug}/favorite"),
    ("DELETE", "/api/articles/{slug}/favorite"),
]
USERNAME_PATHS = [
    ("GET", "/api/profiles/{username}"),
    ("POST", "/api/profiles/{username}/follow"),
    ("DELETE", "/api/profiles/{username}/follow"),
]
VALID_BODIES: dict[tuple[str, str], Json] = {
    ("PUT", "/api/articles/{slug}"): {"article": {"body": "x"}},
    ("POST", "/api/articles/{slug}/comments"): {"comment": {"body": "x"}},
}


class TestPathParameters:
    @pytest.mark.parametrize(("method", "path"), SLUG_PATHS)
    @pytest.mark.parametrize(
        "slug", [LONG_SLUG, "a" * 10_000, "Not-A-Slug", "bad--slug", "-x"], ids=str.__len__
    )
    async def test_slug_outside_the_contract_is_422_on_slug(
        self, client: httpx.AsyncClient, world: World, method: str, path: str, slug: str
    ) -> None:
        response = await client.request(
            method,
            path.format(slug=slug),
            json=VALID_BODIES.get((method, path)),
            headers=world.jake.headers,
        )
        assert_only_error(response, 422, "slug")

    @pytest.mark.parametrize(("method", "path"), USERNAME_PATHS)
    @pytest.mark.parametrize("username", ["j" * 33, "j" * 10_000, "ja ke", "j@ke"])
    async def test_username_outside_the_contract_is_422_on_username(
        self, client: httpx.AsyncClient, world: World, method: str, path: str, username: str
    ) -> None:
        response = await client.request(
            method, path.format(username=username), headers=world.jake.headers
        )
        assert_only_error(response, 422, "username")

    @pytest.mark.parametrize(
        "comment_id", ["0", "-1", "2147483648", "9" * 40, "1.5", "abc", "1e3", "%20"]
    )
    async def test_comment_id_outside_the_contract_is_422_on_id(
        self, client: httpx.AsyncClient, world: World, comment_id: str
    ) -> None:
        response = await client.delete(
            f"/api/articles/{world.slug}/comments/{comment_id}", headers=world.jake.headers
        )
        assert_only_error(response, 422, "id")
