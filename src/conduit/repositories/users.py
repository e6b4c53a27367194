"""Users: lookups by id, email (stored lower-cased) and username; the admin list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypedDict

from sqlalchemy import ColumnElement, asc, desc, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import User
from conduit.domain.errors import AlreadyExists
from conduit.domain.sorting import AccountOrder, AccountSortField
from conduit.domain.types import AccountFilter
from conduit.repositories._sql import UniqueRule

UNIQUE_RULES = (
    UniqueRule(constraint="uq_users_email", columns="users.email", field="email"),
    UniqueRule(constraint="uq_users_username", columns="users.username", field="username"),
)


class UserValues(TypedDict, total=False):
    """Columns a service may change on a user."""

    email: str
    username: str
    password_hash: str
    bio: str | None
    image: str | None
    updated_at: datetime
    role: str
    banned_at: datetime | None


# The only columns the admin list can be sorted by.
_ACCOUNT_SORT_COLUMNS = {
    AccountSortField.CREATED_AT: User.created_at,
    AccountSortField.USERNAME: User.username,
}


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        """User by primary key."""
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        """User by already-normalised (lower-cased) email."""
        return await self.session.scalar(select(User).where(User.email == email))

    async def get_by_username(self, username: str) -> User | None:
        """User by exact username."""
        return await self.session.scalar(select(User).where(User.username == username))

    async def add(self, *, email: str, username: str, password_hash: str) -> User:
        """Insert a user; a concurrent duplicate becomes AlreadyExists on the right field."""
        user = User(email=email, username=username, password_hash=password_hash)
        async with self._unique_guard():
            self.session.add(user)
            await self.session.flush()
        return user

    async def update(self, user: User, values: UserValues) -> None:
        """Write changed columns; unique violations become AlreadyExists."""
        async with self._unique_guard():
            for column, value in values.items():
                setattr(user, column, value)
            await self.session.flush()

    async def bump_token_version(self, user: User) -> int:
        """Increment the user's token version in SQL (concurrent bumps all count); the new one."""
        user.token_version = User.token_version + 1  # type: ignore[assignment]
        await self.session.flush()
        await self.session.refresh(user, ["token_version"])
        return user.token_version

    async def list_accounts(
        self, *, filters: AccountFilter, order: AccountOrder, limit: int, offset: int
    ) -> list[User]:
        """One page of users matching ``filters``, ties broken by id."""
        direction = desc if order.descending else asc
        statement = (
            select(User)
            .where(*_account_conditions(filters))
            .order_by(direction(_ACCOUNT_SORT_COLUMNS[order.field]), direction(User.id))
            .limit(limit)
            .offset(offset)
        )
        return list(await self.session.scalars(statement))

    async def count_accounts(self, *, filters: AccountFilter) -> int:
        """How many users match ``filters``."""
        statement = select(func.count()).select_from(User).where(*_account_conditions(filters))
        return int(await self.session.scalar(statement) or 0)

    @asynccontextmanager
    async def _unique_guard(self) -> AsyncIterator[None]:
        # Changes must be made inside the SAVEPOINT: begin_nested() flushes anything
        # already pending *before* it starts. The savepoint keeps PostgreSQL's
        # transaction usable after the violation.
        try:
            async with self.session.begin_nested():
                yield
        except IntegrityError as error:
            for rule in UNIQUE_RULES:
                if rule.matches(error):
                    raise AlreadyExists(field=rule.field) from error
            raise


def _account_conditions(filters: AccountFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.role is not None:
        conditions.append(User.role == filters.role.value)
    if filters.banned is not None:
        conditions.append(User.banned_at.is_not(None) if filters.banned else User.banned_at.is_(None))
    return conditions
