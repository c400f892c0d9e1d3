"""ancillary bids: a virtual asset's reserve offered to the TSO's markets

One bid per product and virtual asset as it is now, and every version sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ancillary_bids",
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("virtual_asset_id", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("block_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_day", sa.Date(), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gate_closure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("offered_kw", sa.BigInteger(), nullable=False),
        sa.Column("capacity_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("energy_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("accepted_kw", sa.BigInteger(), nullable=True),
        sa.Column("accepted_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bid_id"),
        sa.UniqueConstraint("virtual_asset_id", "product_code", name="uq_ancillary_bid_product"),
    )
    with op.batch_alter_table("ancillary_bids", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ancillary_bids_day_market", ["delivery_day", "market"], unique=False
        )
        batch_op.create_index("ix_ancillary_bids_org_day", ["org_id", "delivery_day"], unique=False)

    op.create_table(
        "ancillary_bid_versions",
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("offered_kw", sa.BigInteger(), nullable=False),
        sa.Column("capacity_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("energy_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["ancillary_bids.bid_id"],
        ),
        sa.PrimaryKeyConstraint("bid_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("ancillary_bid_versions")
    with op.batch_alter_table("ancillary_bids", schema=None) as batch_op:
        batch_op.drop_index("ix_ancillary_bids_org_day")
        batch_op.drop_index("ix_ancillary_bids_day_market")

    op.drop_table("ancillary_bids")
