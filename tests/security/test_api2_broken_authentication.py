"""Broken authentication (OWASP API2:2023): forged, tampered, expired, wrong-key and revoked
tokens, login that tells accounts apart, passwords that are not kept up to date.

Tokens are attacked on a read and on a write that needs them: every bad token is 401 with the
contract's error body and `WWW-Authenticate`, and nothing is written. Brute-force resistance
(rate limits on login) is tested in test_rate_limits.py.
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.core.passwords import PasswordHasher
from conduit.core.settings import Settings
from conduit.db.models import User
from tests.factories import DEFAULT_PASSWORD, Factory
from tests.integration.api import Account, Api, assert_only_error, auth
from tests.security.actors import Cast
from tests.security.conftest import JWT_SECRET, Serve, Snapshot

Snap = Callable[[], Awaitable[Snapshot]]
ARTICLE = {"article": {"title": "Sneaky", "description": "d", "body": "b"}}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _sign(claims: dict[str, Any], secret: str = JWT_SECRET, kid: str | None = "default") -> str:
    return jwt.encode(claims, secret, "HS256", headers={} if kid is None else {"kid": kid})


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


# name -> how an attacker holding the author's genuine token makes a bad one from it.
FORGERIES: dict[str, Callable[[str], str]] = {
    "another-key": lambda token: _sign(_claims(token), "an-attackers-own-secret-of-32-chars!"),
    "alg-none": lambda token: (
        f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'default'})}.{_b64(_claims(token))}."
    ),
    "alg-none-no-dot": lambda token: (
        f"{_b64({'alg': 'none', 'kid': 'default'})}.{_b64(_claims(token))}"
    ),
    "tampered-subject": lambda token: ".".join(
        [token.split(".")[0], _b64({**_claims(token), "sub": "1"}), token.split(".")[2]]
    ),
    "tampered-version": lambda token: ".".join(
        [token.split(".")[0], _b64({**_claims(token), "ver": 99}), token.split(".")[2]]
    ),
    "stripped-signature": lambda token: token.rsplit(".", 1)[0] + ".",
    "expired": lambda token: _sign({**_claims(token), "iat": _now() - 90, "exp": _now() - 30}),
    "not-yet-valid": lambda token: _sign({**_claims(token), "nbf": _now() + 3600}),
    "unknown-kid": lambda token: _sign(_claims(token), kid="2031-01"),
    "no-kid": lambda token: _sign(_claims(token), kid=None),
    "another-issuer": lambda token: _sign({**_claims(token), "iss": "elsewhere"}),
    "another-audience": lambda token: _sign({**_claims(token), "aud": "another-api"}),
    "no-version": lambda token: _sign({k: v for k, v in _claims(token).items() if k != "ver"}),
    "no-token-id": lambda token: _sign({k: v for k, v in _claims(token).items() if k != "jti"}),
    "hs512": lambda token: jwt.encode(
        _claims(token), JWT_SECRET * 2, "HS512", headers={"kid": "default"}
    ),
}
TARGETS = {
    "read": ("GET", "/api/user", None),
    "write": ("POST", "/api/articles", ARTICLE),
}


async def _send(
    client: httpx.AsyncClient, target: str, token: str, scheme: str = "Token"
) -> httpx.Response:
    method, path, body = TARGETS[target]
    return await client.request(method, path, json=body, headers=auth(token, scheme))


def assert_unauthorized(response: httpx.Response) -> None:
    assert assert_only_error(response, 401, "token") == ["is missing or invalid"]
    assert response.headers["www-authenticate"] == "Token"


class TestForgedTokens:
    async def test_the_genuine_token_works(self, cast: Cast) -> None:
        # The control: each forgery below changes one thing of this token.
        assert (await _send(cast.client, "read", cast.author.token)).status_code == 200

    @pytest.mark.parametrize("target", TARGETS)
    @pytest.mark.parametrize("forgery", FORGERIES)
    async def test_every_forgery_is_401_and_writes_nothing(
        self, cast: Cast, snapshot: Snap, forgery: str, target: str
    ) -> None:
        before = await snapshot()
        response = await _send(cast.client, target, FORGERIES[forgery](cast.author.token))
        assert_unauthorized(response)
        assert await snapshot() == before

    async def test_a_token_of_a_deleted_account_is_401(self, cast: Cast, factory: Factory) -> None:
        await factory.session.execute(delete(User).where(User.username == "other"))
        assert_unauthorized(await _send(cast.client, "read", cast.other.token))

    async def test_a_token_of_another_deployment_is_401(
        self, serve: Serve, make_settings: Callable[..., Settings], cast: Cast
    ) -> None:
        # Same issuer, audience and kid, another secret: a staging token sent to production.
        staging = make_settings(jwt_secret="staging-secret-that-is-32-chars-long")
        async with serve(staging) as other:
            token = other.tokens.issue(int(_claims(cast.author.token)["sub"]))
        assert_unauthorized(await _send(cast.client, "write", token))


ROTATED_KEYS = {
    "old": "the-old-signing-secret-of-32-chars!!",
    "new": "the-new-signing-secret-of-32-chars!!",
}


class TestKeyRotation:
    def keys(self, *kids: str) -> list[dict[str, str]]:
        return [{"kid": kid, "secret": ROTATED_KEYS[kid]} for kid in kids]

    async def test_old_tokens_work_while_their_key_is_listed_and_401_once_removed(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        user = await factory.user("jake")
        async with serve(make_settings(jwt_secret=None, jwt_keys=self.keys("old"))) as before:
            old_token = before.tokens.issue(user.id)
        rotating = make_settings(jwt_secret=None, jwt_keys=self.keys("new", "old"))
        async with serve(rotating) as during:
            assert (await _send(during.client, "read", old_token)).status_code == 200
            fresh = (await _send(during.client, "read", old_token)).json()["user"]["token"]
            assert jwt.get_unverified_header(fresh)["kid"] == "new"
        async with serve(make_settings(jwt_secret=None, jwt_keys=self.keys("new"))) as after:
            assert_unauthorized(await _send(after.client, "read", old_token))
            assert (await _send(after.client, "read", fresh)).status_code == 200


class TestRevocation:
    async def test_logout_revokes_every_token_issued_before_it(
        self, cast: Cast, snapshot: Snap
    ) -> None:
        api = Api(cast.client)
        second = (await api.login(cast.author.email, DEFAULT_PASSWORD)).json()["user"]["token"]
        logout = await cast.call(cast.author, "POST", "/api/user/logout")
        assert (logout.status_code, logout.content) == (204, b"")
        before = await snapshot()
        for token in (cast.author.token, second):
            for target in TARGETS:
                assert_unauthorized(await _send(cast.client, target, token))
        assert_unauthorized(await cast.call(cast.author, "POST", "/api/user/logout"))
        assert await snapshot() == before

    async def test_a_token_issued_right_after_logout_works(self, cast: Cast) -> None:
        # Revocation compares versions, not issue times: the same second is no problem.
        api = Api(cast.client)
        await cast.call(cast.author, "POST", "/api/user/logout")
        token = (await api.login(cast.author.email, DEFAULT_PASSWORD)).json()["user"]["token"]
        assert (await _send(cast.client, "write", token)).status_code == 201

    async def test_logout_revokes_only_the_callers_tokens(self, cast: Cast) -> None:
        await cast.call(cast.author, "POST", "/api/user/logout")
        assert (await _send(cast.client, "read", cast.other.token)).status_code == 200

    async def test_a_new_password_revokes_earlier_tokens_and_returns_a_working_one(
        self, cast: Cast
    ) -> None:
        api = Api(cast.client)
        second = (await api.login(cast.author.email, DEFAULT_PASSWORD)).json()["user"]["token"]
        response = await cast.call(
            cast.author, "PUT", "/api/user", {"user": {"password": "a whole new password"}}
        )
        assert response.status_code == 200, response.text
        for token in (cast.author.token, second):
            assert_unauthorized(await _send(cast.client, "read", token))
        assert (
            await _send(cast.client, "write", response.json()["user"]["token"])
        ).status_code == 201

    async def test_other_account_changes_keep_the_tokens(self, cast: Cast) -> None:
        response = await cast.call(cast.author, "PUT", "/api/user", {"user": {"bio": "hello"}})
        assert response.status_code == 200
        assert (await _send(cast.client, "read", cast.author.token)).status_code == 200

    async def test_a_ban_revokes_the_tokens_for_good(self, cast: Cast) -> None:
        api = Api(cast.client)
        banned = await cast.call(cast.admin, "POST", "/api/admin/users/{author}/ban")
        assert banned.status_code == 200, banned.text
        unbanned = await cast.call(cast.admin, "DELETE", "/api/admin/users/{author}/ban")
        assert unbanned.status_code == 200, unbanned.text
        for target in TARGETS:
            assert_unauthorized(await _send(cast.client, target, cast.author.token))
        token = (await api.login(cast.author.email, DEFAULT_PASSWORD)).json()["user"]["token"]
        assert (await _send(cast.client, "write", token)).status_code == 201


class TestLogin:
    async def test_unknown_email_and_wrong_password_get_the_same_answer(self, cast: Cast) -> None:
        api = Api(cast.client)
        wrong = await api.login(cast.author.email, "not the password")
        unknown = await api.login("nobody@example.com", "not the password")
        assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
        assert wrong.status_code == 401
        ignored = {"x-request-id", "content-length", "date"}
        assert {k: v for k, v in wrong.headers.items() if k not in ignored} == {
            k: v for k, v in unknown.headers.items() if k not in ignored
        }

    async def test_a_banned_account_with_a_wrong_password_looks_like_any_other(
        self, cast: Cast
    ) -> None:
        api = Api(cast.client)
        await cast.call(cast.admin, "POST", "/api/admin/users/{author}/ban")
        wrong = await api.login(cast.author.email, "not the password")
        unknown = await api.login("nobody@example.com", "not the password")
        assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
        right = await api.login(cast.author.email, DEFAULT_PASSWORD)
        assert assert_only_error(right, 403, "user") == ["is banned"]

    async def test_an_unknown_email_still_runs_a_password_verification(
        self, cast: Cast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hasher: PasswordHasher = cast.served.app.state.hasher
        verified: list[str] = []
        original = hasher._verify_sync

        def spy(password: str, password_hash: str) -> tuple[bool, str | None]:
            verified.append(password_hash)
            return original(password, password_hash)

        monkeypatch.setattr(hasher, "_verify_sync", spy)
        await Api(cast.client).login("nobody@example.com", "a guess")
        await Api(cast.client).login(cast.author.email, "a guess")
        assert len(verified) == 2
        assert all(h.startswith("$argon2id$") for h in verified)

    async def test_unknown_email_and_wrong_password_take_about_as_long(
        self, serve: Serve, make_settings: Callable[..., Settings], factory: Factory
    ) -> None:
        # With OWASP's argon2 parameters the verification is what takes the time, on both paths.
        # Medians of interleaved attempts, and a loose bound: this is a smoke test of the dummy
        # verification, not a side-channel analysis.
        settings = make_settings(argon2_memory_kib=19456, argon2_time_cost=2)
        async with serve(settings) as served:
            api = Api(served.client)
            response = await served.client.post(
                "/api/users",
                json={
                    "user": {"username": "jake", "email": "j@example.com", "password": "pw-jake-1"}
                },
            )
            assert response.status_code == 201
            timings: dict[str, list[float]] = {"known": [], "unknown": []}
            for _ in range(7):
                for kind, email in (("known", "j@example.com"), ("unknown", "x@example.com")):
                    started = time.perf_counter()
                    assert (await api.login(email, "a wrong guess")).status_code == 401
                    timings[kind].append(time.perf_counter() - started)
        ratio = statistics.median(timings["unknown"]) / statistics.median(timings["known"])
        assert 0.5 < ratio < 2.0, timings


class TestPasswordHashes:
    async def test_login_rehashes_a_password_stored_with_weaker_parameters(
        self,
        serve: Serve,
        make_settings: Callable[..., Settings],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        weak = make_settings(argon2_memory_kib=1024, argon2_time_cost=1)
        async with serve(weak) as before:
            account: Account = await Api(before.client).register("jake")
        old_hash = await _stored_hash(session_factory, "jake")
        assert "m=1024,t=1" in old_hash
        strong = make_settings(argon2_memory_kib=2048, argon2_time_cost=2)
        async with serve(strong) as after:
            assert (
                await Api(after.client).login(account.email, account.password)
            ).status_code == 200
            new_hash = await _stored_hash(session_factory, "jake")
            assert new_hash.startswith("$argon2id$")
            assert "m=2048,t=2" in new_hash
            assert (
                await Api(after.client).login(account.email, account.password)
            ).status_code == 200

    async def test_a_failed_login_leaves_the_hash_alone(
        self,
        serve: Serve,
        make_settings: Callable[..., Settings],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        async with serve(make_settings(argon2_memory_kib=1024, argon2_time_cost=1)) as before:
            account = await Api(before.client).register("jake")
        old_hash = await _stored_hash(session_factory, "jake")
        async with serve(make_settings(argon2_memory_kib=2048, argon2_time_cost=2)) as after:
            assert (await Api(after.client).login(account.email, "wrong")).status_code == 401
        assert await _stored_hash(session_factory, "jake") == old_hash


async def _stored_hash(sessions: async_sessionmaker[AsyncSession], username: str) -> str:
    async with sessions() as session:
        value = await session.scalar(select(User.password_hash).where(User.username == username))
    assert value is not None
    return value
