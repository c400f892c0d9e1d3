"""organisations, users, fleet, auctions, bids, results, audit, idempotency

Numbered migration 1, with the fleet as it was before its efficiencies (0002 adds them
where a store lacks them). Types are spelt out (an instant is ``DateTime(timezone=True)``,
what ``schema.Instant`` stores) so that this revision stays what it was whatever
``schema.py`` becomes.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An increasing integer key; SQLite's INTEGER PRIMARY KEY is the rowid.
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# In the order they are created: every table after those it refers to.
TABLES = [
    "auctions",
    "audit_events",
    "fleet_assets",
    "fleet_outages",
    "idempotency_keys",
    "organisations",
    "allocation",
    "allocations",
    "awards",
    "backing",
    "bid_versions",
    "bids",
    "blocks",
    "clearings",
    "invites",
    "products",
    "users",
    "virtual_assets",
]


def upgrade() -> None:
    op.create_table(
        "auctions",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("delivery_day", sa.Date(), nullable=False),
        sa.Column("gate_open", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gate_close", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("auto_publish", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("auction_id"),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", SERIAL, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_table(
        "fleet_assets",
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("tso_zone", sa.String(length=16), nullable=False),
        sa.Column("p_charge_mw", sa.Double(), nullable=False),
        sa.Column("p_discharge_mw", sa.Double(), nullable=False),
        sa.Column("e_min_mwh", sa.Double(), nullable=False),
        sa.Column("e_max_mwh", sa.Double(), nullable=False),
        sa.Column("fcr", sa.Boolean(), nullable=False),
        sa.Column("afrr_pos", sa.Boolean(), nullable=False),
        sa.Column("afrr_neg", sa.Boolean(), nullable=False),
        sa.Column("owner_org", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("asset_id"),
    )
    op.create_table(
        "fleet_outages",
        sa.Column("outage_id", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_fraction", sa.Double(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("outage_id"),
    )
    op.create_index(op.f("ix_fleet_outages_asset_id"), "fleet_outages", ["asset_id"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_table(
        "organisations",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("eic", sa.String(length=16), nullable=False),
        sa.Column("tso_zone", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "allocation",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("kw", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id", "row_no"),
    )
    op.create_table(
        "allocations",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("quantity_kw", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("auction_id", "org_id", "product_id"),
    )
    op.create_table(
        "awards",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("awarded_kw", sa.BigInteger(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("payment_units", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id", "row_no"),
    )
    op.create_index("ix_awards_org", "awards", ["auction_id", "org_id"], unique=False)
    op.create_table(
        "backing",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("power_kw", sa.BigInteger(), nullable=False),
        sa.Column("energy_kwh", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id", "row_no"),
    )
    op.create_table(
        "bid_versions",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("quantity_kw", sa.BigInteger(), nullable=False),
        sa.Column("min_quantity_kw", sa.BigInteger(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("exclusive_group", sa.String(length=200), nullable=True),
        sa.Column("linked_to", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("auction_id", "bid_id", "version"),
    )
    op.create_table(
        "bids",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("quantity_kw", sa.BigInteger(), nullable=False),
        sa.Column("min_quantity_kw", sa.BigInteger(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("exclusive_group", sa.String(length=200), nullable=True),
        sa.Column("linked_to", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("auction_id", "bid_id"),
    )
    op.create_index("ix_bids_org", "bids", ["auction_id", "org_id"], unique=False)
    op.create_table(
        "blocks",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.String(length=64), nullable=False),
        sa.Column("virtual_asset_id", sa.String(length=64), nullable=False),
        sa.Column("market", sa.String(length=16), nullable=False),
        sa.Column("power_kw", sa.BigInteger(), nullable=False),
        sa.Column("energy_kwh", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id", "row_no"),
        sa.UniqueConstraint("block_id"),
    )
    op.create_index(
        op.f("ix_blocks_virtual_asset_id"), "blocks", ["virtual_asset_id"], unique=False
    )
    op.create_table(
        "clearings",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("result_sha256", sa.String(length=64), nullable=False),
        sa.Column("checker_ok", sa.Boolean(), nullable=False),
        sa.Column("checker_report", sa.Text(), nullable=False),
        sa.Column("fleet_csv", sa.Text(), nullable=False),
        sa.Column("availability_csv", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id"),
    )
    op.create_table(
        "invites",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_table(
        "products",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wholesale_kw", sa.BigInteger(), nullable=False),
        sa.Column("wholesale_h", sa.Double(), nullable=False),
        sa.Column("fcr_kw", sa.BigInteger(), nullable=False),
        sa.Column("afrr_pos_kw", sa.BigInteger(), nullable=False),
        sa.Column("afrr_neg_kw", sa.BigInteger(), nullable=False),
        sa.Column("min_kw", sa.BigInteger(), nullable=False),
        sa.Column("increment_kw", sa.BigInteger(), nullable=False),
        sa.Column("reserve_cents", sa.BigInteger(), nullable=False),
        sa.Column("max_kw", sa.BigInteger(), nullable=True),
        sa.Column("eta_charge", sa.Double(), nullable=False),
        sa.Column("eta_discharge", sa.Double(), nullable=False),
        sa.Column("daily_cycle_limit", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id", "product_id"),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.org_id"]),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "virtual_assets",
        sa.Column("auction_id", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("virtual_asset_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("bid_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["auction_id"], ["auctions.auction_id"]),
        sa.PrimaryKeyConstraint("auction_id", "row_no"),
        sa.UniqueConstraint("virtual_asset_id"),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
