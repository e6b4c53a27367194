from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC

import pytest

from conduit.seed.data import Row, SeedData, SeedPlan, distinct_skewed
from conduit.seed.text import TAG_MAX_LENGTH, tag_names

USERNAME = re.compile(r"^[A-Za-z0-9_-]+$")
PLAN = SeedPlan(
    users=30, articles=120, comments_per_article=2, favorites_per_user=7, follows_per_user=5
)


def rows(data: SeedData) -> dict[str, list[Row]]:
    return {phase.table: [row for unit in phase.rows() for row in unit] for phase in data.phases()}


def test_same_plan_gives_the_same_rows() -> None:
    first = rows(SeedData(PLAN, password_hash="h"))
    second = rows(SeedData(PLAN, password_hash="h"))
    assert first == second


def test_another_seed_gives_other_rows() -> None:
    first = rows(SeedData(PLAN, password_hash="h"))
    second = rows(SeedData(SeedPlan(users=30, articles=120, seed=2), password_hash="h"))
    assert first["articles"] != second["articles"]


def test_changing_comments_keeps_other_tables() -> None:
    more = SeedPlan(
        users=30, articles=120, comments_per_article=5, favorites_per_user=7, follows_per_user=5
    )
    first, second = rows(SeedData(PLAN, password_hash="h")), rows(SeedData(more, password_hash="h"))
    assert first["articles"] == second["articles"]
    assert first["favorites"] == second["favorites"]
    assert first["comments"] != second["comments"]


def test_rows_respect_the_schema_invariants() -> None:
    tables = rows(SeedData(PLAN, password_hash="h"))
    users, articles = tables["users"], tables["articles"]
    assert len(users) == PLAN.users and len(articles) == PLAN.articles
    assert all(USERNAME.match(u[2]) and len(u[2]) <= 32 for u in users)
    assert all(u[1] == u[1].lower() for u in users)
    assert len({u[1] for u in users}) == len(users)
    assert len({a[1] for a in articles}) == len(articles)
    assert all(len(name) <= TAG_MAX_LENGTH for _, name in tables["tags"])
    stamps = [value for table in tables.values() for row in table for value in row]
    times = [v for v in stamps if hasattr(v, "tzinfo")]
    assert times and all(t.tzinfo is UTC and t.microsecond % 1000 == 0 for t in times)


def test_favorites_count_matches_the_favorite_rows() -> None:
    tables = rows(SeedData(PLAN, password_hash="h"))
    favorited = Counter(article_id for _, article_id, _ in tables["favorites"])
    assert {a[0]: a[6] for a in tables["articles"]} == {
        a[0]: favorited.get(a[0], 0) for a in tables["articles"]
    }
    assert len(tables["favorites"]) == PLAN.users * PLAN.favorites_per_user


def test_follows_are_distinct_and_never_self() -> None:
    follows = [(a, b) for a, b, _ in rows(SeedData(PLAN, password_hash="h"))["follows"]]
    assert len(set(follows)) == len(follows) == PLAN.users * PLAN.follows_per_user
    assert all(a != b for a, b in follows)


def test_article_tags_are_distinct_per_article_with_positions() -> None:
    links = rows(SeedData(PLAN, password_hash="h"))["article_tags"]
    per_article: dict[int, list[tuple[int, int]]] = {}
    for article_id, tag_id, position in links:
        per_article.setdefault(article_id, []).append((tag_id, position))
    for tags in per_article.values():
        assert len({t for t, _ in tags}) == len(tags)
        assert [p for _, p in tags] == list(range(len(tags)))


@pytest.mark.parametrize(("k", "n"), [(0, 5), (3, 100), (9, 10), (50, 10)])
def test_distinct_skewed_picks_distinct_indices_in_range(k: int, n: int) -> None:
    picks = distinct_skewed(random.Random(1), k, n, 2.5, exclude=2)
    assert len(picks) == min(k, n - 1)
    assert len(set(picks)) == len(picks)
    assert all(0 <= p < n and p != 2 for p in picks)


def test_tag_names_are_unique_and_as_many_as_asked() -> None:
    names = tag_names(2000)
    assert len(names) == len(set(names)) == 2000


def test_a_plan_with_articles_needs_users() -> None:
    with pytest.raises(ValueError, match="at least one user"):
        SeedPlan(users=0, articles=1)
