"""The benchmark database: seeded once per dataset, copied fresh for every run.

``conduit seed`` fills a template database named ``<bench db>_seed_<digest>``; its comment
(``COMMENT ON DATABASE``) is the marker of what was seeded: the sizes, the seed, the seeder's
format, the schema's migration head and the argon2 parameters of the password hash. A template
whose marker matches is reused; anything else is reseeded. Each run then recreates the bench
database itself from the template (``CREATE DATABASE ... TEMPLATE``), so the writes of one run
(new articles, comments, favorites) never change what the next run reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conduit.core.settings import Settings
from conduit.db.migrate import make_config

SEEDER_FORMAT = 3  # bump when conduit.seed changes what it writes for the same flags
MAX_IDENTIFIER = 63


@dataclass(frozen=True, slots=True)
class Dataset:
    """The ``conduit seed`` flags of one database size."""

    users: int
    articles: int
    comments_per_article: int
    favorites: int
    follows: int
    tags: int
    seed: int

    def seed_args(self) -> list[str]:
        return [f"--{key.replace('_', '-')}={value}" for key, value in asdict(self).items()]


@dataclass(frozen=True, slots=True)
class Prepared:
    url: str
    marker: dict[str, Any]
    seeded_now: bool
    seconds: float


def admin_url(url: str) -> URL:
    return make_url(url).set(database="postgres")


def _engine(url: str | URL) -> AsyncEngine:
    return create_async_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 10})


def marker_for(dataset: Dataset, url: str) -> dict[str, Any]:
    settings = Settings()
    head = ScriptDirectory.from_config(make_config(url)).get_current_head()
    return {
        "seeder": SEEDER_FORMAT,
        "schema": head,
        "dataset": asdict(dataset),
        "argon2": [
            settings.argon2_memory_kib,
            settings.argon2_time_cost,
            settings.argon2_parallelism,
        ],
    }


def template_name(database: str, marker: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(marker, sort_keys=True).encode()).hexdigest()[:12]
    return f"{_template_prefix(database)}{digest}"


def prepare(url: str, dataset: Dataset) -> Prepared:
    """A fresh copy of the seeded template at ``url`` (seeding the template first if needed)."""
    return asyncio.run(_prepare(url, dataset))


async def _prepare(url: str, dataset: Dataset) -> Prepared:
    database = make_url(url).database or "conduit_bench"
    marker = marker_for(dataset, url)
    template = template_name(database, marker)
    started = time.monotonic()
    admin = _engine(admin_url(url))
    try:
        await _drop_stale(admin, database, marker)
        seeded_now = await _comment(admin, template) != _dump(marker)
        if seeded_now:
            await _recreate(admin, template)
            _seed(make_url(url).set(database=template), dataset)
            await _set_comment(admin, template, marker)
        await _recreate(admin, database, template=template)
        await _set_comment(admin, database, marker)
    finally:
        await admin.dispose()
    return Prepared(url, marker, seeded_now, time.monotonic() - started)


def _template_prefix(database: str) -> str:
    return f"{database[: MAX_IDENTIFIER - 18]}_seed_"


async def _drop_stale(admin: AsyncEngine, database: str, marker: dict[str, Any]) -> None:
    """Drop templates seeded for another schema or seeder format: they can never be used again."""
    current = (marker["seeder"], marker["schema"])
    async with admin.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') "
                "FROM pg_database WHERE starts_with(datname, :prefix)"
            ),
            {"prefix": _template_prefix(database)},
        )
        for name, comment in rows.all():
            try:
                seeded = json.loads(comment)
                stale = (seeded["seeder"], seeded["schema"]) != current
            except (ValueError, KeyError, TypeError):
                stale = True  # no marker: seeding never finished
            if stale:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _dump(marker: dict[str, Any]) -> str:
    return json.dumps(marker, sort_keys=True)


async def _comment(admin: AsyncEngine, database: str) -> str | None:
    async with admin.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') "
                "FROM pg_database WHERE datname = :name"
            ),
            {"name": database},
        )
    return None if found is None else str(found)


async def _set_comment(admin: AsyncEngine, database: str, marker: dict[str, Any]) -> None:
    literal = _dump(marker).replace("'", "''")
    async with admin.connect() as conn:
        await conn.execute(text(f"COMMENT ON DATABASE \"{database}\" IS '{literal}'"))


async def _recreate(admin: AsyncEngine, database: str, *, template: str | None = None) -> None:
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        create = f'CREATE DATABASE "{database}"'
        if template is not None:
            version = int(await conn.scalar(text("SHOW server_version_num")) or 0)
            # FILE_COPY (PostgreSQL 15+) copies files instead of WAL-logging every block:
            # seconds rather than minutes for a million articles.
            strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
            create += f' TEMPLATE "{template}"{strategy}'
        await conn.execute(text(create))


def _seed(url: URL, dataset: Dataset) -> None:
    """``conduit seed`` in a child process, its progress bar going to our stderr."""
    conduit = Path(sys.executable).with_name("conduit")
    env = {"CONDUIT_DATABASE_URL": url.render_as_string(hide_password=False)}
    sys.stderr.write(f"bench: seeding {url.database} ({_describe(dataset)})\n")
    subprocess.run(  # noqa: S603 - fixed command line, no shell
        [str(conduit), "seed", *dataset.seed_args()],
        env={**os.environ, **env},
        check=True,
    )


def _describe(dataset: Dataset) -> str:
    return f"{dataset.users:,} users, {dataset.articles:,} articles"


def drop_all(url: str) -> list[str]:
    """Drop the bench database and every template seeded for it; the names dropped."""
    return asyncio.run(_drop_all(url))


async def _drop_all(url: str) -> list[str]:
    database = make_url(url).database or "conduit_bench"
    admin = _engine(admin_url(url))
    try:
        async with admin.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT datname FROM pg_database WHERE datname = :name "
                    "OR starts_with(datname, :prefix)"
                ),
                {"name": database, "prefix": _template_prefix(database)},
            )
            names = [str(row[0]) for row in rows]
            for name in names:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
    return names


def server_version(url: str) -> str:
    async def query() -> str:
        engine = _engine(url)
        try:
            async with engine.connect() as conn:
                return str(await conn.scalar(text("SHOW server_version")))
        finally:
            await engine.dispose()

    return asyncio.run(query())
