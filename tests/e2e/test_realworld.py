"""The public RealWorld API behaviours, checked over HTTP against the server `make run` starts.

The same ground as the RealWorld project's API test collection (auth, articles, lists and
filters, feed, favorites, comments, profiles, tags), written as independent tests: each one
signs up its own users and writes its own articles, so any test can run alone or in any order.
Bodies are checked the way a client reads them: envelopes, field presence and JSON types,
RFC 3339 timestamps with milliseconds and `Z`, and list items without `body` (RealWorld 1.1).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import REPO_ROOT, Account, LiveServer

pytestmark = pytest.mark.e2e

Json = dict[str, Any]
Register = Callable[[], Account]

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
USER_FIELDS = {"email", "token", "username", "bio", "image"}
PROFILE_FIELDS = {"username", "bio", "image", "following"}
LIST_ITEM_FIELDS = {
    "slug",
    "title",
    "description",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
ARTICLE_FIELDS = LIST_ITEM_FIELDS | {"body"}
COMMENT_FIELDS = {"id", "createdAt", "updatedAt", "body", "author"}
# src="/..." or href="/..." in an HTML page: a file the page loads from the same server.
LOCAL_REFERENCE = re.compile(r"""(?:src|href)=["'](/[^"'/][^"']*)["']""")


# -- reading responses as a client does ------------------------------------------------------


def expect(response: httpx.Response, status: int) -> Json:
    """The JSON object body of a response that must have ``status``."""
    request = response.request
    assert response.status_code == status, (
        f"{request.method} {request.url} -> {response.status_code}: {response.text}"
    )
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    return body


def expect_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


def expect_error(response: httpx.Response, status: int) -> dict[str, list[str]]:
    """The ``{"errors": {"<field>": ["message", ...]}}`` body every error has."""
    errors = expect(response, status)["errors"]
    assert isinstance(errors, dict)
    assert errors
    for messages in errors.values():
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(message, str) for message in messages)
    return errors


def is_int(value: object) -> bool:
    # JSON booleans arrive as bool, which is a subclass of int.
    return isinstance(value, int) and not isinstance(value, bool)


def timestamp(value: object) -> datetime:
    assert isinstance(value, str)
    assert TIMESTAMP.fullmatch(value), f"{value!r} is not RFC 3339 UTC with milliseconds"
    return datetime.fromisoformat(value)


def check_user(user: object) -> Json:
    assert isinstance(user, dict)
    assert user.keys() >= USER_FIELDS
    for field in ("email", "token", "username"):
        assert isinstance(user[field], str)
        assert user[field]
    assert user["bio"] is None or isinstance(user["bio"], str)
    assert user["image"] is None or isinstance(user["image"], str)
    return user


def check_profile(profile: object) -> Json:
    assert isinstance(profile, dict)
    assert profile.keys() >= PROFILE_FIELDS
    assert isinstance(profile["username"], str)
    assert profile["bio"] is None or isinstance(profile["bio"], str)
    assert profile["image"] is None or isinstance(profile["image"], str)
    assert isinstance(profile["following"], bool)
    return profile


def check_article(article: object, *, in_list: bool = False) -> Json:
    assert isinstance(article, dict)
    if in_list:
        assert article.keys() >= LIST_ITEM_FIELDS
        assert "body" not in article, "list items carry no body (RealWorld 1.1)"
    else:
        assert article.keys() >= ARTICLE_FIELDS
        assert isinstance(article["body"], str)
    for field in ("slug", "title", "description"):
        assert isinstance(article[field], str)
    assert isinstance(article["tagList"], list)
    assert all(isinstance(tag, str) for tag in article["tagList"])
    assert timestamp(article["createdAt"]) <= timestamp(article["updatedAt"])
    assert isinstance(article["favorited"], bool)
    assert is_int(article["favoritesCount"])
    assert article["favoritesCount"] >= 0
    check_profile(article["author"])
    return article


