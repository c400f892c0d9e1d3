"""Hostile input from a bidder and a careless operator, on SQLite and PostgreSQL.

Every example of issue 16 (items 1, 2, 3, 8 and 9): numbers the store cannot hold, NaN
and infinities (also as raw JSON literals), strings longer than their column, NUL bytes
and unpaired surrogates, impossible days and gate times, unsafe ids, non-EIC zones, a
bid id another organisation used. Each gets a 4xx naming the field (never a 5xx: the
error answer itself must be writable) and changes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from api import services
from api.services.auction_files import Upload, read_upload
from auction.errors import ArchiveError
from auction.sample import sample_dir
from auction.store import Store
from auction.store.auctions import list_auctions
from tests.api.conftest import EICS, Account, Clock, provision, small_auction
from tests.strategies import NORMAL_DAY, asset, local, product

AUCTION = "hostile"
NUL = "\x00"
MEGA = "a" * 1_000_000
# Past every length limit, within the 64 KiB a body of these routes may hold (a 1 MB one is
# a 413 before it is read: tests/api/test_limits.py).
LONG = "a" * 60_000
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class World:
    client: TestClient
    operator: Account
    alpha: Account
    beta: Account

    def bids_url(self, who: Account, auction_id: str = AUCTION) -> str:
        return f"/organisations/{who.org_id}/auctions/{auction_id}/bids"


@pytest.fixture
def world(store: Store, make_client: Callable[[], TestClient]) -> World:
    """An open auction ``hostile`` (one product p1 of NORMAL_DAY) and two bidders."""
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    fleet = {"assets": [asset("a1", 2.0, 4.0), asset("a2", 2.0, 4.0)]}
    answer = client.put("/fleet/assets", headers=operator.headers, json=fleet)
    assert answer.status_code == 200, answer.text
    answer = client.post("/auctions", headers=operator.headers, json=auction_body(AUCTION))
    assert answer.status_code == 201, answer.text
    answer = client.post(f"/auctions/{AUCTION}/open", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    return World(client, operator, alpha, beta)


def auction_body(default_id: str, **auction: Any) -> dict[str, Any]:
    p1 = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in product("p1").items()}
    return {
        "auction": {"auction_id": default_id, "delivery_day": NORMAL_DAY.isoformat(), **auction},
        "products": [p1],
    }


def refused(answer: Response, field: str, status: int = 422) -> list[dict[str, Any]]:
    """The answer is ``status`` with an error item (in ``errors``) naming ``field``; its body
    is strict JSON (no NaN) and echoes no more than a short value."""
    assert answer.status_code == status, answer.text[:500]
    assert len(answer.content) < 20_000, answer.text[:500]
    body = json.loads(answer.text, parse_constant=pytest.fail)
    assert isinstance(body["detail"], str), body
    errors = body["errors"]
    assert any(item["field"] == field for item in errors), errors
    return list(errors)


def raw(text: str, who: Account) -> dict[str, Any]:
    """A JSON body written by hand (NaN literals, escapes), for ``client.post(**raw(...))``."""
    headers = {**who.headers, "Content-Type": "application/json"}
    return {"content": text.encode(), "headers": headers}


# --- item 1: numbers -------------------------------------------------------------------

GOOD_BID = {"product_id": "p1", "quantity_mw": 1, "price_eur_per_mw": 50}
BAD_BIDS = [
    ({"price_eur_per_mw": 1e17}, "price_eur_per_mw"),
    ({"price_eur_per_mw": 10**30}, "price_eur_per_mw"),
    ({"price_eur_per_mw": "1e999999"}, "price_eur_per_mw"),
    ({"price_eur_per_mw": "NaN"}, "price_eur_per_mw"),
    ({"price_eur_per_mw": "-Infinity"}, "price_eur_per_mw"),
    ({"price_eur_per_mw": 1_000_000.01}, "price_eur_per_mw"),
    ({"quantity_mw": 1e16}, "quantity_mw"),
    ({"quantity_mw": "1e999999"}, "quantity_mw"),
    ({"quantity_mw": "Infinity"}, "quantity_mw"),
    ({"min_quantity_mw": "NaN"}, "min_quantity_mw"),
    # item 2: strings longer than their column, NUL and control characters
    ({"exclusive_group": "g" * 201}, "exclusive_group"),
    ({"exclusive_group": f"g{NUL}"}, "exclusive_group"),
    ({"exclusive_group": "g\x1b[31m"}, "exclusive_group"),
    ({"product_id": "p" * 65}, "product_id"),
    ({"product_id": f"p1{NUL}"}, "product_id"),
    ({"product_id": MEGA}, "product_id"),
]


@pytest.mark.parametrize(("change", "field"), BAD_BIDS)
def test_a_bid_out_of_range_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    c, alpha = world.client, world.alpha
    answer = c.post(world.bids_url(alpha), headers=alpha.headers, json={**GOOD_BID, **change})
    refused(answer, field)
    assert c.get(world.bids_url(alpha), headers=alpha.headers).json()["items"] == []


def test_a_number_of_five_thousand_digits_is_refused(world: World) -> None:
    """Python's JSON parser itself refuses an integer beyond 4,300 digits: a 4xx too."""
    c, alpha = world.client, world.alpha
    body = json.dumps(GOOD_BID).replace('"quantity_mw": 1', '"quantity_mw": ' + "9" * 5000)
    answer = c.post(world.bids_url(alpha), **raw(body, alpha))
    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert c.get(world.bids_url(alpha), headers=alpha.headers).json()["items"] == []


