"""Migrations on SQLite and PostgreSQL: fresh stores, stores of the numbered migrations that
came before Alembic (upgraded in place, every row kept), and the revisions agreeing with
``schema.py``."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from auction.store import Store, migrate, schema
from auction.store.audit import events, record
from auction.store.engine import Connection
from auction.store.fleet import fleet_frame
from auction.store.migrate import config, current_version
from tests.api.conftest import EICS

OLD = Path(__file__).with_name("old_stores")
HEAD = ScriptDirectory.from_config(config()).get_current_head()
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)

# Stores as the numbered migrations left them: the steps of old_stores/*.sql that ran.
HISTORIES = {
    "1": ["schema_version", "1"],
    "1, fleet with efficiencies": ["schema_version", "1+eta"],
    "1 then 2": ["schema_version", "1", "2-alter", "2"],
    "2": ["schema_version", "1+eta", "2"],
    "1 then 2 and 3": ["schema_version", "1", "2-alter", "2", "3"],
    "3": ["schema_version", "1+eta", "2", "3"],
}


def _steps(dialect: str) -> dict[str, list[str]]:
    """The statements of every step in ``old_stores/<dialect>.sql``."""
    steps = {}
    for part in (OLD / f"{dialect}.sql").read_text().split("-- step: ")[1:]:
        name, _, body = part.partition("\n")
        steps[name] = [s.strip() for s in body.split(";\n") if s.strip()]
    return steps


@pytest.fixture
def bare(store_url: str) -> Iterator[Store]:
    """A store nothing has migrated yet."""
    store = Store(store_url)
    yield store
    store.dispose()


def _seed(conn: Connection, steps: list[str]) -> None:
    """Rows in tables of every step the store went through, in the columns it had then."""
    conn.execute(
        schema.organisations.insert(),
        [{"org_id": "o1", "name": "Alpha", "eic": EICS[0], "tso_zone": EICS[0], "created_at": NOW}],
    )
    conn.execute(
        schema.users.insert(),
        [
            {
                "user_id": "u1",
                "email": "a@example.com",
                "org_id": "o1",
                "role": "bidder",
                "password_hash": None,
                "created_at": NOW,
            }
        ],
    )
    # In the columns invites had before revision 0005 gave each an invite_id.
    old_invites = sa.table(
        "invites",
        *(sa.column(n) for n in ("token_sha256", "email", "org_id", "role")),
        *(sa.column(n, schema.Instant()) for n in ("created_at", "expires_at")),
    )
    invite = {"email": "b@example.com", "org_id": "o1", "role": "bidder"}
    conn.execute(
        old_invites.insert(),
        [{"token_sha256": c * 64, **invite, "created_at": NOW, "expires_at": NOW} for c in "ab"],
    )
    conn.execute(
        schema.fleet_assets.insert(),
        [
            {
                "asset_id": asset_id,
                "tso_zone": EICS[0],
                "p_charge_mw": 1.5,
                "p_discharge_mw": 2.0,
                "e_min_mwh": 0.0,
                "e_max_mwh": 3.25,
                "fcr": True,
                "afrr_pos": False,
                "afrr_neg": False,
                "owner_org": None,
            }
            for asset_id in ("b1", "b2")
        ],
    )
    conn.execute(
        schema.auctions.insert(),
        [
            {
                "auction_id": "a1",
                "config_json": "{}",
                "delivery_day": date(2026, 11, 29),
                "gate_open": None,
                "gate_close": NOW,
                "publish_at": NOW,
                "auto_publish": True,
                "status": "open",
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    for subject in ("first", "second"):  # one instant: only their seq orders them
        record(conn, "u1", "test", subject, NOW, org_id="o1", n=1)
    if "2" in steps:
        conn.execute(
            schema.schedule_versions.insert(),
            [
                {
                    "block_id": "k1",
                    "version": 1,
                    "auction_id": "a1",
                    "org_id": "o1",
                    "at": NOW,
                    "user_id": "u1",
                    "power_json": "[1, 2]",
                    "points": 2,
                }
            ],
        )
    if "3" in steps:
        conn.execute(
            schema.settlement_runs.insert(),
            [
                {
                    "day": date(2026, 11, 29),
                    "version": 1,
                    "run_at": NOW,
                    "actor": "u1",
                    "imbalance_price_cents": 12_345,
                    "report_json": "{}",
                }
            ],
        )


def _contents(conn: Connection, columns: dict[str, list[str]]) -> dict[str, list[Any]]:
    """Every row of every table, in the given columns, in a fixed order."""
    out = {}
    for table, names in columns.items():
        query = sa.select(*(sa.column(n) for n in names)).select_from(sa.table(table))
        out[table] = sorted((tuple(row) for row in conn.execute(query)), key=repr)
    return out


def _agrees(store: Store) -> None:
    """``alembic check``: autogenerate finds nothing between the store and ``schema.py``."""
    with store.write() as conn:
        command.check(config(conn))


def test_a_fresh_store_gets_every_revision_once_and_agrees_with_the_schema(store: Store) -> None:
    assert current_version(store) == HEAD
    assert migrate(store) == HEAD
    _agrees(store)
    with store.read() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert names == set(schema.metadata.tables) | {"alembic_version"}


@pytest.mark.parametrize("history", HISTORIES)
def test_a_numbered_store_upgrades_in_place(bare: Store, history: str) -> None:
    steps = _steps(bare.dialect)
    with bare.write() as conn:
        for step in HISTORIES[history]:
            for statement in steps[step]:
                conn.exec_driver_sql(statement)
        _seed(conn, HISTORIES[history])
    with bare.read() as conn:
        inspector = sa.inspect(conn)
        columns = {
            table: [c["name"] for c in inspector.get_columns(table)]
            for table in inspector.get_table_names()
            if table != "schema_version"
        }
        before = _contents(conn, columns)
    assert current_version(bare) is None

    assert migrate(bare) == HEAD

    with bare.read() as conn:
        assert "schema_version" not in sa.inspect(conn).get_table_names()
        assert _contents(conn, columns) == before
        fleet = fleet_frame(conn)
    assert fleet.select("eta_charge", "eta_discharge").rows() == [(0.95, 0.95)] * 2
    with bare.read() as conn:  # every stored invite got an id of its own (revision 0005)
        ids = conn.execute(sa.select(schema.invites.c.invite_id)).scalars().all()
    assert len(set(ids)) == 2
    assert None not in ids
    _agrees(bare)
    with bare.write() as conn:  # the serial keys go on after the rows the store had
        record(conn, "u1", "test", "third", NOW)
    with bare.read() as conn:
        assert [e["subject"] for e in events(conn)] == ["first", "second", "third"]


def test_a_store_at_an_unknown_number_is_left_alone(bare: Store) -> None:
    with bare.write() as conn:
        for statement in _steps(bare.dialect)["schema_version"]:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO schema_version VALUES (4, 'from elsewhere', '2026-11-28 06:00:00')"
        )
    with pytest.raises(RuntimeError, match="schema version 4"):
        migrate(bare)
    with bare.read() as conn:
        assert sa.inspect(conn).get_table_names() == ["schema_version"]


def test_a_store_newer_than_this_code_is_left_alone(store: Store) -> None:
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from-the-future'")
    with pytest.raises(CommandError, match="from-the-future"):
        migrate(store)
    assert current_version(store) == "from-the-future"


def test_every_revision_downgrades_and_upgrades_again(store: Store) -> None:
    with store.write() as conn:
        command.downgrade(config(conn), "base")
    with store.read() as conn:
        assert sa.inspect(conn).get_table_names() == ["alembic_version"]
    assert current_version(store) is None
    assert migrate(store) == HEAD
    _agrees(store)


def test_two_servers_starting_at_once_both_end_at_the_newest(bare: Store) -> None:
    other = Store(bare.url)
    try:
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(migrate, [bare, other])) == [HEAD, HEAD]
    finally:
        other.dispose()
    _agrees(bare)
