"""The store on SQLite and PostgreSQL: exact round trips, export, the scheduler."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from api import services
from api.http.app import tick
from auction.archive import read_archive
from auction.bidding import BidIn
from auction.errors import Conflict
from auction.lifecycle import Status
from auction.sample import sample_dir
from auction.store import Store
from auction.store.auctions import get_auction
from auction.store.audit import events
from auction.store.book import load_archive
from auction.store.schema import users
from auction.units import from_units
from clearing import clear, write_results
from tests.api.conftest import EICS, Account, Clock, create_sample_auction, provision

IDS = uuid.UUID("8d0c7b4e-3a7f-4f0e-9d0a-2b6c5f1e9a33")


@given(st.integers(-(10**12), 10**12), st.sampled_from([100, 1000, 100_000]))
def test_units_become_the_float_nearest_the_exact_decimal(units: int, per_unit: int) -> None:
    value = from_units(pl.Series([units, None], dtype=pl.Int64), per_unit)
    assert value[0] == float(Decimal(units) / per_unit)
    assert value[1] is None


def _sample_bids(
    client: TestClient, accounts: dict[str, Account], rows: list[dict[str, object]]
) -> None:
    """Every sample bid, one batch per organisation, links kept (ids are uuid5 of the sample's)."""

    def uid(bid_id: object) -> str | None:
        return None if bid_id is None else str(uuid.uuid5(IDS, str(bid_id)))

    for name, account in accounts.items():
        mine = [r for r in rows if r["org_id"] == name]
        body = {
            "bids": [
                {
                    "bid_id": uid(r["bid_id"]),
                    "product_id": r["product_id"],
                    "quantity_mw": r["quantity_mw"],
                    "min_quantity_mw": r["min_quantity_mw"],
                    "price_eur_per_mw": r["price_eur_per_mw"],
                    "exclusive_group": r["exclusive_group"],
                    "linked_to": uid(r["linked_to"]),
                }
                for r in mine
            ]
        }
        answer = client.post(
            f"/organisations/{account.org_id}/auctions/sample/bids",
            headers=account.headers,
            json=body,
        )
        assert answer.status_code == 201, answer.text


def _market(store: Store, client: TestClient) -> tuple[Account, dict[str, Account], pl.DataFrame]:
    operator = provision(store, client, "Operator", "operator")
    archive = create_sample_auction(client, operator)
    names = sorted(set(archive.bids["org_id"]))
    accounts = {
        name: provision(store, client, name, "bidder", EICS[i % len(EICS)])
        for i, name in enumerate(names)
    }
    _sample_bids(client, accounts, archive.bids.to_dicts())
    return operator, accounts, archive.bids


def test_the_stored_book_is_the_book_that_was_sent(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    _, accounts, sent = _market(store, client)
    with store.read() as conn:
        _, archive = load_archive(conn, "sample")
    by_org = {a.org_id: name for name, a in accounts.items()}
    stored = archive.bids.with_columns(pl.col("org_id").replace_strict(by_org))
    columns = [
        "org_id",
        "product_id",
        "quantity_mw",
        "price_eur_per_mw",
        "min_quantity_mw",
        "exclusive_group",
    ]
    assert_frame_equal(
        stored.select(columns).sort(columns, nulls_last=True),
        sent.select(columns).sort(columns, nulls_last=True),
    )
    products = read_archive(sample_dir()).products.sort("product_id")
    assert_frame_equal(archive.products, products)


def test_export_reproduces_the_stored_result(
    store: Store, make_client: Callable[[], TestClient], clock: Clock, tmp_path: Path
) -> None:
    client = make_client()
    operator, _, _ = _market(store, client)
    clock.advance(days=2)
    answer = client.post("/auctions/sample/clear", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    stored_sha = answer.json()["result_sha256"]

    clearing = services.auctions.export_auction(store, "sample", tmp_path / "export")
    assert clearing is not None
    archive = read_archive(tmp_path / "export")
    again = write_results(clear(archive), tmp_path / "again")
    assert again["result_sha256"] == stored_sha
    assert again["input_sha256"] == answer.json()["input_sha256"]
    for name in ("awards.csv", "allocation.csv", "virtual_assets.csv", "blocks.csv", "backing.csv"):
        recorded = (tmp_path / "export" / "recorded" / name).read_bytes()
        assert recorded == (tmp_path / "again" / name).read_bytes()


def test_the_cli_export_writes_an_archive_that_vba_clear_reads(
    store_url: str,
    store: Store,
    make_client: Callable[[], TestClient],
    clock: Clock,
    tmp_path: Path,
) -> None:
    client = make_client()
    operator, _, _ = _market(store, client)
    clock.advance(days=2)
    assert client.post("/auctions/sample/clear", headers=operator.headers).status_code == 200
    vba = Path(sys.executable).with_name("vba")
    env = {"VBA_DATABASE_URL": store_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [vba, "export", "sample", tmp_path / "x"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "reproduce it with: vba clear" in done.stdout
    cleared = subprocess.run(
        [vba, "clear", tmp_path / "x", "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cleared.returncode == 0, cleared.stderr
    recorded = (tmp_path / "x" / "recorded" / "awards.csv").read_bytes()
    assert (tmp_path / "out" / "awards.csv").read_bytes() == recorded
    missing = subprocess.run(
        [vba, "export", "no-such-auction", tmp_path / "y"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "auction 'no-such-auction' not found" in missing.stdout


def test_the_gate_closes_and_the_auction_publishes_by_itself(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha", "bidder", EICS[1])
    archive = create_sample_auction(client, operator, open_it=False)
    with store.write() as conn:  # what POST /auctions with auto_publish=true stores
        from auction.store.schema import auctions

        conn.execute(auctions.update().values(auto_publish=True))
    assert client.post("/auctions/sample/open", headers=operator.headers).status_code == 200
    row = archive.bids.row(0, named=True)
    body = {k: row[k] for k in ("product_id", "quantity_mw", "price_eur_per_mw")}
    url = f"/organisations/{alpha.org_id}/auctions/sample/bids"
    assert client.post(url, headers=alpha.headers, json=body).status_code == 201

    gate_close = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    clock.now = gate_close
    tick(store, clock.now)
    with store.read() as conn:
        assert get_auction(conn, "sample").status is Status.CLOSED
    clock.advance(hours=2)
    tick(store, clock.now)
    with store.read() as conn:
        assert get_auction(conn, "sample").status is Status.PUBLISHED
        system = [e["action"] for e in events(conn) if e["actor"] == "system"]
    assert system == ["auction.close", "auction.clear", "auction.publish"]
    awards = client.get(
        f"/organisations/{alpha.org_id}/auctions/sample/awards", headers=alpha.headers
    )
    assert awards.status_code == 200
    assert len(awards.json()["items"]) == 1


@pytest.mark.parametrize("grace_s", [10, 0])
def test_the_scheduler_seals_the_book_only_after_the_grace(
    store: Store, make_client: Callable[[], TestClient], clock: Clock, grace_s: int
) -> None:
    """A bid that arrived 0.1 s before the gate and is handled only after the scheduler's
    tick 5 s past the gate is stored with a 10 s grace (and refused without one); the
    tick at the grace's end seals the book."""
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha", "bidder", EICS[1])
    archive = create_sample_auction(client, operator)
    row = archive.bids.row(0, named=True)
    body = {k: row[k] for k in ("product_id", "quantity_mw", "price_eur_per_mw")}
    gate_close = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    grace = timedelta(seconds=grace_s)

    tick(store, gate_close + timedelta(seconds=5), grace)  # the tick wins the race...
    clock.now = gate_close - timedelta(seconds=0.1)  # ...against a bid that arrived in time
    answer = client.post(
        f"/organisations/{alpha.org_id}/auctions/sample/bids", headers=alpha.headers, json=body
    )
    assert answer.status_code == (201 if grace_s else 409), answer.text
    with store.read() as conn:
        assert get_auction(conn, "sample").status is (Status.OPEN if grace_s else Status.CLOSED)

    tick(store, gate_close + grace, grace)
    with store.read() as conn:
        assert get_auction(conn, "sample").status is Status.CLOSED


def test_two_submissions_of_one_new_id_at_once_meet_at_its_index(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    """PostgreSQL runs submissions side by side (the auction is locked shared): the second
    of two with one new id waits at the id's unique index until the first commits, and
    then answers the single-use 409, not a 500. Meanwhile a gate change waits for both."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one writer: the second submission sees the first's id")
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha", "bidder", EICS[1])
    create_sample_auction(client, operator)
    row = read_archive(sample_dir()).bids.row(0, named=True)
    bid = BidIn(
        bid_id=str(uuid.uuid4()),
        product_id=row["product_id"],
        quantity_mw=Decimal(str(row["quantity_mw"])),
        min_quantity_mw=None,
        price_eur_per_mw=Decimal(str(row["price_eur_per_mw"])),
    )

    with store.read() as conn:
        user_id = conn.execute(sa.select(users.c.user_id).where(users.c.email == alpha.email))
        user_id = user_id.scalar_one()

    def submit(conn: sa.Connection) -> None:
        services.auctions.submit_bids(
            conn, "sample", alpha.org_id, [bid], batch=False, user_id=user_id, now=clock.now
        )

    second: list[BaseException | None] = []

    def submit_second() -> None:
        try:
            with store.write() as conn:
                submit(conn)
            second.append(None)
        except BaseException as exc:  # the thread's outcome, checked below
            second.append(exc)

    with store.write() as conn:
        submit(conn)  # stored, not yet committed
        racer = threading.Thread(target=submit_second)
        racer.start()
        with store.engine.connect() as watcher:  # until the second waits on our id
            waiting = sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            for _ in range(500):
                if watcher.execute(waiting).scalar_one():
                    break
                threading.Event().wait(0.01)
            else:
                raise AssertionError("the second submission never waited for the first")
    racer.join(30)
    [outcome] = second
    assert isinstance(outcome, Conflict), outcome
    assert "already used" in str(outcome)
    with store.read() as conn:
        assert load_archive(conn, "sample")[1].bids.height == 1


def test_concurrent_bidders_lose_nothing(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    """Writers from several threads (and two app instances) serialise; every 2xx is kept."""
    first, second = make_client(), make_client()
    operator = provision(store, first, "Operator", "operator")
    archive = create_sample_auction(first, operator)
    bidders = [provision(store, first, f"Bidder {i}", "bidder", EICS[i % 4]) for i in range(4)]
    row = archive.bids.row(0, named=True)
    body = {k: row[k] for k in ("product_id", "quantity_mw", "price_eur_per_mw")}
    acknowledged: list[str] = []
    lock = threading.Lock()

    def submit(account: Account, client: TestClient) -> None:
        for _ in range(15):
            answer = client.post(
                f"/organisations/{account.org_id}/auctions/sample/bids",
                headers=account.headers,
                json=body,
            )
            assert answer.status_code == 201, answer.text
            with lock:
                acknowledged.append(answer.json()["bid_id"])

    threads = [
        threading.Thread(target=submit, args=(b, first if i % 2 else second))
        for i, b in enumerate(bidders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with store.read() as conn:
        _, stored = load_archive(conn, "sample")
    assert len(acknowledged) == 60
    assert sorted(stored.bids["bid_id"].to_list()) == sorted(acknowledged)
