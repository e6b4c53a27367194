"""``conduit create-admin``: the first admin (and any later one) comes from the command line.

No API operation makes an admin out of nobody: whoever runs this command holds the database
credentials, which is the trust an admin needs. The password is read from stdin
(``--password-stdin``, for scripts) or asked twice on the terminal, never taken as an argument
(arguments show up in `ps` and in shell history). ``--promote`` makes an existing account admin
instead, and lifts its ban if it has one.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TextIO

from pydantic import ValidationError

from conduit.core.passwords import Argon2Params, PasswordHasher
from conduit.core.settings import Settings
from conduit.db import migrate
from conduit.db.engine import create_engine, create_sessionmaker
from conduit.domain.errors import AlreadyExists, NotFound
from conduit.domain.types import AccountView
from conduit.services.accounts import AccountService
from conduit.services.users import UserService
from generated import models


class CommandError(Exception):
    """A problem to report in one line, with exit status 1 (2 for bad input)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", required=True, help="the admin's username")
    parser.add_argument("--email", help="the admin's email (not with --promote)")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of asking for it",
    )
    parser.add_argument(
        "--promote",
        action="store_true",
        help="make the existing account USERNAME admin instead of creating one",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """The ``create-admin`` subcommand."""
    try:
        new = None
        if not args.promote:
            new = _new_user(args.username, args.email, _password(args.password_stdin, sys.stdin))
        elif args.email is not None or args.password_stdin:
            raise CommandError("--promote takes only --username", status=2)
        migrate.upgrade(settings.resolved_database_url)
        account = asyncio.run(
            promote(settings, args.username) if new is None else create(settings, new)
        )
    except CommandError as error:
        sys.stderr.write(f"conduit create-admin: {error}\n")
        return error.status
    sys.stdout.write(f"{account.username} <{account.email}> is an admin\n")
    return 0


def _password(from_stdin: bool, stdin: TextIO) -> str:
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        raise CommandError("no terminal to ask for the password on: use --password-stdin", 2)
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise CommandError("the passwords do not match", status=2)
    return password


def _new_user(username: str, email: str | None, password: str) -> models.NewUser:
    """The account as registration would accept it: the contract's own rules."""
    if email is None:
        raise CommandError("--email is required (or --promote an existing account)", status=2)
    try:
        return models.NewUser(username=username, email=email, password=password)
    except ValidationError as error:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]}))
        raise CommandError(f"invalid {fields or 'input'}", status=2) from None


def _hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        Argon2Params(
            memory_cost=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        )
    )


async def create(settings: Settings, new: models.NewUser) -> AccountView:
    """Register ``new`` and make it admin, in one transaction."""
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await UserService(session, _hasher(settings)).register(
                username=new.username, email=new.email, password=new.password
            )
            return await AccountService(session).grant_admin(new.username)
    except AlreadyExists as error:
        raise CommandError(
            f"that {error.field} is taken; --promote makes an existing account admin"
        ) from None
    finally:
        await engine.dispose()


async def promote(settings: Settings, username: str) -> AccountView:
    """Make the existing account ``username`` admin."""
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await AccountService(session).grant_admin(username)
    except NotFound:
        raise CommandError(f"no account is named {username!r}") from None
    finally:
        await engine.dispose()
