"""Pages of every list: ``limit`` (1..1000) and ``offset``, a 422 beyond, ``next`` in the
body and in ``Link``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.paging import MAX_PAGE
from auction.store import Store
from tests.api.conftest import EICS, Account, bid_body, create_sample_auction, provision

# Every GET that answers a list of things that grow (the rest answer one thing, or a
# report bounded by one auction or a span of at most 7 days).
LISTS = [
    "/admin/organisations",
    "/admin/invites",
    "/admin/organisations/{org_id}/users",
    "/fleet/assets",
    "/auctions",
    "/organisations/{org_id}/auctions/{auction_id}/bids",
    "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}/versions",
    "/organisations/{org_id}/auctions/{auction_id}/awards",
    "/organisations/{org_id}/virtual-assets",
    "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/blocks/{block_id}/schedule/versions",
    "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids",
    "/organisations/{org_id}/invoices",
]


def test_every_list_takes_limit_and_offset(make_client: Callable[[], TestClient]) -> None:
    paths = make_client().app.openapi()["paths"]  # type: ignore[attr-defined]
    for path in LISTS:
        params = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}
        assert params["limit"]["maximum"] == MAX_PAGE, path
        assert params["limit"]["minimum"] == 1, path
        assert params["limit"]["default"] == MAX_PAGE, path
        assert params["offset"]["minimum"] == 0, path


def next_link(answer: Any) -> str | None:
    """The next page's URL: the body's ``next``, which the ``Link`` header must repeat."""
    link = answer.headers.get("Link")
    body_next = answer.json()["next"]
    if link is None:
        assert body_next is None
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found, link
    assert body_next == found.group(1)
    return body_next  # type: ignore[no-any-return]


def items(answer: Any) -> list[Any]:
    assert set(answer.json()) == {"items", "next"}, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def walk(client: TestClient, url: str, account: Account) -> list[Any]:
    """Every item of a list, page after page, following ``next``."""
    found: list[Any] = []
    next_url: str | None = url
    while next_url is not None:
        answer = client.get(next_url, headers=account.headers)
        assert answer.status_code == 200, answer.text
        page = items(answer)
        assert page, "a next page must not be empty"
        found += page
        next_url = next_link(answer)
    return found


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        (f"offset={10**30}", "offset"),
    ],
)
def test_a_page_beyond_the_rules_is_refused_naming_the_parameter(
    store: Store, make_client: Callable[[], TestClient], query: str, field: str
) -> None:
    client = make_client()
    operator = provision(store, client, "Grid Operator", "operator")
    for path in ("/auctions", "/admin/organisations"):
        answer = client.get(f"{path}?{query}", headers=operator.headers)
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["errors"]
        assert problem["field"] == field
        assert problem["loc"] == ["query", field]


def test_organisations_page_by_page(store: Store, make_client: Callable[[], TestClient]) -> None:
    client = make_client()
    operator = provision(store, client, "Grid Operator", "operator")
    for i in range(6):
        body = {"name": f"Org {i}", "eic": EICS[i % len(EICS)]}
        created = client.post("/admin/organisations", headers=operator.headers, json=body)
        assert created.status_code == 201, created.text
    whole = client.get("/admin/organisations", headers=operator.headers)
    assert next_link(whole) is None
    assert len(items(whole)) == 7
    first = client.get("/admin/organisations?limit=3", headers=operator.headers)
    assert items(first) == items(whole)[:3]
    assert next_link(first) == "/admin/organisations?limit=3&offset=3"
    assert walk(client, "/admin/organisations?limit=3", operator) == items(whole)
    last = client.get("/admin/organisations?limit=3&offset=6", headers=operator.headers)
    assert items(last) == items(whole)[6:]
    assert next_link(last) is None
    beyond = client.get("/admin/organisations?offset=100", headers=operator.headers)
    assert beyond.status_code == 200
    assert beyond.json() == {"items": [], "next": None}


def test_bids_page_by_page_from_the_store(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    """The bids' page is read with LIMIT/OFFSET in the store (SQLite and PostgreSQL)."""
    client = make_client()
    operator = provision(store, client, "Grid Operator", "operator")
    bidder = provision(store, client, "Kestrel Energy", "bidder")
    archive = create_sample_auction(client, operator)
    rows = archive.bids.head(7).to_dicts()
    url = f"/organisations/{bidder.org_id}/auctions/sample/bids"
    batch = {"bids": [bid_body(r, exclusive_group=None, linked_to=None) for r in rows]}
    posted = client.post(url, headers=bidder.headers, json=batch)
    assert posted.status_code == 201, posted.text
    whole = client.get(url, headers=bidder.headers)
    assert next_link(whole) is None
    assert len(items(whole)) == 7
    by_id = sorted(items(whole), key=lambda b: b["bid_id"])
    assert sorted(items(posted), key=lambda b: b["bid_id"]) == by_id  # a batch answers all
    assert walk(client, f"{url}?limit=2", bidder) == items(whole)
    middle = client.get(f"{url}?limit=2&offset=3", headers=bidder.headers)
    assert items(middle) == items(whole)[3:5]
    assert next_link(middle) == f"{url}?limit=2&offset=5"
    exact = client.get(f"{url}?limit=7", headers=bidder.headers)
    assert next_link(exact) is None  # no more: no Link


def test_the_next_link_keeps_the_other_query_parameters(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Grid Operator", "operator")
    client.post(
        "/admin/organisations", headers=operator.headers, json={"name": "B", "eic": EICS[1]}
    )
    answer = client.get("/admin/organisations?limit=1&extra=kept", headers=operator.headers)
    assert next_link(answer) == "/admin/organisations?extra=kept&limit=1&offset=1"
