"""Properties of the pool's bids to the TSO and of the TSO's results back
(dispatch/ancillary/exchange.py) on small generated cases.

Cases: 1-5 assets in or out of the zone, each prequalified for any of FCR, aFRR+ and aFRR-
with random charge and discharge power on the 1 kW grid; 0-3 availability rows of the
day's grid; 0-10 customer bids (``EXPORTED`` rows) for products of one day, the DST days
among them. What the pool can give is recomputed here MTU by MTU with exact fractions,
sharing no code with ``pool_capacity_kw``; a result document mixes valid items with every
kind of broken one a TSO file or a hand-edited one may hold.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction
from functools import cache
from typing import Any

import polars as pl
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from auction.book import AVAILABILITY, FLEET
from auction.errors import DomainError
from auction.model import TENNET_DE
from auction.timegrid import day_bounds, mtu_count
from dispatch.ancillary.exchange import (
    EXPORTED,
    RESULTS,
    over_capacity,
    pool_capacity_kw,
    read_results,
    tso_bids,
)
from dispatch.ancillary.products import GateRules, Product, day_products
from tests.strategies import MTU, OTHER_ZONE, asset, availabilities, days

GATES = GateRules()
QUALIFICATIONS = ("fcr", "afrr_pos", "afrr_neg")
Rows = list[dict[str, Any]]


# --------------------------------------------------------------------------- strategies


@st.composite
def pool_fleets(draw: st.DrawFn) -> Rows:
    """1-5 assets: some outside the zone, some not prequalified, charge and discharge power
    apart, on the 1 kW grid (0-25 MW)."""
    rows = []
    for i in range(draw(st.integers(1, 5))):
        # Round powers too (80 % of 1.25 MW is 1 MW), so that bids meet a capacity exactly.
        powers = st.one_of(st.integers(0, 25_000), st.sampled_from([0, 1250, 2500, 5000, 10_000]))
        discharge_kw = draw(powers)
        charge_kw = draw(st.one_of(st.just(discharge_kw), powers))
        rows.append(
            asset(
                f"a{i + 1}",
                discharge_kw / 1000,
                2 * discharge_kw / 1000,
                p_charge_mw=charge_kw / 1000,
                tso_zone=draw(st.sampled_from([TENNET_DE, TENNET_DE, TENNET_DE, OTHER_ZONE])),
                **{q: draw(st.booleans()) for q in QUALIFICATIONS},
            )
        )
    return rows


@cache
def products_of(day: date) -> list[Product]:
    return day_products(day, GATES)


@st.composite
def exported_rows(draw: st.DrawFn, day: date, max_size: int = 10) -> Rows:
    """0-``max_size`` customer bids of ``day`` as an export reads them: capacity products
    often (so that several bids share one), aFRR energy quarter-hours sometimes; 1-30 MW,
    prices as each market takes them, of either sign."""
    products = products_of(day)
    capacity, energy = products[:18], products[18:]
    chosen = draw(
        st.lists(
            st.one_of(
                st.sampled_from(capacity), st.sampled_from(capacity), st.sampled_from(energy)
            ),
            max_size=max_size,
        )
    )
    cents = st.integers(-1_500_000, 1_500_000)
    rows = []
    for i, p in enumerate(chosen):
        rows.append(
            {
                "bid_id": f"bid-{i:03d}",
                "product_code": p.code,
                "market": p.market,
                "direction": p.direction,
                "delivery_day": p.day,
                "offered_kw": draw(st.integers(1, 30)) * 1000,
                "capacity_price_cents": draw(cents) if p.is_capacity else None,
                "energy_price_cents": (
                    None
                    if p.market == "fcr"
                    else draw(cents)
                    if p.market == "afrr_energy"
                    else draw(st.none() | cents)
                ),
            }
        )
    return rows


def frame(rows: Rows, schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


# --------------------------------------------------------------------------- the reference


def window(p: Product) -> range:
    """The MTUs of the day's grid that the product's window covers."""
    start, _ = day_bounds(p.day)
    return range((p.start - start) // MTU, (p.end - start) // MTU)


def fraction(availability: Rows, asset_id: str, day: date, t: int) -> Fraction:
    """Availability of MTU ``t`` of the day: every overlapping row multiplies."""
    start, _ = day_bounds(day)
    lo, hi = start + t * MTU, start + (t + 1) * MTU
    out = Fraction(1)
    for row in availability:
        if row["asset_id"] == asset_id and row["start"] < hi and row["end"] > lo:
            out *= Fraction(str(row["available_fraction"]))
    return out


def rated_kw(a: dict[str, Any], block_market: str) -> Fraction:
    """What the asset can give a product drawing on ``block_market``, exactly, in kW."""
    charge = Fraction(str(a["p_charge_mw"])) * 1000
    discharge = Fraction(str(a["p_discharge_mw"])) * 1000
    if block_market == "fcr":
        return Fraction(4, 5) * min(charge, discharge)
    return discharge if block_market == "afrr_pos" else charge


def qualified(fleet: Rows, block_market: str) -> Rows:
    return [a for a in fleet if a["tso_zone"] == TENNET_DE and a[block_market]]


def reference_kw(fleet: Rows, availability: Rows, p: Product) -> int:
    """The least, over the window's MTUs, of Σ rated × availability of qualified assets."""
    assets = qualified(fleet, p.block_market)
    per_mtu = [
        sum(
            (rated_kw(a, p.block_market) * fraction(availability, a["asset_id"], p.day, t))
            for a in assets
        )
        for t in window(p)
    ]
    return math.floor(min(per_mtu, default=Fraction(0)))


