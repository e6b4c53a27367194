"""Articles tag: the global list, the feed, and article CRUD."""

from __future__ import annotations

from fastapi import Request

from conduit.api.conditional import entity_tag
from conduit.api.conditional import if_match as parse_if_match
from conduit.api.deps import get_session, viewer_of
from conduit.api.idempotency import IdempotentRequests
from conduit.api.profiles import required, to_profile_out
from conduit.domain.sorting import ArticleSort
from conduit.domain.types import (
    ArticleChanges,
    ArticleFilter,
    ArticlePage,
    ArticleView,
    NewArticle,
    Viewer,
)
from conduit.services.articles import ArticleService
from generated import models
from generated.interfaces import (
    ArticlesApi,
    CreateArticleResponseHeaders,
    GetArticleResponseHeaders,
    UpdateArticleResponseHeaders,
)


def to_article_out(article: ArticleView) -> models.SingleArticleResponse:
    return models.SingleArticleResponse(
        article=models.Article(
            slug=article.slug,
            title=article.title,
            description=article.description,
            body=article.body or "",
            tagList=article.tag_list,
            createdAt=article.created_at,
            updatedAt=article.updated_at,
            favorited=article.favorited,
            favoritesCount=article.favorites_count,
            author=to_profile_out(article.author),
        )
    )


def to_article_list_out(page: ArticlePage) -> models.MultipleArticlesResponse:
    # Validated as one document rather than 41 models built one by one: the same checks, in one
    # call into pydantic-core instead of one per article and author (a third of the time).
    return models.MultipleArticlesResponse.model_validate(
        {
            "articles": [
                {
                    "slug": article.slug,
                    "title": article.title,
                    "description": article.description,
                    "tagList": article.tag_list,
                    "createdAt": article.created_at,
                    "updatedAt": article.updated_at,
                    "favorited": article.favorited,
                    "favoritesCount": article.favorites_count,
                    "author": {
                        "username": article.author.username,
                        "bio": article.author.bio,
                        "image": article.author.image,
                        "following": article.author.following,
                    },
                }
                for article in page.articles
            ],
            "articlesCount": page.total,
        }
    )


def to_changes(update: models.UpdateArticle) -> ArticleChanges:
    return ArticleChanges(
        title=update.title,
        description=update.description,
        body=update.body,
        tag_list=update.tagList,
    )


class Articles(ArticlesApi):
    def __init__(
        self, service: ArticleService, viewer: Viewer | None, idempotency: IdempotentRequests
    ) -> None:
        self._service = service
        self._viewer = viewer
        self._idempotency = idempotency

    async def get_articles_feed(
        self,
        *,
        sort: models.ArticleSort = models.ArticleSort.CREATED_AT_DESC,
        limit: int = 20,
        offset: int = 0,
    ) -> models.MultipleArticlesResponse:
        page = await self._service.feed(
            viewer=required(self._viewer),
            sort=(ArticleSort(sort.value).order,),
            limit=limit,
            offset=offset,
        )
        return to_article_list_out(page)

    async def get_articles(
        self,
        *,
        tag: str | None = None,
        author: str | None = None,
        favorited: str | None = None,
        sort: models.ArticleSort = models.ArticleSort.CREATED_AT_DESC,
        limit: int = 20,
        offset: int = 0,
    ) -> models.MultipleArticlesResponse:
        page = await self._service.list_articles(
            viewer=self._viewer,
            filters=ArticleFilter(tag=tag, author=author, favorited=favorited),
            sort=(ArticleSort(sort.value).order,),
            limit=limit,
            offset=offset,
        )
        return to_article_list_out(page)

    async def create_article(
        self,
        *,
        idempotency_key: str | None = None,
        body: models.NewArticleRequest,
        response_headers: CreateArticleResponseHeaders,
    ) -> models.SingleArticleResponse:
        new = body.article
        command = NewArticle(
            title=new.title, description=new.description, body=new.body, tag_list=new.tagList or []
        )

        async def create() -> models.SingleArticleResponse:
            return to_article_out(await self._service.create(required(self._viewer), command))

        return await self._idempotency.run(
            "CreateArticle",
            idempotency_key,
            body=body,
            response_model=models.SingleArticleResponse,
            headers=response_headers,
            work=create,
            still_exists=lambda replay: self._service.still_exists(
                replay.article.slug, replay.article.createdAt
            ),
        )

    async def get_article(
        self, *, slug: str, response_headers: GetArticleResponseHeaders
    ) -> models.SingleArticleResponse:
        article = await self._service.get(slug, self._viewer)
        response_headers.etag = entity_tag(article)
        return to_article_out(article)

    async def update_article(
        self,
        *,
        slug: str,
        if_match: str | None = None,
        body: models.UpdateArticleRequest,
        response_headers: UpdateArticleResponseHeaders,
    ) -> models.SingleArticleResponse:
        article = await self._service.update(
            slug,
            required(self._viewer),
            to_changes(body.article),
            precondition=parse_if_match(if_match),
        )
        response_headers.etag = entity_tag(article)
        return to_article_out(article)

    async def delete_article(self, *, slug: str) -> None:
        await self._service.delete(slug, required(self._viewer))


async def provide(request: Request) -> Articles:
    session = await get_session(request)
    return Articles(
        ArticleService(session), viewer_of(request), IdempotentRequests(request, session)
    )
