"""Deterministic rows for every table, generated lazily from a `SeedPlan`.

Each table draws from its own random stream (``"<seed>:<table>"``), so the same plan always
gives the same rows, and changing one size (say comments) leaves the other tables as they were.
Popularity is skewed like real sites: a few users write most articles and get most follows, a few
tags and articles get most links and favorites. ``favorites_count`` is computed from the very
favorite rows that are written, so the counter and the rows always agree.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from conduit.domain.slugs import slugify
from conduit.seed import text

Row = tuple[Any, ...]

# Fixed, so that a seed means the same rows whenever it is run.
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
ARTICLES_SPAN_MS = 365 * DAY_MS
USERS_SPAN_MS = 2 * 365 * DAY_MS
MAX_TAGS_PER_ARTICLE = 4  # the contract allows 10; RealWorld articles carry a few
AUTHOR_SKEW = 2.0  # index = n * random() ** skew: higher means a few take most
POPULARITY_SKEW = 2.5
BODY_POOL = 256
SENTENCE_POOL = 1024
USERNAME_BASE_MAX = 20  # plus the id: always within the contract's 32 characters


@dataclass(frozen=True, slots=True)
class SeedPlan:
    """How much to generate; per-user and per-article figures are averages or caps."""

    users: int = 1_000
    articles: int = 10_000
    comments_per_article: int = 2
    favorites_per_user: int = 5
    follows_per_user: int = 10
    tags: int = 50
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("users", "articles", "comments_per_article", "favorites_per_user"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.follows_per_user < 0 or self.tags < 0:
            raise ValueError("follows_per_user and tags must not be negative")
        if self.users == 0 and self.articles > 0:
            raise ValueError("articles need at least one user to write them")


@dataclass(frozen=True, slots=True)
class Phase:
    """One table: its columns, how many driving units (users or articles) and the rows per unit."""

    table: str
    columns: tuple[str, ...]
    units: int
    rows: Callable[[], Iterator[list[Row]]]


def at(ms_after_start: int, span_ms: int = ARTICLES_SPAN_MS) -> datetime:
    """A UTC timestamp with millisecond precision, ``ms`` after the start of a span."""
    return ANCHOR - timedelta(milliseconds=span_ms - ms_after_start)


def skewed(rng: random.Random, n: int, skew: float) -> int:
    """An index in ``[0, n)``, low indices far more likely than high ones."""
    return min(int(n * rng.random() ** skew), n - 1)


def distinct_skewed(
    rng: random.Random, k: int, n: int, skew: float, exclude: int = -1
) -> list[int]:
    """Up to ``k`` distinct skewed indices in ``[0, n)``, never ``exclude``."""
    available = n - (1 if 0 <= exclude < n else 0)
    k = min(k, available)
    if k <= 0:
        return []
    if 2 * k > available:
        # Dense picks: a uniform sample terminates quickly where skewed retries would not.
        return rng.sample([i for i in range(n) if i != exclude], k)
    chosen: dict[int, None] = {}  # insertion-ordered, so the result is deterministic
    while len(chosen) < k:
        index = skewed(rng, n, skew)
        if index != exclude:
            chosen[index] = None
    return list(chosen)


class SeedData:
    """Every table's rows for one plan; ids start at 1 in each table."""

    def __init__(self, plan: SeedPlan, *, password_hash: str) -> None:
        self.plan = plan
        self.password_hash = password_hash
        self.tag_names = text.tag_names(plan.tags)
        pools = self._rng("pools")
        self._bodies = text.pool(pools, BODY_POOL, text.body)
        self._sentences = text.pool(pools, SENTENCE_POOL, text.sentence)
        times = self._rng("article-times")
        self._article_ms = array(
            "q", (times.randrange(ARTICLES_SPAN_MS) for _ in range(plan.articles))
        )

    def phases(self) -> list[Phase]:
        """Tables in foreign-key order."""
        plan = self.plan
        return [
            Phase("users", USER_COLUMNS, plan.users, self.users),
            Phase("tags", ("id", "name"), len(self.tag_names), self.tags),
            Phase("follows", FOLLOW_COLUMNS, plan.users, self.follows),
            Phase("articles", ARTICLE_COLUMNS, plan.articles, self.articles),
            Phase(
                "article_tags",
                ("article_id", "tag_id", "position"),
                plan.articles,
                self.article_tags,
            ),
            Phase("favorites", FAVORITE_COLUMNS, plan.users, self.favorites),
            Phase("comments", COMMENT_COLUMNS, plan.articles, self.comments),
        ]

    def _rng(self, stream: str) -> random.Random:
        return random.Random(f"{self.plan.seed}:{stream}")  # noqa: S311 - test data, not secrets

    def users(self) -> Iterator[list[Row]]:
        rng = self._rng("users")
        for user_id in range(1, self.plan.users + 1):
            name = (rng.choice(text.FIRST_NAMES) + rng.choice(text.LAST_NAMES))[:USERNAME_BASE_MAX]
            username = f"{name}{user_id}"
            bio = rng.choice(self._sentences) if rng.random() < 0.4 else None
            image = (
                f"https://images.example.com/avatars/{user_id}.jpg" if rng.random() < 0.5 else None
            )
            joined = at(rng.randrange(USERS_SPAN_MS), USERS_SPAN_MS + ARTICLES_SPAN_MS)
            email = f"{username.lower()}@example.com"
            yield [(user_id, email, username, self.password_hash, bio, image, joined, joined)]

    def tags(self) -> Iterator[list[Row]]:
        for tag_id, name in enumerate(self.tag_names, start=1):
            yield [(tag_id, name)]

    def follows(self) -> Iterator[list[Row]]:
        rng = self._rng("follows")
        users = self.plan.users
        for follower in range(users):
            followees = distinct_skewed(
                rng, self.plan.follows_per_user, users, AUTHOR_SKEW, follower
            )
            yield [
                (follower + 1, followee + 1, at(rng.randrange(ARTICLES_SPAN_MS)))
                for followee in followees
            ]

    def articles(self) -> Iterator[list[Row]]:
        rng = self._rng("articles")
        counts = self._favorite_counts()
        for index, created_ms in enumerate(self._article_ms):
            article_id = index + 1
            title = text.title(rng)
            created = at(created_ms)
            updated = created
            if rng.random() < 0.2:
                updated = at(created_ms + rng.randrange(10 * DAY_MS))
            author_id = skewed(rng, self.plan.users, AUTHOR_SKEW) + 1
            yield [
                (
                    article_id,
                    # The id as last segment keeps slugs unique whatever the titles are.
                    f"{slugify(title)}-{article_id}",
                    title,
                    rng.choice(self._sentences),
                    rng.choice(self._bodies),
                    author_id,
                    counts[index],
                    created,
                    updated,
                )
            ]

    def article_tags(self) -> Iterator[list[Row]]:
        rng = self._rng("article-tags")
        pool = len(self.tag_names)
        for article_id in range(1, self.plan.articles + 1):
            wanted = rng.randint(0, MAX_TAGS_PER_ARTICLE)
            picks = distinct_skewed(rng, wanted, pool, POPULARITY_SKEW)
            yield [(article_id, tag + 1, position) for position, tag in enumerate(picks)]

    def favorites(self) -> Iterator[list[Row]]:
        times = self._rng("favorite-times")
        for user_id, picks in self._favorite_picks():
            yield [
                (user_id, index + 1, at(self._article_ms[index] + times.randrange(30 * DAY_MS)))
                for index in picks
            ]

    def comments(self) -> Iterator[list[Row]]:
        rng = self._rng("comments")
        comment_id = 0
        for index, created_ms in enumerate(self._article_ms):
            rows: list[Row] = []
            for _ in range(rng.randint(0, 2 * self.plan.comments_per_article)):
                comment_id += 1
                written = at(created_ms + rng.randrange(60_000, 30 * DAY_MS))
                author_id = skewed(rng, self.plan.users, AUTHOR_SKEW) + 1
                body = rng.choice(self._sentences)
                rows.append((comment_id, body, index + 1, author_id, written, written))
            yield rows

    def _favorite_picks(self) -> Iterator[tuple[int, list[int]]]:
        # A fresh stream each call: counting and writing walk exactly the same picks.
        rng = self._rng("favorites")
        articles = self.plan.articles
        for user_id in range(1, self.plan.users + 1):
            yield (
                user_id,
                distinct_skewed(rng, self.plan.favorites_per_user, articles, POPULARITY_SKEW),
            )

    def _favorite_counts(self) -> array[int]:
        counts = array("i", bytes(4 * self.plan.articles))
        for _, picks in self._favorite_picks():
            for index in picks:
                counts[index] += 1
        return counts


USER_COLUMNS = (
    "id",
    "email",
    "username",
    "password_hash",
    "bio",
    "image",
    "created_at",
    "updated_at",
)
FOLLOW_COLUMNS = ("follower_id", "followee_id", "created_at")
ARTICLE_COLUMNS = (
    "id",
    "slug",
    "title",
    "description",
    "body",
    "author_id",
    "favorites_count",
    "created_at",
    "updated_at",
)
FAVORITE_COLUMNS = ("user_id", "article_id", "created_at")
COMMENT_COLUMNS = ("id", "body", "article_id", "author_id", "created_at", "updated_at")
