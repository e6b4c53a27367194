"""The people the access-control attacks are played by, on an app of their own.

``Cast`` holds an author (with an article and a comment on it), another user, a moderator and an
admin, each as a client knows them (an ``Account`` with a token), plus helpers to act as them.
Roles are set in the database directly: that is what `conduit create-admin` does, and no API
operation can make the first admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy import update

from conduit.db.models import User
from conduit.domain.permissions import Role
from conduit.domain.types import UserView
from tests.factories import Factory
from tests.integration.api import Account, Json
from tests.security.conftest import Served


@dataclass(frozen=True, slots=True)
class Cast:
    served: Served
    author: Account
    other: Account
    moderator: Account
    admin: Account
    slug: str  # the author's article
    comment_id: int  # the author's comment on it
    other_slug: str  # an article of the other user

    @property
    def client(self) -> httpx.AsyncClient:
        return self.served.client

    async def call(
        self,
        actor: Account | None,
        method: str,
        path: str,
        body: Json | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``path`` may name ``{slug}``, ``{comment_id}``, ``{other_slug}`` and the actors."""
        url = path.format(
            slug=self.slug,
            comment_id=self.comment_id,
            other_slug=self.other_slug,
            author=self.author.username,
            other=self.other.username,
            moderator=self.moderator.username,
            admin=self.admin.username,
        )
        sent = {**(actor.headers if actor else {}), **(headers or {})}
        return await self.client.request(method, url, json=body, headers=sent)


async def set_role(factory: Factory, username: str, role: Role) -> None:
    await factory.session.execute(
        update(User).where(User.username == username).values(role=role.value)
    )
    await factory.session.flush()


async def build_cast(served: Served, factory: Factory) -> Cast:
    accounts: dict[str, Account] = {}
    views: dict[str, UserView] = {}
    for name in ("author", "other", "moderator", "admin"):
        views[name] = await factory.user(name, email=f"{name}@example.com")
        accounts[name] = served.account(views[name].id, name, views[name].email)
    await set_role(factory, "moderator", Role.MODERATOR)
    await set_role(factory, "admin", Role.ADMIN)
    article = await factory.article(views["author"].viewer, title="The author's article")
    comment = await factory.comment(views["author"].viewer, article.slug, body="A comment")
    other_article = await factory.article(views["other"].viewer, title="The other article")
    return Cast(
        served,
        accounts["author"],
        accounts["other"],
        accounts["moderator"],
        accounts["admin"],
        article.slug,
        comment.id,
        other_article.slug,
    )
