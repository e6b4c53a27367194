from __future__ import annotations

import re

import pytest

from conduit.domain.slugs import FALLBACK_SLUG, MAX_BASE_LENGTH, slugify, with_suffix


class TestSlugify:
    @pytest.mark.parametrize(
        ("title", "slug"),
        [
            ("How to train your dragon", "how-to-train-your-dragon"),
            ("  Héllo, Wörld!!  ", "hello-world"),
            ("C++ & Rust: 2026 edition", "c-rust-2026-edition"),
            ("already-a-slug", "already-a-slug"),
        ],
    )
    def test_lowercase_ascii_words_joined_by_hyphens(self, title: str, slug: str) -> None:
        assert slugify(title) == slug

    @pytest.mark.parametrize("title", ["日本語", "!!!", ""])
    def test_titles_without_ascii_letters_fall_back(self, title: str) -> None:
        assert slugify(title) == FALLBACK_SLUG

    @pytest.mark.parametrize("title", ["Feed", "  feed!"])
    def test_reserved_paths_are_never_slugs(self, title: str) -> None:
        assert slugify(title) == "feed-article"

    def test_long_titles_are_cut_without_trailing_hyphen(self) -> None:
        slug = slugify("word " * 100)
        assert len(slug) <= MAX_BASE_LENGTH
        assert not slug.endswith("-")


def test_suffix_is_short_random_and_slug_safe() -> None:
    first, second = with_suffix("hello"), with_suffix("hello")
    assert re.fullmatch(r"hello-[0-9a-f]{6}", first)
    assert first != second