LITERALS = [
    ('"quantity_mw": NaN', "quantity_mw"),
    ('"price_eur_per_mw": Infinity', "price_eur_per_mw"),
    ('"price_eur_per_mw": -Infinity', "price_eur_per_mw"),
    ('"min_quantity_mw": NaN', "min_quantity_mw"),
    # An unpaired surrogate: valid JSON, but no UTF-8 text (no store can hold it).
    ('"exclusive_group": "\\ud800"', "exclusive_group"),
]


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize(("literal", "field"), LITERALS)
def test_raw_nan_and_infinity_literals_are_refused_naming_the_field(
    world: World, literal: str, field: str, batch: bool
) -> None:
    alpha = world.alpha
    key = literal.split(":")[0].strip('"')
    good = json.dumps({k: v for k, v in GOOD_BID.items() if k != key})
    literal = good[:-1] + ", " + literal + "}"
    if batch:
        literal = f'{{"bids": [{good}, {literal}]}}'
    refused(world.client.post(world.bids_url(alpha), **raw(literal, alpha)), field)
    assert world.client.get(world.bids_url(alpha), headers=alpha.headers).json()["items"] == []


def test_if_match_takes_ascii_digits_only(world: World) -> None:
    c, alpha = world.client, world.alpha
    bid = c.post(world.bids_url(alpha), headers=alpha.headers, json=GOOD_BID).json()
    url = f"{world.bids_url(alpha)}/{bid['bid_id']}"
    # Headers arrive as Latin-1: b"\xb2" is "²", which str.isdigit() takes.
    for header in (b"\xb2", b'"\xb2"', b"1" * 5000, b"-1", b"1.0", "٣".encode()):
        headers: dict[str, str | bytes] = {**alpha.headers, "If-Match": header}
        amended = c.put(url, headers=headers, json={**GOOD_BID, "price_eur_per_mw": 60})
        assert amended.status_code == 412, (header, amended.text)
        assert c.delete(url, headers=headers).status_code == 412
    assert c.get(url, headers=alpha.headers).json()["version"] == 1


