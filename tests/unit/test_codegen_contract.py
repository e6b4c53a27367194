"""What the generated routes, interfaces, app assembly and manifest guarantee, held against
openapi/conduit.yaml itself."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest
import yaml
from fastapi import FastAPI, Header, HTTPException
from fastapi.routing import APIRoute

from generated import interfaces, models
from generated.app import IncompleteImplementation, find_incomplete, include_contract
from generated.manifest import OPERATION_IDS, OPERATIONS, ROLES, SECURITY
from generated.routes import AuthDependencies, Providers, build_router

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "conduit.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
INTERFACES: dict[str, type[Any]] = {
    "users": interfaces.UsersApi,
    "profiles": interfaces.ProfilesApi,
    "articles": interfaces.ArticlesApi,
    "comments": interfaces.CommentsApi,
    "favorites": interfaces.FavoritesApi,
    "tags": interfaces.TagsApi,
    "admin": interfaces.AdminApi,
}
ApiT = TypeVar("ApiT")


def load_operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (method, path, operation) in contract order."""
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return {
        operation["operationId"]: (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def security_of(operation: dict[str, Any]) -> str:
    requirements = operation.get("security", [])
    if not requirements:
        return "public"
    return "optional" if {} in requirements else "required"


def roles_of(operation: dict[str, Any]) -> tuple[str, ...]:
    """The role names the operation's security requirement lists (OpenAPI 3.1)."""
    return tuple(
        role
        for requirement in operation.get("security", [])
        for role in requirement.get("Token", [])
    )


def concrete(api: type[ApiT]) -> type[ApiT]:
    """A subclass implementing every operation as a coroutine returning None."""

    async def stub(self: object, **kwargs: object) -> None:
        return None

    methods = {name: stub for name in getattr(api, "__abstractmethods__", ())}
    return cast(type[ApiT], type(f"{api.__name__}Stub", (api,), methods))


def complete_providers(**overrides: Any) -> Providers:
    return Providers(**{field: concrete(api) for field, api in INTERFACES.items()} | overrides)


async def require_token(authorization: str | None = Header(default=None)) -> None:
    if authorization is None:
        raise HTTPException(status_code=401)


async def accept_anyone() -> None:
    return None


AUTH = AuthDependencies(required=require_token, optional=accept_anyone)


class PartialTags(interfaces.TagsApi):
    pass


class SyncTags(interfaces.TagsApi):
    def get_tags(self) -> Any:  # the mistake under test: not a coroutine
        return None


async def provide_partial_tags() -> PartialTags:
    raise NotImplementedError  # include_contract refuses it before any request


class TestManifest:
    def test_lists_every_operation_of_the_contract_in_order(self) -> None:
        assert list(OPERATION_IDS) == list(load_operations())

    def test_maps_each_operation_to_its_route_and_interface_method(self) -> None:
        for operation_id, (method, path, operation) in load_operations().items():
            info = OPERATIONS[operation_id]

            assert (info.method, info.path, info.tag) == (method.upper(), path, *operation["tags"])
            assert callable(getattr(INTERFACES[info.tag.lower()], info.method_name))
            assert SECURITY[operation_id] == security_of(operation)
            assert ROLES.get(operation_id, ()) == roles_of(operation)


class TestRoutes:
    def test_declare_what_the_contract_declares(self) -> None:
        routes = {
            route.operation_id: route
            for route in build_router(complete_providers(), AUTH).routes
            if isinstance(route, APIRoute)
        }
        operations = load_operations()

        assert set(routes) == set(operations)
        for operation_id, (method, path, operation) in operations.items():
            route = routes[operation_id]
            statuses = {str(status) for status in operation["responses"]}
            auth_calls: set[Any] = {dependency.call for dependency in route.dependant.dependencies}

            assert route.methods == {method.upper()}
            assert route.path == path
            assert route.tags == operation["tags"]
            assert {str(route.status_code), *map(str, route.responses)} == statuses
            expected_auth: dict[str, set[Any]] = {
                "public": set(),
                "required": {require_token},
                "optional": {accept_anyone},
            }
            assert (
                auth_calls & {require_token, accept_anyone} == expected_auth[security_of(operation)]
            )
            scopes = [d.own_oauth_scopes or [] for d in route.dependant.dependencies]
            assert [role for listed in scopes for role in listed] == list(roles_of(operation))

    async def test_a_delete_answers_204_with_no_body(self) -> None:
        app = FastAPI()
        include_contract(app, providers=complete_providers(), auth=AUTH)
        transport = httpx.ASGITransport(app=app)

        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            anonymous = await client.delete("/api/articles/a-slug")
            deleted = await client.delete(
                "/api/articles/a-slug", headers={"Authorization": "Token x"}
            )

        assert anonymous.status_code == 401
        assert (deleted.status_code, deleted.content) == (204, b"")


class TestInterfaces:
    def test_have_one_keyword_only_coroutine_per_operation(self) -> None:
        for operation_id, info in OPERATIONS.items():
            method = getattr(INTERFACES[info.tag.lower()], info.method_name)
            parameters = list(inspect.signature(method).parameters.values())[1:]

            assert inspect.iscoroutinefunction(method), operation_id
            assert method.__isabstractmethod__, operation_id
            assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)


class TestIncludeContract:
    def test_mounts_every_operation_under_the_prefix(self) -> None:
        app = FastAPI()

        include_contract(app, providers=complete_providers(), auth=AUTH, prefix="/api")

        # FastAPI 0.165 keeps included routers as one entry of app.routes; the schema lists them.
        mounted = {
            operation["operationId"]: (method.upper(), path)
            for path, item in app.openapi()["paths"].items()
            for method, operation in item.items()
        }
        assert mounted == {op: (i.method, f"/api{i.path}") for op, i in OPERATIONS.items()}

    def test_refuses_an_implementation_with_a_missing_operation(self) -> None:
        providers = complete_providers(tags=provide_partial_tags)

        with pytest.raises(IncompleteImplementation) as caught:
            include_contract(FastAPI(), providers=providers, auth=AUTH)

        assert "TagsApi implementation PartialTags is missing GetTags (get_tags)" in str(
            caught.value
        )

    def test_refuses_a_synchronous_operation(self) -> None:
        problems = find_incomplete(complete_providers(tags=SyncTags))

        assert problems == [
            "TagsApi implementation SyncTags must define GetTags (get_tags) with `async def`"
        ]

    def test_refuses_a_provider_without_a_return_annotation(self) -> None:
        problems = find_incomplete(complete_providers(tags=lambda: SyncTags()))

        assert len(problems) == 1
        assert "must be annotated to return a subclass of TagsApi" in problems[0]


def success_headers(operation: dict[str, Any]) -> list[str]:
    """The header names the success response of an operation documents."""
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    status = next(s for s in operation["responses"] if str(s).startswith("2"))
    response = operation["responses"][status]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return list(response.get("headers", {}))


EXAMPLE_ARTICLE = {
    "article": {
        "slug": "a-slug",
        "title": "A title",
        "description": "A description",
        "body": "A body",
        "tagList": [],
        "createdAt": "2016-02-18T03:22:56.637Z",
        "updatedAt": "2016-02-18T03:22:56.637Z",
        "favorited": False,
        "favoritesCount": 0,
        "author": {"username": "jake", "bio": None, "image": None, "following": False},
    }
}


class ArticlesWithHeaders(interfaces.ArticlesApi):
    """Sets the response headers it is given; remembers the header parameters it received."""

    received: dict[str, Any]
    etag: str | None = '"v1"'

    async def get_articles(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def get_articles_feed(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def delete_article(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def get_article(
        self, *, slug: str, response_headers: interfaces.GetArticleResponseHeaders
    ) -> models.SingleArticleResponse:
        response_headers.etag = self.etag
        return models.SingleArticleResponse.model_validate(EXAMPLE_ARTICLE)

    async def create_article(
        self,
        *,
        idempotency_key: str | None = None,
        body: models.NewArticleRequest,
        response_headers: interfaces.CreateArticleResponseHeaders,
    ) -> models.SingleArticleResponse:
        ArticlesWithHeaders.received = {"idempotency_key": idempotency_key}
        return models.SingleArticleResponse.model_validate(EXAMPLE_ARTICLE)

    async def update_article(
        self,
        *,
        slug: str,
        if_match: str | None = None,
        body: models.UpdateArticleRequest,
        response_headers: interfaces.UpdateArticleResponseHeaders,
    ) -> models.SingleArticleResponse:
        ArticlesWithHeaders.received = {"if_match": if_match}
        response_headers.etag = '"v2"'
        return models.SingleArticleResponse.model_validate(EXAMPLE_ARTICLE)


class ArticlesForgettingTheETag(ArticlesWithHeaders):
    etag = None


def provide_articles_with_headers() -> ArticlesWithHeaders:
    return ArticlesWithHeaders()


def provide_articles_forgetting_the_etag() -> ArticlesForgettingTheETag:
    return ArticlesForgettingTheETag()


async def call(
    provider: Any, method: str, path: str, headers: dict[str, str], json: Any = None
) -> httpx.Response:
    app = FastAPI()
    include_contract(app, providers=complete_providers(articles=provider), auth=AUTH)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, headers=headers, json=json)


class TestHeaders:
    def test_interfaces_take_the_documented_response_headers(self) -> None:
        for operation_id, (_, _, operation) in load_operations().items():
            info = OPERATIONS[operation_id]
            method = getattr(INTERFACES[info.tag.lower()], info.method_name)
            parameters = inspect.signature(method).parameters
            names = success_headers(operation)
            if not names:
                assert "response_headers" not in parameters, operation_id
                continue
            headers_class = getattr(interfaces, f"{operation_id}ResponseHeaders")
            assert parameters["response_headers"].annotation == headers_class.__name__
            fields = [f.lower().replace("-", "_") for f in names]
            assert list(inspect.signature(headers_class).parameters) == fields

    def test_header_parameters_are_optional_keyword_arguments(self) -> None:
        document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
        for operation_id, (_, _, operation) in load_operations().items():
            info = OPERATIONS[operation_id]
            method = getattr(INTERFACES[info.tag.lower()], info.method_name)
            for raw in operation.get("parameters", []):
                name = raw["$ref"].rsplit("/", 1)[-1] if "$ref" in raw else None
                parameter = document["components"]["parameters"][name] if name else raw
                if parameter["in"] != "header":
                    continue
                argument = inspect.signature(method).parameters[
                    parameter["name"].lower().replace("-", "_")
                ]
                assert argument.default is None, (operation_id, parameter["name"])

    async def test_routes_send_the_headers_the_implementation_sets(self) -> None:
        read = await call(provide_articles_with_headers, "GET", "/api/articles/a-slug", {})
        updated = await call(
            provide_articles_with_headers,
            "PUT",
            "/api/articles/a-slug",
            {"Authorization": "Token x", "If-Match": '"v1"'},
            {"article": {"body": "New"}},
        )

        assert (read.status_code, read.headers["ETag"]) == (200, '"v1"')
        assert (updated.status_code, updated.headers["ETag"]) == (200, '"v2"')
        assert ArticlesWithHeaders.received == {"if_match": '"v1"'}

    async def test_routes_leave_out_the_optional_headers_left_unset(self) -> None:
        created = await call(
            provide_articles_with_headers,
            "POST",
            "/api/articles",
            {"Authorization": "Token x", "Idempotency-Key": "k-1"},
            {"article": {"title": "T", "description": "D", "body": "B"}},
        )

        assert created.status_code == 201
        assert "Idempotent-Replayed" not in created.headers
        assert ArticlesWithHeaders.received == {"idempotency_key": "k-1"}

    async def test_a_required_header_left_unset_is_an_error_not_a_silent_omission(self) -> None:
        with pytest.raises(RuntimeError, match="GetArticle did not set its ETag header"):
            await call(provide_articles_forgetting_the_etag, "GET", "/api/articles/a-slug", {})
