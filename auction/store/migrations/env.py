"""Alembic's environment for the store: the schema is ``schema.metadata``.

``migrate`` hands in a connection inside its write transaction (``connection`` attribute).
From the ``alembic`` command line (``revision --autogenerate``, ``check``, ``current``) it
opens the store the server would open: ``VBA_DATABASE_URL``, else ``DEFAULT_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context
from alembic.runtime.migration import MigrationContext

from auction.store import schema
from auction.store.engine import DEFAULT_URL, Connection, Store


def _differ(
    ctx: MigrationContext,
    _inspected_column: sa.Column[object],
    _metadata_column: sa.Column[object],
    inspected: sa.types.TypeEngine[object],
    metadata: sa.types.TypeEngine[object],
) -> bool | None:
    """Whether two column types differ; None: as Alembic decides.

    SQLite stores every float as an 8-byte REAL whatever the declared name: the DOUBLE
    PRECISION that numbered migration 2 declared reads back as REAL, and holds what
    schema.py's Double holds.
    """
    if ctx.dialect.name == "sqlite" and isinstance(inspected, sa.Float):
        return not isinstance(metadata, sa.Float)
    return None


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=schema.metadata,
        # SQLite alters most things by copying the table: batch operations do that.
        render_as_batch=True,
        compare_type=_differ,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    # Revision 0002 looks at the store to decide what to add.
    raise RuntimeError("the store's migrations run against a store, not as SQL text (--sql)")
given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    store = Store(os.environ.get("VBA_DATABASE_URL", DEFAULT_URL))
    try:
        with store.write() as conn:
            _run(conn)
    finally:
        store.dispose()
