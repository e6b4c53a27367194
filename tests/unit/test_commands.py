from __future__ import annotations

from conduit.domain.types import UNSET, UserChanges
from conduit.services.articles import clean_tags


def test_user_changes_distinguish_absent_from_null() -> None:
    absent = UserChanges()
    cleared = UserChanges(bio=None)
    assert absent.bio is UNSET
    assert cleared.bio is None


def test_clean_tags_trims_dedupes_and_keeps_order() -> None:
    assert clean_tags([" rust", "go", "rust", "", "  ", "Go"]) == ["rust", "go", "Go"]