def capacity(fleet: Rows, availability: Rows, codes: list[str]) -> dict[str, int]:
    return pool_capacity_kw(
        frame(fleet, FLEET), frame(availability, AVAILABILITY), codes, GATES, TENNET_DE
    )


# --------------------------------------------------------------------------- a. capacity


@st.composite
def pools(draw: st.DrawFn) -> tuple[date, Rows, Rows, Rows]:
    day = draw(days)
    fleet = draw(pool_fleets())
    return day, fleet, draw(availabilities(fleet, day)), draw(exported_rows(day))


@given(pools())
def test_an_export_is_refused_exactly_when_a_product_offers_more_than_the_pool_gives(
    case: tuple[date, Rows, Rows, Rows],
) -> None:
    _, fleet, availability, bids = case
    codes = sorted({b["product_code"] for b in bids})
    given_kw = capacity(fleet, availability, codes)
    offered: dict[str, int] = defaultdict(int)
    for b in bids:
        offered[b["product_code"]] += b["offered_kw"]
    note(f"offered {dict(offered)}, capacity {given_kw}")
    expected = [
        {
            "product_code": code,
            "offered_kw": offered[code],
            "capacity_kw": given_kw[code],
            "excess_kw": offered[code] - given_kw[code],
        }
        for code in codes
        if offered[code] > given_kw[code]
    ]
    over = over_capacity(frame(bids, EXPORTED), given_kw)
    assert over == expected
    assert (over == []) == all(offered[c] <= given_kw[c] for c in codes)
    # At the edge: exactly what the pool gives goes out, a kW more does not.
    assert over_capacity(frame(bids, EXPORTED), offered) == []
    short = {c: kw - 1 for c, kw in offered.items()}
    assert [o["product_code"] for o in over_capacity(frame(bids, EXPORTED), short)] == codes


@given(pools())
def test_the_pool_gives_the_least_over_the_window_of_what_qualified_assets_give(
    case: tuple[date, Rows, Rows, Rows],
) -> None:
    day, fleet, availability, bids = case
    products = products_of(day)[:18] + [
        p for p in products_of(day)[18:] if p.code in {b["product_code"] for b in bids}
    ]
    given_kw = capacity(fleet, availability, [p.code for p in products])
    assert given_kw == {p.code: reference_kw(fleet, availability, p) for p in products}


@given(pools())
def test_fcr_never_exceeds_80_percent_of_the_qualified_assets_smaller_power(
    case: tuple[date, Rows, Rows, Rows],
) -> None:
    day, fleet, availability, _ = case
    fcr = [p for p in products_of(day) if p.market == "fcr"]
    bound = math.floor(sum((rated_kw(a, "fcr") for a in qualified(fleet, "fcr")), Fraction(0)))
    whole = capacity(fleet, [], [p.code for p in fcr])
    derated = capacity(fleet, availability, [p.code for p in fcr])
    note(f"bound {bound} kW, whole {whole}, derated {derated}")
    for p in fcr:
        assert 0 <= derated[p.code] <= whole[p.code] == bound


@given(pools(), st.sampled_from(QUALIFICATIONS))
def test_nothing_is_given_when_every_qualified_asset_is_out(
    case: tuple[date, Rows, Rows, Rows], block_market: str
) -> None:
    day, fleet, availability, _ = case
    start, end = day_bounds(day)
    out = [
        {"asset_id": a["asset_id"], "start": start, "end": end, "available_fraction": 0.0}
        for a in qualified(fleet, block_market)
    ]
    drawing = [p.code for p in products_of(day)[:18] if p.block_market == block_market]
    assert set(capacity(fleet, availability + out, drawing).values()) == {0}


