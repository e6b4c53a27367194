"""`conduit create-admin`: the first admin comes from the command line, on a fresh database."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from conduit import cli

PASSWORD = "correct horse battery staple"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite file that does not exist yet; the command migrates it."""
    path = tmp_path / "var" / "conduit.db"
    monkeypatch.setenv("CONDUIT_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("CONDUIT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONDUIT_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONDUIT_ARGON2_TIME_COST", "1")
    return path


def run(monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["create-admin", *args])


def accounts(database: Path) -> list[tuple[str, str, str, str | None]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT username, email, role, banned_at FROM users ORDER BY id"
        ).fetchall()
    return [tuple(row) for row in rows]


def password_hash(database: Path, username: str) -> str:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
    return str(row[0])


def test_creates_an_admin_with_the_password_from_stdin(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        monkeypatch,
        f"{PASSWORD}\n",
        "--username",
        "boss",
        "--email",
        "Boss@Example.com",
        "--password-stdin",
    )

    assert code == 0
    assert capsys.readouterr().out == "boss <boss@example.com> is an admin\n"
    assert accounts(database) == [("boss", "boss@example.com", "admin", None)]
    stored = password_hash(database, "boss")
    assert stored.startswith("$argon2id$")
    assert PasswordHash((Argon2Hasher(),)).verify(PASSWORD, stored)
    assert PASSWORD not in capsys.readouterr().err


def test_refuses_a_taken_username_and_changes_nothing(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--email", "boss@example.com", "--password-stdin")
    assert run(monkeypatch, f"{PASSWORD}\n", "--username", "boss", *args) == 0
    before = accounts(database)

    code = run(monkeypatch, f"{PASSWORD}\n", "--username", "boss", *args)

    assert code == 1
    assert "taken" in capsys.readouterr().err
    assert accounts(database) == before


@pytest.mark.parametrize(
    ("stdin", "args", "complaint"),
    [
        ("short\n", ("--username", "boss", "--email", "b@example.com"), "password"),
        (f"{PASSWORD}\n", ("--username", "no spaces", "--email", "b@example.com"), "username"),
        (f"{PASSWORD}\n", ("--username", "boss", "--email", "not-an-email"), "email"),
        (f"{PASSWORD}\n", ("--username", "boss"), "--email"),
    ],
)
def test_refuses_what_registration_would_refuse(
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    args: tuple[str, ...],
    complaint: str,
) -> None:
    assert run(monkeypatch, stdin, *args, "--password-stdin") == 2
    assert complaint in capsys.readouterr().err
    assert not database.exists()


def test_never_reads_a_password_without_a_terminal_or_the_flag(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(monkeypatch, f"{PASSWORD}\n", "--username", "boss", "--email", "b@example.com")

    assert code == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert not database.exists()


def test_asks_twice_on_a_terminal_and_refuses_a_mismatch(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, "something else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    terminal = io.StringIO()
    monkeypatch.setattr(terminal, "isatty", lambda: True)
    monkeypatch.setattr("sys.stdin", terminal)

    code = cli.main(["create-admin", "--username", "boss", "--email", "b@example.com"])

    assert code == 2
    assert "do not match" in capsys.readouterr().err
    assert not database.exists()


def test_promotes_an_existing_account_and_lifts_its_ban(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--email", "jake@example.com", "--password-stdin")
    assert run(monkeypatch, f"{PASSWORD}\n", "--username", "jake", *args) == 0
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE users SET role = 'user', banned_at = '2026-01-01 00:00:00.000000'"
        )

    assert run(monkeypatch, "", "--username", "jake", "--promote") == 0
    assert accounts(database) == [("jake", "jake@example.com", "admin", None)]


def test_promoting_an_unknown_account_fails(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "", "--username", "ghost", "--promote") == 1
    assert "ghost" in capsys.readouterr().err