@pytest.mark.parametrize("key", ["k" * 201, "k\x7f"])
def test_an_idempotency_key_longer_than_its_column_is_refused(world: World, key: str) -> None:
    alpha = world.alpha
    headers = {**alpha.headers, "Idempotency-Key": key}
    answer = world.client.post(world.bids_url(alpha), headers=headers, json=GOOD_BID)
    refused(answer, "Idempotency-Key")
    assert world.client.get(world.bids_url(alpha), headers=alpha.headers).json()["items"] == []


def test_an_idempotency_key_is_checked_by_the_store_for_every_door(store: Store) -> None:
    """The pages pass a form's key without the header's schema: the store refuses it."""
    from auction.errors import DomainError
    from auction.store import idempotency

    for key in ("k" * 201, f"k{NUL}", ""):
        with store.read() as conn, pytest.raises(DomainError) as caught:
            idempotency.find(conn, "u1", key, "0" * 64)
        assert caught.value.problems[0].column == "Idempotency-Key"


@pytest.mark.parametrize(
    ("price", "status"),
    [("1e999999", 422), (10**30, 422), ("NaN", 422), (-1, 422), ("0.001", 422)],
)
def test_an_imbalance_price_out_of_range_is_refused(
    world: World, price: object, status: int
) -> None:
    c, operator = world.client, world.operator
    body = {"imbalance_price_eur_per_mwh": price}
    answer = c.post(f"/settlement/{NORMAL_DAY}/run", headers=operator.headers, json=body)
    refused(answer, "imbalance_price_eur_per_mwh", status)
    answer = c.post(
        f"/settlement/{NORMAL_DAY}/run", **raw('{"imbalance_price_eur_per_mwh": NaN}', operator)
    )
    refused(answer, "imbalance_price_eur_per_mwh")
    assert c.get(f"/settlement/{NORMAL_DAY}", headers=operator.headers).status_code == 404


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "3000-01-01"])
def test_a_day_outside_the_engine_s_years_is_refused(world: World, day: str) -> None:
    c, operator = world.client, world.operator
    body = {"imbalance_price_eur_per_mwh": 10}
    refused(c.post(f"/settlement/{day}/run", headers=operator.headers, json=body), "delivery_day")
    refused(c.get(f"/settlement/{day}", headers=operator.headers), "delivery_day")
    url = f"/organisations/{world.alpha.org_id}/nominations/{day}"
    refused(c.get(url, headers=world.alpha.headers), "delivery_day")


# --- ids in paths ----------------------------------------------------------------------


# 10,000 characters: far past an id's 64, within the 16 KiB of a request's head (431 beyond).
@pytest.mark.parametrize("bad", ["%00", "x%00y", "a" * 10_000, "%1b", "%7f"])
def test_a_nul_byte_or_a_huge_id_in_a_path_is_a_404_not_a_500(world: World, bad: str) -> None:
    """Nothing can be stored under such an id: not found, like any missing id."""
    c, alpha, operator = world.client, world.alpha, world.operator
    org = alpha.org_id
    for method, url, who in [
        ("GET", f"/auctions/{bad}", alpha),
        ("POST", f"/auctions/{bad}/open", operator),
        ("GET", f"/organisations/{bad}/auctions/{AUCTION}/bids", alpha),
        ("GET", f"/organisations/{org}/auctions/{bad}/bids", alpha),
        ("GET", f"/organisations/{org}/auctions/{AUCTION}/bids/{bad}", alpha),
        ("DELETE", f"/organisations/{org}/auctions/{AUCTION}/bids/{bad}", alpha),
        ("GET", f"/organisations/{org}/virtual-assets/{bad}", alpha),
        ("GET", f"/organisations/{org}/virtual-assets/{bad}/ancillary-bids", alpha),
    ]:
        answer = c.request(method, url, headers=who.headers)
        assert answer.status_code == 404, (method, url[:80], answer.text[:300])
        assert len(answer.content) < 1000
    # The pages too (a page, not JSON).
    page = c.get(f"/ui/auctions/{bad}", follow_redirects=False)
    assert page.status_code < 500


