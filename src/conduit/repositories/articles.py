"""Articles, their list queries and favorites.

A list page is one statement whatever its size: the page (author profile,
`following` and `favorited` as EXISTS columns, the tag list aggregated per row)
left-joined to its total. The total is read from the counts the database keeps
on write (migration 0004), not counted per request; only combined filters count.
Reads are rows turned straight into domain dataclasses, no ORM entities; the hot ones run as
driver-level queries compiled once (see `_rows`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, attributes

from conduit.db.models import (
    Article,
    ArticleCount,
    ArticleTag,
    Favorite,
    Follow,
    FormerSlug,
    Tag,
    User,
)
from conduit.db.types import utc_now
from conduit.domain.sorting import DEFAULT_SORT, SortField, SortOrder
from conduit.domain.types import ArticleFilter, ArticlePage, ArticleView, ProfileView
from conduit.domain.versions import version_tag
from conduit.repositories._rows import Query, Row, core_table
from conduit.repositories._sql import UniqueRule, author_profile, following_flag, has_slug

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

    # -- entities ---------------------------------------------------------------

    async def get_by_slug(self, slug: str) -> Article | None:
        """The ORM article under its current or a former slug (relationships not loaded)."""
        return await self.session.scalar(select(Article).where(has_slug(slug)))

    async def get_id_by_slug(self, slug: str) -> int | None:
        """The id of the article under its current or a former slug; no entity loaded."""
        row = await _ID_BY_SLUG.first(self.session, {"slug": slug})
        return None if row is None else int(row["id"])

    async def add(
        self, *, slug: str, title: str, description: str, body: str, author_id: int
    ) -> tuple[int, ArticleView]:
        """Insert an article; its id, and the article as its author sees it, with no tags yet.
        Raises SlugTaken on a slug collision.

        One statement: the slug must be free now (ON CONFLICT DO NOTHING, so no SAVEPOINT is
        needed to survive a violation) and never have been another article's (NOT EXISTS), and
        the row comes back with its author's profile, so the new article is not read again.
        """
        now = utc_now()
        values = {
            "slug": slug,
            "title": title,
            "description": description,
            "body": body,
            "author_id": author_id,
            "created_at": now,
            "updated_at": now,
        }
        rows = await _insert_query(self._dialect()).write(self.session, values)
        if not rows:
            raise SlugTaken
        row = rows[0]
        return int(row["id"]), _to_view(row, with_body=True)

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

    async def next_version(self, article_id: int, *, expected: int | None = None) -> bool:
        """Increment the content version; with `expected`, only from that version (compare and
        set, so two updates from the same version cannot both succeed)."""
        stmt = update(Article).where(Article.id == article_id)
        if expected is not None:
            stmt = stmt.where(Article.version == expected)
        stmt = stmt.values(version=Article.version + 1).returning(Article.id)
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return result.first() is not None

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

    async def add_favorite(self, user_id: int, slug: str) -> bool:
        """Favorite the article under `slug` (current or former); bumps its counter only if a
        row was really inserted. False when it was a favorite already, or there is no such
        article (the caller's read of the article tells which).

        The article is found by the INSERT itself: no round trip to look its id up first.
        """
        params = {"user_id": user_id, "slug": slug, "created_at": utc_now()}
        rows = await _favorite_query(self._dialect()).write(self.session, params)
        if rows:
            await self._bump_favorites(rows[0]["article_id"], +1)
        return bool(rows)

    async def remove_favorite(self, user_id: int, slug: str) -> bool:
        """Unfavorite the article under `slug`; decrements its counter only if a row was really
        deleted. False when it was no favorite, or there is no such article."""
        rows = await _UNFAVORITE.write(self.session, {"user_id": user_id, "slug": slug})
        if rows:
            await self._bump_favorites(rows[0]["article_id"], -1)
        return bool(rows)

    async def _bump_favorites(self, article_id: int, delta: int) -> None:
        # Atomic in SQL (no read-modify-write in Python), so concurrent favorites never
        # lose an increment. Loaded entities are not updated (nothing here loads one): the
        # views read the count from the database.
        await _BUMP_FAVORITES.write(self.session, {"article_id": article_id, "delta": delta})

    # -- views --------------------------------------------------------------------

    async def get_view(self, slug: str, viewer_id: int | None) -> ArticleView | None:
        """Full article (with body) as seen by the viewer; one statement."""
        query = _article_query(self._dialect(), viewer=viewer_id is not None)
        row = await query.first(self.session, {"slug": slug, "viewer_id": viewer_id})
        return None if row is None else _to_view(row, with_body=True)

    async def list_page(
        self,
        *,
        filters: ArticleFilter,
        viewer_id: int | None,
        feed_of: int | None = None,
        sort: Sequence[SortOrder] = DEFAULT_SORT,
        limit: int = 20,
        offset: int = 0,
    ) -> ArticlePage:
        """One page of articles (without body) and how many match; one statement."""
        params = {
            "viewer_id": viewer_id,
            "tag": filters.tag,
            "author": filters.author,
            "favorited": filters.favorited,
            "feed_of": feed_of,
        }
        shape = _PageShape(*(value is not None for value in params.values()))
        query = _page_query(self._dialect(), shape, tuple(sort) or DEFAULT_SORT)
        rows = await query.all(self.session, {**params, "limit": limit, "offset": offset})
        return ArticlePage(
            articles=[_to_view(row, with_body=False) for row in rows if row["id"] is not None],
            total=int(rows[0]["total"]),
        )

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name


class _PageShape(NamedTuple):
    """Which parameters a list query has: its statement is built once per shape and reused."""

    viewer: bool
    tag: bool
    author: bool
    favorited: bool
    feed: bool


# Statements are built once per shape (with bind parameters for every value) and reused:
# building a SQLAlchemy statement of this size costs more CPU than PostgreSQL spends running it.
@lru_cache(maxsize=64)
def _article_query(dialect: str, *, viewer: bool) -> Query:
    statement = _view_query(dialect, viewer=viewer, with_body=True)
    return Query(statement.where(has_slug(bindparam("slug"))))


@lru_cache(maxsize=512)
def _page_query(dialect: str, shape: _PageShape, sort: tuple[SortOrder, ...]) -> Query:
    return Query(_page_statement(dialect, shape, sort))


def _page_statement(
    dialect: str, shape: _PageShape, sort: tuple[SortOrder, ...]
) -> Select[*tuple[Any, ...]]:
    """The page left-joined to a one-row derived table holding the total, so an empty page (an
    offset past the end) still brings the total back in the same round trip."""
    page = (
        _view_query(dialect, viewer=shape.viewer, with_body=False)
        .where(*_conditions(shape))
        .order_by(*_order_by(sort, SORT_COLUMNS, Article.id))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    total = select(_total(shape).label("total")).subquery("total")
    page_columns = {field: page.c[column.key] for field, column in SORT_COLUMNS.items()}
    return (
        select(total.c.total, page)
        .select_from(total.outerjoin(page, true()))
        .order_by(*_order_by(sort, page_columns, page.c.id))
    )


def _view_query(dialect: str, *, viewer: bool, with_body: bool) -> Select[*tuple[Any, ...]]:
    viewer_id: BindParameter[int] | None = bindparam("viewer_id") if viewer else None
    columns: list[Any] = [
        Article.id,
        Article.slug,
        Article.title,
        Article.description,
        Article.created_at,
        Article.updated_at,
        Article.favorites_count,
        _tag_names(dialect).label("tag_names"),
        User.username,
        User.bio,
        User.image,
        following_flag(Article.author_id, viewer_id).label("following"),
        _favorited_flag(viewer_id).label("favorited"),
    ]
    if with_body:
        columns += [Article.body, Article.version]
    return select(*columns).join(User, User.id == Article.author_id)


@lru_cache(maxsize=4)
def _insert_query(dialect: str) -> Query:
    """INSERT ... SELECT: the slug must be free now (ON CONFLICT DO NOTHING, so no SAVEPOINT is
    needed to survive a violation) and never have been another article's (NOT EXISTS)."""
    names = ("slug", "title", "description", "body", "author_id", "created_at", "updated_at")
    table = Article.__table__.c
    values = [bindparam(name, type_=table[name].type) for name in names]
    # Stated here: the ORM's Python-side defaults do not apply to a Core INSERT ... SELECT.
    row = select(*values, literal(0, Integer()), literal(1, Integer())).where(
        ~exists().where(FormerSlug.slug == bindparam("slug"))
    )
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return Query(
        # The Core table, not the entity: an ORM-enabled INSERT takes its parameters as rows.
        insert_into(core_table(Article))
        .from_select([*names, "favorites_count", "version"], row)
        .on_conflict_do_nothing(index_elements=["slug"])
        .returning(
            table.id,
            table.slug,
            table.title,
            table.description,
            table.body,
            table.created_at,
            table.updated_at,
            table.favorites_count,
            table.version,
            *author_profile(core_table(Article)),
            # The columns of a view (`_to_view`) a new article answers without a query: no tags
            # yet (its caller links them), nobody has favorited it, and nobody follows
            # themselves (a check constraint).
            null().label("tag_names"),
            false().label("favorited"),
            false().label("following"),
        )
    )


@lru_cache(maxsize=4)
def _favorite_query(dialect: str) -> Query:
    """INSERT ... SELECT: the favorite of the article the slug names, if there is one."""
    table = core_table(Favorite)
    row = select(
        bindparam("user_id", type_=table.c.user_id.type),
        Article.id,
        bindparam("created_at", type_=table.c.created_at.type),
    ).where(has_slug(bindparam("slug")))
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return Query(
        insert_into(table)
        .from_select(["user_id", "article_id", "created_at"], row)
        .on_conflict_do_nothing()
        .returning(table.c.article_id)
    )


_UNFAVORITE = Query(
    delete(Favorite)
    .where(
        Favorite.user_id == bindparam("user_id"),
        Favorite.article_id.in_(select(Article.id).where(has_slug(bindparam("slug")))),
    )
    .returning(Favorite.article_id)
)
_BUMP_FAVORITES = Query(
    update(Article)
    .where(Article.id == bindparam("article_id"))
    .values(favorites_count=Article.favorites_count + bindparam("delta", type_=Integer()))
)

# Listing and deleting comments start here (writes find their article themselves).
_ID_BY_SLUG = Query(select(Article.id).where(has_slug(bindparam("slug"))))


def _favorited_flag(viewer_id: BindParameter[int] | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return false()
    return exists().where(Favorite.user_id == viewer_id, Favorite.article_id == Article.id)


def _tag_names(dialect: str) -> ColumnElement[Any]:
    """The article's tag names in the author's order, aggregated in the row's own query.

    An array on PostgreSQL; a JSON array on SQLite, which has no arrays and, before 3.44, no
    ORDER BY inside an aggregate (an ordered derived table keeps the order instead).
    """
    if dialect == "postgresql":
        return (
            select(func.array_agg(aggregate_order_by(Tag.name, ArticleTag.position)))
            .join_from(ArticleTag, Tag, Tag.id == ArticleTag.tag_id)
            .where(ArticleTag.article_id == Article.id)
            .scalar_subquery()
        )
    ordered = (
        select(Tag.name)
        .join_from(ArticleTag, Tag, Tag.id == ArticleTag.tag_id)
        .where(ArticleTag.article_id == Article.id)
        .order_by(ArticleTag.position)
        .correlate(Article)
        .subquery("ordered_tags")
    )
    return select(func.json_group_array(ordered.c.name)).scalar_subquery()


def _total(shape: _PageShape) -> ColumnElement[int]:
    """How many articles match: a maintained count for every single filter, else a count.

    Unknown names match nothing: their scalar subquery is NULL, hence 0.
    """
    given = {name for name in ("tag", "author", "favorited", "feed") if getattr(shape, name)}
    if not given:
        return maintained_count("all", 0)
    if given == {"tag"}:
        return maintained_count("tag", select(Tag.id).where(Tag.name == bindparam("tag")))
    if given == {"author"}:
        author = select(User.id).where(User.username == bindparam("author"))
        return maintained_count("author", author)
    if given == {"favorited"}:
        fan = select(User.id).where(User.username == bindparam("favorited"))
        return maintained_count("fan", fan)
    if given == {"feed"}:
        # The followed authors' counts: one small sum per followed author, not per article.
        followed = select(Follow.followee_id).where(Follow.follower_id == bindparam("feed_of"))
        return maintained_count("author", followed)
    count = select(func.count()).select_from(Article).where(*_conditions(shape))
    return count.scalar_subquery()


def maintained_count(scope: str, key: int | Select[Any]) -> ColumnElement[int]:
    """The sum of a count's stripes (0 when there are none); ``key`` may be a subquery of keys."""
    keys = ArticleCount.key == key if isinstance(key, int) else ArticleCount.key.in_(key)
    total = select(func.sum(ArticleCount.n)).where(ArticleCount.scope == scope, keys)
    return func.coalesce(total.scalar_subquery(), 0)


def _conditions(shape: _PageShape) -> list[ColumnElement[bool]]:
    """WHERE clauses; usernames and tag names resolve in subqueries, not extra round trips."""
    conditions: list[ColumnElement[bool]] = []
    if shape.author:
        author = aliased(User)
        author_id = select(author.id).where(author.username == bindparam("author"))
        conditions.append(Article.author_id == author_id.scalar_subquery())
    if shape.tag:
        tag_id = select(Tag.id).where(Tag.name == bindparam("tag")).scalar_subquery()
        conditions.append(
            exists().where(ArticleTag.article_id == Article.id, ArticleTag.tag_id == tag_id)
        )
    if shape.favorited:
        fan = aliased(User)
        fan_id = select(fan.id).where(fan.username == bindparam("favorited")).scalar_subquery()
        conditions.append(
            exists().where(Favorite.article_id == Article.id, Favorite.user_id == fan_id)
        )
    if shape.feed:
        followed = select(Follow.followee_id).where(Follow.follower_id == bindparam("feed_of"))
        conditions.append(Article.author_id.in_(followed))
    return conditions


def _order_by(
    sort: Sequence[SortOrder], columns: Mapping[SortField, Any], id_column: Any
) -> list[Any]:
    """Mapped sort columns plus `id` as the unique tiebreaker (same direction as the first key).

    Without the tiebreaker, rows with equal keys may swap between pages.
    """
    orders = list(sort) or list(DEFAULT_SORT)
    clauses = [columns[o.field].desc() if o.descending else columns[o.field].asc() for o in orders]
    clauses.append(id_column.desc() if orders[0].descending else id_column.asc())
    return clauses


def _to_view(row: Row, *, with_body: bool) -> ArticleView:
    names = row["tag_names"]
    if isinstance(names, str):  # SQLite's JSON array
        names = orjson.loads(names)
    return ArticleView(
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        body=row["body"] if with_body else None,
        tag_list=list(names or ()),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        favorited=bool(row["favorited"]),
        favorites_count=row["favorites_count"],
        author=ProfileView(
            username=row["username"],
            bio=row["bio"],
            image=row["image"],
            following=bool(row["following"]),
        ),
        version_tag=version_tag(row["id"], row["version"]) if with_body else None,
    )
