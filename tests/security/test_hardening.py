"""Security misconfiguration (OWASP API8:2023) and unrestricted resource consumption (API4):
security headers on every response, CORS for allowed origins only, and requests the API cannot
take refused before they are read: 413 (too large), 415 (not JSON), 405 (undocumented method).
Every refusal is in the contract's error shape and changes nothing in the database.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from conduit.api.docs import REDOC_CSP, DocsAssets
from conduit.api.hardening import API_CSP
from conduit.core.settings import Settings
from tests.factories import Factory
from tests.integration.api import Account, assert_only_error
from tests.security.conftest import Serve, Served, Snapshot

Snap = Callable[[], Awaitable[Snapshot]]
ORIGIN = "https://app.example"
ONE_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class World:
    served: Served
    jake: Account
    slug: str


@pytest.fixture
async def world(
    serve: Serve, make_settings: Callable[..., Settings], factory: Factory
) -> AsyncIterator[World]:
    user = await factory.user("jake")
    article = await factory.article(user.viewer, title="Existing")
    async with serve(make_settings()) as served:
        jake = served.account(user.id, user.username, user.email)
        yield World(served, jake, article.slug)


def assert_security_headers(response: httpx.Response, csp: str = API_CSP) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == csp


class TestSecurityHeaders:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/api/tags", 200),
            ("GET", "/api/articles/no-such-article", 404),
            ("GET", "/api/user", 401),
            ("GET", "/api/articles?limit=0", 422),
            ("PATCH", "/api/tags", 405),
            ("GET", "/api/openapi.json", 200),
            ("GET", "/nowhere", 404),
            ("GET", "/healthz", 200),
        ],
    )
    async def test_every_response_carries_them(
        self, world: World, method: str, path: str, status: int
    ) -> None:
        response = await world.served.client.request(method, path)
        assert response.status_code == status, response.text
        assert_security_headers(response)
        assert "strict-transport-security" not in response.headers
        if path.startswith("/api/"):
            assert response.headers["cache-control"] == "no-store"

    async def test_an_authenticated_response_is_never_stored(self, world: World) -> None:
        assets = DocsAssets.find()
        assert assets is not None
        asset = assets.urls["swagger-ui.css"]
        public = await world.served.client.get(asset)
        assert public.headers["cache-control"].startswith("public")
        response = await world.served.client.get(asset, headers=world.jake.headers)
        assert response.headers["cache-control"] == "no-store"
        assert_security_headers(response)
        response = await world.served.client.get("/api/user", headers=world.jake.headers)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"

    async def test_an_unexpected_error_carries_them_too(self, world: World) -> None:
        async def boom() -> None:
            raise RuntimeError("a bug")

        world.served.app.add_api_route("/boom", boom, methods=["GET"])
        transport = httpx.ASGITransport(app=world.served.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as c:
            response = await c.get("/boom")
        assert_only_error(response, 500, "body")
        assert "a bug" not in response.text
        assert_security_headers(response)
        assert response.headers["cache-control"] == "no-store"

    async def test_hsts_is_sent_only_when_configured(
        self, serve: Serve, make_settings: Callable[..., Settings]
    ) -> None:
        async with serve(make_settings(hsts_seconds=31536000)) as served:
            for path in ("/api/tags", "/nowhere", "/docs"):
                response = await served.client.get(path)
                assert response.headers["strict-transport-security"] == "max-age=31536000"


class TestDocsPages:
    async def test_swagger_ui_may_run_its_own_inline_script_and_nothing_else(
        self, world: World
    ) -> None:
        response = await world.served.client.get("/docs")
        assert response.status_code == 200
        [inline] = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        policy = directives(response.headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'", f"'sha256-{digest}'"]
        assert policy["connect-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert response.headers["x-content-type-options"] == "nosniff"

    async def test_redoc_keeps_its_policy(self, world: World) -> None:
        response = await world.served.client.get("/redoc")
        assert response.status_code == 200
        assert_security_headers(response, csp=REDOC_CSP)
        assert directives(REDOC_CSP)["script-src"] == ["'self'"]


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


@pytest.fixture
async def cors(serve: Serve, make_settings: Callable[..., Settings]) -> AsyncIterator[Served]:
    settings = make_settings(
        cors_origins=[ORIGIN], rate_limit_enabled=True, rate_limit_login="1/minute"
    )
    async with serve(settings) as served:
        yield served


def preflight(
    method: str, origin: str = ORIGIN, headers: str = "authorization,content-type"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


class TestCors:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/api/articles"),
            ("PUT", "/api/user"),
            ("DELETE", "/api/articles/some-slug"),
            ("GET", "/api/articles/feed"),
        ],
    )
    async def test_a_realworld_front_end_passes_the_preflight(
        self, cors: Served, method: str, path: str
    ) -> None:
        response = await cors.client.options(path, headers=preflight(method))
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == ORIGIN
        allowed_methods = split(response.headers["access-control-allow-methods"])
        assert allowed_methods >= {"get", "post", "put", "delete"}
        allowed_headers = split(response.headers["access-control-allow-headers"])
        assert allowed_headers >= {"authorization", "content-type"}
        assert "origin" in split(response.headers["vary"])
        assert_security_headers(response)

    @pytest.mark.parametrize(
        "request_headers",
        [
            preflight("POST", origin="https://evil.example"),
            preflight("POST", origin="null"),
            preflight("POST", origin=ORIGIN + ".evil.example"),
        ],
    )
    async def test_another_origin_fails_the_preflight(
        self, cors: Served, request_headers: dict[str, str]
    ) -> None:
        response = await cors.client.options("/api/articles", headers=request_headers)
        assert_only_error(response, 400, "body")
        assert "access-control-allow-origin" not in response.headers

    async def test_a_header_outside_the_list_fails_the_preflight(self, cors: Served) -> None:
        response = await cors.client.options(
            "/api/articles", headers=preflight("POST", headers="authorization,x-evil")
        )
        assert_only_error(response, 400, "body")

    async def test_an_allowed_origin_may_read_the_answer_and_its_headers(
        self, cors: Served
    ) -> None:
        response = await cors.client.get("/api/tags", headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN
        exposed = split(response.headers["access-control-expose-headers"])
        assert exposed >= {
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
            "x-request-id",
        }
        assert "access-control-allow-credentials" not in response.headers

    async def test_a_front_end_may_retry_safely_and_update_conditionally(
        self, cors: Served
    ) -> None:
        headers = "authorization,content-type,idempotency-key,if-match"
        preflights = [
            await cors.client.options(path, headers=preflight(method, headers=headers))
            for method, path in (("POST", "/api/articles"), ("PUT", "/api/articles/a-slug"))
        ]
        read = await cors.client.get("/api/tags", headers={"Origin": ORIGIN})

        assert [p.status_code for p in preflights] == [200, 200]
        exposed = split(read.headers["access-control-expose-headers"])
        assert exposed >= {"etag", "idempotent-replayed"}

    async def test_an_allowed_origin_may_read_a_429(self, cors: Served) -> None:
        body = {"user": {"email": "nobody@example.com", "password": "wrong"}}
        for status in (401, 429):
            response = await cors.client.post(
                "/api/users/login", json=body, headers={"Origin": ORIGIN}
            )
            assert response.status_code == status
            assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "retry-after" in response.headers

    async def test_another_origin_gets_no_cors_header(self, cors: Served) -> None:
        response = await cors.client.get("/api/tags", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in response.headers

    async def test_without_an_allow_list_no_origin_is_allowed(self, world: World) -> None:
        client = world.served.client
        response = await client.get("/api/tags", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in response.headers
        response = await client.options("/api/articles", headers=preflight("POST"))
        assert response.status_code == 405
        assert "access-control-allow-origin" not in response.headers


def split(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


# Every operation that takes a JSON body: (operationId, method, path, valid body).
BODY_OPERATIONS = [
    ("Login", "POST", "/api/users/login", b'{"user": {"email": "a@b.co", "password": "x"}}'),
    (
        "CreateUser",
        "POST",
        "/api/users",
        b'{"user": {"username": "newbie", "email": "n@b.co", "password": "password1"}}',
    ),
    ("UpdateCurrentUser", "PUT", "/api/user", b'{"user": {"bio": "new"}}'),
    (
        "CreateArticle",
        "POST",
        "/api/articles",
        b'{"article": {"title": "T", "description": "D", "body": "B"}}',
    ),
    ("UpdateArticle", "PUT", "/api/articles/{slug}", b'{"article": {"body": "new"}}'),
    (
        "CreateArticleComment",
        "POST",
        "/api/articles/{slug}/comments",
        b'{"comment": {"body": "x"}}',
    ),
]


class TestContentType:
    @pytest.mark.parametrize(("operation", "method", "path", "body"), BODY_OPERATIONS)
    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/json; charset=latin-1",
            "application/jsonp",
            None,
        ],
    )
    async def test_a_body_that_is_not_declared_utf8_json_is_415(
        self,
        world: World,
        snapshot: Snap,
        operation: str,
        method: str,
        path: str,
        body: bytes,
        content_type: str | None,
    ) -> None:
        headers = dict(world.jake.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        before = await snapshot()
        response = await world.served.client.request(
            method, path.format(slug=world.slug), content=body, headers=headers
        )
        assert_only_error(response, 415, "body")
        assert response.headers["accept"] == "application/json"
        assert_security_headers(response)
        assert await snapshot() == before

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",
            "application/json; charset=utf-8",
            'Application/JSON;charset="UTF-8"',
            "application/vnd.conduit+json",
        ],
    )
    async def test_json_with_or_without_a_utf8_charset_is_taken(
        self, world: World, content_type: str
    ) -> None:
        response = await world.served.client.post(
            "/api/articles",
            content=b'{"article": {"title": "Typed", "description": "D", "body": "B"}}',
            headers={**world.jake.headers, "Content-Type": content_type},
        )
        assert response.status_code == 201, response.text

    async def test_the_type_is_checked_before_the_token(self, world: World) -> None:
        response = await world.served.client.post(
            "/api/articles", content=b"title=T", headers={"Content-Type": "text/plain"}
        )
        assert_only_error(response, 415, "body")

    async def test_no_body_is_left_to_the_operation(self, world: World) -> None:
        response = await world.served.client.post("/api/users/login", content=b"")
        assert_only_error(response, 422, "body")

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("POST", "/api/articles/{slug}/favorite", 200),  # takes no body: ignores it
            ("POST", "/api/nowhere", 404),
            ("PATCH", "/api/articles", 405),
        ],
    )
    async def test_requests_not_for_an_operation_with_a_body_are_left_to_the_router(
        self, world: World, method: str, path: str, status: int
    ) -> None:
        response = await world.served.client.request(
            method,
            path.format(slug=world.slug),
            content=b"hello",
            headers={**world.jake.headers, "Content-Type": "text/plain"},
        )
        assert response.status_code == status, response.text


class TestBodySize:
    async def test_over_1_mib_declared_is_413_unread(self, world: World, snapshot: Snap) -> None:
        before = await snapshot()
        response = await world.served.client.post(
            "/api/articles",
            content=b'{"article": {"body": "' + b"a" * ONE_MIB + b'"}}',
            headers={**world.jake.headers, "Content-Type": "application/json"},
        )
        assert_only_error(response, 413, "body")
        assert_security_headers(response)
        assert await snapshot() == before

    async def test_over_1_mib_chunked_is_413(self, world: World, snapshot: Snap) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"article": {"body": "'
            for _ in range(20):
                yield b"a" * 65536
            yield b'"}}'

        before = await snapshot()
        response = await world.served.client.post(
            "/api/articles",
            content=chunks(),
            headers={**world.jake.headers, "Content-Type": "application/json"},
        )
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_only_error(response, 413, "body")
        assert await snapshot() == before


class TestMethods:
    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("PATCH", "/api/articles/{slug}", "DELETE, GET, PUT"),
            ("TRACE", "/api/tags", "GET"),
            ("PUT", "/api/users/login", "POST"),
            ("DELETE", "/api/user", "GET, PUT"),
        ],
    )
    async def test_an_undocumented_method_is_405_with_allow(
        self, world: World, snapshot: Snap, method: str, path: str, allow: str
    ) -> None:
        before = await snapshot()
        response = await world.served.client.request(
            method, path.format(slug=world.slug), headers=world.jake.headers
        )
        assert_only_error(response, 405, "body")
        assert response.headers["allow"] == allow
        assert_security_headers(response)
        assert await snapshot() == before
