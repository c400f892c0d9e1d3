"""settlement: runs, invoice lines, nomination documents

Numbered migration 3. Every run of a day is a new version; nothing is overwritten.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_lines",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("virtual_asset_id", sa.String(length=64), nullable=True),
        sa.Column("bid_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=True),
        sa.Column("unit", sa.String(length=8), nullable=True),
        sa.Column("unit_price_eur", sa.String(length=32), nullable=True),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "version", "row_no"),
    )
    op.create_index("ix_invoice_lines_org", "invoice_lines", ["org_id", "day"], unique=False)
    op.create_table(
        "nomination_documents",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("mtu_json", sa.Text(), nullable=False),
        sa.Column("csv_text", sa.Text(), nullable=False),
        sa.Column("xml_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day", "version", "org_id"),
    )
    op.create_table(
        "settlement_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("imbalance_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day", "version"),
    )


def downgrade() -> None:
    op.drop_table("settlement_runs")
    op.drop_table("nomination_documents")
    op.drop_table("invoice_lines")
