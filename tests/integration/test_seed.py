"""``conduit seed`` on both backends, inside the test's rolled-back transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conduit.cli import main
from conduit.core.passwords import PasswordHasher
from conduit.domain.types import NewArticle, Viewer
from conduit.seed.data import SeedData, SeedPlan
from conduit.seed.progress import SilentProgress
from conduit.seed.writer import DatabaseNotEmpty, seed
from conduit.services.articles import ArticleService
from conduit.services.users import UserService

PLAN = SeedPlan(
    users=12, articles=40, comments_per_article=2, favorites_per_user=4, follows_per_user=3
)
PASSWORD = "password123"


@pytest.fixture
async def seeded(connection: AsyncConnection, password_hasher: PasswordHasher) -> dict[str, int]:
    data = SeedData(PLAN, password_hash=await password_hasher.hash(PASSWORD))
    # A small batch size, so several batches per table are exercised.
    return await seed(connection, data, progress=SilentProgress(), batch_size=7)


async def scalar(connection: AsyncConnection, sql: str) -> object:
    return (await connection.execute(text(sql))).scalar_one()


async def test_writes_the_planned_rows(connection: AsyncConnection, seeded: dict[str, int]) -> None:
    assert seeded["users"] == 12
    assert seeded["articles"] == 40
    assert seeded["favorites"] == 12 * 4
    assert seeded["follows"] == 12 * 3
    for table, count in seeded.items():
        assert await scalar(connection, f"SELECT count(*) FROM {table}") == count  # noqa: S608


async def test_favorites_count_agrees_with_favorite_rows(
    connection: AsyncConnection, seeded: dict[str, int]
) -> None:
    mismatches = await scalar(
        connection,
        "SELECT count(*) FROM articles a WHERE a.favorites_count <> "
        "(SELECT count(*) FROM favorites f WHERE f.article_id = a.id)",
    )
    assert mismatches == 0


async def test_seeded_users_log_in_with_the_shared_password(
    session: AsyncSession, password_hasher: PasswordHasher, seeded: dict[str, int]
) -> None:
    email = await session.scalar(text("SELECT email FROM users ORDER BY id LIMIT 1"))
    assert isinstance(email, str)
    user = await UserService(session, password_hasher).authenticate(
        email=email.upper(), password=PASSWORD
    )
    assert user.email == email


async def test_the_list_page_shows_seeded_articles_newest_first(
    session: AsyncSession, seeded: dict[str, int]
) -> None:
    page = await ArticleService(session).list_articles(viewer=None, limit=20)
    assert page.total == PLAN.articles
    stamps = [article.created_at for article in page.articles]
    assert stamps == sorted(stamps, reverse=True)


async def test_new_rows_get_ids_after_the_seeded_ones(
    session: AsyncSession, seeded: dict[str, int]
) -> None:
    author = Viewer(id=1, username=str(await session.scalar(text("SELECT username FROM users"))))
    article = await ArticleService(session).create(
        author, NewArticle(title="After the seed", description="d", body="b", tag_list=["x"])
    )
    new_id = await session.scalar(text(f"SELECT id FROM articles WHERE slug = '{article.slug}'"))  # noqa: S608
    assert new_id == PLAN.articles + 1


async def test_refuses_a_database_that_has_data(
    connection: AsyncConnection, seeded: dict[str, int]
) -> None:
    with pytest.raises(DatabaseNotEmpty):
        await seed(connection, SeedData(PLAN, password_hash="x"), progress=SilentProgress())


class TestCommand:
    @pytest.fixture
    def environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        database = tmp_path / "seeded.db"
        monkeypatch.setenv("CONDUIT_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
        monkeypatch.setenv("CONDUIT_VAR_DIR", str(tmp_path))
        monkeypatch.setenv("CONDUIT_ARGON2_MEMORY_KIB", "1024")
        monkeypatch.setenv("CONDUIT_ARGON2_TIME_COST", "1")
        return database

    def test_migrates_and_seeds_then_refuses_to_seed_twice(
        self, environment: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["seed", "--users", "5", "--articles", "9", "--follows", "2", "--seed", "3"]
        assert main(args) == 0
        assert "seeded 5 users" in capsys.readouterr().err
        assert main(args) == 1
        assert "already has users" in capsys.readouterr().err

    def test_rejects_negative_sizes(self, environment: Path) -> None:
        with pytest.raises(SystemExit):
            main(["seed", "--articles", "-1"])
