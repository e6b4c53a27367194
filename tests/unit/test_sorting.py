from __future__ import annotations

import pytest

from conduit.domain.errors import ValidationFailed
from conduit.domain.sorting import (
    DEFAULT_SORT,
    ArticleSort,
    SortField,
    SortOrder,
    orders_from,
    parse_sort,
)


class TestParseSort:
    @pytest.mark.parametrize("raw", [None, "", "  "])
    def test_missing_value_means_newest_first(self, raw: str | None) -> None:
        assert parse_sort(raw) == DEFAULT_SORT == (SortOrder(SortField.CREATED_AT, True),)

    def test_comma_list_keeps_order_and_direction(self) -> None:
        assert parse_sort("-favoritesCount, title") == (
            SortOrder(SortField.FAVORITES_COUNT, True),
            SortOrder(SortField.TITLE, False),
        )

    @pytest.mark.parametrize("raw", ["popularity", "-createdAt,", "createdAt;drop", "+title"])
    def test_unknown_key_is_rejected_on_sort_field(self, raw: str) -> None:
        with pytest.raises(ValidationFailed) as caught:
            parse_sort(raw)
        assert caught.value.field == "sort"

    def test_repeated_key_is_rejected(self) -> None:
        with pytest.raises(ValidationFailed):
            parse_sort("createdAt,-createdAt")


class TestArticleSort:
    def test_every_member_maps_to_a_field_and_direction(self) -> None:
        assert {s.order for s in ArticleSort} == {
            SortOrder(field, descending) for field in SortField for descending in (True, False)
        }

    def test_orders_from_enum_members(self) -> None:
        assert orders_from([ArticleSort.TITLE_DESC]) == (SortOrder(SortField.TITLE, True),)
        assert orders_from([]) == DEFAULT_SORT
