"""Favorites over HTTP: favoriting and unfavoriting, counts and flags per viewer."""

from __future__ import annotations

import httpx

from tests.integration.api import ARTICLE_FIELDS, Account, Api, assert_error


async def unfavorite(client: httpx.AsyncClient, viewer: Account, slug: str) -> httpx.Response:
    return await client.delete(f"/api/articles/{slug}/favorite", headers=viewer.headers)


class TestFavoriteArticle:
    async def test_answers_the_article_favorited_with_its_count(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        fan = await api.register()
        response = await client.post(f"/api/articles/{slug}/favorite", headers=fan.headers)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"article"}
        assert set(body["article"]) == ARTICLE_FIELDS
        assert (body["article"]["favorited"], body["article"]["favoritesCount"]) == (True, 1)

    async def test_favoriting_twice_counts_once(self, api: Api) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        fan = await api.register()
        await api.favorite(fan, slug)
        article = await api.favorite(fan, slug)
        assert (article["favorited"], article["favoritesCount"]) == (True, 1)

    async def test_count_is_shared_and_favorited_is_per_viewer(self, api: Api) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        first, second, onlooker = [await api.register() for _ in range(3)]
        await api.favorite(first, slug)
        after_second = await api.favorite(second, slug)
        assert (after_second["favorited"], after_second["favoritesCount"]) == (True, 2)
        seen = (await api.get_article(slug, onlooker)).json()["article"]
        assert (seen["favorited"], seen["favoritesCount"]) == (False, 2)

    async def test_the_author_may_favorite_their_own_article(self, api: Api) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        article = await api.favorite(author, slug)
        assert (article["favorited"], article["favoritesCount"]) == (True, 1)

    async def test_unknown_slug_is_404(self, api: Api, client: httpx.AsyncClient) -> None:
        fan = await api.register()
        response = await client.post("/api/articles/no-such-article/favorite", headers=fan.headers)
        assert_error(response, 404, "article")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        assert_error(await client.post(f"/api/articles/{slug}/favorite"), 401, "token")


class TestUnfavoriteArticle:
    async def test_answers_the_article_unfavorited_with_its_count(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        fan, other = await api.register(), await api.register()
        await api.favorite(fan, slug)
        await api.favorite(other, slug)
        response = await unfavorite(client, fan, slug)
        assert response.status_code == 200
        article = response.json()["article"]
        assert set(article) == ARTICLE_FIELDS
        assert (article["favorited"], article["favoritesCount"]) == (False, 1)

    async def test_unfavoriting_when_not_favorited_keeps_the_count(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        await api.favorite(await api.register(), slug)
        bystander = await api.register()
        for _ in range(2):
            article = (await unfavorite(client, bystander, slug)).json()["article"]
            assert (article["favorited"], article["favoritesCount"]) == (False, 1)

    async def test_the_count_never_goes_below_zero(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        fan = await api.register()
        await api.favorite(fan, slug)
        await unfavorite(client, fan, slug)
        article = (await unfavorite(client, fan, slug)).json()["article"]
        assert article["favoritesCount"] == 0

    async def test_the_article_leaves_the_favorited_filter(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        fan = await api.register("fan")
        await api.favorite(fan, slug)
        await unfavorite(client, fan, slug)
        response = await api.list_articles(favorited="fan")
        assert response.json() == {"articles": [], "articlesCount": 0}

    async def test_unknown_slug_is_404(self, api: Api, client: httpx.AsyncClient) -> None:
        fan = await api.register()
        assert_error(await unfavorite(client, fan, "no-such-article"), 404, "article")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        assert_error(await client.delete(f"/api/articles/{slug}/favorite"), 401, "token")
