"""The relational schema: one SQLAlchemy Core table per kind of record.

Quantities are exact integers (kW, kWh, cents; a payment in kW × cents, 1e-5 EUR), so the
store never rounds. Product recipes are kW per MW awarded. Fleet figures are floats: the
archive lets them be any number. Instants are UTC (``Instant``). Ids are random strings.
A change here needs a revision in ``migrations/versions`` (``alembic revision --autogenerate``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()


class Instant(sa.types.TypeDecorator[datetime]):
    """A timezone-aware instant, kept as UTC (naive UTC text in SQLite, timestamptz elsewhere)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must carry a time zone")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(instant, datetime)
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _id(name: str, *args: Any, **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), *args, **kw)


def _serial(name: str) -> sa.Column[int]:
    """An increasing integer key: the order rows were written in."""
    return sa.Column(
        name,
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", Instant(), nullable=False)


organisations = sa.Table(
    "organisations",
    metadata,
    _id("org_id", primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("eic", sa.String(16), nullable=False),
    sa.Column("tso_zone", sa.String(16), nullable=False),
    _created(),
)

users = sa.Table(
    "users",
    metadata,
    _id("user_id", primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    _id("org_id", sa.ForeignKey("organisations.org_id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(200)),
    _created(),
    # Set while an operator has the account switched off: no sign-in, no token works.
    sa.Column("deactivated_at", Instant()),
    # Tokens carry the generation they were issued in; raising it (a password change, a
    # sign-out everywhere, a deactivation) ends every earlier token at once. A counter,
    # not a time: a token issued in the same second as the change is still told apart.
    sa.Column("token_generation", sa.Integer, nullable=False, server_default=sa.text("0")),
)

invites = sa.Table(
    "invites",
    metadata,
    # Only a hash of the token is kept: a copy of the store does not let anyone in.
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    _id("org_id", sa.ForeignKey("organisations.org_id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    _created(),
    sa.Column("expires_at", Instant(), nullable=False),
    sa.Column("accepted_at", Instant()),
    # The invite's public name, for operators to list and revoke it (the hash stays private).
    _id("invite_id", nullable=False),
    sa.Column("revoked_at", Instant()),
    sa.UniqueConstraint("invite_id", name="uq_invites_invite_id"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    # "account" (the email tried) or "address" (the client's); keyed by a hash of the
    # value, so the table holds no email and its keys have one length whatever was sent.
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("key_sha256", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", Instant(), nullable=False),
    sa.Column("blocked_until", Instant()),
)

fleet_assets = sa.Table(
    "fleet_assets",
    metadata,
    _id("asset_id", primary_key=True),
    sa.Column("tso_zone", sa.String(16), nullable=False),
    sa.Column("p_charge_mw", sa.Double, nullable=False),
    sa.Column("p_discharge_mw", sa.Double, nullable=False),
    sa.Column("e_min_mwh", sa.Double, nullable=False),
    sa.Column("e_max_mwh", sa.Double, nullable=False),
    sa.Column("fcr", sa.Boolean, nullable=False),
    sa.Column("afrr_pos", sa.Boolean, nullable=False),
    sa.Column("afrr_neg", sa.Boolean, nullable=False),
    sa.Column("owner_org", sa.String(64)),
    # Added by revision 0002: one-way efficiencies, for disaggregation.
    sa.Column("eta_charge", sa.Double, nullable=False, server_default="0.95"),
    sa.Column("eta_discharge", sa.Double, nullable=False, server_default="0.95"),
)

fleet_outages = sa.Table(
    "fleet_outages",
    metadata,
    _id("outage_id", primary_key=True),
    _id("asset_id", nullable=False, index=True),
    sa.Column("start", Instant(), nullable=False),
    sa.Column("end", Instant(), nullable=False),
    sa.Column("available_fraction", sa.Double, nullable=False),
    _created(),
)

auctions = sa.Table(
    "auctions",
    metadata,
    _id("auction_id", primary_key=True),
    # auction.json as the operator gave it, completed with defaults.
    sa.Column("config_json", sa.Text, nullable=False),
    sa.Column("delivery_day", sa.Date, nullable=False),
    sa.Column("gate_open", Instant()),
    sa.Column("gate_close", Instant(), nullable=False),
    sa.Column("publish_at", Instant(), nullable=False),
    sa.Column("auto_publish", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    _created(),
    sa.Column("updated_at", Instant(), nullable=False),
)

products = sa.Table(
    "products",
    metadata,
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), primary_key=True),
    _id("product_id", primary_key=True),
    sa.Column("start", Instant(), nullable=False),
    sa.Column("end", Instant(), nullable=False),
    sa.Column("wholesale_kw", sa.BigInteger, nullable=False),
    sa.Column("wholesale_h", sa.Double, nullable=False),
    sa.Column("fcr_kw", sa.BigInteger, nullable=False),
    sa.Column("afrr_pos_kw", sa.BigInteger, nullable=False),
    sa.Column("afrr_neg_kw", sa.BigInteger, nullable=False),
    sa.Column("min_kw", sa.BigInteger, nullable=False),
    sa.Column("increment_kw", sa.BigInteger, nullable=False),
    sa.Column("reserve_cents", sa.BigInteger, nullable=False),
    sa.Column("max_kw", sa.BigInteger),
    sa.Column("eta_charge", sa.Double, nullable=False),
    sa.Column("eta_discharge", sa.Double, nullable=False),
    sa.Column("daily_cycle_limit", sa.Double),
)

allocations = sa.Table(
    "allocations",
    metadata,
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), primary_key=True),
    _id("org_id", sa.ForeignKey("organisations.org_id"), primary_key=True),
    _id("product_id", primary_key=True),
    sa.Column("quantity_kw", sa.BigInteger, nullable=False),
)


def _bid_columns() -> list[sa.Column[Any]]:
    return [
        _id("org_id", sa.ForeignKey("organisations.org_id"), nullable=False),
        _id("product_id", nullable=False),
        sa.Column("quantity_kw", sa.BigInteger, nullable=False),
        sa.Column("min_quantity_kw", sa.BigInteger),
        sa.Column("price_cents", sa.BigInteger, nullable=False),
        sa.Column("exclusive_group", sa.String(200)),
        sa.Column("linked_to", sa.String(64)),
    ]


# The current version of every live bid: what a clearing reads.
bids = sa.Table(
    "bids",
    metadata,
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), primary_key=True),
    _id("bid_id", primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("submitted_at", Instant(), nullable=False),
    *_bid_columns(),
    sa.Index("ix_bids_org", "auction_id", "org_id"),
)

# Every version of every bid, withdrawals included, with who and when.
bid_versions = sa.Table(
    "bid_versions",
    metadata,
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), primary_key=True),
    _id("bid_id", primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("at", Instant(), nullable=False),
    _id("user_id", nullable=False),
    *_bid_columns(),
)

clearings = sa.Table(
    "clearings",
    metadata,
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary_json", sa.Text, nullable=False),
    sa.Column("input_sha256", sa.String(64), nullable=False),
    sa.Column("result_sha256", sa.String(64), nullable=False),
    sa.Column("checker_ok", sa.Boolean, nullable=False),
    sa.Column("checker_report", sa.Text, nullable=False),
    # The fleet and its outages as cleared (archive CSV text), so the export reproduces it.
    sa.Column("fleet_csv", sa.Text, nullable=False),
    sa.Column("availability_csv", sa.Text, nullable=False),
    _created(),
)


def _result_table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A result table: rows keep the order the clearing wrote them in (``row_no``)."""
    return sa.Table(
        name,
        metadata,
        _id("auction_id", sa.ForeignKey("auctions.auction_id"), primary_key=True),
        sa.Column("row_no", sa.Integer, primary_key=True),
        *columns,
    )


awards = _result_table(
    "awards",
    _id("bid_id", nullable=False),
    _id("org_id", nullable=False),
    _id("product_id", nullable=False),
    sa.Column("awarded_kw", sa.BigInteger, nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("payment_units", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32)),
)
sa.Index("ix_awards_org", awards.c.auction_id, awards.c.org_id)

allocation = _result_table(
    "allocation",
    _id("product_id", nullable=False),
    sa.Column("market", sa.String(16), nullable=False),
    _id("asset_id", nullable=False),
    sa.Column("kw", sa.BigInteger, nullable=False),
)

virtual_assets = _result_table(
    "virtual_assets",
    _id("virtual_asset_id", nullable=False, unique=True),
    _id("org_id", nullable=False),
    _id("bid_id"),
    _id("product_id", nullable=False),
    sa.Column("start", Instant(), nullable=False),
    sa.Column("end", Instant(), nullable=False),
)

blocks = _result_table(
    "blocks",
    _id("block_id", nullable=False, unique=True),
    _id("virtual_asset_id", nullable=False, index=True),
    sa.Column("market", sa.String(16), nullable=False),
    sa.Column("power_kw", sa.BigInteger, nullable=False),
    sa.Column("energy_kwh", sa.BigInteger, nullable=False),
    sa.Column("start", Instant(), nullable=False),
    sa.Column("end", Instant(), nullable=False),
)

backing = _result_table(
    "backing",
    _id("block_id", nullable=False),
    _id("asset_id", nullable=False),
    sa.Column("power_kw", sa.BigInteger, nullable=False),
    sa.Column("energy_kwh", sa.BigInteger, nullable=False),
)

# Revision 0002: dispatch.

# Every accepted schedule of a wholesale block: the power of every MTU of its window.
schedule_versions = sa.Table(
    "schedule_versions",
    metadata,
    _id("block_id", primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), nullable=False),
    _id("org_id", nullable=False),
    sa.Column("at", Instant(), nullable=False),
    _id("user_id", nullable=False),
    # JSON list of integer kW, one per MTU of the block's window.
    sa.Column("power_json", sa.Text, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
)

# Ancillary bids: a virtual asset's reserve offered to the TSO's markets, one bid per
# product (LAYR's productDateCode) and virtual asset; a new one replaces it until the gate.
# ``ancillary_bids`` holds each bid as it is now (its status moves on as the operator sends
# it and the TSO's results come back); ``ancillary_bid_versions`` keeps every version sent.
ancillary_bids = sa.Table(
    "ancillary_bids",
    metadata,
    _id("bid_id", primary_key=True),
    _id("virtual_asset_id", nullable=False),
    sa.Column("product_code", sa.String(32), nullable=False),
    _id("org_id", nullable=False),
    _id("block_id", nullable=False),
    sa.Column("delivery_day", sa.Date, nullable=False),
    sa.Column("market", sa.String(16), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("start", Instant(), nullable=False),
    sa.Column("end", Instant(), nullable=False),
    sa.Column("gate_closure", Instant(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("offered_kw", sa.BigInteger, nullable=False),
    sa.Column("capacity_price_cents", sa.BigInteger, nullable=True),
    sa.Column("energy_price_cents", sa.BigInteger, nullable=True),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("accepted_kw", sa.BigInteger, nullable=True),
    sa.Column("accepted_price_cents", sa.BigInteger, nullable=True),
    sa.Column("updated_at", Instant(), nullable=False),
    sa.UniqueConstraint("virtual_asset_id", "product_code", name="uq_ancillary_bid_product"),
    sa.Index("ix_ancillary_bids_org_day", "org_id", "delivery_day"),
    sa.Index("ix_ancillary_bids_day_market", "delivery_day", "market"),
)

ancillary_bid_versions = sa.Table(
    "ancillary_bid_versions",
    metadata,
    _id("bid_id", sa.ForeignKey("ancillary_bids.bid_id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("offered_kw", sa.BigInteger, nullable=False),
    sa.Column("capacity_price_cents", sa.BigInteger, nullable=True),
    sa.Column("energy_price_cents", sa.BigInteger, nullable=True),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    _id("user_id", nullable=False),
    sa.Column("at", Instant(), nullable=False),
)

# The whole effective backing of every block an outage re-backed, in stretches of time;
# blocks that never moved keep the clearing's ``backing``. Where a block's rows cover less
# than its power, the rest is unavailable.
backing_slices = sa.Table(
    "backing_slices",
    metadata,
    _serial("slice_id"),
    _id("auction_id", sa.ForeignKey("auctions.auction_id"), nullable=False),
    _id("block_id", nullable=False, index=True),
    _id("asset_id", nullable=False),
    sa.Column("start", Instant(), nullable=False),
    sa.Column("end", Instant(), nullable=False),
    sa.Column("power_kw", sa.BigInteger, nullable=False),
    sa.Column("energy_kwh", sa.BigInteger, nullable=False),
    # The outage whose re-backing wrote the row.
    _id("outage_id", nullable=False),
)

# Revision 0003: settlement. Every run of a day is a new version; nothing is overwritten.

settlement_runs = sa.Table(
    "settlement_runs",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("run_at", Instant(), nullable=False),
    _id("actor", nullable=False),
    sa.Column("imbalance_price_cents", sa.BigInteger, nullable=False),  # EUR/MWh in cents
    # The reconciliation: nominated = scheduled per organisation, setpoints = the total.
    sa.Column("report_json", sa.Text, nullable=False),
)

invoice_lines = sa.Table(
    "invoice_lines",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True),
    _id("auction_id", nullable=False),
    _id("org_id", nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    _id("virtual_asset_id"),
    _id("bid_id"),
    _id("product_id"),
    sa.Column("start", Instant()),
    sa.Column("end", Instant()),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("quantity", sa.String(32)),
    sa.Column("unit", sa.String(8)),
    sa.Column("unit_price_eur", sa.String(32)),
    # 1e-5 EUR (1 kW x 1 cent): the engine's money grid, exact.
    sa.Column("amount_units", sa.BigInteger, nullable=False),
    sa.Index("ix_invoice_lines_org", "org_id", "day"),
)

nomination_documents = sa.Table(
    "nomination_documents",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    _id("org_id", primary_key=True),
    _id("document_id", nullable=False),
    sa.Column("mtu_json", sa.Text, nullable=False),  # kW per MTU, the day's order
    sa.Column("csv_text", sa.Text, nullable=False),
    sa.Column("xml_text", sa.Text, nullable=False),
)

# Revision 0006: the sandbox's clock. One row: how far the sandbox's time runs ahead of the
# clock the server is given (microseconds, so that a move "to" an instant lands on it).

sandbox_clock = sa.Table(
    "sandbox_clock",
    metadata,
    sa.Column("clock_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("offset_us", sa.BigInteger, nullable=False),
    sa.CheckConstraint("clock_id = 1", name="ck_sandbox_clock_one_row"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    # The order events were written in; several may share one instant.
    _serial("seq"),
    _id("event_id", nullable=False, unique=True),
    sa.Column("at", Instant(), nullable=False, index=True),
    # A user id, or "system" for what the engine does by itself (closing a gate).
    _id("actor", nullable=False),
    _id("org_id"),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("detail_json", sa.Text, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    _id("user_id", primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_json", sa.Text, nullable=False),
    _created(),
)

# Revision 0007: the auction calendar. A template is versioned: an edit adds a version and
# the scheduler takes the latest for each day it has not decided yet. A day is decided once
# per template (the primary key): a second worker racing to create it meets this key, or
# the deterministic auction id, and gives up. A refusal may turn into a creation later.

calendar_templates = sa.Table(
    "calendar_templates",
    metadata,
    _id("template_id", primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("body_json", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    _id("created_by", nullable=False),
    _created(),
)

calendar_exceptions = sa.Table(
    "calendar_exceptions",
    metadata,
    _id("template_id", primary_key=True),
    sa.Column("delivery_day", sa.Date, primary_key=True),
    # skip (no auction that day) or adapt (the day takes another template's latest version).
    sa.Column("action", sa.String(16), nullable=False),
    _id("use_template"),
    sa.Column("reason", sa.String(500), nullable=False),
    _id("created_by", nullable=False),
    _created(),
)

calendar_days = sa.Table(
    "calendar_days",
    metadata,
    _id("template_id", primary_key=True),
    sa.Column("delivery_day", sa.Date, primary_key=True),
    # created, refused (the fleet cannot carry it, or the day breaks a rule), skipped or
    # missed (its gate closed before the scheduler created it).
    sa.Column("outcome", sa.String(16), nullable=False),
    _id("auction_id", unique=True),
    _id("used_template"),
    sa.Column("used_version", sa.Integer),
    sa.Column("reason", sa.Text),
    sa.Column("decided_at", Instant(), nullable=False),
)
