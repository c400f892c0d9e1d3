"""calendar: auction templates (versioned), the operator's exceptions, each day's outcome

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_templates",
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body_json", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template_id", "version"),
    )
    op.create_table(
        "calendar_exceptions",
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("delivery_day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("use_template", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template_id", "delivery_day"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("delivery_day", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("auction_id", sa.String(64), nullable=True),
        sa.Column("used_template", sa.String(64), nullable=True),
        sa.Column("used_version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template_id", "delivery_day"),
        sa.UniqueConstraint("auction_id"),
    )


def downgrade() -> None:
    op.drop_table("calendar_days")
    op.drop_table("calendar_exceptions")
    op.drop_table("calendar_templates")
