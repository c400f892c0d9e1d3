"""Hypothesis strategies for small, valid auction archives, and hand-built archives.

Everything here builds ``Archive`` objects directly as polars frames with the exact
schemas of ``auction.book`` (timestamps UTC, MW on the 1 kW grid, EUR on the cent grid),
the form ``read_archive`` returns. Instances are kept tiny (at most 4 assets, 3 products,
8 bids) so that the reference MILP of the checker solves in milliseconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import strategies as st

from auction.book import ALLOCATIONS, AVAILABILITY, BIDS, FLEET, PRODUCTS
from auction.model import TENNET_DE, Archive, AuctionConfig
from auction.timegrid import day_bounds, mtu_count

BERLIN = ZoneInfo("Europe/Berlin")
OTHER_ZONE = "10YDE-VE-------2"  # 50Hertz: assets there cannot back blocks
NORMAL_DAY = date(2026, 11, 29)
SPRING_FORWARD = date(2026, 3, 29)  # 23 h, 92 MTUs
FALL_BACK = date(2026, 10, 25)  # 25 h, 100 MTUs
MTU = timedelta(minutes=15)
Rows = list[dict[str, Any]]

# --------------------------------------------------------------------------- hand-built rows


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time of ``day`` (Europe/Berlin) as the UTC instant frames hold."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def asset(asset_id: str, mw: float, mwh: float, **extra: Any) -> dict[str, Any]:
    """A fleet row in TenneT DE: ``mw`` each way, ``mwh`` usable, no reserve prequalification."""
    row = {
        "asset_id": asset_id,
        "tso_zone": TENNET_DE,
        "p_charge_mw": mw,
        "p_discharge_mw": mw,
        "e_min_mwh": 0.0,
        "e_max_mwh": mwh,
        "fcr": False,
        "afrr_pos": False,
        "afrr_neg": False,
        "owner_org": None,
        "eta_charge": 0.95,
        "eta_discharge": 0.95,
    }
    return row | extra


def product(product_id: str = "p1", day: date = NORMAL_DAY, **extra: Any) -> dict[str, Any]:
    """A products row: 10:00-14:00 local, 1 MW wholesale per MW with 2 h, increment 1 MW."""
    row = {
        "product_id": product_id,
        "start": local(day, 10),
        "end": local(day, 14),
        "wholesale_mw": 1.0,
        "wholesale_h": 2.0,
        "fcr_mw": 0.0,
        "afrr_pos_mw": 0.0,
        "afrr_neg_mw": 0.0,
        "min_mw": 1.0,
        "increment_mw": 1.0,
        "reserve_price_eur_per_mw": 0.0,
        "max_mw": None,
        "eta_charge": 1.0,
        "eta_discharge": 1.0,
        "daily_cycle_limit": None,
    }
    return row | extra


def bid(
    bid_id: str, org: str, mw: float, price: float, product_id: str = "p1", **extra: Any
) -> dict[str, Any]:
    """A bids row, submitted at 09:00 UTC on 2026-11-26 unless ``submitted_at`` is given."""
    row = {
        "bid_id": bid_id,
        "org_id": org,
        "product_id": product_id,
        "quantity_mw": mw,
        "min_quantity_mw": None,
        "price_eur_per_mw": price,
        "submitted_at": datetime(2026, 11, 26, 9, tzinfo=UTC),
        "exclusive_group": None,
        "linked_to": None,
    }
    return row | extra


def make_archive(
    fleet: Rows,
    products: Rows,
    bids: Rows,
    allocations: Rows | None = None,
    availability: Rows | None = None,
    day: date = NORMAL_DAY,
    auction_id: str = "golden",
) -> Archive:
    """An archive from rows, with the exact frame schemas of ``auction.book``."""
    return Archive(
        config=AuctionConfig(auction_id=auction_id, delivery_day=day),
        fleet=pl.DataFrame(fleet, schema=FLEET),
        availability=pl.DataFrame(availability or [], schema=AVAILABILITY),
        products=pl.DataFrame(products, schema=PRODUCTS),
        bids=pl.DataFrame(bids, schema=BIDS),
        allocations=pl.DataFrame(allocations or [], schema=ALLOCATIONS),
    )


def replace_frames(archive: Archive, **frames: pl.DataFrame) -> Archive:
    """``archive`` with some of its frames replaced."""
    parts = {
        "config": archive.config,
        "fleet": archive.fleet,
        "availability": archive.availability,
        "products": archive.products,
        "bids": archive.bids,
        "allocations": archive.allocations,
    }
    return Archive(**(parts | frames))


# --------------------------------------------------------------------------- strategies

days = st.sampled_from([NORMAL_DAY, NORMAL_DAY, SPRING_FORWARD, FALL_BACK])
# Block MW per MW of product: the recipe factors.
factors = st.sampled_from([0.0, 0.5, 1.0])
increments_kw = st.sampled_from([100, 1000])
ORGS = ("A", "B", "C")
# Any cent price, or one of a few round ones so that equal prices (ties) are common.
prices_cents = st.one_of(st.integers(0, 6000), st.sampled_from([1000, 2550, 3000, 4001]))


@st.composite
def fleets(draw: st.DrawFn) -> Rows:
    """1-4 assets: some outside the zone, some not prequalified, some slow to charge."""
    n = draw(st.integers(1, 4))
    rows = []
    for i in range(n):
        p_mw = draw(st.sampled_from([0.0, 1.0, 2.0, 2.5, 5.0, 10.0]))
        slow = draw(st.booleans())
        e_min = draw(st.sampled_from([0.0, 0.0, 0.5]))
        hours = draw(st.sampled_from([0.5, 1.0, 2.0]))
        rows.append(
            {
                "asset_id": f"a{i + 1}",
                # Mostly in the zone: an auction with no asset in it is dull.
                "tso_zone": draw(st.sampled_from([TENNET_DE, TENNET_DE, TENNET_DE, OTHER_ZONE])),
                "p_charge_mw": round(p_mw * 0.8, 3) if slow else p_mw,
                "p_discharge_mw": p_mw,
                "e_min_mwh": e_min,
                "e_max_mwh": e_min + p_mw * hours,
                "fcr": draw(st.booleans()),
                "afrr_pos": draw(st.booleans()),
                "afrr_neg": draw(st.booleans()),
                "owner_org": None,
                "eta_charge": draw(st.sampled_from([0.9, 0.95, 1.0])),
                "eta_discharge": draw(st.sampled_from([0.9, 0.95, 1.0])),
            }
        )
    return rows


@st.composite
def availabilities(draw: st.DrawFn, fleet: Rows, day: date) -> Rows:
    """0-3 availability rows on the MTU grid: outages, derates and full-day outages."""
    start, _ = day_bounds(day)
    n_mtu = mtu_count(day)
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        asset_id = draw(st.sampled_from([a["asset_id"] for a in fleet]))
        if draw(st.booleans()):
            first, last = 0, n_mtu  # the whole day
        else:
            first = draw(st.integers(0, n_mtu - 1))
            last = draw(st.integers(first + 1, min(first + 16, n_mtu)))
        rows.append(
            {
                "asset_id": asset_id,
                "start": start + first * MTU,
                "end": start + last * MTU,
                "available_fraction": draw(st.sampled_from([0.0, 0.5, 1.0])),
            }
        )
    return rows


@st.composite
def product_rows(draw: st.DrawFn, day: date) -> Rows:
    """1-3 products on the MTU grid of ``day``; windows often share edges and overlap."""
    start, _ = day_bounds(day)
    n_mtu = mtu_count(day)
    # Edges: the day's ends, local 6/12/18 h, or any MTU: overlaps are likely.
    edges = sorted({0, n_mtu, n_mtu // 4, n_mtu // 2, 3 * n_mtu // 4})
    edge = st.one_of(st.sampled_from(edges), st.integers(0, n_mtu))
    rows = []
    for i in range(draw(st.integers(1, 3))):
        first, last = sorted(draw(st.lists(edge, min_size=2, max_size=2, unique=True)))
        recipe = draw(st.tuples(factors, factors, factors, factors))
        if not any(recipe):
            recipe = (1.0, *recipe[1:])
        inc_kw = draw(increments_kw)
        max_units = draw(st.one_of(st.none(), st.integers(1, 8)))
        rows.append(
            {
                "product_id": f"p{i + 1}",
                "start": start + first * MTU,
                "end": start + last * MTU,
                "wholesale_mw": recipe[0],
                "wholesale_h": draw(st.sampled_from([0.5, 1.0, 2.0])) if recipe[0] else 0.0,
                "fcr_mw": recipe[1],
                "afrr_pos_mw": recipe[2],
                "afrr_neg_mw": recipe[3],
                "min_mw": inc_kw / 1000,
                "increment_mw": inc_kw / 1000,
                "reserve_price_eur_per_mw": draw(st.integers(0, 3000)) / 100,
                "max_mw": None if max_units is None else max_units * inc_kw / 1000,
                "eta_charge": 1.0,
                "eta_discharge": 1.0,
                "daily_cycle_limit": None,
            }
        )
    return rows


@st.composite
def bid_rows(draw: st.DrawFn, products: Rows, day: date) -> Rows:
    """0-8 bids: quantities on the increment, optional minimums (some all-or-nothing),
    cent prices, a few distinct submission times (ties happen), exclusive groups of one
    org, and links to an earlier bid of the same org (so links never loop)."""
    gate = local(day - timedelta(days=3), 9)
    rows: Rows = []
    for i in range(draw(st.integers(0, 8))):
        p = draw(st.sampled_from(products))
        inc_kw = round(p["increment_mw"] * 1000)
        units = draw(st.integers(1, 12))
        minimum = draw(
            st.one_of(st.none(), st.just(units), st.integers(1, units)),
        )
        org = draw(st.sampled_from(ORGS))
        earlier = [r["bid_id"] for r in rows if r["org_id"] == org]
        linked_to = draw(st.one_of(st.none(), st.sampled_from(earlier))) if earlier else None
        rows.append(
            {
                "bid_id": f"b{i + 1}",
                "org_id": org,
                "product_id": p["product_id"],
                "quantity_mw": units * inc_kw / 1000,
                "min_quantity_mw": None if minimum is None else minimum * inc_kw / 1000,
                "price_eur_per_mw": draw(prices_cents) / 100,
                "submitted_at": gate + timedelta(minutes=draw(st.integers(0, 4))),
                "exclusive_group": draw(st.sampled_from([None, None, None, "g1", "g2"])),
                "linked_to": linked_to,
            }
        )
    return rows


@st.composite
def allocation_rows(draw: st.DrawFn, products: Rows) -> Rows:
    """0-2 small fixed allocations, one per (org, product), within each product's max_mw."""
    rows = []
    used: dict[str, float] = {}
    for org in ("OPT", "OPT2")[: draw(st.integers(0, 2))]:
        p = draw(st.sampled_from(products))
        inc_mw = p["increment_mw"]
        mw = round(draw(st.integers(1, 3)) * inc_mw, 3)
        cap = p["max_mw"]
        total = round(used.get(p["product_id"], 0.0) + mw, 3)
        if cap is not None and total > cap + 1e-9:
            continue
        used[p["product_id"]] = total
        rows.append({"org_id": org, "product_id": p["product_id"], "quantity_mw": mw})
    return rows


@st.composite
def archives(draw: st.DrawFn) -> Archive:
    """A tiny valid auction: the frames ``read_archive`` would return for it."""
    day = draw(days)
    fleet = draw(fleets())
    products = draw(product_rows(day))
    return make_archive(
        fleet=fleet,
        products=products,
        bids=draw(bid_rows(products, day)),
        allocations=draw(allocation_rows(products)),
        availability=draw(availabilities(fleet, day)),
        day=day,
        auction_id="prop",
    )


def shuffled(archive: Archive, seed: int) -> Archive:
    """``archive`` with the rows of every table in another order."""
    return replace_frames(
        archive,
        **{
            name: getattr(archive, name).sample(fraction=1.0, shuffle=True, seed=seed + i)
            for i, name in enumerate(("fleet", "availability", "products", "bids", "allocations"))
        },
    )
