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


def _initial(conn: Connection) -> None:
    tables = [t for t in schema.metadata.sorted_tables if t is not schema.schema_version]
    schema.metadata.create_all(conn, tables=tables)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "organisations, users, fleet, auctions, bids, results, audit, idempotency", _initial),
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
