"""Views returned by services and commands accepted by them.

Frozen, slotted dataclasses: cheap to build on list pages and safe to share.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from conduit.domain.permissions import Role


class Unset(enum.Enum):
    """Marks a field the client did not send (distinct from an explicit null)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller; its role is read from the database on every request."""

    id: int
    username: str
    role: Role = Role.USER


@dataclass(frozen=True, slots=True)
class ProfileView:
    username: str
    bio: str | None
    image: str | None
    following: bool


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    email: str
    username: str
    bio: str | None
    image: str | None
    created_at: datetime
    updated_at: datetime
    role: Role = Role.USER
    # Tokens carry it; a token with an older one is revoked (logout, new password, ban).
    token_version: int = 0

    @property
    def viewer(self) -> Viewer:
        return Viewer(id=self.id, username=self.username, role=self.role)


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as admins see it."""

    username: str
    email: str
    role: Role
    banned_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountPage:
    accounts: list[AccountView]
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountFilter:
    """Admin list filters; None means "any". They combine with AND."""

    role: Role | None = None
    banned: bool | None = None


@dataclass(frozen=True, slots=True)
class ArticleView:
    slug: str
    title: str
    description: str
    body: str | None  # None on list pages: RealWorld 1.1 omits the body there
    tag_list: list[str]
    created_at: datetime
    updated_at: datetime
    favorited: bool
    favorites_count: int
    author: ProfileView
    # Tag of the content version (conduit.domain.versions); single-article reads only.
    version_tag: str | None = None


@dataclass(frozen=True, slots=True)
class ArticlePage:
    articles: list[ArticleView]
    total: int


@dataclass(frozen=True, slots=True)
class CommentView:
    id: int
    body: str
    created_at: datetime
    updated_at: datetime
    author: ProfileView


@dataclass(frozen=True, slots=True, kw_only=True)
class NewArticle:
    title: str
    description: str
    body: str
    tag_list: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleChanges:
    """None means "leave unchanged"; tag_list=[] clears the tags."""

    title: str | None = None
    description: str | None = None
    body: str | None = None
    tag_list: list[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserChanges:
    """UNSET means "leave unchanged"; None on bio/image clears the value."""

    email: str | Unset = UNSET
    username: str | Unset = UNSET
    password: str | Unset = UNSET
    bio: str | Unset | None = UNSET
    image: str | Unset | None = UNSET


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFilter:
    """List filters; they combine with AND. Unknown names simply match nothing."""

    tag: str | None = None
    author: str | None = None
    favorited: str | None = None