# --- items 3 and 9: the operator's auctions and fleet ----------------------------------

BAD_AUCTIONS: list[tuple[dict[str, Any], str]] = [
    (
        {
            "gate_open": "2026-11-27T15:00:00+01:00",
            "gate_close": "2026-11-27T15:00:00+01:00",
        },
        "gate_open",
    ),
    ({"fcr_energy_h": "NaN"}, "fcr_energy_h"),
    ({"time_limit_s": "Infinity"}, "time_limit_s"),
    ({"dispatch_gate_closure_s": 10**30}, "dispatch_gate_closure_s"),
    ({"delivery_day": "9999-12-31"}, "delivery_day"),
    ({"delivery_day": "1999-12-31"}, "delivery_day"),
    ({"gate_close": "0001-01-01T00:00:00+05:00"}, "gate_close"),
    ({"publish_at": "9999-12-31T23:59:59-05:00"}, "publish_at"),
    ({"tso_zone": "XX"}, "tso_zone"),
    ({"tso_zone": "10YDE-EON------2"}, "tso_zone"),
    ({"auction_id": "a/b"}, "auction_id"),
    ({"auction_id": ".."}, "auction_id"),
    ({"auction_id": "."}, "auction_id"),
    ({"auction_id": f"x{NUL}"}, "auction_id"),
    ({"auction_id": MEGA}, "auction_id"),
    ({"auction_id": "x" * 65}, "auction_id"),
    ({"time_zone": MEGA}, "time_zone"),
]


@pytest.mark.parametrize(("change", "field"), BAD_AUCTIONS)
def test_a_bad_auction_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    c, operator = world.client, world.operator
    body = auction_body("new-one", **change)
    refused(c.post("/auctions", headers=operator.headers, json=body), field)
    ids = [a["auction_id"] for a in c.get("/auctions", headers=operator.headers).json()["items"]]
    assert ids == [AUCTION]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"product_id": "p/1"}, "product_id"),
        ({"product_id": f"p{NUL}"}, "product_id"),
        ({"reserve_price_eur_per_mw": 1e17}, "reserve_price_eur_per_mw"),
        ({"min_mw": "NaN"}, "min_mw"),
        ({"increment_mw": 1e16}, "increment_mw"),
        ({"wholesale_h": "1e999999"}, "wholesale_h"),
        ({"start": "0001-01-01T00:00:00+05:00"}, "start"),
    ],
)
def test_a_bad_product_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    c, operator = world.client, world.operator
    body = auction_body("new-one")
    body["products"][0].update(change)
    refused(c.post("/auctions", headers=operator.headers, json=body), field)
    assert len(c.get("/auctions", headers=operator.headers).json()["items"]) == 1


def test_a_raw_nan_in_the_auction_config_is_refused(world: World) -> None:
    body = json.dumps(auction_body("new-one", fcr_energy_h=0.5)).replace("0.5", "NaN")
    answer = world.client.post("/auctions", **raw(body, world.operator))
    refused(answer, "fcr_energy_h")


def _upload(auction: dict[str, Any], products: str | None = None) -> Any:
    products_csv = products or (sample_dir() / "products.csv").read_text()
    return read_upload(
        Upload("auction.json", json.dumps(auction).encode()),
        Upload("products.csv", products_csv.encode()),
        None,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gate_open": "2026-11-27T15:00:00+01:00"}, "gate_open"),  # == gate_close
        ({"fcr_energy_h": "NaN"}, "fcr_energy_h"),
        ({"delivery_day": "9999-12-31"}, "delivery_day"),
        ({"tso_zone": "XX"}, "tso_zone"),
        ({"auction_id": "a/b"}, "auction_id"),
        ({"auction_id": ".."}, "auction_id"),
    ],
)
def test_an_uploaded_auction_json_is_judged_by_the_same_rules(
    store: Store, change: dict[str, Any], field: str
) -> None:
    sample = json.loads((sample_dir() / "auction.json").read_text())
    with pytest.raises(ArchiveError) as caught:
        _upload({**sample, **change})
    assert field in {p.column for p in caught.value.problems}, caught.value.problems
    with store.read() as conn:
        assert list_auctions(conn) == []


