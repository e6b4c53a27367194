"""Articles: listing, feed, authoring and favorites.

Slugs come from the title (see `conduit.domain.slugs`); a taken slug gets a
random suffix. Uniqueness is enforced by the database and retried, so two
concurrent creates with the same title both succeed with different slugs.
A new title gives a new slug, and the former slugs keep leading to the article
(links to it never break), so they are never given to another article.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.models import Article
from conduit.db.types import utc_now
from conduit.domain.errors import (
    AlreadyExists,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from conduit.domain.permissions import Permission, can
from conduit.domain.slugs import slugify, with_suffix
from conduit.domain.sorting import DEFAULT_SORT, SortOrder
from conduit.domain.types import (
    ArticleChanges,
    ArticleFilter,
    ArticlePage,
    ArticleView,
    NewArticle,
    Viewer,
)
from conduit.domain.versions import VersionCheck, version_tag
from conduit.repositories.articles import ArticleRepository, SlugTaken
from conduit.repositories.tags import TagRepository

MAX_SLUG_ATTEMPTS = 5
# Timestamps travel with millisecond precision (`...T16:15:04.637Z`).
_WIRE_PRECISION = timedelta(milliseconds=1)

T = TypeVar("T")


def clean_tags(tags: Sequence[str]) -> list[str]:
    """Trim, drop empty and duplicate names, keep the author's order."""
    return list(dict.fromkeys(name.strip() for name in tags if name.strip()))


