"""Unrestricted resource consumption (OWASP API4:2023): requests built to cost the server a lot.

Deeply nested JSON (a classic parser stack exhaustion), arrays and strings far beyond what the
contract allows, and pages of unbounded size are refused with a 422 naming the part at fault,
cheaply, and nothing is written. Bodies over 1 MiB (413) are in test_hardening.py, request
floods (429) in test_rate_limits.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.integration.api import assert_only_error
from tests.security.actors import Cast
from tests.security.conftest import Snapshot

Snap = Callable[[], Awaitable[Snapshot]]
DEPTH = 200_000  # 400 KB of brackets: under the 1 MiB limit, so the parser itself must cope


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (as the author?, method, path, body with a nested value in place of a field)
NESTED_BODIES = {
    "register": (False, "POST", "/api/users", '{"user": {"username": %s}}'),
    "login": (False, "POST", "/api/users/login", '{"user": {"email": %s, "password": "x"}}'),
    "create-article": (True, "POST", "/api/articles", '{"article": {"tagList": %s}}'),
    "update-user": (True, "PUT", "/api/user", '{"user": {"bio": %s}}'),
    "comment": (True, "POST", "/api/articles/{slug}/comments", '{"comment": %s}'),
}


@pytest.mark.parametrize("operation", NESTED_BODIES)
@pytest.mark.parametrize("depth", [64, DEPTH])
async def test_deeply_nested_json_is_422_and_writes_nothing(
    cast: Cast, snapshot: Snap, operation: str, depth: int
) -> None:
    as_author, method, path, template = NESTED_BODIES[operation]
    before = await snapshot()
    response = await cast.client.request(
        method,
        path.format(slug=cast.slug),
        content=template % nested(depth),
        headers={"Content-Type": "application/json", **(cast.author.headers if as_author else {})},
    )
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"errors"}
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "T", "description": "D", "body": "B", "tagList": ["t"] * 10_001}, "tagList"),
        ({"title": "T" * 100_000, "description": "D", "body": "B"}, "title"),
        ({"title": "T", "description": "D", "body": "B" * 70_000}, "body"),
        ({"title": "T", "description": "D", "body": "B", "tagList": ["t" * 10_000]}, "tagList"),
    ],
    ids=["10k-tags", "100k-title", "70k-body", "10k-tag-name"],
)
async def test_oversized_values_are_422_on_the_field_and_write_nothing(
    cast: Cast, snapshot: Snap, body: dict[str, object], field: str
) -> None:
    before = await snapshot()
    response = await cast.call(cast.author, "POST", "/api/articles", {"article": body})
    assert_only_error(response, 422, field)
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=101", "limit"),
        ("limit=1000000000", "limit"),
        ("limit=-1", "limit"),
        ("offset=1000000001", "offset"),
        ("offset=99999999999999999999999999", "offset"),
    ],
)
@pytest.mark.parametrize("path", ["/api/articles", "/api/articles/feed"])
async def test_a_page_cannot_be_made_unbounded(
    cast: Cast, path: str, query: str, parameter: str
) -> None:
    response = await cast.call(cast.author, "GET", f"{path}?{query}")
    assert_only_error(response, 422, parameter)
