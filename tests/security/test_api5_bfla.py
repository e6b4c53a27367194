"""Broken function level authorization (OWASP API5:2023): admin operations by non-admins, verb
and path tampering on the admin routes, privilege escalation, and what a banned account may do.

The contract reserves the Admin operations to admins (`security: [{Token: [admin]}]`); the
generated routes pass that role to the security dependency, which decides it with the permission
table. Anonymous callers get 401, users and moderators 403, undocumented methods 405 with
`Allow`; a banned account gets 403 on every write. Nothing changes in the database on a refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from generated.manifest import OPERATIONS, ROLES, SECURITY
from tests.factories import DEFAULT_PASSWORD
from tests.integration.api import Account, Api, Json, assert_only_error
from tests.security.actors import Cast
from tests.security.conftest import Snapshot

Snap = Callable[[], Awaitable[Snapshot]]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str  # with the placeholders Cast.call fills in
    body: Json | None = None
    success: int = 200


ADMIN_CALLS = {
    "ListUsers": Call("GET", "/api/admin/users"),
    "SetUserRole": Call("PUT", "/api/admin/users/{other}/role", {"user": {"role": "admin"}}),
    "BanUser": Call("POST", "/api/admin/users/{other}/ban"),
    "UnbanUser": Call("DELETE", "/api/admin/users/{other}/ban"),
}
# Every operation that writes (not a GET) and needs a token, as the author (who owns {slug} and
# {comment_id}) would call it.
WRITE_CALLS = {
    "UpdateCurrentUser": Call("PUT", "/api/user", {"user": {"bio": "still here"}}),
    "Logout": Call("POST", "/api/user/logout", success=204),
    "FollowUserByUsername": Call("POST", "/api/profiles/{other}/follow"),
    "UnfollowUserByUsername": Call("DELETE", "/api/profiles/{other}/follow"),
    "CreateArticle": Call(
        "POST",
        "/api/articles",
        {"article": {"title": "New", "description": "d", "body": "b"}},
        success=201,
    ),
    "UpdateArticle": Call("PUT", "/api/articles/{slug}", {"article": {"body": "edited"}}),
    "DeleteArticle": Call("DELETE", "/api/articles/{slug}", success=204),
    "CreateArticleComment": Call(
        "POST", "/api/articles/{slug}/comments", {"comment": {"body": "more"}}
    ),
    "DeleteArticleComment": Call(
        "DELETE", "/api/articles/{slug}/comments/{comment_id}", success=204
    ),
    "CreateArticleFavorite": Call("POST", "/api/articles/{other_slug}/favorite"),
    "DeleteArticleFavorite": Call("DELETE", "/api/articles/{other_slug}/favorite"),
    **{name: call for name, call in ADMIN_CALLS.items() if call.method != "GET"},
}


async def send(cast: Cast, actor: Account | None, call: Call) -> httpx.Response:
    return await cast.call(actor, call.method, call.path, call.body)


def test_the_tables_cover_every_admin_and_every_write_operation() -> None:
    assert set(ADMIN_CALLS) == set(ROLES) == {"ListUsers", "SetUserRole", "BanUser", "UnbanUser"}
    writes = {
        operation_id
        for operation_id, operation in OPERATIONS.items()
        if operation.method != "GET" and SECURITY[operation_id] != "public"
    }
    assert set(WRITE_CALLS) == writes


class TestAdminOperations:
    @pytest.mark.parametrize("name", ADMIN_CALLS)
    async def test_anonymous_callers_get_401(self, cast: Cast, snapshot: Snap, name: str) -> None:
        before = await snapshot()
        assert_only_error(await send(cast, None, ADMIN_CALLS[name]), 401, "token")
        assert await snapshot() == before

    @pytest.mark.parametrize("actor", ["author", "moderator"])
    @pytest.mark.parametrize("name", ADMIN_CALLS)
    async def test_users_and_moderators_get_403(
        self, cast: Cast, snapshot: Snap, name: str, actor: str
    ) -> None:
        before = await snapshot()
        response = await send(cast, getattr(cast, actor), ADMIN_CALLS[name])
        assert assert_only_error(response, 403, "user") == ["needs the admin role"]
        assert await snapshot() == before

    @pytest.mark.parametrize("name", ADMIN_CALLS)
    async def test_admins_are_served(self, cast: Cast, name: str) -> None:
        response = await send(cast, cast.admin, ADMIN_CALLS[name])
        assert response.status_code == ADMIN_CALLS[name].success, response.text

    async def test_the_list_filters_and_sorts(self, cast: Cast) -> None:
        await cast.call(cast.admin, "POST", "/api/admin/users/{other}/ban")

        async def usernames(query: str) -> list[str]:
            response = await cast.call(cast.admin, "GET", f"/api/admin/users?{query}")
            assert response.status_code == 200, response.text
            page = response.json()
            assert page["usersCount"] >= len(page["users"])
            return [user["username"] for user in page["users"]]

        assert await usernames("sort=username") == ["admin", "author", "moderator", "other"]
        assert await usernames("sort=-username&limit=2") == ["other", "moderator"]
        assert await usernames("sort=username&offset=3") == ["other"]
        assert await usernames("role=moderator") == ["moderator"]
        assert await usernames("banned=true") == ["other"]
        assert await usernames("banned=false&role=user") == ["author"]

    @pytest.mark.parametrize("query", ["banned=1", "banned=yes", "role=root", "sort=email"])
    async def test_the_list_refuses_values_outside_the_contract(
        self, cast: Cast, query: str
    ) -> None:
        response = await cast.call(cast.admin, "GET", f"/api/admin/users?{query}")
        assert_only_error(response, 422, query.split("=")[0])

    async def test_an_unknown_username_is_404(self, cast: Cast, snapshot: Snap) -> None:
        before = await snapshot()
        for name in ("SetUserRole", "BanUser", "UnbanUser"):
            call = ADMIN_CALLS[name]
            response = await cast.call(
                cast.admin, call.method, call.path.replace("{other}", "nobody"), call.body
            )
            assert_only_error(response, 404, "user")
        assert await snapshot() == before


ADMIN_PATHS = {
    "/api/admin/users": {"GET"},
    "/api/admin/users/{other}/role": {"PUT"},
    "/api/admin/users/{other}/ban": {"POST", "DELETE"},
}


class TestVerbTampering:
    @pytest.mark.parametrize("actor", ["author", "admin"])
    @pytest.mark.parametrize("path", ADMIN_PATHS)
    async def test_every_undocumented_method_is_405_with_allow(
        self, cast: Cast, snapshot: Snap, path: str, actor: str
    ) -> None:
        before = await snapshot()
        for method in (m for m in METHODS if m not in ADMIN_PATHS[path]):
            response = await cast.call(
                getattr(cast, actor), method, path, {"user": {"role": "admin"}}
            )
            assert response.status_code == 405, (method, response.text)
            assert set(response.headers["allow"].split(", ")) == ADMIN_PATHS[path], method
        assert await snapshot() == before

    @pytest.mark.parametrize(
        "override",
        [
            {"X-HTTP-Method-Override": "GET"},
            {"X-HTTP-Method": "GET"},
            {"X-Method-Override": "GET"},
        ],
    )
    async def test_method_override_headers_change_nothing(
        self, cast: Cast, snapshot: Snap, override: dict[str, str]
    ) -> None:
        before = await snapshot()
        # A user's POST dressed up as a harmless GET is still the POST, and still refused.
        response = await cast.call(
            cast.author, "POST", "/api/admin/users/{other}/ban", headers=override
        )
        assert_only_error(response, 403, "user")
        # An admin's GET dressed up as a DELETE stays a GET.
        listed = await cast.call(
            cast.admin,
            "GET",
            "/api/admin/users?_method=DELETE",
            headers={"X-HTTP-Method-Override": "DELETE"},
        )
        assert listed.status_code == 200
        assert await snapshot() == before

    @pytest.mark.parametrize(
        "path",
        [
            "/api/Admin/users",
            "/api/ADMIN/USERS",
            "/api/admin//users",
            "/api/admin/users;role=admin",
            "/api/admin/users%2f",
            "/api/admin/users/%2e%2e/users",
            "/api/admin/users/",
            "/api/v2/admin/users",
            "/admin/users",
        ],
    )
    async def test_path_variants_never_reach_an_admin_operation(
        self, cast: Cast, snapshot: Snap, path: str
    ) -> None:
        before = await snapshot()
        response = await cast.client.get(path, headers=cast.author.headers)
        assert response.status_code in (307, 404), response.text
        assert "users" not in response.text or response.status_code == 307
        assert await snapshot() == before


class TestPrivilegeEscalation:
    @pytest.mark.parametrize("actor", ["author", "moderator"])
    async def test_no_one_but_an_admin_sets_roles_even_their_own(
        self, cast: Cast, snapshot: Snap, actor: str
    ) -> None:
        before = await snapshot()
        account: Account = getattr(cast, actor)
        response = await cast.client.put(
            f"/api/admin/users/{account.username}/role",
            json={"user": {"role": "admin"}},
            headers=account.headers,
        )
        assert_only_error(response, 403, "user")
        assert await snapshot() == before

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [("PUT", "role", {"user": {"role": "user"}}), ("POST", "ban", None)],
    )
    async def test_an_admin_cannot_demote_or_ban_itself(
        self, cast: Cast, snapshot: Snap, method: str, suffix: str, body: Json | None
    ) -> None:
        before = await snapshot()
        response = await cast.call(cast.admin, method, f"/api/admin/users/{{admin}}/{suffix}", body)
        assert assert_only_error(response, 403, "username") == ["cannot be your own account"]
        assert await snapshot() == before

    async def test_a_role_change_applies_to_tokens_already_issued(self, cast: Cast) -> None:
        list_users = ADMIN_CALLS["ListUsers"]
        assert (await send(cast, cast.other, list_users)).status_code == 403
        promoted = await cast.call(
            cast.admin, "PUT", "/api/admin/users/{other}/role", {"user": {"role": "admin"}}
        )
        assert promoted.json()["user"]["role"] == "admin"
        assert (await send(cast, cast.other, list_users)).status_code == 200
        demoted = await cast.call(
            cast.other, "PUT", "/api/admin/users/{admin}/role", {"user": {"role": "user"}}
        )
        assert demoted.status_code == 200
        assert_only_error(await send(cast, cast.admin, list_users), 403, "user")

    async def test_a_demoted_moderator_can_no_longer_delete_others_content(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        await cast.call(
            cast.admin, "PUT", "/api/admin/users/{moderator}/role", {"user": {"role": "user"}}
        )
        before = await snapshot()
        response = await cast.call(cast.moderator, "DELETE", "/api/articles/{slug}")
        assert_only_error(response, 403, "article")
        assert await snapshot() == before


class TestBannedAccount:
    @pytest.fixture
    async def banned(self, cast: Cast) -> Cast:
        """The author, who follows the other user and favorited their article, is banned."""
        await cast.call(cast.author, "POST", "/api/profiles/{other}/follow")
        await cast.call(cast.author, "POST", "/api/articles/{other_slug}/favorite")
        response = await cast.call(cast.admin, "POST", "/api/admin/users/{author}/ban")
        assert response.status_code == 200, response.text
        user = response.json()["user"]
        assert (user["banned"], user["bannedAt"] is not None) == (True, True)
        return cast

    @pytest.mark.parametrize("name", WRITE_CALLS)
    async def test_every_write_with_an_earlier_token_is_403(
        self, banned: Cast, snapshot: Snap, name: str
    ) -> None:
        before = await snapshot()
        response = await send(banned, banned.author, WRITE_CALLS[name])
        assert assert_only_error(response, 403, "user") == ["is banned"]
        assert await snapshot() == before

    async def test_a_banned_admin_can_no_longer_administer(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        promoted = await cast.call(
            cast.admin, "PUT", "/api/admin/users/{other}/role", {"user": {"role": "admin"}}
        )
        assert promoted.status_code == 200
        assert (await cast.call(cast.other, "POST", "/api/admin/users/{admin}/ban")).is_success
        before = await snapshot()
        assert_only_error(await send(cast, cast.admin, ADMIN_CALLS["BanUser"]), 403, "user")
        assert_only_error(await send(cast, cast.admin, ADMIN_CALLS["ListUsers"]), 401, "token")
        assert await snapshot() == before

    async def test_reads_that_take_a_token_answer_as_to_anyone(self, banned: Cast) -> None:
        article = await banned.call(banned.author, "GET", "/api/articles/{other_slug}")
        assert article.status_code == 200
        assert article.json()["article"]["favorited"] is False
        profile = await banned.call(banned.author, "GET", "/api/profiles/{other}")
        assert profile.json()["profile"]["following"] is False
        listed = await banned.call(banned.author, "GET", "/api/articles")
        assert listed.status_code == 200
        comments = await banned.call(banned.author, "GET", "/api/articles/{slug}/comments")
        assert comments.status_code == 200

    @pytest.mark.parametrize("path", ["/api/user", "/api/articles/feed"])
    async def test_reads_that_need_a_token_are_401(self, banned: Cast, path: str) -> None:
        assert_only_error(await banned.call(banned.author, "GET", path), 401, "token")

    async def test_login_is_403_and_issues_no_token(self, banned: Cast) -> None:
        response = await Api(banned.client).login(banned.author.email, DEFAULT_PASSWORD)
        assert assert_only_error(response, 403, "user") == ["is banned"]
        assert "token" not in response.text

    async def test_the_ban_is_idempotent_and_keeps_its_start(self, banned: Cast) -> None:
        first = await banned.call(banned.admin, "GET", "/api/admin/users?banned=true")
        again = await banned.call(banned.admin, "POST", "/api/admin/users/{author}/ban")
        assert again.json()["user"]["bannedAt"] == first.json()["users"][0]["bannedAt"]

    async def test_after_the_ban_the_user_logs_in_again_and_writes(self, banned: Cast) -> None:
        lifted = await banned.call(banned.admin, "DELETE", "/api/admin/users/{author}/ban")
        assert lifted.json()["user"]["banned"] is False
        assert lifted.json()["user"]["bannedAt"] is None
        login = await Api(banned.client).login(banned.author.email, DEFAULT_PASSWORD)
        token = login.json()["user"]["token"]
        response = await banned.client.put(
            "/api/user", json={"user": {"bio": "back"}}, headers={"Authorization": f"Token {token}"}
        )
        assert response.status_code == 200
