"""A route handled from its plan answers exactly as FastAPI's own handler does.

The same endpoints are declared on two apps: one with FastAPI's route class, one with the app's
``SessionRoute``, whose requests take the plan. Every request, valid or not, must get the same
status, headers and body from both.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the signatures of endpoints
# and dependencies local to `build`.

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, SecurityScopes
from pydantic import BaseModel, Field

from conduit.api.deps import SessionRoute
from conduit.api.errors import install_error_handlers
from conduit.domain.errors import Forbidden, Unauthenticated

token_header = APIKeyHeader(name="Authorization", auto_error=False)


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    size: int = Field(ge=0)


class ItemEnvelope(BaseModel):
    item: Item


class Calls:
    def __init__(self) -> None:
        self.viewer = 0


def build(route_class: type[APIRoute], calls: Calls) -> FastAPI:
    app = FastAPI()
    app.router.route_class = route_class
    install_error_handlers(app)

    async def viewer(
        request: Request, authorization: Annotated[str | None, Security(token_header)]
    ) -> str | None:
        calls.viewer += 1
        if authorization is None:
            return None
        if authorization != "Token good":
            raise Unauthenticated("is missing or invalid", field="token")
        return "jake"

    async def required(scopes: SecurityScopes, who: Annotated[str | None, Depends(viewer)]) -> str:
        if who is None:
            raise Unauthenticated("is missing or invalid", field="token")
        if "admin" in scopes.scopes:
            raise Forbidden("needs the admin role", field="user")
        return who

    @app.get("/items/{slug}", dependencies=[Security(viewer)], response_model=ItemEnvelope)
    async def get_item(
        slug: Annotated[str, Path(pattern="^[a-z]+$", max_length=8)],
        response: Response,
        who: Annotated[str | None, Depends(viewer)],
        size: Annotated[int, Query(ge=0, le=100)] = 1,
        tag: Annotated[list[str] | None, Query()] = None,
        x_trace: Annotated[str | None, Header()] = None,
        per_page: Annotated[int, Query(alias="perPage", ge=1)] = 10,
    ) -> ItemEnvelope:
        response.headers["ETag"] = f'"{slug}-{size}"'
        if x_trace:
            response.headers["X-Trace"] = x_trace
        name = (who or slug)[:10]
        return ItemEnvelope(item=Item(name=name, size=size + len(tag or []) + per_page))

    @app.post("/items", status_code=201, response_model=ItemEnvelope)
    async def create_item(
        who: Annotated[str, Security(required)],
        envelope: Annotated[ItemEnvelope, Body()],
        response: Response,
    ) -> ItemEnvelope:
        response.headers["Location"] = f"/items/{envelope.item.name}"
        return envelope

    @app.delete("/items/{slug}", status_code=204, response_class=Response)
    async def delete_item(
        slug: str, who: Annotated[str, Security(required, scopes=["admin"])]
    ) -> None:
        return None

    @app.put("/items/{slug}", response_model=ItemEnvelope)
    async def replace_item(slug: str, envelope: ItemEnvelope, response: Response) -> Any:
        if slug == "gone":
            return Response(status_code=410)
        response.status_code = 202
        return {"item": {"name": envelope.item.name, "size": -1 if slug == "bad" else 0}}

    return app


@dataclass(frozen=True)
class Clients:
    reference: httpx.AsyncClient  # FastAPI's own route class
    planned: httpx.AsyncClient  # SessionRoute: requests take the plan
    planned_app: FastAPI
    calls: Calls  # of the planned app's dependencies


def _client(app: FastAPI) -> httpx.AsyncClient:
    # An unhandled error reaches the client as the app's own 500, as a real server sends it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    calls = Calls()
    reference, planned = build(APIRoute, Calls()), build(SessionRoute, calls)
    async with _client(reference) as left, _client(planned) as right:
        yield Clients(left, right, planned, calls)


GOOD = {"Authorization": "Token good"}


def raw(content: bytes, media: str = "application/json") -> dict[str, Any]:
    """Options of an authenticated request sending ``content`` as ``media``."""
    return {"content": content, "headers": {**GOOD, "Content-Type": media}}


def sent(body: Any) -> dict[str, Any]:
    return {"json": body, "headers": GOOD}


ITEM = {"item": {"name": "x", "size": 1}}

REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/items/abc", {}),
    ("GET", "/items/abc?size=7&tag=a&tag=b", {"headers": {"X-Trace": "t1"}}),
    ("GET", "/items/abc", {"headers": GOOD}),
    ("GET", "/items/abc?size=1&size=2&perPage=3", {}),
    ("GET", "/items/abc?perPage=0&per_page=5", {}),
    ("GET", "/items/abc?tag=&tag=x", {}),
    ("GET", "/items/abc", {"headers": [("X-Trace", "a"), ("X-Trace", "b")]}),
    ("GET", "/items/abc", {"headers": {"Authorization": "Token bad"}}),
    ("GET", "/items/ABC?size=-1", {}),
    # The security dependency runs first: its 401 wins over the parameters' 422.
    ("GET", "/items/ABC?size=-1", {"headers": {"Authorization": "Token bad"}}),
    ("GET", "/items/abcdefghijk", {}),
    ("GET", "/items/abc?size=many", {}),
    ("POST", "/items/abc", {}),
    ("POST", "/items", {"json": ITEM}),
    ("POST", "/items", sent(ITEM)),
    ("POST", "/items", sent({"item": {"name": "", "size": -1}})),
    ("POST", "/items", sent({"thing": 1})),
    ("POST", "/items", raw(b"{not json")),
    ("POST", "/items", raw(b"")),
    ("POST", "/items", raw(b"a=b", "text/plain")),
    ("POST", "/items", raw(b'{"item": {"name": "v", "size": 2}}', "application/vnd.api+json")),
    ("POST", "/items", raw(b'{"item": {"name": "\xff\xfe"}}')),
    ("POST", "/items", raw(b"[" * 100_000 + b"]" * 100_000)),
    ("DELETE", "/items/abc", {}),
    ("DELETE", "/items/abc", {"headers": GOOD}),
    ("PUT", "/items/abc", {"json": ITEM}),
    ("PUT", "/items/gone", {"json": ITEM}),
    ("PUT", "/items/bad", {"json": ITEM}),
    ("PATCH", "/items/abc", {}),
    ("GET", "/nowhere", {}),
]


@pytest.mark.parametrize(("method", "url", "options"), REQUESTS)
async def test_planned_route_answers_as_fastapi_does(
    clients: Clients, method: str, url: str, options: dict[str, Any]
) -> None:
    expected = await clients.reference.request(method, url, **options)
    actual = await clients.planned.request(method, url, **options)
    assert (actual.status_code, actual.content) == (expected.status_code, expected.content)
    assert sorted(actual.headers.items()) == sorted(expected.headers.items())


def test_the_routes_of_that_shape_take_the_plan(clients: Clients) -> None:
    routes = [route for route in clients.planned_app.routes if isinstance(route, SessionRoute)]
    assert routes and all(route.plan is not None for route in routes)


async def test_a_dependency_is_solved_once_per_request(clients: Clients) -> None:
    response = await clients.planned.get("/items/abc", headers={"Authorization": "Token good"})
    assert response.status_code == 200
    # Declared twice (the route's security and the endpoint's parameter): called once.
    assert clients.calls.viewer == 1


async def test_dependency_overrides_are_honoured(clients: Clients) -> None:
    app = clients.planned_app
    route = next(r for r in app.routes if getattr(r, "name", "") == "get_item")
    viewer = route.dependant.dependencies[0].call  # type: ignore[attr-defined]

    async def someone_else() -> str:
        return "override"

    app.dependency_overrides[viewer] = someone_else
    try:
        body = (await clients.planned.get("/items/abc")).json()
    finally:
        app.dependency_overrides.clear()
    assert body["item"]["name"] == "override"
    assert (await clients.planned.get("/items/abc")).json()["item"]["name"] == "abc"