@st.composite
def outages(draw: st.DrawFn, fleet: Rows, day: date) -> dict[str, Any]:
    """One more outage or derate, on or off the MTU grid."""
    start, _ = day_bounds(day)
    n_minutes = mtu_count(day) * 15
    first = draw(st.integers(0, n_minutes - 1))
    last = draw(st.integers(first + 1, n_minutes))
    return {
        "asset_id": draw(st.sampled_from([a["asset_id"] for a in fleet])),
        "start": start + timedelta(minutes=first),
        "end": start + timedelta(minutes=last),
        "available_fraction": draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0])),
    }


@given(st.data())
def test_an_added_outage_never_raises_what_the_pool_gives(data: st.DataObject) -> None:
    day, fleet, availability, bids = data.draw(pools())
    more = data.draw(outages(fleet, day))
    note(f"added {more}")
    codes = [p.code for p in products_of(day)[:18]] + [b["product_code"] for b in bids]
    before = capacity(fleet, availability, codes)
    after = capacity(fleet, [*availability, more], codes)
    assert set(after) == set(before)
    assert all(after[c] <= before[c] for c in before)


# --------------------------------------------------------------------------- b. results

# Items that name an exported bid but break a rule of the result, and the rule.
BROKEN_ITEMS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("quantity below 0", {"acceptedQuantity": {"quantity": -1}}),
    ("quantity not whole", {"acceptedQuantity": {"quantity": 1.5}}),
    ("quantity a string", {"acceptedQuantity": {"quantity": "1"}}),
    ("quantity a boolean", {"acceptedQuantity": {"quantity": True}}),
    ("quantity a bare number", {"acceptedQuantity": 1}),
    ("quantity a list", {"acceptedQuantity": [1]}),
    ("accepted without prices", {"acceptedQuantity": {"quantity": 1}}),
    ("prices not a list", {"acceptedQuantity": {"quantity": 1}, "prices": {"amount": "1"}}),
    ("price not an object", {"acceptedQuantity": {"quantity": 1}, "prices": ["1.00"]}),
    ("amount below a cent", {"acceptedQuantity": {"quantity": 1}, "prices": [{"amount": "1.001"}]}),
    ("amount too large", {"acceptedQuantity": {"quantity": 1}, "prices": [{"amount": "15000.01"}]}),
    ("amount not a number", {"acceptedQuantity": {"quantity": 1}, "prices": [{"amount": "x"}]}),
    ("amount infinite", {"acceptedQuantity": {"quantity": 1}, "prices": [{"amount": "Infinity"}]}),
    ("amount missing", {"acceptedQuantity": {"quantity": 1}, "prices": [{}]}),
    ("another day", {"acceptedQuantity": {"quantity": 0}, "deliveryDate": "2000-01-01"}),
)


@st.composite
def valid_items(draw: st.DrawFn, bid: dict[str, Any], day: date) -> dict[str, Any]:
    """A result the TSO may send for ``bid``: 0 up to the offered MW, the price if any."""
    offered_mw = bid["offered_kw"] // 1000
    mw = draw(st.one_of(st.just(0), st.just(offered_mw), st.integers(0, offered_mw)))
    item: dict[str, Any] = {"bidId": bid["bid_id"], "acceptedQuantity": {"quantity": mw}}
    if draw(st.booleans()):
        item["acceptedQuantity"]["measureUnit"] = "MAW"
    if draw(st.booleans()):
        item["deliveryDate"] = day.isoformat()
    if mw or draw(st.booleans()):
        cents = draw(st.integers(0, 1_500_000))
        item["prices"] = [
            {
                "amount": f"{cents / 100:.2f}",
                "paymentDirection": draw(st.sampled_from(["GRID_TO_PROVIDER", "PROVIDER_TO_GRID"])),
            }
        ]
    if mw == 0 and draw(st.booleans()):
        del item["acceptedQuantity"]  # no quantity: nothing accepted
    return item


@st.composite
def result_documents(draw: st.DrawFn) -> tuple[date, Rows, list[Any]]:
    """An export and a TSO result document for some of its bids; with some chance, broken
    items among them: a bid of another organisation or day (not exported), a name that is
    no id, a bid twice, or an item of an exported bid breaking a rule of the result."""
    day = draw(days)
    exported = draw(exported_rows(day, max_size=8))
    answered = (
        draw(st.lists(st.sampled_from(exported), unique_by=lambda b: b["bid_id"]))
        if exported
        else []
    )
    document: list[Any] = [draw(valid_items(b, day)) for b in answered]
    if draw(st.booleans()):
        return day, exported, document
    kinds = ["foreign", "no id", "not an object"]
    if exported:
        kinds += ["twice", "twice", "over the offer", "over the offer", "broken", "broken"]
    # Mostly one broken item, so that no other problem hides the one at hand.
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(kinds))
        item: Any
        if kind == "foreign":
            item = {"bidId": draw(st.sampled_from(["bid-999", "other-org-bid", ""]))}
        elif kind == "no id":
            item = {"bidId": draw(st.sampled_from([None, 7, ["bid-000"]]))}
        elif kind == "not an object":
            item = draw(st.sampled_from(["bid-000", 1, None, ["bid-000"]]))
        elif kind == "twice":
            item = draw(valid_items(draw(st.sampled_from(exported)), day))
            document.append(dict(item))
        elif kind == "over the offer":
            bid = draw(st.sampled_from(exported))
            item = {
                "bidId": bid["bid_id"],
                "acceptedQuantity": {
                    "quantity": bid["offered_kw"] // 1000 + draw(st.integers(1, 3))
                },
                "prices": [{"amount": "10.00"}],
            }
        else:
            _, broken = draw(st.sampled_from(BROKEN_ITEMS))
            item = {"bidId": draw(st.sampled_from(exported))["bid_id"], **broken}
        document.insert(draw(st.integers(0, len(document))), item)
    return day, exported, document


