"""Initial schema: users, follows, articles, tags, favorites, comments.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: migrations must not change when models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "follows",
        sa.Column("follower_id", ID, nullable=False),
        sa.Column("followee_id", ID, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("follower_id", "followee_id", name="pk_follows"),
        sa.ForeignKeyConstraint(
            ["follower_id"], ["users.id"], ondelete="CASCADE", name="fk_follows_follower_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["followee_id"], ["users.id"], ondelete="CASCADE", name="fk_follows_followee_id_users"
        ),
        sa.CheckConstraint("follower_id <> followee_id", name=op.f("ck_follows_not_self")),
    )
    op.create_index("ix_follows_followee_id", "follows", ["followee_id"])
    op.create_table(
        "tags",
        _id(),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("name", name="uq_tags_name"),
    )
    op.create_table(
        "articles",
        _id(),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("favorites_count", sa.Integer(), server_default="0", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], ondelete="CASCADE", name="fk_articles_author_id_users"
        ),
        sa.UniqueConstraint("slug", name="uq_articles_slug"),
    )
    op.create_index("ix_articles_created_at_id", "articles", ["created_at", "id"])
    op.create_index("ix_articles_author_id_created_at", "articles", ["author_id", "created_at"])
    op.create_index("ix_articles_favorites_count_id", "articles", ["favorites_count", "id"])
    op.create_table(
        "article_tags",
        sa.Column("article_id", ID, nullable=False),
        sa.Column("tag_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "tag_id", name="pk_article_tags"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            ondelete="CASCADE",
            name="fk_article_tags_article_id_articles",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], ondelete="CASCADE", name="fk_article_tags_tag_id_tags"
        ),
    )
    op.create_index("ix_article_tags_tag_id_article_id", "article_tags", ["tag_id", "article_id"])
    op.create_table(
        "favorites",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "article_id", name="pk_favorites"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_favorites_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            ondelete="CASCADE",
            name="fk_favorites_article_id_articles",
        ),
    )
    op.create_index("ix_favorites_article_id", "favorites", ["article_id"])
    op.create_table(
        "comments",
        _id(),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            ondelete="CASCADE",
            name="fk_comments_article_id_articles",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], ondelete="CASCADE", name="fk_comments_author_id_users"
        ),
    )
    op.create_index("ix_comments_article_id_created_at", "comments", ["article_id", "created_at"])
    op.create_index("ix_comments_author_id", "comments", ["author_id"])


def downgrade() -> None:
    for table in ("comments", "favorites", "article_tags", "articles", "tags", "follows", "users"):
        op.drop_table(table)
