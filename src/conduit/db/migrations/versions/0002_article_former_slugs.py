"""Slugs articles had before their title changed, so links to them keep working.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the id type: migrations must not change when models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "article_former_slugs",
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("slug", name="pk_article_former_slugs"),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            ondelete="CASCADE",
            name="fk_article_former_slugs_article_id_articles",
        ),
    )
    op.create_index("ix_article_former_slugs_article_id", "article_former_slugs", ["article_id"])


def downgrade() -> None:
    op.drop_table("article_former_slugs")