def test_an_uploaded_product_id_must_be_safe(store: Store) -> None:
    sample = json.loads((sample_dir() / "auction.json").read_text())
    lines = (sample_dir() / "products.csv").read_text().splitlines()
    lines[1] = "../x" + lines[1][lines[1].index(",") :]
    with pytest.raises(ArchiveError) as caught:
        _upload(sample, "\n".join(lines) + "\n")
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "product_id")]
    # A clean upload still makes an auction, on both stores.
    files = _upload(sample)
    with store.write() as conn:
        services.auctions.create_auction(
            conn,
            files.auction,
            files.products,
            files.allocations,
            auto_publish=False,
            actor="tests",
            now=NOW,
        )


BAD_ASSETS: list[tuple[dict[str, Any], str]] = [
    ({"tso_zone": "XX"}, "tso_zone"),
    ({"tso_zone": "10YDE-EON------2"}, "tso_zone"),
    ({"asset_id": "a/b"}, "asset_id"),
    ({"asset_id": ".."}, "asset_id"),
    ({"asset_id": MEGA}, "asset_id"),
    ({"asset_id": f"a{NUL}"}, "asset_id"),
    ({"owner_org": f"o{NUL}"}, "owner_org"),
    ({"owner_org": "o" * 65}, "owner_org"),
    ({"p_charge_mw": 1e300}, "p_charge_mw"),
    ({"e_max_mwh": "NaN"}, "e_max_mwh"),
    ({"eta_charge": "Infinity"}, "eta_charge"),
]


@pytest.mark.parametrize(("change", "field"), BAD_ASSETS)
def test_a_bad_fleet_asset_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    c, operator = world.client, world.operator
    before = c.get("/fleet/assets", headers=operator.headers).json()
    fleet = {"assets": [asset("a1", 2.0, 4.0), asset("a2", 2.0, 4.0) | change]}
    refused(c.put("/fleet/assets", headers=operator.headers, json=fleet), field)
    assert c.get("/fleet/assets", headers=operator.headers).json() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"asset_id": f"a1{NUL}"}, "asset_id"),
        ({"asset_id": LONG}, "asset_id"),
        ({"start": "0001-01-01T00:00:00+05:00"}, "start"),
        ({"end": "9999-12-31T23:59:59-05:00"}, "end"),
        ({"available_fraction": "NaN"}, "available_fraction"),
    ],
)
def test_a_bad_outage_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    outage = {
        "asset_id": "a1",
        "start": local(NORMAL_DAY, 8).isoformat(),
        "end": local(NORMAL_DAY, 10).isoformat(),
        "available_fraction": 0,
    }
    answer = world.client.post(
        "/fleet/outages", headers=world.operator.headers, json=outage | change
    )
    refused(answer, field)


# --- item 2: accounts ------------------------------------------------------------------


