"""Tags in use."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.repositories.tags import TagRepository


class TagService:
    def __init__(self, session: AsyncSession) -> None:
        self.tags = TagRepository(session)

    async def list_tags(self, *, limit: int | None = None) -> list[str]:
        """Tags linked to at least one article, most used first, ties by name.

        Popularity order suits the "Popular Tags" sidebar RealWorld clients show;
        tags whose articles were all deleted disappear.
        """
        return await self.tags.list_in_use(limit)
