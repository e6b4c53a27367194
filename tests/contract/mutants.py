"""Deliberately broken servers: tests/contract/test_cli_runner.py proves with them that
``make contract`` fails when the server breaks the contract. Each is an app factory for uvicorn
(``--factory``): the real app from the environment, with one promise broken.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from conduit.main import create_app_from_env
from conduit.repositories.articles import ArticleRepository


async def _respond(send: Send, status: int, body: object | None = None) -> None:
    content = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json")] if body is not None else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _has_token(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope["headers"])


class FeedWithoutToken:
    """GetArticlesFeed answers an anonymous caller (an empty feed) instead of 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        anonymous = scope["type"] == "http" and not _has_token(scope)
        if anonymous and scope["method"] == "GET" and scope["path"] == "/api/articles/feed":
            await _respond(send, 200, {"articles": [], "articlesCount": 0})
            return
        await self.app(scope, receive, send)


def feed_without_token() -> ASGIApp:
    return FeedWithoutToken(create_app_from_env())


async def _keep(repository: ArticleRepository, article_id: int) -> None:
    """Deletes nothing."""


def delete_keeps_article() -> ASGIApp:
    """DeleteArticle says 204, after every real check, but the article can still be read."""
    # This process serves only this app, so breaking the repository for all of it is the point.
    ArticleRepository.delete = _keep  # type: ignore[method-assign, assignment]
    return create_app_from_env()
