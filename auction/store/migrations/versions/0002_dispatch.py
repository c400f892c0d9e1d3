"""dispatch: fleet efficiencies, schedules, re-backing

Numbered migration 2. Stores whose migration 1 ran after the fleet gained its efficiencies
already have them: they are added only where missing, at 0.95 for the assets there are.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EFFICIENCIES = ("eta_charge", "eta_discharge")


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("fleet_assets")}
    with op.batch_alter_table("fleet_assets") as batch:
        for name in EFFICIENCIES:
            if name not in have:
                batch.add_column(
                    sa.Column(name, sa.Double(), server_default="0.95", nullable=False)
                )
    op.create_table(
        "backing_slices",
        sa.Column(
            "slice_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("block_id", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("power_kw", sa.BigInteger(), nullable=False),
        sa.Column("energy_kwh", sa.BigInteger(), nullable=False),
        sa.Column("outage_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("slice_id"),
    )
    op.create_index(
        op.f("ix_backing_slices_block_id"), "backing_slices", ["block_id"], unique=False
    )
    op.create_table(
        "schedule_versions",
        sa.Column("block_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("power_json", sa.Text(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("block_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("schedule_versions")
    op.drop_table("backing_slices")
    with op.batch_alter_table("fleet_assets") as batch:
        for name in reversed(EFFICIENCIES):
            batch.drop_column(name)