@pytest.mark.parametrize("username", [f"a{NUL}b@example.com", "u" * 10_000 + "@example.com"])
def test_a_nul_byte_or_a_huge_login_name_is_refused_without_a_token(
    world: World, username: str
) -> None:
    body = {"username": username, "password": "correct horse battery staple"}
    refused(world.client.post("/auth/public/authenticate", json=body), "username")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "n" * 201}, "name"),
        ({"name": f"Evil{NUL}Corp"}, "name"),
        ({"name": LONG}, "name"),
        ({"eic": "XX"}, "eic"),
        ({"eic": f"10YDE-EON------1{NUL}"}, "eic"),
        ({"tso_zone": "10YDE-EON------2"}, "tso_zone"),
    ],
)
def test_a_bad_organisation_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    c, operator = world.client, world.operator
    before = c.get("/admin/organisations", headers=operator.headers).json()
    body = {"name": "New Org", "eic": EICS[3]} | change
    refused(c.post("/admin/organisations", headers=operator.headers, json=body), field)
    assert c.get("/admin/organisations", headers=operator.headers).json() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "e" * 320 + "@example.com"}, "email"),
        ({"email": f"a{NUL}@example.com"}, "email"),
        ({"org_id": f"o{NUL}"}, "org_id"),
        ({"org_id": LONG}, "org_id"),
    ],
)
def test_a_bad_invite_is_refused_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    body = {"email": "new@example.com", "org_id": world.alpha.org_id} | change
    refused(world.client.post("/admin/invites", headers=world.operator.headers, json=body), field)


@pytest.mark.parametrize(
    "token",
    ['"\\ud800"', '"t\\u0000k"', json.dumps("t" * 10_000)],
    ids=["surrogate", "NUL", "huge"],
)
def test_a_bad_invite_token_is_refused_naming_the_field(world: World, token: str) -> None:
    """An unpaired surrogate in the token once reached its SHA-256 (UTF-8 encoding): a 500."""
    body = f'{{"token": {token}, "password": "a fresh and unusual passphrase 42"}}'
    headers = {"Content-Type": "application/json"}
    answer = world.client.post("/auth/public/accept-invite", content=body.encode(), headers=headers)
    refused(answer, "token")


def test_the_domain_refuses_what_the_schema_would_for_every_other_door(store: Store) -> None:
    """The pages and the CLI reach the same rules without the HTTP schemas."""
    from auction.errors import DomainError
    from auction.store.accounts import create_invite, create_org, user_by_email

    now = NOW
    for name in ("n" * 201, f"Evil{NUL}Corp"):
        with store.write() as conn, pytest.raises(DomainError):
            create_org(conn, name, EICS[3], EICS[0], now)
    with store.write() as conn:
        org = create_org(conn, "Fine", EICS[3], EICS[0], now)
    for email in ("e" * 320 + "@example.com", f"a{NUL}@example.com", "İ" * 200 + "@b.de"):
        with store.write() as conn, pytest.raises(DomainError):
            create_invite(conn, email, org.org_id, "bidder", now, timedelta(hours=1))
    with store.read() as conn:
        assert user_by_email(conn, f"a{NUL}@example.com") is None
        assert user_by_email(conn, MEGA) is None


# --- dispatch --------------------------------------------------------------------------


