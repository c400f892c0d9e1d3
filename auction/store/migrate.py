"""Explicit, numbered migrations; ``migrate`` brings a store up to the newest.

Each migration runs in its own transaction with its row in ``schema_version``, so a store
is never left half-migrated. Add a migration by appending to ``MIGRATIONS``; never edit one
that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.store import schema
from auction.store.engine import Store

_FIRST_TABLES = [
    "organisations",
    "users",
    "invites",
    "fleet_assets",
    "fleet_outages",
    "auctions",
    "products",
    "allocations",
    "bids",
    "bid_versions",
    "clearings",
    "awards",
    "allocation",
    "virtual_assets",
    "blocks",
    "backing",
    "audit_events",
    "idempotency_keys",
]


def _create(conn: Connection, names: list[str]) -> None:
    schema.metadata.create_all(conn, tables=[schema.metadata.tables[n] for n in names])


def _initial(conn: Connection) -> None:
    _create(conn, _FIRST_TABLES)


def _dispatch(conn: Connection) -> None:
    """Fleet efficiencies, schedules, re-backed stretches.

    Migration 1 builds its tables from today's schema, so a new store already has the
    fleet's new columns: add them only where an older store lacks them.
    """
    have = {c["name"] for c in sa.inspect(conn).get_columns("fleet_assets")}
    for column in ("eta_charge", "eta_discharge"):
        if column not in have:
            conn.execute(
                sa.text(
                    f"ALTER TABLE fleet_assets ADD COLUMN {column} "
                    "DOUBLE PRECISION NOT NULL DEFAULT 0.95"
                )
            )
    _create(conn, ["schedule_versions", "backing_slices"])


def _settlement(conn: Connection) -> None:
    _create(conn, ["settlement_runs", "invoice_lines", "nomination_documents"])


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "organisations, users, fleet, auctions, bids, results, audit, idempotency", _initial),
    (2, "dispatch: fleet efficiencies, schedules, re-backing", _dispatch),
    (3, "settlement: runs, invoice lines, nomination documents", _settlement),
]


def current_version(store: Store) -> int:
    with store.read() as conn:
        if not sa.inspect(conn).has_table("schema_version"):
            return 0
        found = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
        return int(found or 0)


def migrate(store: Store) -> int:
    """Apply every migration the store lacks; returns the store's version afterwards."""
    with store.write() as conn:
        schema.schema_version.create(conn, checkfirst=True)
    for version, name, step in MIGRATIONS:
        with store.write() as conn:
            if store.dialect == "postgresql":
                # Two servers starting at once must not both migrate.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7341)"))
            done = conn.execute(
                sa.select(schema.schema_version.c.version).where(
                    schema.schema_version.c.version == version
                )
            ).first()
            if done:
                continue
            step(conn)
            conn.execute(
                schema.schema_version.insert().values(
                    version=version, name=name, applied_at=datetime.now(UTC)
                )
            )
    return MIGRATIONS[-1][0]
