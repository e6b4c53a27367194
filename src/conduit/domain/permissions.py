"""Who may do what: the roles, the permissions, and the one table that maps them.

The contract reserves operations to roles (`security: [{Token: [admin]}]`); the route's security
dependency asks `satisfies` whether the caller's role covers the listed one. Services ask `can`
for the single permission a business rule needs (a moderator deleting someone else's comment).
Reading this file answers "who can do what" for the whole API.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType


class Role(enum.StrEnum):
    """Mirrors the contract's `Role` schema; stored as its value in `users.role`."""

    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    """Something beyond a user's own content (every user edits and deletes what they wrote)."""

    DELETE_ANY_ARTICLE = "delete_any_article"
    DELETE_ANY_COMMENT = "delete_any_comment"
    LIST_USERS = "list_users"
    SET_ROLES = "set_roles"
    BAN_USERS = "ban_users"


_MODERATION = frozenset({Permission.DELETE_ANY_ARTICLE, Permission.DELETE_ANY_COMMENT})

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.USER: frozenset(),
        Role.MODERATOR: _MODERATION,
        Role.ADMIN: _MODERATION
        | {Permission.LIST_USERS, Permission.SET_ROLES, Permission.BAN_USERS},
    }
)


def can(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


def satisfies(role: Role, required: Role) -> bool:
    """Whether ``role`` may do everything ``required`` may: an admin passes a moderator check.

    Defined through the table rather than an ordering of roles, so a role added later is
    placed by the permissions it gets, not by where it is declared.
    """
    return ROLE_PERMISSIONS[required] <= ROLE_PERMISSIONS[role]
