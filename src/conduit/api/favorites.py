"""Favorites tag: favoriting and unfavoriting articles."""

from __future__ import annotations

from fastapi import Request

from conduit.api.articles import to_article_out
from conduit.api.deps import get_session, viewer_of
from conduit.api.profiles import required
from conduit.domain.types import Viewer
from conduit.services.articles import ArticleService
from generated import models
from generated.interfaces import FavoritesApi


class Favorites(FavoritesApi):
    def __init__(self, service: ArticleService, viewer: Viewer | None) -> None:
        self._service = service
        self._viewer = viewer

    async def create_article_favorite(self, *, slug: str) -> models.SingleArticleResponse:
        return to_article_out(await self._service.favorite(slug, required(self._viewer)))

    async def delete_article_favorite(self, *, slug: str) -> models.SingleArticleResponse:
        return to_article_out(await self._service.unfavorite(slug, required(self._viewer)))


async def provide(request: Request) -> Favorites:
    return Favorites(ArticleService(await get_session(request)), viewer_of(request))
