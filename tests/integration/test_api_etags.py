"""ETag on GetArticle and UpdateArticle, If-Match on UpdateArticle, over HTTP on both backends.

The ETag names the version of the article's content; an update with a stale If-Match is 412 and
changes nothing; `*` matches any version; without If-Match updates apply as RealWorld's do.
"""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.api import Account, Api, assert_only_error, db_snapshot

STRONG_TAG = re.compile(r'"[!#-~]{1,64}"')


async def etag_of(client: httpx.AsyncClient, slug: str) -> str:
    response = await client.get(f"/api/articles/{slug}")
    assert response.status_code == 200, response.text
    etag = response.headers["ETag"]
    assert STRONG_TAG.fullmatch(etag), etag
    return etag


async def update(
    client: httpx.AsyncClient, author: Account, slug: str, if_match: str | None, **fields: object
) -> httpx.Response:
    headers = dict(author.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.put(
        f"/api/articles/{slug}", json={"article": fields or {"body": "New"}}, headers=headers
    )


class TestGetArticle:
    async def test_has_a_strong_etag_that_stays_while_the_article_does(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]

        assert await etag_of(client, slug) == await etag_of(client, slug)

    async def test_each_article_has_its_own_etag(self, api: Api, client: httpx.AsyncClient) -> None:
        jake = await api.register("jake")
        one, two = [(await api.create_article(jake))["slug"] for _ in range(2)]

        assert await etag_of(client, one) != await etag_of(client, two)

    async def test_favorites_and_viewers_do_not_change_it(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake, jane = await api.register("jake"), await api.register("jane")
        slug = (await api.create_article(jake))["slug"]
        before = await etag_of(client, slug)

        await api.favorite(jane, slug)
        as_jane = await api.get_article(slug, jane)

        assert await etag_of(client, slug) == before
        assert as_jane.headers["ETag"] == before

    async def test_a_former_slug_gives_the_same_etag(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        old_slug = (await api.create_article(jake, title="Old title"))["slug"]
        new_slug = (await update(client, jake, old_slug, None, title="New title")).json()[
            "article"
        ]["slug"]

        assert await etag_of(client, old_slug) == await etag_of(client, new_slug)


class TestUpdateArticle:
    async def test_answers_with_the_new_etag(self, api: Api, client: httpx.AsyncClient) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        before = await etag_of(client, slug)

        response = await update(client, jake, slug, None)

        assert response.status_code == 200
        assert response.headers["ETag"] != before
        assert response.headers["ETag"] == await etag_of(client, slug)

    async def test_with_the_current_etag_applies(self, api: Api, client: httpx.AsyncClient) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]

        response = await update(client, jake, slug, await etag_of(client, slug), body="Mine")

        assert response.status_code == 200
        assert response.json()["article"]["body"] == "Mine"

    async def test_with_a_stale_etag_is_412_and_changes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        stale = await etag_of(client, slug)
        await update(client, jake, slug, None, body="Someone else's change")
        before = await db_snapshot(session_factory)

        response = await update(client, jake, slug, stale, title="Lost update", body="Mine")

        assert_only_error(response, 412, "If-Match")
        assert await db_snapshot(session_factory) == before

    async def test_a_chain_of_conditional_updates_applies(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        etag = await etag_of(client, slug)

        for text in ("one", "two", "three"):
            response = await update(client, jake, slug, etag, body=text)
            assert response.status_code == 200, response.text
            etag = response.headers["ETag"]

        assert (await api.get_article(slug)).json()["article"]["body"] == "three"

    async def test_a_star_matches_any_version(self, api: Api, client: httpx.AsyncClient) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        await update(client, jake, slug, None)

        assert (await update(client, jake, slug, "*")).status_code == 200

    async def test_a_list_matches_if_one_of_its_tags_does(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        current = await etag_of(client, slug)

        response = await update(client, jake, slug, f'"elsewhere", {current}')

        assert response.status_code == 200

    async def test_a_weak_tag_never_matches(self, api: Api, client: httpx.AsyncClient) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]

        response = await update(client, jake, slug, f"W/{await etag_of(client, slug)}")

        assert_only_error(response, 412, "If-Match")

    async def test_without_if_match_the_last_write_wins(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        await update(client, jake, slug, None, body="first")

        response = await update(client, jake, slug, None, body="second")

        assert response.status_code == 200
        assert response.json()["article"]["body"] == "second"

    async def test_someone_elses_article_is_403_whatever_the_etag(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake, jane = await api.register("jake"), await api.register("jane")
        slug = (await api.create_article(jake))["slug"]

        response = await update(client, jane, slug, '"stale"')

        assert response.status_code == 403

    async def test_an_unknown_article_is_404_whatever_the_etag(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")

        assert (await update(client, jake, "no-such-article", "*")).status_code == 404

    async def test_a_value_that_is_no_entity_tag_matches_no_version(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        unquoted = (await etag_of(client, slug)).strip('"')

        response = await update(client, jake, slug, unquoted)

        assert_only_error(response, 412, "If-Match")

    async def test_an_if_match_outside_visible_ascii_is_422(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]

        response = await client.put(
            f"/api/articles/{slug}",
            json={"article": {"body": "New"}},
            headers=[
                (b"Authorization", f"Token {jake.token}".encode()),
                (b"If-Match", '"café"'.encode()),
            ],
        )

        assert_only_error(response, 422, "If-Match")
