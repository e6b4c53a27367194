"""The permission table: who may do what, and that it agrees with the contract's roles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conduit.domain.permissions import ROLE_PERMISSIONS, Permission, Role, can, satisfies
from generated import models
from generated.manifest import ROLES

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "conduit.yaml"


def test_the_roles_are_the_contracts() -> None:
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    assert [role.value for role in Role] == document["components"]["schemas"]["Role"]["enum"]
    assert [role.value for role in Role] == [role.value for role in models.Role]


def test_every_role_an_operation_requires_is_a_known_role() -> None:
    assert ROLES
    for operation_id, roles in ROLES.items():
        assert all(role in Role.__members__.values() for role in roles), operation_id


def test_every_role_has_a_row_in_the_table() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)


class TestCan:
    def test_users_have_no_permission_beyond_their_own_content(self) -> None:
        assert not any(can(Role.USER, permission) for permission in Permission)

    @pytest.mark.parametrize(
        "permission", [Permission.DELETE_ANY_ARTICLE, Permission.DELETE_ANY_COMMENT]
    )
    def test_moderators_delete_others_content(self, permission: Permission) -> None:
        assert can(Role.MODERATOR, permission)

    @pytest.mark.parametrize(
        "permission", [Permission.LIST_USERS, Permission.SET_ROLES, Permission.BAN_USERS]
    )
    def test_only_admins_manage_accounts(self, permission: Permission) -> None:
        assert [role for role in Role if can(role, permission)] == [Role.ADMIN]

    def test_admins_may_do_everything(self) -> None:
        assert all(can(Role.ADMIN, permission) for permission in Permission)


class TestSatisfies:
    @pytest.mark.parametrize(
        ("role", "required", "expected"),
        [
            (Role.ADMIN, Role.ADMIN, True),
            (Role.ADMIN, Role.MODERATOR, True),
            (Role.ADMIN, Role.USER, True),
            (Role.MODERATOR, Role.ADMIN, False),
            (Role.MODERATOR, Role.MODERATOR, True),
            (Role.MODERATOR, Role.USER, True),
            (Role.USER, Role.ADMIN, False),
            (Role.USER, Role.MODERATOR, False),
            (Role.USER, Role.USER, True),
        ],
    )
    def test_a_role_satisfies_the_roles_whose_permissions_it_has(
        self, role: Role, required: Role, expected: bool
    ) -> None:
        assert satisfies(role, required) is expected
