"""Article sort keys, mirroring the contract's `sort` enum.

The query value is a comma list such as "-createdAt,title"; a leading "-"
means descending. Parsing happens once here so no raw input can reach
`ORDER BY`: the repository maps `SortField` to columns through a fixed dict.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import NamedTuple

from conduit.domain.errors import ValidationFailed


class SortField(enum.StrEnum):
    CREATED_AT = "createdAt"
    FAVORITES_COUNT = "favoritesCount"
    TITLE = "title"


class ArticleSort(enum.StrEnum):
    CREATED_AT_DESC = "-createdAt"
    CREATED_AT = "createdAt"
    FAVORITES_COUNT_DESC = "-favoritesCount"
    FAVORITES_COUNT = "favoritesCount"
    TITLE = "title"
    TITLE_DESC = "-title"

    @property
    def order(self) -> SortOrder:
        return SortOrder(SortField(self.value.removeprefix("-")), self.value.startswith("-"))


class SortOrder(NamedTuple):
    field: SortField
    descending: bool


DEFAULT_SORT: tuple[SortOrder, ...] = (ArticleSort.CREATED_AT_DESC.order,)


def parse_sort(raw: str | None) -> tuple[SortOrder, ...]:
    """Parse "-createdAt,title" into ordered (field, descending) pairs.

    None or "" gives the default (newest first). Unknown, empty or repeated
    keys raise ValidationFailed(field="sort").
    """
    if raw is None or raw.strip() == "":
        return DEFAULT_SORT
    orders: list[SortOrder] = []
    for item in raw.split(","):
        try:
            order = ArticleSort(item.strip()).order
        except ValueError:
            raise ValidationFailed(f"unknown sort key {item.strip()!r}", field="sort") from None
        if any(existing.field is order.field for existing in orders):
            raise ValidationFailed(f"sort key {order.field.value!r} repeated", field="sort")
        orders.append(order)
    return tuple(orders)


def orders_from(sorts: Sequence[ArticleSort]) -> tuple[SortOrder, ...]:
    """Convert already-validated enum members (e.g. from a generated model)."""
    if not sorts:
        return DEFAULT_SORT
    return parse_sort(",".join(s.value for s in sorts))


class AccountSortField(enum.StrEnum):
    CREATED_AT = "createdAt"
    USERNAME = "username"


class AccountSort(enum.StrEnum):
    """The admin user list's sort keys, mirroring the contract's `UserSort` enum."""

    CREATED_AT_DESC = "-createdAt"
    CREATED_AT = "createdAt"
    USERNAME = "username"
    USERNAME_DESC = "-username"

    @property
    def order(self) -> AccountOrder:
        return AccountOrder(
            AccountSortField(self.value.removeprefix("-")), self.value.startswith("-")
        )


class AccountOrder(NamedTuple):
    field: AccountSortField
    descending: bool
