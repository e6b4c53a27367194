"""Users: lookups by id, email (stored lower-cased) and username."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import User
from conduit.domain.errors import AlreadyExists
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
