"""Broken object property level authorization (OWASP API3:2023): mass assignment and excessive
data exposure.

Request bodies are closed (`additionalProperties: false`): a property the client may not set
(`role`, `id`, `banned`, an article's author or counters, ...) is a 422 naming it, never silently
applied or dropped, and nothing is written. Responses carry exactly the contract's properties:
no password hash, token version, ban state or email where they do not belong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.integration.api import (
    LIST_ITEM_FIELDS,
    PROFILE_FIELDS,
    USER_FIELDS,
    Json,
    assert_error,
)
from tests.security.actors import Cast
from tests.security.conftest import Snapshot

Snap = Callable[[], Awaitable[Snapshot]]
ADMIN_USER_FIELDS = {"username", "email", "role", "banned", "bannedAt", "createdAt"}
NEW_USER = {"username": "mallory", "email": "mallory@example.com", "password": "mallory-pw"}
NEW_ARTICLE = {"title": "Title", "description": "Description", "body": "Body"}


# name -> (actor, method, path, body with the smuggled property, the property's name)
SMUGGLED: dict[str, tuple[str | None, str, str, Json, str]] = {
    "register-as-admin": (
        None,
        "POST",
        "/api/users",
        {"user": {**NEW_USER, "role": "admin"}},
        "role",
    ),
    "register-with-an-id": (None, "POST", "/api/users", {"user": {**NEW_USER, "id": 1}}, "id"),
    "register-with-a-token-version": (
        None,
        "POST",
        "/api/users",
        {"user": {**NEW_USER, "tokenVersion": 7}},
        "tokenVersion",
    ),
    "register-role-beside-the-envelope": (
        None,
        "POST",
        "/api/users",
        {"user": NEW_USER, "role": "admin"},
        "role",
    ),
    "login-as-admin": (
        None,
        "POST",
        "/api/users/login",
        {"user": {"email": "author@example.com", "password": "x", "role": "admin"}},
        "role",
    ),
    "promote-oneself": ("author", "PUT", "/api/user", {"user": {"role": "admin"}}, "role"),
    "moderator-promotes-itself": (
        "moderator",
        "PUT",
        "/api/user",
        {"user": {"role": "admin"}},
        "role",
    ),
    "unban-oneself": ("author", "PUT", "/api/user", {"user": {"banned": False}}, "banned"),
    "change-ones-id": ("author", "PUT", "/api/user", {"user": {"id": 4, "bio": "x"}}, "id"),
    "write-as-another-author": (
        "other",
        "POST",
        "/api/articles",
        {"article": {**NEW_ARTICLE, "author": {"username": "author"}}},
        "author",
    ),
    "choose-the-article-id": (
        "other",
        "POST",
        "/api/articles",
        {"article": {**NEW_ARTICLE, "id": 1}},
        "id",
    ),
    "inflate-the-favorites": (
        "other",
        "POST",
        "/api/articles",
        {"article": {**NEW_ARTICLE, "favoritesCount": 1000}},
        "favoritesCount",
    ),
    "choose-the-slug": (
        "other",
        "POST",
        "/api/articles",
        {"article": {**NEW_ARTICLE, "slug": "the-authors-article"}},
        "slug",
    ),
    "hand-over-an-article": (
        "author",
        "PUT",
        "/api/articles/{slug}",
        {"article": {"body": "x", "author": {"username": "other"}}},
        "author",
    ),
    "backdate-an-article": (
        "author",
        "PUT",
        "/api/articles/{slug}",
        {"article": {"createdAt": "2001-01-01T00:00:00.000Z"}},
        "createdAt",
    ),
    "comment-as-another-author": (
        "other",
        "POST",
        "/api/articles/{slug}/comments",
        {"comment": {"body": "hi", "author": {"username": "author"}}},
        "author",
    ),
    "choose-the-comment-id": (
        "other",
        "POST",
        "/api/articles/{slug}/comments",
        {"comment": {"body": "hi", "id": 1}},
        "id",
    ),
    "role-change-that-also-unbans": (
        "admin",
        "PUT",
        "/api/admin/users/{other}/role",
        {"user": {"role": "moderator", "banned": False}},
        "banned",
    ),
    "role-change-that-renames": (
        "admin",
        "PUT",
        "/api/admin/users/{other}/role",
        {"user": {"role": "moderator", "username": "renamed"}},
        "username",
    ),
}


class TestMassAssignment:
    @pytest.mark.parametrize("name", SMUGGLED)
    async def test_a_property_the_client_may_not_set_is_422_and_nothing_changes(
        self, cast: Cast, snapshot: Snap, name: str
    ) -> None:
        actor, method, path, body, smuggled = SMUGGLED[name]
        before = await snapshot()
        response = await cast.call(getattr(cast, actor) if actor else None, method, path, body)
        assert assert_error(response, 422, smuggled) == ["is not a known field"]
        assert await snapshot() == before

    @pytest.mark.parametrize("role", ["root", "Admin", "ADMIN", "", None, 1, ["admin"]])
    async def test_a_role_outside_the_contract_is_422_and_nothing_changes(
        self, cast: Cast, snapshot: Snap, role: Any
    ) -> None:
        before = await snapshot()
        response = await cast.call(
            cast.admin, "PUT", "/api/admin/users/{other}/role", {"user": {"role": role}}
        )
        assert_error(response, 422, "role")
        assert await snapshot() == before

    async def test_the_same_requests_without_the_smuggled_property_succeed(
        self, cast: Cast
    ) -> None:
        # The control: the refusals above are about the smuggled property alone.
        created = await cast.call(None, "POST", "/api/users", {"user": NEW_USER})
        assert created.status_code == 201, created.text
        assert created.json()["user"]["role"] == "user"
        article = await cast.call(cast.other, "POST", "/api/articles", {"article": NEW_ARTICLE})
        assert article.status_code == 201, article.text
        role = await cast.call(
            cast.admin, "PUT", "/api/admin/users/{other}/role", {"user": {"role": "moderator"}}
        )
        assert role.status_code == 200, role.text


class TestExposure:
    async def test_the_current_user_shows_its_role_and_nothing_private(self, cast: Cast) -> None:
        for actor, role in ((cast.author, "user"), (cast.moderator, "moderator")):
            user = (await cast.call(actor, "GET", "/api/user")).json()["user"]
            assert set(user) == USER_FIELDS
            assert user["role"] == role

    async def test_profiles_and_authors_show_no_email_role_or_ban(self, cast: Cast) -> None:
        profile = (await cast.call(cast.other, "GET", "/api/profiles/{moderator}")).json()
        assert set(profile["profile"]) == PROFILE_FIELDS
        listed = (await cast.call(cast.other, "GET", "/api/articles")).json()["articles"]
        assert listed
        for article in listed:
            assert set(article) == LIST_ITEM_FIELDS
            assert set(article["author"]) == PROFILE_FIELDS
        comments = (await cast.call(None, "GET", "/api/articles/{slug}/comments")).json()
        assert set(comments["comments"][0]["author"]) == PROFILE_FIELDS

    async def test_admins_see_the_account_fields_and_no_secret(self, cast: Cast) -> None:
        page = (await cast.call(cast.admin, "GET", "/api/admin/users")).json()
        assert page["usersCount"] == len(page["users"]) == 4
        for user in page["users"]:
            assert set(user) == ADMIN_USER_FIELDS
        banned = await cast.call(cast.admin, "POST", "/api/admin/users/{other}/ban")
        assert set(banned.json()["user"]) == ADMIN_USER_FIELDS

    @pytest.mark.parametrize(
        ("actor", "path"),
        [
            ("author", "/api/user"),
            ("admin", "/api/admin/users"),
            ("other", "/api/profiles/{author}"),
            ("other", "/api/articles/{slug}"),
        ],
    )
    async def test_no_response_carries_a_password_hash_or_token_version(
        self, cast: Cast, actor: str, path: str
    ) -> None:
        response: httpx.Response = await cast.call(getattr(cast, actor), "GET", path)
        assert response.status_code == 200
        text = response.text
        for secret in ("$argon2", "password", "token_version", "tokenVersion", "banned_at"):
            assert secret not in text
