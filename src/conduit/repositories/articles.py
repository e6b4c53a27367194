"""Articles, their list queries and favorites.

List pages run a fixed number of statements whatever the page size: one page
query (author profile, `following` and `favorited` as EXISTS columns), one
count, and one tag query for the page's ids (skipped when the page is empty).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, attributes

from conduit.db.models import Article, ArticleTag, Favorite, Follow, FormerSlug, Tag, User
from conduit.db.types import utc_now
from conduit.domain.sorting import DEFAULT_SORT, SortField, SortOrder
from conduit.domain.types import ArticleFilter, ArticleView, ProfileView
from conduit.repositories._sql import UniqueRule, following_flag, upsert_insert
from conduit.repositories.tags import TagRepository

SLUG_RULE = UniqueRule(constraint="uq_articles_slug", columns="articles.slug", field="slug")

# The only columns user input can sort by.
SORT_COLUMNS: dict[SortField, Any] = {
    SortField.CREATED_AT: Article.created_at,
    SortField.FAVORITES_COUNT: Article.favorites_count,
    SortField.TITLE: Article.title,
}


class SlugTaken(Exception):
    """The slug is already used; the service decides how to pick another."""


class ArticleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tags = TagRepository(session)

    # -- entities ---------------------------------------------------------------

    async def get_by_slug(self, slug: str) -> Article | None:
        """The ORM article under its current or a former slug (relationships not loaded)."""
        return await self.session.scalar(select(Article).where(_has_slug(slug)))

    async def add(
        self, *, slug: str, title: str, description: str, body: str, author_id: int
    ) -> int:
        """Insert an article and return its id; raises SlugTaken on a slug collision."""
        now = utc_now()
        stmt = (
            insert(Article)
            .values(
                slug=slug,
                title=title,
                description=description,
                body=body,
                author_id=author_id,
                favorites_count=0,
                created_at=now,
                updated_at=now,
            )
            .returning(Article.id)
        )
        async with self._slug_guard():
            article_id: int = (await self.session.execute(stmt)).scalar_one()
            # Checked after the write, inside its SAVEPOINT: a SQLite transaction that reads
            # first cannot wait for a concurrent writer, it fails with "database is locked".
            if await self._former_owner(slug) is not None:
                raise SlugTaken
        return article_id

    async def rename(self, article: Article, slug: str) -> None:
        """Change the slug, keeping the old one as a former slug that still leads here.

        Raises SlugTaken when another article has the slug now or had it before.
        """
        stmt = (
            update(Article)
            .where(Article.id == article.id)
            .values(slug=slug)
            .execution_options(synchronize_session=False)
        )
        async with self._slug_guard():
            await self.session.execute(stmt)
            owner = await self._former_owner(slug)
            if owner is not None and owner != article.id:
                raise SlugTaken
            if owner is not None:  # back to a slug it had: current again, so no longer former
                await self.session.execute(delete(FormerSlug).where(FormerSlug.slug == slug))
            await self.session.execute(
                insert(FormerSlug).values(slug=article.slug, article_id=article.id)
            )
        # The UPDATE bypassed the identity map (so a failed attempt leaves the entity
        # untouched); record the new slug on the loaded entity now that it succeeded.
        attributes.set_committed_value(article, "slug", slug)

    async def _former_owner(self, slug: str) -> int | None:
        """The article that had `slug` before a rename, if any."""
        owner: int | None = await self.session.scalar(
            select(FormerSlug.article_id).where(FormerSlug.slug == slug)
        )
        return owner

    async def delete(self, article_id: int) -> None:
        """Delete an article; the database cascades comments, favorites and tag links."""
        await self.session.execute(delete(Article).where(Article.id == article_id))

    @asynccontextmanager
    async def _slug_guard(self) -> AsyncIterator[None]:
        # SAVEPOINT: a unique violation must not poison PostgreSQL's transaction,
        # so the caller can retry with another slug.
        try:
            async with self.session.begin_nested():
                yield
        except IntegrityError as error:
            if SLUG_RULE.matches(error):
                raise SlugTaken from error
            raise

    # -- favorites ----------------------------------------------------------------

    async def add_favorite(self, user_id: int, article_id: int) -> bool:
        """Favorite; bumps the counter only if a row was really inserted."""
        stmt = (
            upsert_insert(self.session, Favorite)
            .values(user_id=user_id, article_id=article_id, created_at=utc_now())
            .on_conflict_do_nothing()
            .returning(Favorite.article_id)
        )
        inserted = (await self.session.execute(stmt)).first() is not None
        if inserted:
            await self._bump_favorites(article_id, +1)
        return inserted

    async def remove_favorite(self, user_id: int, article_id: int) -> bool:
        """Unfavorite; decrements the counter only if a row was really deleted."""
        stmt = (
            delete(Favorite)
            .where(Favorite.user_id == user_id, Favorite.article_id == article_id)
            .returning(Favorite.article_id)
        )
        deleted = (await self.session.execute(stmt)).first() is not None
        if deleted:
            await self._bump_favorites(article_id, -1)
        return deleted

    async def _bump_favorites(self, article_id: int, delta: int) -> None:
        # Atomic in SQL (no read-modify-write in Python), so concurrent favorites never
        # lose an increment.
        await self.session.execute(
            update(Article)
            .where(Article.id == article_id)
            .values(favorites_count=Article.favorites_count + delta)
            .execution_options(synchronize_session="fetch")
        )

    # -- views --------------------------------------------------------------------

    async def get_view(self, slug: str, viewer_id: int | None) -> ArticleView | None:
        """Full article (with body) as seen by the viewer; two statements."""
        query = _view_query(viewer_id, with_body=True).where(_has_slug(slug))
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        tags = await self.tags.names_for([row.id])
        return _to_view(row, tags.get(row.id, []))

    async def list_views(
        self,
        *,
        filters: ArticleFilter,
        viewer_id: int | None,
        feed_of: int | None = None,
        sort: Sequence[SortOrder] = DEFAULT_SORT,
        limit: int = 20,
        offset: int = 0,
    ) -> list[ArticleView]:
        """One page of articles (without body); two statements."""
        query = (
            _view_query(viewer_id, with_body=False)
            .where(*_conditions(filters, feed_of))
            .order_by(*_order_by(sort))
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(query)).all()
        tags = await self.tags.names_for([row.id for row in rows])
        return [_to_view(row, tags.get(row.id, [])) for row in rows]

    async def count(self, *, filters: ArticleFilter, feed_of: int | None = None) -> int:
        """How many articles match, ignoring pagination."""
        query = select(func.count()).select_from(Article).where(*_conditions(filters, feed_of))
        return int(await self.session.scalar(query) or 0)


def _has_slug(slug: str) -> ColumnElement[bool]:
    """The article's slug is `slug` now, or was before a rename (a subquery, not a round trip)."""
    former = select(FormerSlug.article_id).where(FormerSlug.slug == slug).scalar_subquery()
    return or_(Article.slug == slug, Article.id == former)