def test_a_schedule_out_of_range_is_refused(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    vas = small_auction(client, operator, [alpha], clock)[alpha.org_id]
    va = vas[0]
    block = next(b for b in va["blocks"] if b["market"] == "wholesale")
    url = (
        f"/organisations/{alpha.org_id}/virtual-assets/{va['virtual_asset_id']}"
        f"/blocks/{block['block_id']}"
    )
    for point, field in [
        ({"power": 10**30, "time": block["start"]}, "power"),
        ({"power": 1, "time": "0001-01-01T00:00:00+05:00"}, "time"),
        ({"power": 1, "time": "9999-12-31T23:59:59-05:00"}, "time"),
    ]:
        answer = client.put(url, headers=alpha.headers, json={"schedule": [point]})
        refused(answer, field)
    assert client.get(f"{url}/schedule", headers=alpha.headers).json()["version"] == 0


# --- item 8: the bid-id oracle ---------------------------------------------------------


def _same(a: Response, b: Response, *ids: tuple[str, str]) -> None:
    """Both answers alike, byte for byte, once each id echoed is replaced by its pair (and
    each request's own X-Request-ID, which its error body repeats, by a placeholder)."""
    assert a.status_code == b.status_code, (a.text, b.text)
    text = a.text.replace(a.headers["x-request-id"], "<request id>")
    for mine, other in ids:
        text = text.replace(mine, other)
    assert text == b.text.replace(b.headers["x-request-id"], "<request id>")


def test_a_used_bid_id_gets_the_same_answer_whoever_used_it(world: World) -> None:
    c, alpha, beta = world.client, world.alpha, world.beta
    live, withdrawn = str(uuid.uuid4()), str(uuid.uuid4())
    for bid_id in (live, withdrawn):
        answer = c.post(
            world.bids_url(alpha), headers=alpha.headers, json=GOOD_BID | {"bid_id": bid_id}
        )
        assert answer.status_code == 201, answer.text
    assert (
        c.delete(f"{world.bids_url(alpha)}/{withdrawn}", headers=alpha.headers).status_code == 204
    )

    for bid_id in (live, withdrawn):
        body = GOOD_BID | {"bid_id": bid_id}
        own = c.post(world.bids_url(alpha), headers=alpha.headers, json=body)
        other = c.post(world.bids_url(beta), headers=beta.headers, json=body)
        assert own.status_code == 409, own.text
        _same(own, other, (alpha.org_id, beta.org_id))
        # In a batch as well.
        batch = {"bids": [GOOD_BID, body]}
        own = c.post(world.bids_url(alpha), headers=alpha.headers, json=batch)
        other = c.post(world.bids_url(beta), headers=beta.headers, json=batch)
        assert own.status_code == 409, own.text
        _same(own, other, (alpha.org_id, beta.org_id))
    # Beta could not take alpha's id, nor did the refusals store anything.
    assert c.get(world.bids_url(beta), headers=beta.headers).json()["items"] == []
    assert len(c.get(world.bids_url(alpha), headers=alpha.headers).json()["items"]) == 1


def test_another_organisation_s_bid_id_reads_like_a_missing_one(world: World) -> None:
    c, alpha, beta = world.client, world.alpha, world.beta
    bid = c.post(world.bids_url(alpha), headers=alpha.headers, json=GOOD_BID).json()["bid_id"]
    missing = str(uuid.uuid4())
    base = world.bids_url(beta)
    for method, suffix, body in [
        ("GET", "/{id}", None),
        ("GET", "/{id}/versions", None),
        ("PUT", "/{id}", GOOD_BID),
        ("DELETE", "/{id}", None),
    ]:
        foreign = c.request(method, base + suffix.format(id=bid), headers=beta.headers, json=body)
        absent = c.request(
            method, base + suffix.format(id=missing), headers=beta.headers, json=body
        )
        assert foreign.status_code in (200, 404), foreign.text
        _same(foreign, absent, (bid, missing))
    new = GOOD_BID | {"bid_id": str(uuid.uuid4())}
    linked = c.post(base, headers=beta.headers, json=new | {"linked_to": bid})
    unlinked = c.post(base, headers=beta.headers, json=new | {"linked_to": missing})
    assert linked.status_code == 422, linked.text
    _same(linked, unlinked, (bid, missing))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=0001-01-01T00:00:00%2B05:00&to=0001-01-02T00:00:00%2B05:00", "from"),
        ("from=9999-12-30T00:00:00-05:00&to=9999-12-31T23:00:00-05:00", "from"),
    ],
)
@pytest.mark.parametrize("path", ["/fleet/setpoints", "/fleet/rebalancing"])
def test_setpoints_outside_the_engine_s_years_are_refused(
    world: World, query: str, field: str, path: str
) -> None:
    answer = world.client.get(f"{path}?{query}", headers=world.operator.headers)
    refused(answer, field)


def test_a_raw_nan_in_the_tso_s_results_is_refused(world: World) -> None:
    document = '{"bids": [{"bidId": "x", "acceptedQuantity": {"quantity": NaN}}]}'
    answer = world.client.post(f"/ancillary/{NORMAL_DAY}/results", **raw(document, world.operator))
    assert answer.status_code == 422, answer.text
    json.loads(answer.text, parse_constant=pytest.fail)
