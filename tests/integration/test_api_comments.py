"""Comments over HTTP: adding, listing and deleting the comments of an article."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.api import (
    COMMENT_FIELDS,
    Account,
    Api,
    assert_error,
    assert_timestamp,
    auth,
    db_snapshot,
)


async def delete_comment(
    client: httpx.AsyncClient, viewer: Account, slug: str, comment_id: object
) -> httpx.Response:
    return await client.delete(
        f"/api/articles/{slug}/comments/{comment_id}", headers=viewer.headers
    )


class TestAddComment:
    async def test_answers_200_with_the_comment(self, api: Api, client: httpx.AsyncClient) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        jake = await api.register("jake")
        response = await client.post(
            f"/api/articles/{slug}/comments",
            json={"comment": {"body": "It takes a Jacobian"}},
            headers=jake.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"comment"}
        comment = body["comment"]
        assert set(comment) == COMMENT_FIELDS
        assert isinstance(comment["id"], int)
        assert comment["id"] >= 1
        assert comment["body"] == "It takes a Jacobian"
        assert comment["author"] == {
            "username": "jake",
            "bio": None,
            "image": None,
            "following": False,
        }
        assert_timestamp(comment["createdAt"])
        assert comment["updatedAt"] == comment["createdAt"]

    async def test_unknown_slug_is_404_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register()
        before = await db_snapshot(session_factory)
        response = await client.post(
            "/api/articles/no-such-article/comments",
            json={"comment": {"body": "hello"}},
            headers=jake.headers,
        )
        assert_error(response, 404, "article")
        assert await db_snapshot(session_factory) == before

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        response = await client.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": "hello"}}
        )
        assert_error(response, 401, "token")


class TestGetArticleComments:
    async def test_lists_the_comments_most_recent_first(self, api: Api) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        other_slug = (await api.create_article(author))["slug"]
        added = [await api.comment(author, slug, f"comment {n}") for n in range(3)]
        await api.comment(author, other_slug, "elsewhere")

        response = await api.comments(slug)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"comments"}
        assert body["comments"] == list(reversed(added))
        for comment in body["comments"]:
            assert set(comment) == COMMENT_FIELDS

    async def test_no_comments_is_an_empty_list(self, api: Api) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        assert (await api.comments(slug)).json() == {"comments": []}

    async def test_following_is_from_the_viewers_point_of_view(self, api: Api) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        await api.comment(jake, slug)
        fan = await api.register()
        await api.follow(fan, "jake")

        def following(response: httpx.Response) -> bool:
            (comment,) = response.json()["comments"]
            value: bool = comment["author"]["following"]
            return value

        assert following(await api.comments(slug, fan)) is True
        assert following(await api.comments(slug, await api.register())) is False
        assert following(await api.comments(slug)) is False

    async def test_unknown_slug_is_404(self, api: Api) -> None:
        assert_error(await api.comments("no-such-article"), 404, "article")

    async def test_an_invalid_token_is_401_even_though_auth_is_optional(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        response = await client.get(f"/api/articles/{slug}/comments", headers=auth("x.y.z"))
        assert_error(response, 401, "token")


class TestDeleteComment:
    async def test_author_deletes_it_with_204_and_no_body(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        kept = await api.comment(author, slug, "kept")
        doomed = await api.comment(author, slug, "doomed")
        response = await delete_comment(client, author, slug, doomed["id"])
        assert response.status_code == 204
        assert response.content == b""
        assert (await api.comments(slug)).json() == {"comments": [kept]}

    async def test_the_article_author_may_not_delete_someone_elses_comment(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        article_author = await api.register()
        slug = (await api.create_article(article_author))["slug"]
        comment = await api.comment(await api.register(), slug)
        before = await db_snapshot(session_factory)
        response = await delete_comment(client, article_author, slug, comment["id"])
        assert_error(response, 403, "comment")
        assert await db_snapshot(session_factory) == before

    async def test_another_user_may_not_delete_it(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        comment = await api.comment(author, slug)
        response = await delete_comment(client, await api.register(), slug, comment["id"])
        assert_error(response, 403, "comment")
        assert len((await api.comments(slug)).json()["comments"]) == 1

    async def test_unknown_comment_id_is_404_on_comment(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        response = await delete_comment(client, author, slug, 2147483647)
        assert_error(response, 404, "comment")

    async def test_comment_of_another_article_is_404(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        other_slug = (await api.create_article(author))["slug"]
        comment = await api.comment(author, other_slug)
        before = await db_snapshot(session_factory)
        response = await delete_comment(client, author, slug, comment["id"])
        assert_error(response, 404, "comment")
        assert await db_snapshot(session_factory) == before

    async def test_unknown_slug_is_404_on_article(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        response = await delete_comment(client, author, "no-such-article", 1)
        assert_error(response, 404, "article")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        comment = await api.comment(author, slug)
        response = await client.delete(f"/api/articles/{slug}/comments/{comment['id']}")
        assert_error(response, 401, "token")
