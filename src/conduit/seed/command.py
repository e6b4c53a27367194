"""``conduit seed``: migrate, then fill an empty database with generated data in bulk.

Every user gets the same password (``--password``, default ``password123``) hashed once with
the configured argon2 parameters: hashing 100,000 passwords would take over an hour, and logins
against seeded users must cost what real logins cost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import fields

from sqlalchemy import text

from conduit.core.passwords import Argon2Params, PasswordHasher
from conduit.core.settings import Settings
from conduit.db import migrate
from conduit.db.engine import create_engine
from conduit.seed.data import SeedData, SeedPlan
from conduit.seed.progress import Progress, StreamProgress
from conduit.seed.writer import DEFAULT_BATCH_SIZE, DatabaseNotEmpty, seed

DEFAULT_PASSWORD = "password123"  # noqa: S105 - the documented password of generated users

# Flag name -> SeedPlan field.
_SIZE_FLAGS = {
    "users": "users",
    "articles": "articles",
    "comments_per_article": "comments_per_article",
    "favorites": "favorites_per_user",
    "follows": "follows_per_user",
    "tags": "tags",
    "seed": "seed",
}
_HELP = {
    "users": "users to create",
    "articles": "articles to create",
    "comments_per_article": "comments per article, on average",
    "favorites": "favorites per user",
    "follows": "users each user follows",
    "tags": "size of the tag pool (0 to 4 tags per article)",
    "seed": "random seed: the same seed and sizes give the same rows",
}


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = {f.name: f.default for f in fields(SeedPlan)}
    for flag, field in _SIZE_FLAGS.items():
        parser.add_argument(
            f"--{flag.replace('_', '-')}",
            dest=flag,
            type=int if flag == "seed" else _count,
            default=defaults[field],
            help=f"{_HELP[flag]} (default: %(default)s)",
        )
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="every user's password")
    parser.add_argument("--batch-size", type=_count, default=DEFAULT_BATCH_SIZE)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """The ``seed`` subcommand; exit status 1 when the database is not empty."""
    try:
        plan = SeedPlan(**{field: getattr(args, flag) for flag, field in _SIZE_FLAGS.items()})
    except ValueError as error:
        sys.stderr.write(f"conduit seed: {error}\n")
        return 2
    url = settings.resolved_database_url
    migrate.upgrade(url)
    started = time.monotonic()
    try:
        counts = asyncio.run(
            seed_database(
                url,
                plan,
                password_hash=asyncio.run(hash_password(settings, args.password)),
                progress=StreamProgress(sys.stderr),
                batch_size=max(args.batch_size, 1),
            )
        )
    except DatabaseNotEmpty as error:
        sys.stderr.write(f"conduit seed: {error}\n")
        return 1
    summary = ", ".join(f"{count:,} {table}" for table, count in counts.items())
    sys.stderr.write(f"seeded {summary} in {time.monotonic() - started:.1f}s\n")
    return 0


async def hash_password(settings: Settings, password: str) -> str:
    params = Argon2Params(
        memory_cost=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )
    return await PasswordHasher(params).hash(password)


async def seed_database(
    url: str,
    plan: SeedPlan,
    *,
    password_hash: str,
    progress: Progress,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, int]:
    """Seed the migrated, empty database at ``url`` in one transaction; refresh statistics."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            data = SeedData(plan, password_hash=password_hash)
            counts = await seed(connection, data, progress=progress, batch_size=batch_size)
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            # Fresh statistics and visibility maps: the first queries then plan (and use
            # index-only scans) the way they will for the rest of a benchmark.
            vacuum = "VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"
            await autocommit.execute(text(vacuum))
    finally:
        await engine.dispose()
    return counts
