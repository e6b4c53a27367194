"""Comments tag: comments on articles."""

from __future__ import annotations

from fastapi import Request

from conduit.api.deps import get_session, viewer_of
from conduit.api.idempotency import IdempotentRequests
from conduit.api.profiles import required, to_profile_out
from conduit.domain.types import CommentView, Viewer
from conduit.services.comments import CommentService
from generated import models
from generated.interfaces import CommentsApi, CreateArticleCommentResponseHeaders


def to_comment_out(comment: CommentView) -> models.Comment:
    return models.Comment(
        id=comment.id,
        createdAt=comment.created_at,
        updatedAt=comment.updated_at,
        body=comment.body,
        author=to_profile_out(comment.author),
    )


class Comments(CommentsApi):
    def __init__(
        self, service: CommentService, viewer: Viewer | None, idempotency: IdempotentRequests
    ) -> None:
        self._service = service
        self._viewer = viewer
        self._idempotency = idempotency

    async def get_article_comments(self, *, slug: str) -> models.MultipleCommentsResponse:
        comments = await self._service.list_comments(slug, self._viewer)
        return models.MultipleCommentsResponse(comments=[to_comment_out(c) for c in comments])

    async def create_article_comment(
        self,
        *,
        slug: str,
        idempotency_key: str | None = None,
        body: models.NewCommentRequest,
        response_headers: CreateArticleCommentResponseHeaders,
    ) -> models.SingleCommentResponse:
        async def add() -> models.SingleCommentResponse:
            comment = await self._service.add(slug, required(self._viewer), body=body.comment.body)
            return models.SingleCommentResponse(comment=to_comment_out(comment))

        return await self._idempotency.run(
            "CreateArticleComment",
            idempotency_key,
            body=body,
            response_model=models.SingleCommentResponse,
            headers=response_headers,
            work=add,
            still_exists=lambda replay: self._service.still_exists(slug, replay.comment.id),
        )

    async def delete_article_comment(self, *, slug: str, id: int) -> None:
        await self._service.delete(slug, id, required(self._viewer))


async def provide(request: Request) -> Comments:
    session = await get_session(request)
    return Comments(
        CommentService(session), viewer_of(request), IdempotentRequests(request, session)
    )
