"""User administration: the list of accounts, roles and bans.

The routes already admit admins only (the contract's `Token: [admin]`); each method checks its
permission again, so the service stays safe whoever calls it. The command line (`conduit
create-admin`) is trusted instead: whoever runs it holds the database credentials.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import User
from conduit.db.types import utc_now
from conduit.domain.errors import Forbidden, NotFound
from conduit.domain.permissions import Permission, Role, can
from conduit.domain.sorting import AccountOrder, AccountSort
from conduit.domain.types import AccountFilter, AccountPage, AccountView, Viewer
from conduit.repositories.users import UserRepository

DEFAULT_ORDER = AccountSort.CREATED_AT_DESC.order


def to_account_view(user: User) -> AccountView:
    return AccountView(
        username=user.username,
        email=user.email,
        role=Role(user.role),
        banned_at=user.banned_at,
        created_at=user.created_at,
    )


def _require(actor: Viewer, permission: Permission) -> None:
    if not can(actor.role, permission):
        raise Forbidden("needs the admin role", field="user")


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)

    async def list_accounts(
        self,
        actor: Viewer,
        *,
        filters: AccountFilter,
        order: AccountOrder = DEFAULT_ORDER,
        limit: int = 20,
        offset: int = 0,
    ) -> AccountPage:
        """One page of accounts matching ``filters`` and how many match in all."""
        _require(actor, Permission.LIST_USERS)
        users = await self.users.list_accounts(
            filters=filters, order=order, limit=limit, offset=offset
        )
        total = await self.users.count_accounts(filters=filters)
        return AccountPage(accounts=[to_account_view(u) for u in users], total=total)

    async def set_role(self, actor: Viewer, username: str, role: Role) -> AccountView:
        """Give an account a role; idempotent. Never the actor's own (someone must stay admin)."""
        _require(actor, Permission.SET_ROLES)
        user = await self._other_than(actor, username)
        if user.role != role.value:
            await self.users.update(user, {"role": role.value, "updated_at": utc_now()})
        return to_account_view(user)

    async def ban(self, actor: Viewer, username: str) -> AccountView:
        """Ban an account and revoke its tokens; banning a banned account changes nothing."""
        _require(actor, Permission.BAN_USERS)
        user = await self._other_than(actor, username)
        if user.banned_at is None:
            await self.users.update(user, {"banned_at": utc_now(), "updated_at": utc_now()})
            await self.users.bump_token_version(user)
        return to_account_view(user)

    async def unban(self, actor: Viewer, username: str) -> AccountView:
        """Lift a ban; the tokens it revoked stay revoked. Idempotent."""
        _require(actor, Permission.BAN_USERS)
        user = await self._load(username)
        if user.banned_at is not None:
            await self.users.update(user, {"banned_at": None, "updated_at": utc_now()})
        return to_account_view(user)

    async def grant_admin(self, username: str) -> AccountView:
        """Make an account admin, for the trusted command line; lifts a ban as well."""
        user = await self._load(username)
        await self.users.update(
            user, {"role": Role.ADMIN.value, "banned_at": None, "updated_at": utc_now()}
        )
        return to_account_view(user)

    async def _other_than(self, actor: Viewer, username: str) -> User:
        user = await self._load(username)
        if user.id == actor.id:
            raise Forbidden("cannot be your own account", field="username")
        return user

    async def _load(self, username: str) -> User:
        user = await self.users.get_by_username(username)
        if user is None:
            raise NotFound(field="user")
        return user
