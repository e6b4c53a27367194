"""Users: lookups by id, email (stored lower-cased) and username; the admin list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    asc,
    bindparam,
    desc,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.engine import ReadSession
from conduit.db.models import User
from conduit.db.snapshots import remember_snapshot, snapshot_column
from conduit.domain.errors import AlreadyExists
from conduit.domain.sorting import AccountOrder, AccountSortField
from conduit.domain.types import AccountFilter, ProfileView
from conduit.repositories._rows import Query
from conduit.repositories._sql import UniqueRule, following_flag

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


@dataclass(frozen=True, slots=True)
class Access:
    """What deciding who a token stands for needs of an account, and nothing else."""

    id: int
    username: str
    role: str
    banned: bool
    token_version: int


class KnownAccesses:
    """Accounts' access as read at the latest snapshot, so a read at that snapshot needs no
    statement to check its caller.

    Two statements with the same snapshot see the same committed data (``db.snapshots``): an
    account read at snapshot S is the account at S, for every request that reads S. Any commit
    moves the snapshot, and once a newer one has been read only requests already in flight
    still ask at an older one, so the accounts of older snapshots are dropped as soon as a
    newer snapshot's is stored: at most one snapshot's worth is kept, and ``max_entries``.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._snapshot: str | None = None
        self._accesses: dict[int, Access] = {}

    def clear(self) -> None:
        self._snapshot = None
        self._accesses = {}

    def get(self, user_id: int, snapshot: str) -> Access | None:
        """The account as read at exactly ``snapshot``, if it was."""
        return self._accesses.get(user_id) if snapshot == self._snapshot else None

    def put(self, user_id: int, snapshot: str, access: Access) -> None:
        if snapshot != self._snapshot or len(self._accesses) >= self.max_entries:
            self.clear()
            self._snapshot = snapshot
        self._accesses[user_id] = access


def _profile_statement(viewer_id: BindParameter[int] | None) -> Select[*tuple[Any, ...]]:
    return select(
        User.username,
        User.bio,
        User.image,
        following_flag(User.id, viewer_id).label("following"),
    ).where(User.username == bindparam("username"))


# Read on every authenticated request and every profile page: built and compiled once.
_ACCESS_COLUMNS = (User.id, User.username, User.role, User.banned_at, User.token_version)
_ACCESS = Query(select(*_ACCESS_COLUMNS).where(User.id == bindparam("user_id")))
# With the statement's snapshot, for read requests (ReadSession, PostgreSQL): the response cache
# keys their answers by one, and every authenticated request sends this statement first.
_ACCESS_AND_SNAPSHOT = Query(
    select(*_ACCESS_COLUMNS, snapshot_column()).where(User.id == bindparam("user_id"))
)
_PROFILE = Query(_profile_statement(None))
_PROFILE_AS_VIEWER = Query(_profile_statement(bindparam("viewer_id")))


class UserRepository:
    def __init__(self, session: AsyncSession, accesses: KnownAccesses | None = None) -> None:
        self.session = session
        self.accesses = accesses

    async def get(self, user_id: int) -> User | None:
        """User by primary key."""
        return await self.session.get(User, user_id)

    async def get_access(self, user_id: int, *, snapshot: str | None = None) -> Access | None:
        """The account's role, ban and token version; one Core row, no entity (every
        authenticated request asks).

        ``snapshot``, the database's snapshot read after the request began, answers without a
        statement when the account was read at that very snapshot (``KnownAccesses``).
        """
        if snapshot is not None and self.accesses is not None:
            known = self.accesses.get(user_id, snapshot)
            if known is not None:
                remember_snapshot(self.session, snapshot)
                return known
        # Only a read request's answer can be cached: writes need no snapshot.
        reads = isinstance(self.session, ReadSession)
        query = _ACCESS_AND_SNAPSHOT if reads else _ACCESS
        row = await query.first(self.session, {"user_id": user_id})
        if row is None:
            return None
        access = Access(
            id=row["id"],
            username=row["username"],
            role=row["role"],
            banned=row["banned_at"] is not None,
            token_version=row["token_version"],
        )
        if reads and not self.session.in_transaction():
            # Outside a transaction: what a read request's next statements start from.
            remember_snapshot(self.session, row["snapshot"])
            if self.accesses is not None:
                self.accesses.put(user_id, row["snapshot"], access)
        return access

    async def get_by_email(self, email: str) -> User | None:
        """User by already-normalised (lower-cased) email."""
        return await self.session.scalar(select(User).where(User.email == email))

    async def get_by_username(self, username: str) -> User | None:
        """User by exact username."""
        return await self.session.scalar(select(User).where(User.username == username))

    async def get_profile(self, username: str, viewer_id: int | None) -> ProfileView | None:
        """A profile as the viewer sees it (``following`` included); one statement, no entity."""
        query = _PROFILE_AS_VIEWER if viewer_id is not None else _PROFILE
        row = await query.first(self.session, {"username": username, "viewer_id": viewer_id})
        if row is None:
            return None
        return ProfileView(
            username=row["username"],
            bio=row["bio"],
            image=row["image"],
            following=bool(row["following"]),
        )

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

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Store a new hash of the same password (a rehash), by id: no entity needed."""
        await self.session.execute(
            update(User).where(User.id == user_id).values(password_hash=password_hash)
        )

    async def end_read(self) -> None:
        """End the session's read-only transaction and give its connection back to the pool.

        The session opens a new transaction if used again. COMMIT ends a transaction that only
        read exactly as ROLLBACK would, and (``expire_on_commit=False``) leaves loaded entities
        readable; call it only when nothing was written.
        """
        await self.session.commit()

    async def bump_token_version(self, user: User) -> int:
        """Increment the user's token version in SQL (concurrent bumps all count); the new one."""
        user.token_version = User.token_version + 1
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
        conditions.append(
            User.banned_at.is_not(None) if filters.banned else User.banned_at.is_(None)
        )
    return conditions
