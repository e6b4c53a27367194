"""Tags over HTTP: the tags in use."""

from __future__ import annotations

import httpx

from tests.integration.api import Api, auth


class TestGetTags:
    async def test_no_articles_means_no_tags(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/tags")
        assert response.status_code == 200
        assert response.json() == {"tags": []}

    async def test_lists_each_tag_in_use_once_most_used_first(self, api: Api) -> None:
        author = await api.register()
        await api.create_article(author, tags=["rare", "common"])
        await api.create_article(author, tags=["common", "middle"])
        await api.create_article(author, tags=["middle", "common"])
        assert await api.tags() == ["common", "middle", "rare"]

    async def test_a_tag_no_article_uses_any_more_disappears(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author, tags=["old", "kept"]))["slug"]
        await client.put(
            f"/api/articles/{slug}", json={"article": {"tagList": ["kept"]}}, headers=author.headers
        )
        assert await api.tags() == ["kept"]

    async def test_tags_of_a_deleted_article_disappear(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author, tags=["gone"]))["slug"]
        await api.create_article(author, tags=["stays"])
        await client.delete(f"/api/articles/{slug}", headers=author.headers)
        assert await api.tags() == ["stays"]

    async def test_ignores_any_token_sent(self, api: Api, client: httpx.AsyncClient) -> None:
        await api.create_article(await api.register(), tags=["t"])
        response = await client.get("/api/tags", headers=auth("stale.or.garbage"))
        assert response.status_code == 200
        assert response.json() == {"tags": ["t"]}