def _favorited_flag(viewer_id: int | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return false()
    return exists().where(Favorite.user_id == viewer_id, Favorite.article_id == Article.id)


def _view_query(viewer_id: int | None, *, with_body: bool) -> Select[*tuple[Any, ...]]:
    body = Article.body if with_body else None
    columns: list[Any] = [
        Article.id,
        Article.slug,
        Article.title,
        Article.description,
        Article.created_at,
        Article.updated_at,
        Article.favorites_count,
        User.username,
        User.bio,
        User.image,
        following_flag(Article.author_id, viewer_id).label("following"),
        _favorited_flag(viewer_id).label("favorited"),
    ]
    if body is not None:
        columns.append(body)
    return select(*columns).join(User, User.id == Article.author_id)


def _conditions(filters: ArticleFilter, feed_of: int | None) -> list[ColumnElement[bool]]:
    """WHERE clauses; usernames and tag names resolve in subqueries, not extra round trips."""
    conditions: list[ColumnElement[bool]] = []
    if filters.author is not None:
        author = aliased(User)
        author_id = select(author.id).where(author.username == filters.author)
        conditions.append(Article.author_id == author_id.scalar_subquery())
    if filters.tag is not None:
        tag_id = select(Tag.id).where(Tag.name == filters.tag).scalar_subquery()
        conditions.append(
            exists().where(ArticleTag.article_id == Article.id, ArticleTag.tag_id == tag_id)
        )
    if filters.favorited is not None:
        fan = aliased(User)
        fan_id = select(fan.id).where(fan.username == filters.favorited).scalar_subquery()
        conditions.append(
            exists().where(Favorite.article_id == Article.id, Favorite.user_id == fan_id)
        )
    if feed_of is not None:
        followed = select(Follow.followee_id).where(Follow.follower_id == feed_of)
        conditions.append(Article.author_id.in_(followed))
    return conditions


def _order_by(sort: Sequence[SortOrder]) -> list[Any]:
    """Mapped sort columns plus `id` as the unique tiebreaker (same direction as the first key).

    Without the tiebreaker, rows with equal keys may swap between pages.
    """
    orders = list(sort) or list(DEFAULT_SORT)
    clauses = [
        SORT_COLUMNS[o.field].desc() if o.descending else SORT_COLUMNS[o.field].asc()
        for o in orders
    ]
    clauses.append(Article.id.desc() if orders[0].descending else Article.id.asc())
    return clauses


def _to_view(row: Any, tag_list: list[str]) -> ArticleView:
    mapping = row._mapping
    return ArticleView(
        slug=row.slug,
        title=row.title,
        description=row.description,
        body=mapping.get("body"),
        tag_list=tag_list,
        created_at=row.created_at,
        updated_at=row.updated_at,
        favorited=bool(row.favorited),
        favorites_count=row.favorites_count,
        author=ProfileView(
            username=row.username,
            bio=row.bio,
            image=row.image,
            following=bool(row.following),
        ),
    )