def check_article_list(body: Json) -> list[Json]:
    assert {"articles", "articlesCount"} <= body.keys()
    assert is_int(body["articlesCount"])
    articles = body["articles"]
    assert isinstance(articles, list)
    # The count is of all matching articles, not of this page (offset may be past the end).
    assert body["articlesCount"] >= len(articles)
    return [check_article(article, in_list=True) for article in articles]


def check_comment(comment: object) -> Json:
    assert isinstance(comment, dict)
    assert comment.keys() >= COMMENT_FIELDS
    assert is_int(comment["id"])
    assert isinstance(comment["body"], str)
    assert timestamp(comment["createdAt"]) <= timestamp(comment["updatedAt"])
    check_profile(comment["author"])
    return comment


def slugs(articles: list[Json]) -> list[str]:
    return [article["slug"] for article in articles]


# -- writing as a client does ----------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def publish(
    api: httpx.Client, author: Account, *, title: str | None = None, tags: list[str] | None = None
) -> Json:
    """Create an article through the API and return it."""
    article = {
        "title": title or unique("How to train your dragon "),
        "description": "Ever wonder how?",
        "body": "Very carefully.",
        "tagList": tags if tags is not None else ["dragons", "training"],
    }
    body = expect(api.post("/articles", json={"article": article}, headers=author.auth), 201)
    return check_article(body["article"])


def follow(api: httpx.Client, follower: Account, followed: Account) -> Json:
    body = expect(api.post(f"/profiles/{followed.username}/follow", headers=follower.auth), 200)
    return check_profile(body["profile"])


def favorite(api: httpx.Client, reader: Account, slug: str) -> Json:
    body = expect(api.post(f"/articles/{slug}/favorite", headers=reader.auth), 200)
    return check_article(body["article"])


def comment_on(api: httpx.Client, commenter: Account, slug: str, text: str) -> Json:
    payload = {"comment": {"body": text}}
    body = expect(api.post(f"/articles/{slug}/comments", json=payload, headers=commenter.auth), 200)
    return check_comment(body["comment"])


# -- the served documents --------------------------------------------------------------------


