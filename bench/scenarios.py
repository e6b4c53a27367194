"""What the benchmark asks of the server: scenarios, and the seeded data they point at.

Parameters are read from the benchmark database after seeding (the most used tag, the most
prolific author, ...), so scenarios never depend on how the seeder names things. Scenarios that
address one article or profile rotate through a sample spread over the whole table, so a cache of
one hot row cannot pass for speed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

SAMPLE_SIZE = 256
LOGIN_ACCOUNTS = 64
PLACEHOLDER = "{{n}}"  # replaced per request by bench/lua/requests.lua


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None = None

    def line(self) -> str:
        body = "" if self.body is None else json.dumps(self.body, separators=(",", ":"))
        return f"{self.method}\t{self.path}\t{body}"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    summary: str  # what one request is, for the report
    requests: tuple[Request, ...]
    authenticated: bool = False
    # Load that runs beside this scenario (the login storm under `tags-during-login`).
    background: Scenario | None = None
    connections_divisor: int = 1  # this scenario's connections = --connections / divisor

    def write_requests(self, folder: Path) -> Path:
        path = folder / f"{self.name}.requests"
        path.write_text("".join(r.line() + "\n" for r in self.requests), encoding="utf-8")
        return path


@dataclass(frozen=True, slots=True)
class Fixtures:
    """Seeded rows the scenarios address, and a token for the reading user."""

    reader_email: str
    tag: str
    author: str
    fan: str
    slugs: tuple[str, ...]
    toggle_slugs: tuple[str, ...]
    usernames: tuple[str, ...]
    login_emails: tuple[str, ...]
    password: str
    token: str = field(default="", repr=False)


# -- discovering fixtures ----------------------------------------------------------------------


async def _one(conn: AsyncConnection, sql: str) -> str:
    value = (await conn.execute(text(sql))).scalar()
    if value is None:
        raise RuntimeError(f"the benchmark database has no rows for: {sql}")
    return str(value)


async def _spread(conn: AsyncConnection, table: str, column: str, offset: int) -> tuple[str, ...]:
    """Up to SAMPLE_SIZE values evenly spread over the table's ids."""
    total = int((await conn.execute(text(f"SELECT max(id) FROM {table}"))).scalar() or 0)  # noqa: S608
    step = max(total // SAMPLE_SIZE, 1)
    rows = await conn.execute(
        text(
            f"SELECT {column} FROM {table} WHERE id % :step = :offset "  # noqa: S608
            "ORDER BY id LIMIT :limit"
        ),
        {"step": step, "offset": offset % step, "limit": SAMPLE_SIZE},
    )
    return tuple(str(row[0]) for row in rows)


async def _discover(url: str, password: str) -> Fixtures:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            slugs = await _spread(conn, "articles", "slug", 0)
            return Fixtures(
                reader_email=await _one(
                    conn,
                    "SELECT u.email FROM users u JOIN follows f ON f.follower_id = u.id "
                    "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1",
                ),
                tag=await _one(
                    conn,
                    "SELECT t.name FROM tags t JOIN article_tags a ON a.tag_id = t.id "
                    "GROUP BY t.id ORDER BY count(*) DESC, t.id LIMIT 1",
                ),
                author=await _one(
                    conn,
                    "SELECT u.username FROM users u JOIN articles a ON a.author_id = u.id "
                    "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1",
                ),
                fan=await _one(
                    conn,
                    "SELECT u.username FROM users u JOIN favorites f ON f.user_id = u.id "
                    "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1",
                ),
                slugs=slugs,
                toggle_slugs=await _spread(conn, "articles", "slug", 1),
                usernames=await _spread(conn, "users", "username", 0),
                login_emails=(await _spread(conn, "users", "email", 0))[:LOGIN_ACCOUNTS],
                password=password,
            )
    finally:
        await engine.dispose()


def discover(url: str, base_url: str, password: str) -> Fixtures:
    """Fixtures from the database, with a token obtained by logging in over HTTP."""
    found = asyncio.run(_discover(url, password))
    body = {"user": {"email": found.reader_email, "password": password}}
    response = httpx.post(f"{base_url}/api/users/login", json=body, timeout=30.0)
    if response.status_code != 200:
        raise RuntimeError(f"seeded login failed ({response.status_code}): {response.text}")
    return dataclasses.replace(found, token=str(response.json()["user"]["token"]))


# -- the scenarios -----------------------------------------------------------------------------

LIST = "/api/articles?limit=20"


def _list(query: str) -> Request:
    return Request("GET", f"/api/articles?{query}&limit=20")


def reads(f: Fixtures) -> list[Scenario]:
    q = quote
    return [
        Scenario("list-anonymous", f"GET {LIST}", (Request("GET", LIST),)),
        Scenario("list-authenticated", f"GET {LIST}, token", (Request("GET", LIST),), True),
        Scenario("list-by-tag", "GET /api/articles?tag=…", (_list(f"tag={q(f.tag)}"),)),
        Scenario("list-by-author", "GET /api/articles?author=…", (_list(f"author={q(f.author)}"),)),
        Scenario(
            "list-favorited-by", "GET /api/articles?favorited=…", (_list(f"favorited={q(f.fan)}"),)
        ),
        Scenario(
            "feed",
            "GET /api/articles/feed?limit=20, token",
            (Request("GET", "/api/articles/feed?limit=20"),),
            True,
        ),
        Scenario(
            "article",
            f"GET /api/articles/{{slug}} ({len(f.slugs)} slugs)",
            tuple(Request("GET", f"/api/articles/{s}") for s in f.slugs),
        ),
        Scenario(
            "comments",
            f"GET /api/articles/{{slug}}/comments ({len(f.slugs)} slugs)",
            tuple(Request("GET", f"/api/articles/{s}/comments") for s in f.slugs),
        ),
        Scenario("tags", "GET /api/tags", (Request("GET", "/api/tags"),)),
        Scenario(
            "profile",
            f"GET /api/profiles/{{username}} ({len(f.usernames)} users)",
            tuple(Request("GET", f"/api/profiles/{q(u)}") for u in f.usernames),
        ),
    ]


def login(f: Fixtures) -> Scenario:
    return Scenario(
        "login",
        f"POST /api/users/login ({len(f.login_emails)} users, argon2id)",
        tuple(
            Request("POST", "/api/users/login", {"user": {"email": e, "password": f.password}})
            for e in f.login_emails
        ),
    )


def login_storm(f: Fixtures) -> Scenario:
    return Scenario(
        "tags-during-login",
        "GET /api/tags at 1/8 of the connections while login runs at all of them",
        (Request("GET", "/api/tags"),),
        background=login(f),
        connections_divisor=8,
    )


def writes(f: Fixtures) -> list[Scenario]:
    article = {
        "title": f"Benchmark article {PLACEHOLDER}",
        "description": "Written by the benchmark",
        "body": "Load generated by wrk: every title is unique.",
        "tagList": ["benchmark", f.tag],
    }
    favorite = tuple(Request("POST", f"/api/articles/{s}/favorite") for s in f.toggle_slugs)
    unfavorite = tuple(Request("DELETE", f"/api/articles/{s}/favorite") for s in f.toggle_slugs)
    comment = {"comment": {"body": f"Benchmark comment {PLACEHOLDER}"}}
    return [
        Scenario(
            "create-article",
            "POST /api/articles (unique titles)",
            (Request("POST", "/api/articles", {"article": article}),),
            True,
        ),
        Scenario(
            "favorite",
            f"POST then DELETE /api/articles/{{slug}}/favorite ({len(f.toggle_slugs)} slugs)",
            favorite + unfavorite,
            True,
        ),
        Scenario(
            "comment",
            f"POST /api/articles/{{slug}}/comments ({len(f.slugs)} slugs)",
            tuple(Request("POST", f"/api/articles/{s}/comments", comment) for s in f.slugs),
            True,
        ),
    ]


def full_suite(f: Fixtures) -> list[Scenario]:
    """Reads first, then logins, then writes: writes change what the reads would see."""
    return [*reads(f), login(f), login_storm(f), *writes(f)]


SCALE_SCENARIOS = ("list-anonymous", "list-by-tag", "list-by-author", "feed")


def scale_suite(f: Fixtures) -> list[Scenario]:
    return [s for s in reads(f) if s.name in SCALE_SCENARIOS]


def ceiling() -> Scenario:
    return Scenario("ceiling", f"GET {LIST} from bench/ceiling.py", (Request("GET", LIST),))


def reference(name: str, what: str) -> Scenario:
    """The ceiling's bytes served through a framework's route: what the framework itself costs."""
    return Scenario(name, f"GET {LIST}, {what} (bench/ceiling.py)", (Request("GET", LIST),))


def pick(scenarios: Sequence[Scenario], only: Sequence[str]) -> list[Scenario]:
    if not only:
        return list(scenarios)
    unknown = set(only) - {s.name for s in scenarios}
    if unknown:
        raise ValueError(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return [s for s in scenarios if s.name in only]
