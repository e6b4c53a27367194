"""Admin tag: the list of accounts, roles and bans (admins only: see the contract's security)."""

from __future__ import annotations

from fastapi import Request

from conduit.api.deps import get_session, viewer_of
from conduit.api.profiles import required
from conduit.domain.permissions import Role
from conduit.domain.sorting import AccountSort
from conduit.domain.types import AccountFilter, AccountView, Viewer
from conduit.services.accounts import AccountService
from generated import models
from generated.interfaces import AdminApi


def to_account_out(account: AccountView) -> models.AdminUser:
    return models.AdminUser(
        username=account.username,
        email=account.email,
        role=models.Role(account.role.value),
        banned=account.banned_at is not None,
        bannedAt=account.banned_at,
        createdAt=account.created_at,
    )


def to_account_response(account: AccountView) -> models.AdminUserResponse:
    return models.AdminUserResponse(user=to_account_out(account))


class Admin(AdminApi):
    def __init__(self, service: AccountService, viewer: Viewer | None) -> None:
        self._service = service
        self._viewer = viewer

    async def list_users(
        self,
        *,
        role: models.Role | None = None,
        banned: bool | None = None,
        sort: models.UserSort = models.UserSort.CREATED_AT_DESC,
        limit: int = 20,
        offset: int = 0,
    ) -> models.AdminUsersResponse:
        page = await self._service.list_accounts(
            required(self._viewer),
            filters=AccountFilter(role=None if role is None else Role(role.value), banned=banned),
            order=AccountSort(sort.value).order,
            limit=limit,
            offset=offset,
        )
        return models.AdminUsersResponse(
            users=[to_account_out(account) for account in page.accounts], usersCount=page.total
        )

    async def set_user_role(
        self, *, username: str, body: models.RoleChangeRequest
    ) -> models.AdminUserResponse:
        role = Role(body.user.role.value)
        return to_account_response(
            await self._service.set_role(required(self._viewer), username, role)
        )

    async def ban_user(self, *, username: str) -> models.AdminUserResponse:
        return to_account_response(await self._service.ban(required(self._viewer), username))

    async def unban_user(self, *, username: str) -> models.AdminUserResponse:
        return to_account_response(await self._service.unban(required(self._viewer), username))


async def provide(request: Request) -> Admin:
    return Admin(AccountService(await get_session(request)), viewer_of(request))