class TestServedDocuments:
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    def test_docs_page_is_html_whose_own_files_are_served(
        self, server: LiveServer, page: str
    ) -> None:
        response = httpx.get(f"{server.base_url}{page}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "/api/openapi.json" in response.text
        # What a browser fetches next: every script, stylesheet and icon the page names here.
        local = set(LOCAL_REFERENCE.findall(response.text))
        assert local, "the page loads nothing from this server"
        for path in sorted(local):
            assert httpx.get(f"{server.base_url}{path}").status_code == 200, path

    def test_openapi_json_is_the_hand_written_contract(self, api: httpx.Client) -> None:
        served = expect(api.get("/openapi.json"), 200)
        with (REPO_ROOT / "openapi" / "conduit.yaml").open(encoding="utf-8") as handle:
            contract = yaml.safe_load(handle)
        assert served == contract


# -- users and authentication ----------------------------------------------------------------


class TestUsers:
    def test_register_returns_201_and_the_user_with_a_token(self, api: httpx.Client) -> None:
        name = unique("jake")
        payload = {"user": {"username": name, "email": f"{name}@jake.jake", "password": "jakejake"}}
        user = check_user(expect(api.post("/users", json=payload), 201)["user"])
        assert user["username"] == name
        assert user["email"] == f"{name}@jake.jake"
        assert user["bio"] is None
        assert user["image"] is None

    def test_register_with_a_taken_username_is_409(
        self, api: httpx.Client, register: Register
    ) -> None:
        taken = register()
        payload = {"user": {"username": taken.username, "email": "x@y.z", "password": "jakejake"}}
        assert "username" in expect_error(api.post("/users", json=payload), 409)

    def test_register_with_an_invalid_email_is_422(self, api: httpx.Client) -> None:
        name = unique("jake")
        payload = {"user": {"username": name, "email": "not-an-email", "password": "jakejake"}}
        assert "email" in expect_error(api.post("/users", json=payload), 422)

    def test_login_returns_the_user_with_a_working_token(
        self, api: httpx.Client, register: Register
    ) -> None:
        account = register()
        credentials = {"user": {"email": account.email, "password": account.password}}
        user = check_user(expect(api.post("/users/login", json=credentials), 200)["user"])
        assert user["username"] == account.username
        headers = {"Authorization": f"Token {user['token']}"}
        assert expect(api.get("/user", headers=headers), 200)["user"]["email"] == account.email

    def test_login_with_a_wrong_password_is_401(
        self, api: httpx.Client, register: Register
    ) -> None:
        account = register()
        credentials = {"user": {"email": account.email, "password": "not-the-password"}}
        wrong_password = expect_error(api.post("/users/login", json=credentials), 401)
        credentials = {"user": {"email": f"x{account.email}", "password": account.password}}
        # The same answer for an unknown email: login cannot be used to discover accounts.
        assert expect_error(api.post("/users/login", json=credentials), 401) == wrong_password

    def test_current_user_with_the_token_scheme(
        self, api: httpx.Client, register: Register
    ) -> None:
        account = register()
        user = check_user(expect(api.get("/user", headers=account.auth), 200)["user"])
        assert (user["username"], user["email"]) == (account.username, account.email)

    def test_current_user_accepts_the_bearer_scheme_too(
        self, api: httpx.Client, register: Register
    ) -> None:
        account = register()
        headers = {"Authorization": f"Bearer {account.token}"}
        user = expect(api.get("/user", headers=headers), 200)["user"]
        assert user["username"] == account.username

    def test_current_user_without_a_token_is_401(self, api: httpx.Client) -> None:
        expect_error(api.get("/user"), 401)

    def test_a_forged_token_is_401(self, api: httpx.Client, register: Register) -> None:
        header, payload, _ = register().token.split(".")
        forged = {"Authorization": f"Token {header}.{payload}.c2lnbmF0dXJl"}
        expect_error(api.get("/user", headers=forged), 401)

    def test_update_user_changes_email_bio_and_image(
        self, api: httpx.Client, register: Register
    ) -> None:
        account = register()
        changes = {
            "email": f"new-{account.email}",
            "bio": "I like to skateboard",
            "image": "https://i.stack.imgur.com/xHWG8.jpg",
        }
        response = api.put("/user", json={"user": changes}, headers=account.auth)
        updated = check_user(expect(response, 200)["user"])
        assert {field: updated[field] for field in changes} == changes
        assert updated["username"] == account.username

        current = expect(api.get("/user", headers=account.auth), 200)["user"]
        assert {field: current[field] for field in changes} == changes
        credentials = {"user": {"email": changes["email"], "password": account.password}}
        expect(api.post("/users/login", json=credentials), 200)

    def test_update_user_clears_bio_and_image_with_null(
        self, api: httpx.Client, register: Register
    ) -> None:
        account = register()
        filled = {"bio": "bio", "image": "https://example.com/me.png"}
        expect(api.put("/user", json={"user": filled}, headers=account.auth), 200)
        cleared = {"bio": None, "image": None}
        response = api.put("/user", json={"user": cleared}, headers=account.auth)
        user = check_user(expect(response, 200)["user"])
        assert (user["bio"], user["image"]) == (None, None)


# -- articles --------------------------------------------------------------------------------


class TestArticles:
    def test_create_returns_201_and_the_full_article(
        self, api: httpx.Client, register: Register
    ) -> None:
        author = register()
        title = unique("How to train your dragon ")
        article = publish(api, author, title=title, tags=["dragons", "training"])
        assert article["title"] == title
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", article["slug"])
        assert article["slug"].startswith("how-to-train-your-dragon-")
        assert (article["description"], article["body"]) == ("Ever wonder how?", "Very carefully.")
        assert article["tagList"] == ["dragons", "training"]
        assert (article["favorited"], article["favoritesCount"]) == (False, 0)
        assert article["author"]["username"] == author.username
        assert article["author"]["following"] is False

    def test_create_without_a_tag_list_has_no_tags(
        self, api: httpx.Client, register: Register
    ) -> None:
        article = {"title": unique("Untagged "), "description": "d", "body": "b"}
        response = api.post("/articles", json={"article": article}, headers=register().auth)
        assert check_article(expect(response, 201)["article"])["tagList"] == []

    def test_create_without_a_token_is_401(self, api: httpx.Client) -> None:
        article = {"title": "t", "description": "d", "body": "b"}
        expect_error(api.post("/articles", json={"article": article}), 401)

    def test_create_with_a_blank_title_is_422(self, api: httpx.Client, register: Register) -> None:
        article = {"title": "", "description": "d", "body": "b"}
        response = api.post("/articles", json={"article": article}, headers=register().auth)
        assert "title" in expect_error(response, 422)

    def test_single_article_by_slug_anonymous_and_with_auth(
        self, api: httpx.Client, register: Register
    ) -> None:
        author, reader = register(), register()
        created = publish(api, author)
        anonymous = check_article(expect(api.get(f"/articles/{created['slug']}"), 200)["article"])
        assert anonymous == created
        response = api.get(f"/articles/{created['slug']}", headers=reader.auth)
        seen = check_article(expect(response, 200)["article"])
        assert seen["body"] == created["body"]
        assert seen["favorited"] is False

    def test_unknown_slug_is_404(self, api: httpx.Client) -> None:
        expect_error(api.get(f"/articles/{unique('no-such-article-')}"), 404)

    def test_update_changes_the_body_and_keeps_the_slug(
        self, api: httpx.Client, register: Register
    ) -> None:
        author = register()
        created = publish(api, author)
        payload = {"article": {"body": "With two hands"}}
        response = api.put(f"/articles/{created['slug']}", json=payload, headers=author.auth)
        updated = check_article(expect(response, 200)["article"])
        assert updated["body"] == "With two hands"
        assert (updated["slug"], updated["title"]) == (created["slug"], created["title"])
        assert updated["createdAt"] == created["createdAt"]
        assert timestamp(updated["updatedAt"]) >= timestamp(created["updatedAt"])
        stored = expect(api.get(f"/articles/{created['slug']}"), 200)["article"]
        assert stored["body"] == "With two hands"

    def test_update_of_the_title_gives_a_new_slug(
        self, api: httpx.Client, register: Register
    ) -> None:
        author = register()
        created = publish(api, author)
        title = unique("A brand new title ")
        payload = {"article": {"title": title}}
        response = api.put(f"/articles/{created['slug']}", json=payload, headers=author.auth)
        updated = check_article(expect(response, 200)["article"])
        assert updated["title"] == title
        assert updated["slug"].startswith("a-brand-new-title-")
        assert expect(api.get(f"/articles/{updated['slug']}"), 200)["article"]["title"] == title

    def test_update_by_someone_else_is_403(self, api: httpx.Client, register: Register) -> None:
        created = publish(api, register())
        payload = {"article": {"body": "mine now"}}
        response = api.put(f"/articles/{created['slug']}", json=payload, headers=register().auth)
        expect_error(response, 403)

    def test_delete_is_204_and_the_article_is_gone(
        self, api: httpx.Client, register: Register
    ) -> None:
        author = register()
        slug = publish(api, author)["slug"]
        comment_on(api, author, slug, "first!")
        expect_no_content(api.delete(f"/articles/{slug}", headers=author.auth))
        expect_error(api.get(f"/articles/{slug}"), 404)
        expect_error(api.get(f"/articles/{slug}/comments"), 404)

    def test_delete_by_someone_else_is_403(self, api: httpx.Client, register: Register) -> None:
        slug = publish(api, register())["slug"]
        expect_error(api.delete(f"/articles/{slug}", headers=register().auth), 403)
        expect(api.get(f"/articles/{slug}"), 200)


# -- article lists and the feed --------------------------------------------------------------


class TestArticleLists:
    def test_all_articles_anonymous(self, api: httpx.Client, register: Register) -> None:
        created = publish(api, register())
        articles = check_article_list(expect(api.get("/articles"), 200))
        assert created["slug"] in slugs(articles)

    def test_all_articles_with_auth_shows_the_viewers_flags(
        self, api: httpx.Client, register: Register
    ) -> None:
        author, reader = register(), register()
        slug = publish(api, author)["slug"]
        follow(api, reader, author)
        favorite(api, reader, slug)
        articles = check_article_list(expect(api.get("/articles", headers=reader.auth), 200))
        [mine] = [article for article in articles if article["slug"] == slug]
        assert (mine["favorited"], mine["favoritesCount"]) == (True, 1)
        assert mine["author"]["following"] is True

    def test_articles_by_author_newest_first(self, api: httpx.Client, register: Register) -> None:
        author = register()
        older, newer = publish(api, author), publish(api, author)
        publish(api, register())  # by someone else
        body = expect(api.get("/articles", params={"author": author.username}), 200)
        articles = check_article_list(body)
        assert slugs(articles) == [newer["slug"], older["slug"]]
        assert body["articlesCount"] == 2
        assert {article["author"]["username"] for article in articles} == {author.username}

    def test_articles_by_author_with_auth(self, api: httpx.Client, register: Register) -> None:
        author, reader = register(), register()
        slug = publish(api, author)["slug"]
        follow(api, reader, author)
        params = {"author": author.username}
        body = expect(api.get("/articles", params=params, headers=reader.auth), 200)
        [article] = check_article_list(body)
        assert article["slug"] == slug
        assert article["author"]["following"] is True
        assert body["articlesCount"] == 1

    def test_articles_by_an_author_without_articles_is_empty(
        self, api: httpx.Client, register: Register
    ) -> None:
        body = expect(api.get("/articles", params={"author": register().username}), 200)
        assert check_article_list(body) == []
        assert body["articlesCount"] == 0

    def test_articles_by_tag(self, api: httpx.Client, register: Register) -> None:
        author = register()
        dragons, training = unique("dragons"), unique("training")
        tagged = publish(api, author, tags=[dragons, training])
        publish(api, author, tags=[training])
        body = expect(api.get("/articles", params={"tag": dragons}, headers=author.auth), 200)
        [article] = check_article_list(body)
        assert article["slug"] == tagged["slug"]
        assert article["tagList"] == [dragons, training]
        assert body["articlesCount"] == 1

    def test_articles_favorited_by_username(self, api: httpx.Client, register: Register) -> None:
        author, fan = register(), register()
        liked = publish(api, author)
        publish(api, author)  # not favorited
        favorite(api, fan, liked["slug"])
        params = {"favorited": fan.username}
        for headers in ({}, fan.auth):
            body = expect(api.get("/articles", params=params, headers=headers), 200)
            [article] = check_article_list(body)
            assert article["slug"] == liked["slug"]
            assert article["favoritesCount"] == 1
            assert article["favorited"] is bool(headers)
            assert body["articlesCount"] == 1

    def test_pages_hold_20_articles_by_default(self, api: httpx.Client, register: Register) -> None:
        author = register()
        created = [publish(api, author)["slug"] for _ in range(21)]
        body = expect(api.get("/articles", params={"author": author.username}), 200)
        assert slugs(check_article_list(body)) == created[:0:-1]
        assert body["articlesCount"] == 21

    def test_limit_and_offset_page_through_the_list(
        self, api: httpx.Client, register: Register
    ) -> None:
        author = register()
        older, newer = publish(api, author), publish(api, author)
        pages = [
            expect(api.get("/articles", params={"author": author.username, **page}), 200)
            for page in ({"limit": 1}, {"limit": 1, "offset": 1}, {"offset": 2})
        ]
        assert [slugs(check_article_list(page)) for page in pages] == [
            [newer["slug"]],
            [older["slug"]],
            [],
        ]
        assert [page["articlesCount"] for page in pages] == [2, 2, 2]

    def test_feed_lists_articles_of_followed_authors(
        self, api: httpx.Client, register: Register
    ) -> None:
        followed, stranger, reader = register(), register(), register()
        older, newer = publish(api, followed), publish(api, followed)
        publish(api, stranger)
        follow(api, reader, followed)
        body = expect(api.get("/articles/feed", headers=reader.auth), 200)
        articles = check_article_list(body)
        assert slugs(articles) == [newer["slug"], older["slug"]]
        assert body["articlesCount"] == 2
        assert all(article["author"]["following"] is True for article in articles)

    def test_feed_is_empty_when_following_nobody(
        self, api: httpx.Client, register: Register
    ) -> None:
        body = expect(api.get("/articles/feed", headers=register().auth), 200)
        assert check_article_list(body) == []
        assert body["articlesCount"] == 0

    def test_feed_without_a_token_is_401(self, api: httpx.Client) -> None:
        expect_error(api.get("/articles/feed"), 401)


# -- favorites -------------------------------------------------------------------------------


class TestFavorites:
    def test_favorite_marks_the_article_and_counts_it(
        self, api: httpx.Client, register: Register
    ) -> None:
        author, fan = register(), register()
        slug = publish(api, author)["slug"]
        article = favorite(api, fan, slug)
        assert (article["favorited"], article["favoritesCount"]) == (True, 1)
        again = favorite(api, fan, slug)
        assert (again["favorited"], again["favoritesCount"]) == (True, 1)
        seen = expect(api.get(f"/articles/{slug}", headers=fan.auth), 200)["article"]
        assert (seen["favorited"], seen["favoritesCount"]) == (True, 1)
        by_author = expect(api.get(f"/articles/{slug}", headers=author.auth), 200)["article"]
        assert (by_author["favorited"], by_author["favoritesCount"]) == (False, 1)

    def test_unfavorite_clears_the_mark_and_the_count(
        self, api: httpx.Client, register: Register
    ) -> None:
        author, fan = register(), register()
        slug = publish(api, author)["slug"]
        favorite(api, fan, slug)
        body = expect(api.delete(f"/articles/{slug}/favorite", headers=fan.auth), 200)
        article = check_article(body["article"])
        assert (article["favorited"], article["favoritesCount"]) == (False, 0)
        listed = expect(api.get("/articles", params={"favorited": fan.username}), 200)
        assert check_article_list(listed) == []

    def test_favorite_without_a_token_is_401(self, api: httpx.Client, register: Register) -> None:
        slug = publish(api, register())["slug"]
        expect_error(api.post(f"/articles/{slug}/favorite"), 401)


# -- comments --------------------------------------------------------------------------------


class TestComments:
    def test_create_returns_the_comment(self, api: httpx.Client, register: Register) -> None:
        author, commenter = register(), register()
        slug = publish(api, author)["slug"]
        comment = comment_on(api, commenter, slug, "Thank you so much!")
        assert comment["body"] == "Thank you so much!"
        assert comment["author"]["username"] == commenter.username
        assert comment["id"] >= 1

    def test_list_returns_the_comments_newest_first(
        self, api: httpx.Client, register: Register
    ) -> None:
        author, commenter = register(), register()
        slug = publish(api, author)["slug"]
        first = comment_on(api, commenter, slug, "first")
        second = comment_on(api, author, slug, "second")
        for headers in ({}, author.auth):
            body = expect(api.get(f"/articles/{slug}/comments", headers=headers), 200)
            assert isinstance(body["comments"], list)
            comments = [check_comment(comment) for comment in body["comments"]]
            assert [comment["id"] for comment in comments] == [second["id"], first["id"]]
            assert comments[1]["author"]["username"] == commenter.username

    def test_delete_is_204_and_the_comment_is_gone(
        self, api: httpx.Client, register: Register
    ) -> None:
        author = register()
        slug = publish(api, author)["slug"]
        kept = comment_on(api, author, slug, "kept")
        doomed = comment_on(api, author, slug, "doomed")
        response = api.delete(f"/articles/{slug}/comments/{doomed['id']}", headers=author.auth)
        expect_no_content(response)
        body = expect(api.get(f"/articles/{slug}/comments"), 200)
        assert [comment["id"] for comment in body["comments"]] == [kept["id"]]

    def test_delete_of_someone_elses_comment_is_403(
        self, api: httpx.Client, register: Register
    ) -> None:
        author, other = register(), register()
        slug = publish(api, author)["slug"]
        comment = comment_on(api, author, slug, "mine")
        response = api.delete(f"/articles/{slug}/comments/{comment['id']}", headers=other.auth)
        expect_error(response, 403)

    def test_create_on_an_unknown_article_is_404(
        self, api: httpx.Client, register: Register
    ) -> None:
        payload = {"comment": {"body": "hello?"}}
        response = api.post(
            f"/articles/{unique('no-such-article-')}/comments",
            json=payload,
            headers=register().auth,
        )
        expect_error(response, 404)

    def test_create_without_a_token_is_401(self, api: httpx.Client, register: Register) -> None:
        slug = publish(api, register())["slug"]
        payload = {"comment": {"body": "anonymous"}}
        expect_error(api.post(f"/articles/{slug}/comments", json=payload), 401)


# -- profiles --------------------------------------------------------------------------------


class TestProfiles:
    def test_profile_anonymous(self, api: httpx.Client, register: Register) -> None:
        celeb = register()
        profile = check_profile(expect(api.get(f"/profiles/{celeb.username}"), 200)["profile"])
        assert profile["username"] == celeb.username
        assert profile["following"] is False

    def test_follow_sets_following(self, api: httpx.Client, register: Register) -> None:
        celeb, fan = register(), register()
        assert follow(api, fan, celeb)["following"] is True
        assert follow(api, fan, celeb)["following"] is True
        seen = expect(api.get(f"/profiles/{celeb.username}", headers=fan.auth), 200)["profile"]
        assert seen["following"] is True
        anonymous = expect(api.get(f"/profiles/{celeb.username}"), 200)["profile"]
        assert anonymous["following"] is False

    def test_unfollow_clears_following(self, api: httpx.Client, register: Register) -> None:
        celeb, fan = register(), register()
        follow(api, fan, celeb)
        response = api.delete(f"/profiles/{celeb.username}/follow", headers=fan.auth)
        profile = check_profile(expect(response, 200)["profile"])
        assert (profile["username"], profile["following"]) == (celeb.username, False)
        seen = expect(api.get(f"/profiles/{celeb.username}", headers=fan.auth), 200)["profile"]
        assert seen["following"] is False

    def test_following_yourself_is_403(self, api: httpx.Client, register: Register) -> None:
        account = register()
        expect_error(api.post(f"/profiles/{account.username}/follow", headers=account.auth), 403)

    def test_follow_without_a_token_is_401(self, api: httpx.Client, register: Register) -> None:
        expect_error(api.post(f"/profiles/{register().username}/follow"), 401)

    def test_unknown_profile_is_404(self, api: httpx.Client) -> None:
        expect_error(api.get(f"/profiles/{unique('nobody')}"), 404)


# -- tags ------------------------------------------------------------------------------------


class TestTags:
    def test_tags_lists_the_tags_in_use(self, api: httpx.Client, register: Register) -> None:
        dragons, training = unique("dragons"), unique("training")
        publish(api, register(), tags=[dragons, training])
        body = expect(api.get("/tags"), 200)
        tags = body["tags"]
        assert isinstance(tags, list)
        assert all(isinstance(tag, str) for tag in tags)
        assert {dragons, training} <= set(tags)
