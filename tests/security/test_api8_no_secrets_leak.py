"""Security misconfiguration (OWASP API8:2023): secrets never reach a log or an error body.

A real server process (uvicorn, as production runs it) logs at DEBUG, the most an operator can
turn on, to a file. A client registers, logs in, fails to log in, changes its password and sends
requests that fail in several ways; then every line the process wrote and every body it
answered is searched for each password, the stored password hashes, every token and the JWT
secret. None may appear anywhere; nor may a stack trace or SQL in a body.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.db.migrate import upgrade_async
from tests.conftest import POSTGRES_ADMIN_URL
from tests.live_server import (
    JWT_SECRET,
    ServerProcess,
    cheap_argon2,
    fresh_database,
    running_server,
)

PASSWORD = "first-password-9d1c"
NEW_PASSWORD = "second-password-4be7"
WRONG_PASSWORD = "wrong-password-77aa"
INVALID_PASSWORD = "x" * 300  # over the contract's maxLength: a 422
SQL_OR_TRACE = re.compile(r"Traceback|File \"|SELECT |INSERT |UPDATE |sqlalchemy|asyncpg", re.I)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'conduit.db'}"
        await upgrade_async(url)
        yield url
        return
    async with fresh_database(POSTGRES_ADMIN_URL) as url:
        yield url


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {**cheap_argon2, "CONDUIT_LOG_LEVEL": "DEBUG"}
    async with running_server(database_url, tmp_path, env=env) as started:
        yield started


async def stored_hashes(database_url: str) -> list[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT password_hash FROM users"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def exercise(client: httpx.AsyncClient) -> tuple[list[httpx.Response], list[str]]:
    """Everything a user does with secrets, and requests that fail; (responses, tokens)."""
    jake = {"username": "jake", "email": "jake@example.com", "password": PASSWORD}
    responses = [await client.post("/users", json={"user": jake})]
    tokens = [responses[-1].json()["user"]["token"]]
    login = {"email": jake["email"], "password": PASSWORD}
    responses.append(await client.post("/users/login", json={"user": login}))
    tokens.append(responses[-1].json()["user"]["token"])
    auth = {"Authorization": f"Token {tokens[-1]}"}
    change = {"user": {"password": NEW_PASSWORD}}
    responses.append(await client.put("/user", json=change, headers=auth))
    tokens.append(responses[-1].json()["user"]["token"])
    current = {"Authorization": f"Token {tokens[-1]}"}
    failing = [
        client.post("/users/login", json={"user": {**login, "password": WRONG_PASSWORD}}),
        client.post("/users", json={"user": jake}),  # 409: taken
        client.post("/users", json={"user": {**jake, "password": INVALID_PASSWORD}}),
        client.put("/user", json={"user": {"password": INVALID_PASSWORD}}, headers=current),
        client.get("/user", headers=auth),  # revoked by the password change: 401
        client.get("/user", headers={"Authorization": f"Token {tokens[-1]}x"}),  # tampered
        client.post(
            "/users/login",
            content=f'{{"user": {{"password": "{PASSWORD}"',
            headers={"Content-Type": "application/json"},
        ),  # truncated JSON
    ]
    for request in failing:
        responses.append(await request)
    return responses, tokens


async def test_no_password_hash_token_or_key_in_logs_or_bodies(
    server: ServerProcess, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=f"{server.base_url}/api") as client:
        responses, tokens = await exercise(client)
    await server.stop()  # everything it will write is written

    statuses = [response.status_code for response in responses]
    assert statuses == [201, 200, 200, 401, 409, 422, 422, 401, 401, 422], statuses
    hashes = await stored_hashes(database_url)
    assert hashes and all(hash_.startswith("$argon2id$") for hash_ in hashes)
    secrets = {
        "the first password": PASSWORD,
        "the new password": NEW_PASSWORD,
        "the wrong password": WRONG_PASSWORD,
        "the invalid password": INVALID_PASSWORD,
        "the JWT secret": JWT_SECRET,
        **{f"token {n}": token for n, token in enumerate(tokens)},
        **{f"hash {n}": hash_ for n, hash_ in enumerate(hashes)},
        # The hash's salt and digest on their own, in case something logs it in parts.
        **{f"digest {n}": hash_.rsplit("$", 1)[-1] for n, hash_ in enumerate(hashes)},
    }
    log = server.log.read_text(encoding="utf-8")
    assert '"event":"request_finished"' in log.replace(" ", ""), "the log was not captured"
    assert log.count("request_finished") >= len(responses)
    for name, secret in secrets.items():
        assert secret not in log, f"{name} is in the server's log"
    for response in responses[3:]:
        for name, secret in secrets.items():
            assert secret not in response.text, f"{name} is in a {response.status_code} body"
        assert not SQL_OR_TRACE.search(response.text), response.text
        assert set(response.json()) == {"errors"}, response.text