# Cheap examples, and many kinds of broken items: more of them than the profile's default.
@settings(max_examples=max(300, settings().max_examples))
@given(result_documents())
def test_an_import_marks_only_exported_bids_each_once_within_the_offer(
    case: tuple[date, Rows, list[Any]],
) -> None:
    day, exported, document = case
    note(f"document {document}")
    try:
        results = read_results(document, frame(exported, EXPORTED), day)
    except DomainError:
        return  # refused whole: nothing is marked
    assert results.schema == RESULTS
    offered = {b["bid_id"]: b["offered_kw"] for b in exported}
    ids = results["bid_id"].to_list()
    assert set(ids) <= set(offered)
    assert len(ids) == len(set(ids)) == len(document)
    for r in results.iter_rows(named=True):
        assert 0 <= r["accepted_kw"] <= offered[r["bid_id"]]
        assert r["accepted_kw"] % 1000 == 0
        assert (r["accepted_price_cents"] is None) == (r["accepted_kw"] == 0)
        expected = (
            "rejected"
            if r["accepted_kw"] == 0
            else "accepted"
            if r["accepted_kw"] == offered[r["bid_id"]]
            else "partially_accepted"
        )
        assert r["status"] == expected


FINE = {"bidId": "theirs", "acceptedQuantity": {"quantity": 0}}
# A second item after FINE that refuses the import on its own.
REFUSED_ALONE: tuple[tuple[str, Any], ...] = (
    *((what, {"bidId": "mine", **broken}) for what, broken in BROKEN_ITEMS),
    ("more than offered", {"bidId": "mine", "acceptedQuantity": {"quantity": 3}, "prices": []}),
    ("a bid not exported", {"bidId": "not-exported", "acceptedQuantity": {"quantity": 0}}),
    ("no bid id", {"bidId": None}),
    ("not an object", "mine"),
    ("a bid twice", FINE),
)


@pytest.mark.parametrize(("what", "item"), REFUSED_ALONE, ids=[w for w, _ in REFUSED_ALONE])
def test_each_broken_result_alone_refuses_the_whole_import(what: str, item: Any) -> None:
    day = date(2026, 11, 29)
    fcr = (f"{day}_NEGPOS_08_12", "fcr", "NEGPOS", day, 2000, 1250, None)
    exported = pl.DataFrame([(b, *fcr) for b in ("mine", "theirs")], EXPORTED, orient="row")
    with pytest.raises(DomainError) as refused:
        read_results([FINE, item], exported, day)
    assert [p.row for p in refused.value.problems] == [2]


# --------------------------------------------------------------------------- c. export


@given(st.data())
def test_each_exported_bid_is_one_tso_bid_of_its_id_and_whole_mw(data: st.DataObject) -> None:
    day = data.draw(days)
    rows = data.draw(exported_rows(day))
    bids = frame(rows, EXPORTED)
    out = tso_bids(bids, TENNET_DE)
    assert [b["bidId"] for b in out] == [r["bid_id"] for r in rows]
    for tso, row in zip(out, rows, strict=True):
        assert tso["offeredQuantity"] == {
            "quantity": row["offered_kw"] // 1000,
            "measureUnit": "MAW",
        }
        assert tso["offeredQuantity"]["quantity"] * 1000 == row["offered_kw"]
        assert tso["deliveryDate"] == day.isoformat()
        assert f"{day.isoformat()}_{tso['productName']}" == row["product_code"]
    # Nothing but the rows counts: the same rows give the same document, and each row the
    # same TSO bid alone or among others, in any order.
    assert tso_bids(bids, TENNET_DE) == out
    assert [tso_bids(bids.slice(i, 1), TENNET_DE) for i in range(len(rows))] == [[b] for b in out]
    order = data.draw(st.permutations(range(len(rows))))
    shuffled = tso_bids(frame([rows[i] for i in order], EXPORTED), TENNET_DE)
    assert shuffled == [out[i] for i in order]
