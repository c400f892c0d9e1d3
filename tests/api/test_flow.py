"""The whole life of an auction over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store
from auction.store.audit import events
from tests.api.conftest import (
    EICS,
    SECRET,
    Clock,
    bid_body,
    create_sample_auction,
    provision,
)


def test_provision_bid_amend_withdraw_close_clear_publish(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    archive = create_sample_auction(client, operator)
    rows = archive.bids.filter(pl.col("linked_to").is_null()).to_dicts()
    base = "/organisations/{org}/auctions/sample/bids"

    batch = {"bids": [bid_body(r) for r in rows[:20]]}
    answer = client.post(base.format(org=alpha.org_id), headers=alpha.headers, json=batch)
    assert answer.status_code == 201, answer.text
    alpha_bids = answer.json()["items"]
    assert len(alpha_bids) == 20
    one = client.post(base.format(org=beta.org_id), headers=beta.headers, json=bid_body(rows[20]))
    assert one.status_code == 201, one.text
    beta_bid = one.json()

    # Amend with the right version (to a fat-finger price), then a lost update.
    counts = Counter(b["product_id"] for b in alpha_bids)
    k = next(i for i, b in enumerate(alpha_bids) if counts[b["product_id"]] >= 4)
    first = alpha_bids[k]
    gone = next(b for b in alpha_bids if b["product_id"] != first["product_id"])
    url = base.format(org=alpha.org_id) + f"/{first['bid_id']}"
    amended = client.put(
        url,
        headers={**alpha.headers, "If-Match": '"1"'},
        json=bid_body(rows[k], price_eur_per_mw=999999.99),
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["version"] == 2
    assert amended.json()["price_eur_per_mw"] == 999999.99
    stale = client.put(url, headers={**alpha.headers, "If-Match": '"1"'}, json=bid_body(rows[k]))
    assert stale.status_code == 412
    withdrawn = client.delete(
        base.format(org=alpha.org_id) + f"/{gone['bid_id']}", headers=alpha.headers
    )
    assert withdrawn.status_code == 204
    versions = client.get(url + "/versions", headers=alpha.headers).json()["items"]
    assert [v["action"] for v in versions] == ["submit", "amend"]

    own = client.get(base.format(org=alpha.org_id), headers=alpha.headers).json()["items"]
    assert len(own) == 19
    assert all(b["org_id"] == alpha.org_id for b in own)
    mine = client.get("/auctions/sample", headers=alpha.headers).json()
    assert mine["my_status"] == "RUNNING"

    # The gate closes by itself: a late bid is refused with the gate time.
    clock.advance(days=2)
    late = client.post(base.format(org=beta.org_id), headers=beta.headers, json=bid_body(rows[21]))
    assert late.status_code == 409
    assert late.json()["gate_close"] == "2026-11-27T14:00:00Z"
    assert client.get("/auctions/sample", headers=beta.headers).json()["my_status"] == "PENDING"
    awards_early = client.get(
        f"/organisations/{beta.org_id}/auctions/sample/awards", headers=beta.headers
    )
    assert awards_early.status_code == 409

    report = client.get("/auctions/sample/report", headers=operator.headers).json()
    assert report["book"]["bids"] == 20
    assert any(
        w["kind"] == "price_outlier" and w["bid_id"] == first["bid_id"] for w in report["warnings"]
    )

    assert client.post("/auctions/sample/close", headers=operator.headers).status_code == 200
    cleared = client.post("/auctions/sample/clear", headers=operator.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["checker_ok"], cleared.json()["checker_report"]
    assert cleared.json()["n_bids"] == 20
    published = client.post("/auctions/sample/publish", headers=operator.headers)
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    # The operator sees whether what was published is proven optimal, in words; bidders
    # do not see the clearing's internals.
    assert published.json()["clearing"].startswith("optimal: proven")
    assert client.get("/auctions/sample", headers=beta.headers).json()["clearing"] is None
    report = client.get("/auctions/sample/report", headers=operator.headers).json()
    assert report["clearing"]["summary"]["optimality"] == published.json()["clearing"]

    awards = client.get(
        f"/organisations/{alpha.org_id}/auctions/sample/awards", headers=alpha.headers
    ).json()["items"]
    assert {a["bid_id"] for a in awards} == {b["bid_id"] for b in own}
    for award in awards:
        if award["reason"] == "outbid":
            assert award["price_needed_eur_per_mw"] > award["price_eur_per_mw"] - 0.001
    view = client.get("/auctions/sample", headers=beta.headers).json()["my_status"]
    beta_award = client.get(
        f"/organisations/{beta.org_id}/auctions/sample/awards", headers=beta.headers
    ).json()["items"]
    assert [a["bid_id"] for a in beta_award] == [beta_bid["bid_id"]]
    assert view == ("WON" if beta_award[0]["awarded_mw"] > 0 else "LOST")

    results = client.get("/auctions/sample/results", headers=beta.headers).json()
    listed = [b for p in results["products"] for b in p["bids"]]
    assert len(listed) == 20
    assert "org_id" not in str(results)
    assert first["bid_id"] not in str(results)

    with store.read() as conn:
        actions = [e["action"] for e in events(conn)]
    for action in (
        "auction.create",
        "auction.open",
        "bids.submit",
        "bids.amend",
        "bids.withdraw",
        "auction.close",
        "auction.clear",
        "auction.publish",
    ):
        assert action in actions


def test_idempotency_key_replays_the_first_answer(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    archive = create_sample_auction(client, operator)
    body = bid_body(archive.bids.row(0, named=True))
    url = f"/organisations/{alpha.org_id}/auctions/sample/bids"
    headers = {**alpha.headers, "Idempotency-Key": "order-42"}
    first = client.post(url, headers=headers, json=body)
    again = client.post(url, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(url, headers=headers, json={**body, "price_eur_per_mw": 1})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.text
    assert len(client.get(url, headers=alpha.headers).json()["items"]) == 1


def test_a_bad_batch_names_every_problem_and_stores_nothing(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    archive = create_sample_auction(client, operator)
    rows = archive.bids.to_dicts()
    bids = [bid_body(r) for r in rows[:5]]
    bids[1]["quantity_mw"] = 0.0005
    bids[3]["product_id"] = "NO-SUCH"
    bids[4]["price_eur_per_mw"] = 12.345
    url = f"/organisations/{alpha.org_id}/auctions/sample/bids"
    answer = client.post(url, headers=alpha.headers, json={"bids": bids})
    assert answer.status_code == 422
    found = {(tuple(d["loc"]), d["field"]) for d in answer.json()["errors"]}
    assert found == {
        (("body", "bids", 1, "quantity_mw"), "quantity_mw"),
        (("body", "bids", 3, "product_id"), "product_id"),
        (("body", "bids", 4, "price_eur_per_mw"), "price_eur_per_mw"),
    }
    assert client.get(url, headers=alpha.headers).json()["items"] == []


def test_links_groups_and_the_opening_gate(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    """A child links to its parent in the same batch; the parent cannot be withdrawn while
    the child lives; another organisation's bid cannot be a parent; before gate_open
    bids are refused with the opening time."""
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    archive = create_sample_auction(client, operator)
    row = archive.bids.row(0, named=True)
    parent, child = "6f1c2a0e-0000-4000-8000-000000000001", "6f1c2a0e-0000-4000-8000-000000000002"
    url = "/organisations/{org}/auctions/sample/bids"
    batch = {
        "bids": [
            bid_body(row, bid_id=child, linked_to=parent),
            bid_body(row, bid_id=parent, exclusive_group="either"),
        ]
    }
    answer = client.post(url.format(org=alpha.org_id), headers=alpha.headers, json=batch)
    assert answer.status_code == 201, answer.text

    blocked = client.delete(url.format(org=alpha.org_id) + f"/{parent}", headers=alpha.headers)
    assert blocked.status_code == 409
    assert blocked.json()["children"] == [child]

    foreign = client.post(
        url.format(org=beta.org_id), headers=beta.headers, json=bid_body(row, linked_to=parent)
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "linked_to"
    assert "no bid of your organisation" in foreign.json()["errors"][0]["rule"]

    taken = client.post(
        url.format(org=beta.org_id), headers=beta.headers, json=bid_body(row, bid_id=parent)
    )
    assert taken.status_code == 409

    clock.now = clock.now.replace(year=2026, month=11, day=24, hour=7)  # before gate_open
    early = client.post(url.format(org=beta.org_id), headers=beta.headers, json=bid_body(row))
    assert early.status_code == 409
    assert "the gate opens at 2026-11-24T09:00:00+01:00" in early.json()["detail"]


def test_a_balancing_group_outside_the_auction_s_zone_cannot_bid(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    archive = create_sample_auction(client, operator)
    elsewhere = provision(store, client, "Far Away", "bidder", EICS[1], zone=EICS[2])
    url = f"/organisations/{elsewhere.org_id}/auctions/sample/bids"
    answer = client.post(
        url, headers=elsewhere.headers, json=bid_body(archive.bids.row(0, named=True))
    )
    assert answer.status_code == 422
    [problem] = answer.json()["errors"]
    assert problem["field"] == "tso_zone"
    assert EICS[2] in problem["rule"]
    assert client.get(url, headers=elsewhere.headers).json()["items"] == []


def test_a_draft_auction_does_not_exist_for_bidders_until_it_opens(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    archive = create_sample_auction(client, operator, open_it=False)
    row = archive.bids.filter(pl.col("linked_to").is_null()).row(0, named=True)
    bids = f"/organisations/{alpha.org_id}/auctions/sample/bids"

    def seen_by_alpha() -> list[int]:
        listed = client.get("/auctions", headers=alpha.headers).json()["items"]
        return [
            len([a for a in listed if a["auction_id"] == "sample"]),
            client.get("/auctions/sample", headers=alpha.headers).status_code,
            client.get(bids, headers=alpha.headers).status_code,
        ]

    assert seen_by_alpha() == [0, 404, 404]
    posted = client.post(bids, headers=alpha.headers, json=bid_body(row))
    assert posted.status_code == 404, posted.text
    assert client.get("/auctions/sample", headers=operator.headers).json()["status"] == "draft"
    assert client.post("/auctions/sample/open", headers=operator.headers).status_code == 200
    assert seen_by_alpha() == [1, 200, 200]


class Slow(Clock):
    """A server that takes a second over everything: each reading is a second later."""

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(seconds=1)
        return now


def test_a_bid_is_judged_at_its_arrival_not_when_a_busy_server_gets_to_it(
    store: Store, store_url: str
) -> None:
    """The gate closes at 14:00 UTC. A bid that arrives 0.5 s before it is in time even
    though the server reads its clock again, seconds later, while handling it; a bid
    that arrives 0.5 s after it is late. The stored time is the arrival."""
    gate = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    clock = Slow(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    settings = Settings(database_url=store_url, secret_key=SECRET, token_minutes=7 * 24 * 60)
    with TestClient(create_app(settings, clock=clock, scheduler=False)) as client:
        operator = provision(store, client, "Operator", "operator")
        alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
        archive = create_sample_auction(client, operator)
        rows = archive.bids.filter(pl.col("linked_to").is_null()).to_dicts()
        url = f"/organisations/{alpha.org_id}/auctions/sample/bids"

        clock.now = gate - timedelta(seconds=0.5)  # the arrival; handling reads 1 s later
        in_time = client.post(url, headers=alpha.headers, json=bid_body(rows[0]))
        assert in_time.status_code == 201, in_time.text
        assert in_time.json()["submitted_at"] == "2026-11-27T13:59:59.500000Z"

        clock.now = gate + timedelta(seconds=0.5)
        late = client.post(url, headers=alpha.headers, json=bid_body(rows[1]))
        assert late.status_code == 409, late.text
