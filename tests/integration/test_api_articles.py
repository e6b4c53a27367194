"""Articles over HTTP: create, read, update, delete, the global list and the feed."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.db.models import ArticleTag, Comment, Favorite
from tests.integration.api import (
    ARTICLE_FIELDS,
    LIST_ITEM_FIELDS,
    PROFILE_FIELDS,
    Account,
    Api,
    assert_error,
    assert_timestamp,
    auth,
    count_rows,
    db_snapshot,
    slugs,
)


async def update_article(
    client: httpx.AsyncClient, author: Account, slug: str, **fields: object
) -> httpx.Response:
    return await client.put(
        f"/api/articles/{slug}", json={"article": fields}, headers=author.headers
    )


class TestCreateArticle:
    async def test_answers_201_with_the_whole_article(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        jake = await api.register("jake")
        response = await client.post(
            "/api/articles",
            json={
                "article": {
                    "title": "How to train your dragon",
                    "description": "Ever wonder how?",
                    "body": "You have to believe",
                    "tagList": ["dragons", "training"],
                }
            },
            headers=jake.headers,
        )
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"article"}
        article = body["article"]
        assert set(article) == ARTICLE_FIELDS
        assert {k: article[k] for k in ("slug", "title", "description", "body", "tagList")} == {
            "slug": "how-to-train-your-dragon",
            "title": "How to train your dragon",
            "description": "Ever wonder how?",
            "body": "You have to believe",
            "tagList": ["dragons", "training"],
        }
        assert (article["favorited"], article["favoritesCount"]) == (False, 0)
        assert article["author"] == {
            "username": "jake",
            "bio": None,
            "image": None,
            "following": False,
        }
        assert_timestamp(article["createdAt"])
        assert article["updatedAt"] == article["createdAt"]

    async def test_can_be_read_back_by_its_slug(self, api: Api) -> None:
        created = await api.create_article(await api.register(), tags=["a"])
        response = await api.get_article(created["slug"])
        assert response.status_code == 200
        assert response.json() == {"article": created}

    async def test_tag_list_is_optional(self, api: Api) -> None:
        article = await api.create_article(await api.register(), tags=None)
        assert article["tagList"] == []

    async def test_tags_keep_their_order_without_duplicates(self, api: Api) -> None:
        article = await api.create_article(await api.register(), tags=["zeta", "alpha", "zeta"])
        assert article["tagList"] == ["zeta", "alpha"]

    async def test_same_title_gets_a_unique_suffixed_slug(self, api: Api) -> None:
        author = await api.register()
        first = await api.create_article(author, title="Hello World")
        second = await api.create_article(author, title="Hello, world!")
        assert first["slug"] == "hello-world"
        assert re.fullmatch(r"hello-world-[0-9a-f]{6}", second["slug"])
        assert (await api.get_article(second["slug"])).json()["article"]["title"] == (
            "Hello, world!"
        )

    async def test_slug_is_ascii_for_accented_titles(self, api: Api) -> None:
        article = await api.create_article(await api.register(), title="Héllo Wörld")
        assert article["slug"] == "hello-world"

    async def test_title_without_ascii_letters_still_gets_a_slug(self, api: Api) -> None:
        article = await api.create_article(await api.register(), title="日本語")
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", article["slug"])

    async def test_anonymous_is_401_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        await api.register()
        before = await db_snapshot(session_factory)
        response = await client.post(
            "/api/articles", json={"article": {"title": "t", "description": "d", "body": "b"}}
        )
        assert_error(response, 401, "token")
        assert await db_snapshot(session_factory) == before


class TestGetArticle:
    async def test_anonymous_sees_it_not_favorited_nor_followed(self, api: Api) -> None:
        author = await api.register("jake")
        slug = (await api.create_article(author))["slug"]
        await api.favorite(await api.register(), slug)
        article = (await api.get_article(slug)).json()["article"]
        assert set(article) == ARTICLE_FIELDS
        assert set(article["author"]) == PROFILE_FIELDS
        assert (article["favorited"], article["favoritesCount"]) == (False, 1)
        assert article["author"]["following"] is False

    async def test_viewer_sees_own_favorite_and_follow(self, api: Api) -> None:
        author = await api.register("jake")
        slug = (await api.create_article(author))["slug"]
        fan = await api.register()
        await api.favorite(fan, slug)
        await api.follow(fan, "jake")
        article = (await api.get_article(slug, fan)).json()["article"]
        assert (article["favorited"], article["favoritesCount"]) == (True, 1)
        assert article["author"]["following"] is True

    async def test_unknown_slug_is_404_on_article(self, api: Api) -> None:
        response = await api.get_article("no-such-article")
        assert assert_error(response, 404, "article") == ["not found"]

    async def test_an_invalid_token_is_401_even_though_auth_is_optional(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        response = await client.get(f"/api/articles/{slug}", headers=auth("nope"))
        assert_error(response, 401, "token")


class TestUpdateArticle:
    async def test_new_title_gives_a_new_slug_and_the_old_one_still_leads_to_it(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        created = await api.create_article(author, title="Old title", tags=["a"])
        response = await update_article(client, author, created["slug"], title="New title")
        assert response.status_code == 200
        article = response.json()["article"]
        assert set(article) == ARTICLE_FIELDS
        assert (article["slug"], article["title"]) == ("new-title", "New title")
        assert (article["description"], article["body"], article["tagList"]) == (
            created["description"],
            created["body"],
            ["a"],
        )
        assert (await api.get_article("new-title")).status_code == 200
        via_old_slug = await api.get_article("old-title")
        assert via_old_slug.status_code == 200
        assert via_old_slug.json()["article"]["slug"] == "new-title"

    async def test_a_new_article_never_takes_a_former_slug(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        created = await api.create_article(author, title="Old title")
        await update_article(client, author, created["slug"], title="New title")
        newcomer = await api.create_article(author, title="Old title")
        assert re.fullmatch(r"old-title-[0-9a-f]{6}", newcomer["slug"])
        assert (await api.get_article("old-title")).json()["article"]["slug"] == "new-title"

    async def test_new_title_taken_by_another_article_gets_a_suffix(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        await api.create_article(author, title="Taken")
        mine = await api.create_article(author, title="Mine")
        response = await update_article(client, author, mine["slug"], title="Taken")
        assert re.fullmatch(r"taken-[0-9a-f]{6}", response.json()["article"]["slug"])

    async def test_title_with_the_same_slug_keeps_the_slug(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        created = await api.create_article(author, title="Hello world")
        response = await update_article(client, author, created["slug"], title="HELLO, World!")
        article = response.json()["article"]
        assert (article["slug"], article["title"]) == ("hello-world", "HELLO, World!")

    async def test_body_change_keeps_slug_and_advances_updated_at(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        created = await api.create_article(author)
        await asyncio.sleep(0.005)  # timestamps have millisecond precision
        response = await update_article(client, author, created["slug"], body="With two hands")
        article = response.json()["article"]
        assert (article["slug"], article["body"]) == (created["slug"], "With two hands")
        assert article["createdAt"] == created["createdAt"]
        assert_timestamp(article["updatedAt"])
        assert article["updatedAt"] > created["updatedAt"]

    async def test_tag_list_is_replaced_and_an_empty_one_clears_it(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author, tags=["a", "b"]))["slug"]
        replaced = await update_article(client, author, slug, tagList=["c", "a"])
        assert replaced.json()["article"]["tagList"] == ["c", "a"]
        cleared = await update_article(client, author, slug, tagList=[])
        assert cleared.json()["article"]["tagList"] == []
        assert await api.tags() == []

    async def test_another_users_article_is_403_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        slug = (await api.create_article(await api.register(), title="Mine"))["slug"]
        intruder = await api.register()
        before = await db_snapshot(session_factory)
        response = await update_article(client, intruder, slug, title="Hijacked", tagList=["x"])
        assert_error(response, 403, "article")
        assert await db_snapshot(session_factory) == before

    async def test_unknown_slug_is_404(self, api: Api, client: httpx.AsyncClient) -> None:
        author = await api.register()
        response = await update_article(client, author, "no-such-article", body="x")
        assert_error(response, 404, "article")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        response = await client.put(f"/api/articles/{slug}", json={"article": {"body": "x"}})
        assert_error(response, 401, "token")


class TestDeleteArticle:
    async def test_answers_204_with_no_body_and_the_article_is_gone(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        author = await api.register()
        slug = (await api.create_article(author))["slug"]
        response = await client.delete(f"/api/articles/{slug}", headers=author.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert_error(await api.get_article(slug), 404, "article")
        assert_error(await api.comments(slug), 404, "article")
        assert slugs(await api.list_articles()) == []

    async def test_its_comments_favorites_and_tags_go_with_it(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        author = await api.register()
        fan = await api.register()
        kept = (await api.create_article(author, tags=["kept", "shared"]))["slug"]
        doomed = (await api.create_article(author, tags=["doomed", "shared"]))["slug"]
        for slug in (kept, doomed):
            await api.comment(fan, slug)
            await api.favorite(fan, slug)
        response = await client.delete(f"/api/articles/{doomed}", headers=author.headers)
        assert response.status_code == 204
        assert await count_rows(session_factory, Comment) == 1
        assert await count_rows(session_factory, Favorite) == 1
        assert await count_rows(session_factory, ArticleTag) == 2
        assert sorted(await api.tags()) == ["kept", "shared"]
        assert slugs(await api.list_articles(favorited=fan.username)) == [kept]

    async def test_another_users_article_is_403_and_writes_nothing(
        self,
        api: Api,
        client: httpx.AsyncClient,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        slug = (await api.create_article(await api.register(), tags=["t"]))["slug"]
        intruder = await api.register()
        before = await db_snapshot(session_factory)
        response = await client.delete(f"/api/articles/{slug}", headers=intruder.headers)
        assert_error(response, 403, "article")
        assert await db_snapshot(session_factory) == before

    async def test_unknown_slug_is_404(self, api: Api, client: httpx.AsyncClient) -> None:
        author = await api.register()
        response = await client.delete("/api/articles/no-such-article", headers=author.headers)
        assert_error(response, 404, "article")

    async def test_anonymous_is_401(self, api: Api, client: httpx.AsyncClient) -> None:
        slug = (await api.create_article(await api.register()))["slug"]
        assert_error(await client.delete(f"/api/articles/{slug}"), 401, "token")


class TestGetArticles:
    async def test_empty_list_has_the_envelope_and_zero_count(self, api: Api) -> None:
        response = await api.list_articles()
        assert response.status_code == 200
        assert response.json() == {"articles": [], "articlesCount": 0}

    async def test_items_carry_no_body(self, api: Api) -> None:
        await api.create_article(await api.register(), tags=["a"])
        body = (await api.list_articles()).json()
        assert set(body) == {"articles", "articlesCount"}
        (item,) = body["articles"]
        assert set(item) == LIST_ITEM_FIELDS
        assert set(item["author"]) == PROFILE_FIELDS
        assert item["tagList"] == ["a"]
        assert_timestamp(item["createdAt"])
        assert_timestamp(item["updatedAt"])

    async def test_most_recent_first_20_by_default_with_the_total_count(self, api: Api) -> None:
        author = await api.register()
        created = [(await api.create_article(author))["slug"] for _ in range(22)]
        response = await api.list_articles()
        assert slugs(response) == list(reversed(created))[:20]
        assert response.json()["articlesCount"] == 22

    async def test_limit_and_offset_select_a_page_and_keep_the_total(self, api: Api) -> None:
        author = await api.register()
        created = [(await api.create_article(author))["slug"] for _ in range(5)]
        newest_first = list(reversed(created))
        response = await api.list_articles(limit=2, offset=1)
        assert slugs(response) == newest_first[1:3]
        assert response.json()["articlesCount"] == 5
        past_the_end = await api.list_articles(limit=2, offset=10)
        assert past_the_end.json() == {"articles": [], "articlesCount": 5}

    async def test_limit_and_offset_accept_their_documented_bounds(self, api: Api) -> None:
        await api.create_article(await api.register())
        assert len(slugs(await api.list_articles(limit=100))) == 1
        response = await api.list_articles(limit=1, offset=1_000_000)
        assert response.json() == {"articles": [], "articlesCount": 1}

    async def test_filters_by_tag(self, api: Api) -> None:
        author = await api.register()
        tagged = (await api.create_article(author, tags=["dragons", "x"]))["slug"]
        await api.create_article(author, tags=["x"])
        response = await api.list_articles(tag="dragons")
        assert slugs(response) == [tagged]
        assert response.json()["articlesCount"] == 1

    async def test_filters_by_author(self, api: Api) -> None:
        jake = await api.register("jake")
        mine = (await api.create_article(jake))["slug"]
        await api.create_article(await api.register())
        assert slugs(await api.list_articles(author="jake")) == [mine]

    async def test_filters_by_who_favorited(self, api: Api) -> None:
        author = await api.register()
        fan = await api.register("fan")
        liked = (await api.create_article(author))["slug"]
        await api.create_article(author)
        await api.favorite(fan, liked)
        response = await api.list_articles(favorited="fan")
        assert slugs(response) == [liked]
        assert response.json()["articlesCount"] == 1

    async def test_filters_combine(self, api: Api) -> None:
        jake = await api.register("jake")
        other = await api.register("other")
        fan = await api.register("fan")
        match = (await api.create_article(jake, tags=["t"]))["slug"]
        wrong_tag = (await api.create_article(jake, tags=["u"]))["slug"]
        wrong_author = (await api.create_article(other, tags=["t"]))["slug"]
        await api.create_article(jake, tags=["t"])  # not favorited
        for slug in (match, wrong_tag, wrong_author):
            await api.favorite(fan, slug)

        response = await api.list_articles(tag="t", author="jake", favorited="fan")
        assert slugs(response) == [match]
        assert response.json()["articlesCount"] == 1
        assert set(slugs(await api.list_articles(author="jake", favorited="fan"))) == {
            match,
            wrong_tag,
        }
        assert set(slugs(await api.list_articles(tag="t", favorited="fan"))) == {
            match,
            wrong_author,
        }

    @pytest.mark.parametrize("filter_name", ["tag", "author", "favorited"])
    async def test_unknown_filter_value_matches_nothing(
        self, api: Api, client: httpx.AsyncClient, filter_name: str
    ) -> None:
        await api.create_article(await api.register(), tags=["t"])
        response = await client.get("/api/articles", params={filter_name: "nobody"})
        assert response.json() == {"articles": [], "articlesCount": 0}

    async def test_favorited_and_following_are_per_viewer(self, api: Api) -> None:
        jake = await api.register("jake")
        slug = (await api.create_article(jake))["slug"]
        fan = await api.register()
        await api.favorite(fan, slug)
        await api.follow(fan, "jake")
        stranger = await api.register()

        def seen(response: httpx.Response) -> tuple[bool, int, bool]:
            (item,) = response.json()["articles"]
            return item["favorited"], item["favoritesCount"], item["author"]["following"]

        assert seen(await api.list_articles(fan)) == (True, 1, True)
        assert seen(await api.list_articles(stranger)) == (False, 1, False)
        assert seen(await api.list_articles()) == (False, 1, False)

    async def test_an_invalid_token_is_401_even_though_auth_is_optional(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/articles", headers=auth("nope", "Bearer"))
        assert_error(response, 401, "token")


class TestSortArticles:
    @pytest.fixture
    async def three(self, api: Api) -> dict[str, str]:
        """Articles b (2 favorites), a (1), c (0), created in that order."""
        author = await api.register()
        made = {t: (await api.create_article(author, title=t))["slug"] for t in ("b", "a", "c")}
        fans = [await api.register() for _ in range(2)]
        for fan in fans:
            await api.favorite(fan, made["b"])
        await api.favorite(fans[0], made["a"])
        return made

    @pytest.mark.parametrize(
        ("sort", "titles"),
        [
            ("-createdAt", "cab"),
            ("createdAt", "bac"),
            ("title", "abc"),
            ("-title", "cba"),
            ("favoritesCount", "cab"),
            ("-favoritesCount", "bac"),
        ],
    )
    async def test_sort_option_orders_the_list(
        self, api: Api, three: dict[str, str], sort: str, titles: str
    ) -> None:
        assert slugs(await api.list_articles(sort=sort)) == [three[t] for t in titles]

    @pytest.mark.parametrize("sort", ["favoritesCount", "-favoritesCount", "title", "-title"])
    async def test_pages_never_repeat_or_skip_articles_with_equal_keys(
        self, api: Api, sort: str
    ) -> None:
        author = await api.register()
        # Equal titles and no favorites: every sort key ties, only the tiebreaker orders them.
        created = {(await api.create_article(author, title="Same"))["slug"] for _ in range(7)}
        whole = slugs(await api.list_articles(sort=sort, limit=100))
        paged: list[str] = []
        for offset in range(0, 8, 2):
            paged += slugs(await api.list_articles(sort=sort, limit=2, offset=offset))
        assert paged == whole
        assert sorted(paged) == sorted(created)


class TestGetArticlesFeed:
    async def test_lists_only_followed_authors_most_recent_first(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        me = await api.register("me")
        jake = await api.register("jake")
        anna = await api.register("anna")
        stranger = await api.register("stranger")
        await api.follow(me, "jake")
        await api.follow(me, "anna")
        expected = []
        for author in (jake, stranger, anna, me, jake):
            slug = (await api.create_article(author))["slug"]
            if author in (jake, anna):
                expected.append(slug)

        response = await api.feed(me)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"articles", "articlesCount"}
        assert slugs(response) == list(reversed(expected))
        assert body["articlesCount"] == 3
        for item in body["articles"]:
            assert set(item) == LIST_ITEM_FIELDS
            assert item["author"]["following"] is True

    async def test_is_empty_when_following_nobody(self, api: Api) -> None:
        me = await api.register()
        await api.create_article(await api.register())
        assert (await api.feed(me)).json() == {"articles": [], "articlesCount": 0}

    async def test_unfollowing_removes_the_authors_articles(
        self, api: Api, client: httpx.AsyncClient
    ) -> None:
        me = await api.register()
        await api.create_article(await api.register("jake"))
        await api.follow(me, "jake")
        await client.delete("/api/profiles/jake/follow", headers=me.headers)
        assert (await api.feed(me)).json() == {"articles": [], "articlesCount": 0}

    async def test_pages_with_limit_and_offset(self, api: Api) -> None:
        me = await api.register()
        jake = await api.register("jake")
        await api.follow(me, "jake")
        created = [(await api.create_article(jake))["slug"] for _ in range(5)]
        response = await api.feed(me, limit=2, offset=2)
        assert slugs(response) == list(reversed(created))[2:4]
        assert response.json()["articlesCount"] == 5

    async def test_accepts_a_sort_option(self, api: Api) -> None:
        me = await api.register()
        jake = await api.register("jake")
        await api.follow(me, "jake")
        created = [(await api.create_article(jake, title=t))["slug"] for t in ("b", "c", "a")]
        assert slugs(await api.feed(me, sort="title")) == [created[2], created[0], created[1]]
        assert slugs(await api.feed(me, sort="createdAt")) == created

    async def test_favorited_reflects_the_viewer(self, api: Api) -> None:
        me = await api.register()
        jake = await api.register("jake")
        await api.follow(me, "jake")
        slug = (await api.create_article(jake))["slug"]
        await api.favorite(me, slug)
        (item,) = (await api.feed(me)).json()["articles"]
        assert (item["favorited"], item["favoritesCount"]) == (True, 1)

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        assert_error(await client.get("/api/articles/feed"), 401, "token")

    async def test_an_expired_or_bad_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/articles/feed", headers=auth("a.b.c"))
        assert_error(response, 401, "token")
