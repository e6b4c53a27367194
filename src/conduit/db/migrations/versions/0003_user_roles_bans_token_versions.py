"""Roles, bans and token versions on users.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: migrations must not change when models do.
TIMESTAMP = sa.DateTime(timezone=True)
ROLES = "role IN ('user', 'moderator', 'admin')"


def upgrade() -> None:
    # Existing accounts become plain users with token version 0.
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot add a constraint to a table, only a column that carries one. (Alembic's
        # batch mode would rebuild the table instead, and dropping the old copy of `users`
        # cascades to every article, comment and follow while foreign keys are enforced.)
        op.execute(
            "ALTER TABLE users ADD COLUMN role VARCHAR DEFAULT 'user' NOT NULL "
            f"CONSTRAINT ck_users_role CHECK ({ROLES})"
        )
    else:
        op.add_column(
            "users",
            sa.Column("role", sa.String(), nullable=False, server_default=sa.text("'user'")),
        )
        op.create_check_constraint("ck_users_role", "users", ROLES)
    op.add_column("users", sa.Column("banned_at", TIMESTAMP, nullable=True))
    op.add_column(
        "users",
        sa.Column("token_version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("users", "token_version")
    op.drop_column("users", "banned_at")
    if op.get_bind().dialect.name != "sqlite":
        # SQLite drops a column's own CHECK constraint with the column.
        op.drop_constraint("ck_users_role", "users", type_="check")
    op.drop_column("users", "role")
