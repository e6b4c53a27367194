"""Schemathesis CLI hooks for ``make contract``: who calls what, and keeping them able to log in.

tests/contract/cli_runner.py writes two Web Fuzzing Commons auth documents for each run, each
entry logging in through ``POST /api/users/login`` and sending ``Authorization: Token <jwt>``:
``auth.json`` (named by ``CONDUIT_CONTRACT_AUTH``, read by Schemathesis itself through
``[auth.wfc]``) with the users Alice and Bob, and ``admin.json`` next to it with the admin.

- Admins: the operations the contract reserves to a role (``Token: [admin]``) are called as the
  admin from their first request on. Left to Schemathesis' per-operation escalation, each would
  only reach the admin after being refused as Alice, as nobody and as Bob, and the cases
  generated meanwhile would all test the refusal.
- Repairs: fuzzing with these tokens changes the accounts, as it should: UpdateCurrentUser sets
  a new email or password, BanUser bans, SetUserRole changes a role. The contract says what
  follows (a new password revokes the tokens, a banned account cannot log in), so the next login
  would fail and every later call as that user would be an error rather than a test. After such
  a call succeeds on one of the run's accounts, the account is set back the way a user or an
  admin would do it, through the API: email and password with the fresh token the response
  carries, the ban lifted and the role restored with the admin token the call was made with.
  Schemathesis then logs in again on the next 401.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis import AuthContext, BaseSchema, Case, HookContext, Response

from tests.contract import idempotency_keys  # noqa: F401 - registers its before_call hook
from tests.contract.auth import lists_roles
from tests.contract.auth_documents import ADMIN_DOCUMENT, AUTH_DOCUMENT_VARIABLE

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Account:
    name: str  # its WFC entry
    email: str
    password: str
    role: str


def _read(document: Path, role: str) -> list[Account]:
    entries = json.loads(document.read_text(encoding="utf-8"))["auth"]
    credentials = [json.loads(e["loginEndpointAuth"]["payloadRaw"])["user"] for e in entries]
    return [
        Account(entry["name"], login["email"], login["password"], role)
        for entry, login in zip(entries, credentials, strict=True)
    ]


@cache
def accounts() -> dict[str, Account]:
    """The run's accounts, by email (what every account response shows)."""
    users = Path(os.environ[AUTH_DOCUMENT_VARIABLE])
    found = _read(users, "user") + _read(users.with_name(ADMIN_DOCUMENT), "admin")
    return {account.email: account for account in found}


def admin() -> Account:
    return next(account for account in accounts().values() if account.role == "admin")


def _request(url: str, method: str, authorization: str | None, body: object) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        return client.request(method, url, headers=headers, json=body)


class AdminToken:
    """Schemathesis ``AuthProvider``: the admin logs in, as the WFC entries do."""

    def get(self, case: Case[Any], ctx: AuthContext) -> str:
        account = admin()
        url = ctx.operation.schema.get_base_url().rstrip("/") + "/users/login"
        body = {"user": {"email": account.email, "password": account.password}}
        response = _request(url, "POST", None, body)
        if response.status_code != 200:
            raise RuntimeError(f"logging in the admin: {response.status_code} {response.text}")
        token: str = response.json()["user"]["token"]
        return token

    def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
        case.headers["Authorization"] = f"Token {data}"


@schemathesis.hook
def after_load_schema(ctx: HookContext, schema: BaseSchema) -> None:
    schema.auth().apply_to(lists_roles)(AdminToken)
    # `[auth.wfc]` registered its provider first, and the first provider that answers is used;
    # this one answers only for the admins' operations.
    schema.auth.providers.insert(0, schema.auth.providers.pop())


def _send(case: Case[Any], method: str, path: str, authorization: str, body: object) -> None:
    url = case.operation.schema.get_base_url().rstrip("/") + path
    reply = _request(url, method, authorization, body)
    if reply.status_code != 200:
        raise RuntimeError(f"restoring a contract account: {method} {path} -> {reply.status_code}")


def _account_view(response: Response) -> dict[str, Any]:
    user: dict[str, Any] = response.json()["user"]
    return user


def restore_credentials(case: Case[Any], response: Response) -> None:
    """A new email or password: set the account's own back, with the token just issued."""
    sent = case.body.get("user") if isinstance(case.body, dict) else None
    if not isinstance(sent, dict) or not {"email", "password"} & sent.keys():
        return
    account = next((a for a in accounts().values() if a.name == case.auth_identity), None)
    if account is None:
        return
    restored = {"user": {"email": account.email, "password": account.password}}
    _send(case, "PUT", "/user", f"Token {_account_view(response)['token']}", restored)


def lift_ban(case: Case[Any], response: Response) -> None:
    user = _account_view(response)
    if user["email"] in accounts():
        path = f"/admin/users/{user['username']}/ban"
        _send(case, "DELETE", path, case.headers["Authorization"], None)


def restore_role(case: Case[Any], response: Response) -> None:
    user = _account_view(response)
    account = accounts().get(user["email"])
    if account is not None and user["role"] != account.role:
        path = f"/admin/users/{user['username']}/role"
        _send(case, "PUT", path, case.headers["Authorization"], {"user": {"role": account.role}})


REPAIRS: dict[str, Callable[[Case[Any], Response], None]] = {
    "UpdateCurrentUser": restore_credentials,
    "BanUser": lift_ban,
    "SetUserRole": restore_role,
}


@schemathesis.hook
def after_call(ctx: HookContext, case: Case[Any], response: Response) -> None:
    repair = REPAIRS.get(str(case.operation.definition.raw.get("operationId")))
    if repair is not None and 200 <= response.status_code < 300:
        repair(case, response)
