"""A method the contract does not list for a path is 405, with `Allow` naming the ones it does."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api import Api


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/user", "GET, PUT"),
        ("PATCH", "/api/articles/some-slug", "DELETE, GET, PUT"),
        ("POST", "/api/articles/some-slug/comments/1", "DELETE"),
        ("TRACE", "/api/tags", "GET"),
        # `/articles/{slug}` matches too, but `/articles/feed` is a path of its own.
        ("OPTIONS", "/api/articles/feed", "GET"),
    ],
)
async def test_unlisted_method_is_405_with_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"errors": {"body": ["method not allowed"]}}


async def test_an_article_titled_feed_does_not_hide_behind_the_feed(api: Api) -> None:
    author = await api.register()
    created = await api.create_article(author, title="Feed")
    assert created["slug"] == "feed-article"
    assert (await api.get_article("feed-article")).json()["article"]["title"] == "Feed"
