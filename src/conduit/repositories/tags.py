"""Tags and article-tag links."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import BigInteger, Select, String, bindparam, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import ArticleCount, ArticleTag, Tag
from conduit.repositories._rows import Query, core_table


class TagRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, names: Sequence[str]) -> list[int]:
        """Ids for `names` (same order), creating missing tags; safe under concurrent creates.

        Most tags of a new article exist already: one statement reads them, and only when
        some are missing are those inserted (ON CONFLICT DO NOTHING: two requests adding the
        same new tag must not fail each other) and read again.
        """
        ids = await self._ids(names)
        missing = [name for name in names if name not in ids]
        if missing:
            dialect = self.session.get_bind().dialect.name
            params = {f"name_{i}": name for i, name in enumerate(missing)}
            await _ensure_query(dialect, len(missing)).write(self.session, params)
            ids.update(await self._ids(missing))
        return [ids[name] for name in names]

    async def _ids(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        params = {f"name_{i}": name for i, name in enumerate(names)}
        rows = await _ids_query(len(names)).all(self.session, params)
        return {row["name"]: row["id"] for row in rows}

    async def set_for_article(
        self, article_id: int, tag_ids: Sequence[int], *, new: bool = False
    ) -> None:
        """Replace an article's tags, keeping the given order (a new article has none yet)."""
        if not new:
            await self.session.execute(
                delete(ArticleTag).where(ArticleTag.article_id == article_id)
            )
        if tag_ids:
            params: dict[str, int] = {"article_id": article_id}
            params.update({f"tag_{i}": tag_id for i, tag_id in enumerate(tag_ids)})
            await _link_query(len(tag_ids)).write(self.session, params)

    async def list_in_use(self, limit: int | None = None) -> list[str]:
        """Tags linked to at least one article, most used first, then by name.

        Reads the per-tag counts the database maintains on write (migration 0004) instead of
        aggregating every tag link per request.
        """
        # LIMIT takes a bound value, and SQLite refuses NULL there: no limit is the largest one.
        bound = _NO_LIMIT if limit is None else limit
        rows = await _IN_USE.all(self.session, {"limit": bound})
        return [row["name"] for row in rows]


def _in_use_statement() -> Select[str]:
    usage = (
        select(ArticleCount.key.label("tag_id"), func.sum(ArticleCount.n).label("n"))
        .where(ArticleCount.scope == "tag")
        .group_by(ArticleCount.key)
        .having(func.sum(ArticleCount.n) > 0)
        .subquery("usage")
    )
    return (
        select(Tag.name)
        .join(usage, usage.c.tag_id == Tag.id)
        .order_by(usage.c.n.desc(), Tag.name)
        .limit(bindparam("limit"))
    )


# Statements per number of tags (the contract allows at most 10 per article), built once:
# one multi-row INSERT instead of a batch, the same statement for every article with as many.
@lru_cache(maxsize=64)
def _ensure_query(dialect: str, count: int) -> Query:
    insert_into = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"name": bindparam(f"name_{i}", type_=String())} for i in range(count)]
    return Query(
        insert_into(core_table(Tag)).values(rows).on_conflict_do_nothing(index_elements=["name"])
    )


@lru_cache(maxsize=64)
def _ids_query(count: int) -> Query:
    names = [bindparam(f"name_{i}", type_=String()) for i in range(count)]
    return Query(select(Tag.name, Tag.id).where(Tag.name.in_(names)))


@lru_cache(maxsize=64)
def _link_query(count: int) -> Query:
    rows = [
        {
            "article_id": bindparam("article_id", type_=BigInteger()),
            "tag_id": bindparam(f"tag_{i}", type_=BigInteger()),
            "position": i,
        }
        for i in range(count)
    ]
    return Query(insert(core_table(ArticleTag)).values(rows))


_NO_LIMIT = 2**63 - 1

# Every front page asks for the tags: built and compiled once (see `_rows`).
_IN_USE = Query(_in_use_statement())
