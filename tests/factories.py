"""Test data builders that go through the real services.

Defaults are unique per call; tests pass only what they assert on.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.passwords import PasswordHasher
from conduit.domain.types import (
    ArticleView,
    CommentView,
    NewArticle,
    UserChanges,
    UserView,
    Viewer,
)
from conduit.services.articles import ArticleService
from conduit.services.comments import CommentService
from conduit.services.profiles import ProfileService
from conduit.services.users import UserService

DEFAULT_PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)


class Factory:
    def __init__(self, session: AsyncSession, hasher: PasswordHasher) -> None:
        self.session = session
        self.users = UserService(session, hasher)
        self.articles = ArticleService(session)
        self.comments = CommentService(session)
        self.profiles = ProfileService(session)

    async def user(
        self,
        username: str | None = None,
        *,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        bio: str | None = None,
        image: str | None = None,
    ) -> UserView:
        n = next(_sequence)
        username = username or f"user{n}"
        user = await self.users.register(
            username=username, email=email or f"{username}-{n}@example.com", password=password
        )
        if bio is not None or image is not None:
            user = await self.users.update(user.viewer, UserChanges(bio=bio, image=image))
        return user

    async def viewer(self, username: str | None = None) -> Viewer:
        return (await self.user(username)).viewer

    async def article(
        self,
        author: Viewer | None = None,
        *,
        title: str | None = None,
        description: str = "A description",
        body: str = "Some body text",
        tags: Sequence[str] = (),
    ) -> ArticleView:
        author = author or await self.viewer()
        return await self.articles.create(
            author,
            NewArticle(
                title=title or f"Article {next(_sequence)}",
                description=description,
                body=body,
                tag_list=list(tags),
            ),
        )

    async def comment(self, author: Viewer, slug: str, body: str = "Nice article") -> CommentView:
        return await self.comments.add(slug, author, body=body)

    async def follow(self, follower: Viewer, followee: Viewer) -> None:
        await self.profiles.follow(followee.username, follower)

    async def favorite(self, viewer: Viewer, slug: str) -> ArticleView:
        return await self.articles.favorite(slug, viewer)
