"""Broken object level authorization (OWASP API1:2023): another user's article and comment.

An attacker with a valid account of their own addresses objects that are not theirs, by slug or
by id, also under a parent they own. Edits are the author's alone; deletes are the author's, a
moderator's or an admin's. Every refusal is the documented status with the contract's error body,
and the database is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.integration.api import assert_only_error
from tests.security.actors import Cast
from tests.security.conftest import Snapshot

Snap = Callable[[], Awaitable[Snapshot]]


class TestAnotherUsersArticle:
    @pytest.mark.parametrize("scheme", ["Token", "Bearer"])
    async def test_updating_it_is_403_and_changes_nothing(
        self, cast: Cast, snapshot: Snap, scheme: str
    ) -> None:
        before = await snapshot()
        response = await cast.client.put(
            f"/api/articles/{cast.slug}",
            json={"article": {"title": "Defaced", "body": "pwned"}},
            headers={"Authorization": f"{scheme} {cast.other.token}"},
        )
        assert_only_error(response, 403, "article")
        assert await snapshot() == before

    async def test_deleting_it_is_403_and_changes_nothing(self, cast: Cast, snapshot: Snap) -> None:
        before = await snapshot()
        response = await cast.call(cast.other, "DELETE", "/api/articles/{slug}")
        assert_only_error(response, 403, "article")
        assert await snapshot() == before
        assert (await cast.call(None, "GET", "/api/articles/{slug}")).status_code == 200

    @pytest.mark.parametrize("actor", ["moderator", "admin"])
    async def test_moderators_and_admins_may_not_edit_it_either(
        self, cast: Cast, snapshot: Snap, actor: str
    ) -> None:
        before = await snapshot()
        response = await cast.call(
            getattr(cast, actor), "PUT", "/api/articles/{slug}", {"article": {"body": "edited"}}
        )
        assert_only_error(response, 403, "article")
        assert await snapshot() == before

    @pytest.mark.parametrize("actor", ["moderator", "admin"])
    async def test_moderators_and_admins_may_delete_it_with_its_comments(
        self, cast: Cast, actor: str
    ) -> None:
        response = await cast.call(getattr(cast, actor), "DELETE", "/api/articles/{slug}")
        assert (response.status_code, response.content) == (204, b"")
        assert (await cast.call(None, "GET", "/api/articles/{slug}")).status_code == 404
        assert (await cast.call(None, "GET", "/api/articles/{slug}/comments")).status_code == 404

    async def test_its_former_slug_leads_to_the_same_refusal(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        renamed = await cast.call(
            cast.author, "PUT", "/api/articles/{slug}", {"article": {"title": "A new title"}}
        )
        assert renamed.status_code == 200, renamed.text
        before = await snapshot()
        for method, body in (("PUT", {"article": {"body": "x"}}), ("DELETE", None)):
            response = await cast.call(cast.other, method, "/api/articles/{slug}", body)
            assert_only_error(response, 403, "article")
        assert await snapshot() == before


class TestAnotherUsersComment:
    async def test_deleting_it_is_403_and_changes_nothing(self, cast: Cast, snapshot: Snap) -> None:
        before = await snapshot()
        response = await cast.call(
            cast.other, "DELETE", "/api/articles/{slug}/comments/{comment_id}"
        )
        assert_only_error(response, 403, "comment")
        assert await snapshot() == before

    async def test_deleting_it_under_an_article_of_ones_own_is_404(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        # The comment id is real, the parent is the attacker's: the pair does not exist.
        before = await snapshot()
        response = await cast.call(
            cast.other, "DELETE", "/api/articles/{other_slug}/comments/{comment_id}"
        )
        assert_only_error(response, 404, "comment")
        assert await snapshot() == before

    async def test_probing_ids_tells_nothing_apart_from_existence_under_that_article(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        before = await snapshot()
        for comment_id in (cast.comment_id + 1, cast.comment_id + 1000, 2_147_483_647):
            response = await cast.client.delete(
                f"/api/articles/{cast.slug}/comments/{comment_id}", headers=cast.other.headers
            )
            assert_only_error(response, 404, "comment")
        assert await snapshot() == before

    @pytest.mark.parametrize("actor", ["moderator", "admin"])
    async def test_moderators_and_admins_may_delete_it(self, cast: Cast, actor: str) -> None:
        response = await cast.call(
            getattr(cast, actor), "DELETE", "/api/articles/{slug}/comments/{comment_id}"
        )
        assert (response.status_code, response.content) == (204, b"")
        comments = await cast.call(None, "GET", "/api/articles/{slug}/comments")
        assert comments.json() == {"comments": []}

    async def test_a_moderator_still_needs_the_right_article(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        before = await snapshot()
        response = await cast.call(
            cast.moderator, "DELETE", "/api/articles/{other_slug}/comments/{comment_id}"
        )
        assert_only_error(response, 404, "comment")
        assert await snapshot() == before


class TestAnotherUsersAccount:
    async def test_taking_over_another_username_or_email_is_409_and_changes_nothing(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        # UpdateCurrentUser addresses no account by id: the only way at another one is its
        # identity, and identities are unique.
        before = await snapshot()
        for field, value in (("username", cast.author.username), ("email", cast.author.email)):
            response = await cast.call(cast.other, "PUT", "/api/user", {"user": {field: value}})
            assert_only_error(response, 409, field)
        assert await snapshot() == before

    async def test_the_current_user_is_always_the_tokens_own(self, cast: Cast) -> None:
        response = await cast.call(cast.other, "GET", "/api/user")
        assert response.json()["user"]["username"] == cast.other.username