class ArticleService:
    def __init__(self, session: AsyncSession) -> None:
        self.articles = ArticleRepository(session)
        self.tags = TagRepository(session)

    # -- reading ---------------------------------------------------------------

    async def list_articles(
        self,
        *,
        viewer: Viewer | None,
        filters: ArticleFilter | None = None,
        sort: Sequence[SortOrder] = DEFAULT_SORT,
        limit: int = 20,
        offset: int = 0,
    ) -> ArticlePage:
        """Articles matching all given filters; bodies are omitted (None)."""
        return await self._page(filters or ArticleFilter(), viewer, None, sort, limit, offset)

    async def feed(
        self,
        *,
        viewer: Viewer,
        sort: Sequence[SortOrder] = DEFAULT_SORT,
        limit: int = 20,
        offset: int = 0,
    ) -> ArticlePage:
        """Articles by authors the viewer follows, newest first by default."""
        return await self._page(ArticleFilter(), viewer, viewer.id, sort, limit, offset)

    async def get(self, slug: str, viewer: Viewer | None) -> ArticleView:
        """One article with body; NotFound for an unknown slug."""
        view = await self.articles.get_view(slug, _id(viewer))
        if view is None:
            raise NotFound(field="article")
        return view

    async def still_exists(self, slug: str, created_at: datetime) -> bool:
        """Whether the article created at `created_at` with `slug` still exists.

        A slug alone is not an identity: a deleted article's slug may be taken by a new one.
        The creation time, to the millisecond the wire shows, tells them apart.
        """
        article = await self.articles.get_by_slug(slug)
        return article is not None and abs(article.created_at - created_at) < _WIRE_PRECISION

    # -- writing ---------------------------------------------------------------

    async def create(self, viewer: Viewer, article: NewArticle) -> ArticleView:
        """Publish an article authored by the viewer."""

        async def insert(slug: str) -> tuple[int, ArticleView]:
            return await self.articles.add(
                slug=slug,
                title=article.title,
                description=article.description,
                body=article.body,
                author_id=viewer.id,
            )

        _, (article_id, view) = await _with_unique_slug(slugify(article.title), insert)
        tags = await self._set_tags(article_id, article.tag_list, new=True)
        # Everything a new article shows is known once its row and its tags are written.
        return replace(view, tag_list=tags)

    async def update(
        self,
        slug: str,
        viewer: Viewer,
        changes: ArticleChanges,
        *,
        precondition: VersionCheck | None = None,
    ) -> ArticleView:
        """Edit an article (author only); a new title gives a new slug, the old one still works.

        With a precondition, only the versions it admits are edited (PreconditionFailed if the
        article has moved on), checked after existence and ownership like HTTP does.
        """
        article = await self._owned(slug, viewer)
        await self._next_version(article, precondition)
        old_title = article.title
        if changes.title is not None:
            article.title = changes.title
        if changes.description is not None:
            article.description = changes.description
        if changes.body is not None:
            article.body = changes.body
        article.updated_at = utc_now()
        if slugify(article.title) != slugify(old_title):
            await self._rename(article)
        if changes.tag_list is not None:
            await self._set_tags(article.id, changes.tag_list)
        return await self.get(article.slug, viewer)

    async def delete(self, slug: str, viewer: Viewer) -> None:
        """Delete an article (its author or a moderator) with its comments, favorites and tags."""
        article = await self._load(slug)
        if article.author_id != viewer.id and not can(viewer.role, Permission.DELETE_ANY_ARTICLE):
            raise Forbidden(
                "only the author or a moderator may delete this article", field="article"
            )
        await self.articles.delete(article.id)

    async def favorite(self, slug: str, viewer: Viewer) -> ArticleView:
        """Favorite an article; idempotent."""
        await self.articles.add_favorite(viewer.id, slug)
        return await self.get(slug, viewer)  # NotFound for an unknown slug

    async def unfavorite(self, slug: str, viewer: Viewer) -> ArticleView:
        """Remove a favorite; idempotent."""
        await self.articles.remove_favorite(viewer.id, slug)
        return await self.get(slug, viewer)  # NotFound for an unknown slug

    # -- helpers ---------------------------------------------------------------

    async def _page(
        self,
        filters: ArticleFilter,
        viewer: Viewer | None,
        feed_of: int | None,
        sort: Sequence[SortOrder],
        limit: int,
        offset: int,
    ) -> ArticlePage:
        if limit < 0:
            raise ValidationFailed("must not be negative", field="limit")
        if offset < 0:
            raise ValidationFailed("must not be negative", field="offset")
        return await self.articles.list_page(
            filters=filters,
            viewer_id=_id(viewer),
            feed_of=feed_of,
            sort=sort,
            limit=limit,
            offset=offset,
        )

    async def _load(self, slug: str) -> Article:
        article = await self.articles.get_by_slug(slug)
        if article is None:
            raise NotFound(field="article")
        return article

    async def _owned(self, slug: str, viewer: Viewer) -> Article:
        article = await self._load(slug)
        if article.author_id != viewer.id:
            raise Forbidden("only the author may change this article", field="article")
        return article

    async def _next_version(self, article: Article, precondition: VersionCheck | None) -> None:
        expected = None
        if precondition is not None and not precondition.any_version:
            if not precondition.admits(version_tag(article.id, article.version)):
                raise PreconditionFailed()
            expected = article.version
        # Compared and incremented in one statement: of two updates from the same version,
        # the second finds it gone (PostgreSQL re-checks the row once the first commits).
        if not await self.articles.next_version(article.id, expected=expected):
            raise PreconditionFailed()

    async def _rename(self, article: Article) -> None:
        async def rename(slug: str) -> None:
            await self.articles.rename(article, slug)

        await _with_unique_slug(slugify(article.title), rename)

    async def _set_tags(
        self, article_id: int, tags: Sequence[str], *, new: bool = False
    ) -> list[str]:
        """Link the article to `tags`, cleaned (``clean_tags``); the names it now has, in order."""
        names = clean_tags(tags)
        tag_ids = await self.tags.ensure(names)
        await self.tags.set_for_article(article_id, tag_ids, new=new)
        return names


async def _with_unique_slug(base: str, write: Callable[[str], Awaitable[T]]) -> tuple[str, T]:
    """Try `base`, then suffixed variants, until the database accepts one."""
    candidate = base
    for _ in range(MAX_SLUG_ATTEMPTS):
        try:
            return candidate, await write(candidate)
        except SlugTaken:
            candidate = with_suffix(base)
    raise AlreadyExists("no free slug for this title; try another title", field="title")


def _id(viewer: Viewer | None) -> int | None:
    return None if viewer is None else viewer.id
