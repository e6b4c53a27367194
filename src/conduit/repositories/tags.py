"""Tags and article-tag links."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import ArticleCount, ArticleTag, Tag
from conduit.repositories._rows import Query
from conduit.repositories._sql import upsert_insert


class TagRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, names: Sequence[str]) -> list[int]:
        """Ids for `names` (same order), creating missing tags; safe under concurrent creates.

        ON CONFLICT DO NOTHING instead of select-then-insert: two requests adding the
        same new tag must not fail each other. Always two statements.
        """
        if not names:
            return []
        await self.session.execute(
            upsert_insert(self.session, Tag)
            .values([{"name": name} for name in names])
            .on_conflict_do_nothing(index_elements=["name"])
        )
        rows = await self.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names)))
        ids = {name: tag_id for name, tag_id in rows}
        return [ids[name] for name in names]

    async def set_for_article(
        self, article_id: int, tag_ids: Sequence[int], *, new: bool = False
    ) -> None:
        """Replace an article's tags, keeping the given order (a new article has none yet)."""
        if not new:
            await self.session.execute(
                delete(ArticleTag).where(ArticleTag.article_id == article_id)
            )
        if tag_ids:
            await self.session.execute(
                insert(ArticleTag),
                [
                    {"article_id": article_id, "tag_id": tag_id, "position": position}
                    for position, tag_id in enumerate(tag_ids)
                ],
            )

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


_NO_LIMIT = 2**63 - 1

# Every front page asks for the tags: built and compiled once (see `_rows`).
_IN_USE = Query(_in_use_statement())
