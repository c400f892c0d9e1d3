"""sandbox clock: how far the sandbox's time runs ahead of the real clock

One row per store (``clock_id`` 1), written here with an offset of zero: every process
over the store reads the same offset, and it outlives a restart.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "sandbox_clock",
        sa.Column("clock_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("clock_id = 1", name="ck_sandbox_clock_one_row"),
        sa.PrimaryKeyConstraint("clock_id"),
    )
    op.bulk_insert(table, [{"clock_id": 1, "offset_us": 0}])


def downgrade() -> None:
    op.drop_table("sandbox_clock")
