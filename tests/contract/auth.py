"""Authentication the Conduit way: register a user through the API, send ``Token <jwt>``.

``ConduitToken`` is a Schemathesis auth provider. It reaches the app under test in-process,
through the same ASGI client Schemathesis calls it with (same event loop, lifespan and
database), so the suite never depends on a pasted token. Schemathesis caches the token (five
minutes by default) and applies it to every operation that lists the ``Token`` scheme; the
checks then probe those operations without it, and with a broken one, on their own.

Each operation gets an account of its own (``token_cache_key``), and the operations that revoke
the token they are called with (Logout, and UpdateCurrentUser when it sets a password) a fresh
account on every call: a revoked token must not leak into the next call, which would rightly
get 401. Operations reserved to a role (``Token: [admin]``) are called as an admin
(``admin_token``), logged in through the API with an account `conduit create-admin` made.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from schemathesis import AuthContext, Case
from schemathesis.python import asgi

_RUN = uuid.uuid4().hex[:8]
_accounts = itertools.count(1)
# Calls of these operations revoke the token they are sent with.
REVOKING = frozenset({"Logout", "UpdateCurrentUser"})


def lists_token_scheme(ctx: Any) -> bool:
    """Whether the operation's security lists ``Token``, as required or optional."""
    security = ctx.operation.definition.raw.get("security", [])
    return any("Token" in requirement for requirement in security)


def lists_roles(ctx: Any) -> bool:
    """Whether the operation is reserved to a role (its requirement lists one, OpenAPI 3.1)."""
    security = ctx.operation.definition.raw.get("security", [])
    return any(requirement.get("Token") for requirement in security)


def token_cache_key(case: Case[Any], ctx: AuthContext) -> str:
    """The account a call uses: one per operation, a new one per call of a revoking one."""
    operation_id = str(ctx.operation.definition.raw.get("operationId"))
    if operation_id in REVOKING:
        return f"{operation_id}-{next(_accounts)}"
    return operation_id


def register(app: Any) -> str:
    """Register a brand-new user through ``POST /api/users`` and return its token."""
    username = f"contract-{_RUN}-{next(_accounts)}"
    user = {"username": username, "email": f"{username}@example.com", "password": uuid.uuid4().hex}
    with asgi.get_client(app) as client:
        response = client.post("/api/users", json={"user": user})
    if response.status_code != 201:
        raise RuntimeError(f"registering {username}: {response.status_code} {response.text}")
    token: str = response.json()["user"]["token"]
    return token


class ConduitToken:
    """Schemathesis ``AuthProvider``: a fresh account's token, sent as ``Token <jwt>``."""

    def get(self, case: Case[Any], ctx: AuthContext) -> str:
        return register(ctx.app)

    def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
        case.headers["Authorization"] = f"Token {data}"


def admin_token(email: str, password: str) -> type[ConduitToken]:
    """An auth provider class that logs in as the given admin through ``POST /api/users/login``."""

    class ConduitAdminToken(ConduitToken):
        def get(self, case: Case[Any], ctx: AuthContext) -> str:
            app: Any = ctx.app
            with asgi.get_client(app) as client:
                response = client.post(
                    "/api/users/login", json={"user": {"email": email, "password": password}}
                )
            if response.status_code != 200:
                raise RuntimeError(f"logging in the admin: {response.status_code} {response.text}")
            token: str = response.json()["user"]["token"]
            return token

    return ConduitAdminToken
