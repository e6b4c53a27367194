"""ORM models. Every relationship is lazy="raise": repositories load what they need."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from conduit.db.types import BigIntId, UTCDateTime, utc_now

# Deterministic constraint names: migrations can refer to them and repositories
# recognise which unique constraint an IntegrityError came from.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths are enforced by the OpenAPI contract; unbounded columns keep one source of truth.


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, str: String()}


def _fk(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("email"),  # stored lower-cased, so unique case-insensitively
        UniqueConstraint("username"),  # case-sensitive, like RealWorld profile URLs
        CheckConstraint("role IN ('user', 'moderator', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    email: Mapped[str]
    username: Mapped[str]
    password_hash: Mapped[str]
    bio: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    # A conduit.domain.permissions.Role value.
    role: Mapped[str] = mapped_column(default="user", server_default="user")
    # Set while the account is banned: it may read, but not log in or write.
    banned_at: Mapped[datetime | None]
    # Every token carries the version it was issued under; logout, a new password and a ban
    # increment it, which revokes every earlier token at once (no token list to keep).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        # The primary key (follower_id, followee_id) serves "whom do I follow" (feed);
        # this one serves cascades and "who follows X".
        Index("ix_follows_followee_id", "followee_id"),
    )

    follower_id: Mapped[int] = mapped_column(BigIntId, _fk("users.id"), primary_key=True)
    followee_id: Mapped[int] = mapped_column(BigIntId, _fk("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str]


class ArticleCount(Base):
    """Article counts kept by database triggers (migration 0004); never written by the app.

    A count is the sum of its stripes (one per writing database session, so concurrent
    writers do not queue on one row). Scopes: ``all`` (key 0), ``author`` and ``fan`` (a user
    id: articles written, articles favorited), ``tag`` (a tag id).
    """

    __tablename__ = "article_counts"

    scope: Mapped[str] = mapped_column(primary_key=True)
    key: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class ArticleTag(Base):
    __tablename__ = "article_tags"
    __table_args__ = (Index("ix_article_tags_tag_id_article_id", "tag_id", "article_id"),)

    article_id: Mapped[int] = mapped_column(BigIntId, _fk("articles.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(BigIntId, _fk("tags.id"), primary_key=True)
    # The author's tag order is part of the article; keep it explicit.
    position: Mapped[int] = mapped_column(Integer)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("slug"),
        Index("ix_articles_created_at_id", "created_at", "id"),
        Index("ix_articles_author_id_created_at", "author_id", "created_at"),
        Index("ix_articles_favorites_count_id", "favorites_count", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    slug: Mapped[str]
    title: Mapped[str]
    description: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(BigIntId, _fk("users.id"))
    # Maintained on write (+1/-1 only when a favorite row really changes) so list
    # pages and favoritesCount sorting never aggregate.
    favorites_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Revision of the content (title, description, body, tags), +1 on every update; the ETag is
    # derived from it, and If-Match updates compare and increment it in one statement.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    author: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(
        secondary="article_tags",
        order_by="ArticleTag.position",
        viewonly=True,
        lazy="raise",
    )


class FormerSlug(Base):
    """A slug an article had before its title changed; it still leads to the article.

    Never the article's current slug, and never given to another article while this one exists.
    """

    __tablename__ = "article_former_slugs"
    __table_args__ = (Index("ix_article_former_slugs_article_id", "article_id"),)

    slug: Mapped[str] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(BigIntId, _fk("articles.id"))


class Favorite(Base):
    __tablename__ = "favorites"
    # Primary key (user_id, article_id) answers "did I favorite it" and the favorited filter.
    __table_args__ = (Index("ix_favorites_article_id", "article_id"),)

    user_id: Mapped[int] = mapped_column(BigIntId, _fk("users.id"), primary_key=True)
    article_id: Mapped[int] = mapped_column(BigIntId, _fk("articles.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_article_id_created_at", "article_id", "created_at"),
        Index("ix_comments_author_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(BigIntId, _fk("articles.id"))
    author_id: Mapped[int] = mapped_column(BigIntId, _fk("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    author: Mapped[User] = relationship(lazy="raise")
    article: Mapped[Article] = relationship(lazy="raise")


class IdempotencyKey(Base):
    """An Idempotency-Key a user sent: the request it names and, once done, its response.

    Claimed (`in_progress`) in a transaction of its own before the request runs, so a concurrent
    retry sees it; `completed` in the request's own transaction, with the response to replay.
    `token` changes whenever a stalled claim is taken over, so the old holder cannot complete it.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        CheckConstraint("state IN ('in_progress', 'completed')", name="state"),
        # Expired keys are purged oldest first.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, _fk("users.id"))
    key: Mapped[str]
    fingerprint: Mapped[str]  # sha256 of method, path and canonical body
    state: Mapped[str]
    token: Mapped[str]
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]  # first use: the key expires a TTL after it
    locked_at: Mapped[datetime]  # when the current holder claimed it
