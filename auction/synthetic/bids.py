"""The bid book of a synthetic day, and the fixed allocation beside it.

Organisations bid in persistent styles (``BidderStyles``). Bids are built as arrays (no
Python loop per bid): a 100,000-bid book takes well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from auction.book import ALLOCATIONS, BIDS
from auction.synthetic.frames import FloatArray, IntArray, conform, utc_series
from auction.synthetic.products import DEFAULT_PRICE_SCALE, PriceScale, ProductSpec, product_values
from auction.synthetic.scenario import Scenario

ORG_NAMES = (
    "northwind-trading",
    "alpenflex-energy",
    "baltic-power-desk",
    "rheinwerk-trading",
    "helios-arbitrage",
    "kestrel-energy-markets",
    "nordlicht-handel",
    "quantwatt",
    "spreewald-power",
    "meridian-flex",
    "isar-energy-trading",
    "tidewater-commodities",
    "hanse-volt",
    "lumen-trading",
    "elbe-flex-markets",
    "greyhound-power",
)
ALLOCATION_ORG = "designated-optimiser"


def org_names(n_orgs: int) -> list[str]:
    """Trading-firm-like organisation ids; generic ones beyond the named list."""
    named = list(ORG_NAMES[:n_orgs])
    return named + [f"trader-{i:03d}" for i in range(len(named) + 1, n_orgs + 1)]


@dataclass(frozen=True, slots=True, eq=False)
class BidderStyles:
    """Who bids and how, per organisation (rows) and product (taste columns).

    ``activity`` sums to 1 (share of the bids), ``level`` is the price as a fraction of the
    product's value (aggressive ~1.0, conservative ~0.8), ``scatter`` the log-normal spread
    of that, ``tick_cents`` the price grid, and ``taste`` each org's product distribution
    (rows sum to 1). A history keeps them for the whole year, so strategies persist.
    """

    orgs: tuple[str, ...]
    activity: FloatArray
    level: FloatArray
    scatter: FloatArray
    tick_cents: IntArray
    taste: FloatArray


def draw_styles(
    rng: np.random.Generator, orgs: tuple[str, ...], popularity: FloatArray
) -> BidderStyles:
    """Random styles for ``orgs`` over products of the given ``popularity``.

    Some orgs bid a lot (activity falls with a random rank), half are aggressive.
    """
    n_org, n_prod = len(orgs), len(popularity)
    activity = np.asarray(1.0 / (1.0 + rng.permutation(n_org)) ** 0.8, dtype=np.float64)
    activity /= activity.sum()
    aggressive = rng.random(n_org) < 0.5
    level = np.where(aggressive, rng.uniform(0.92, 1.08, n_org), rng.uniform(0.72, 0.88, n_org))
    scatter = rng.uniform(0.04, 0.12, n_org)
    tick_cents = rng.choice(np.array([1, 1, 10, 50, 100, 100, 500]), n_org)
    taste = popularity[None, :] * rng.gamma(2.0, 0.5, (n_org, n_prod))
    taste /= taste.sum(axis=1, keepdims=True)
    return BidderStyles(orgs, activity, level, scatter, tick_cents, taste)


def _sample_rows(rng: np.random.Generator, cum: FloatArray, rows: IntArray) -> IntArray:
    """One column per row, drawn from the cumulative distributions ``cum[rows]``."""
    u = rng.random(len(rows))
    picked = (u[:, None] >= cum[rows]).sum(axis=1)
    return np.asarray(np.minimum(picked, cum.shape[1] - 1), dtype=np.int64)


def _big_group_sizes(rng: np.random.Generator, n_members: int, largest: int) -> IntArray:
    """Sizes of exclusive groups with ``n_members`` bids in all: 2 to ``largest``, most small."""
    draws = np.clip(np.round(rng.lognormal(np.log(6.0), 1.0, n_members)), 2, largest)
    sizes = draws.astype(np.int64)[: int(np.searchsorted(np.cumsum(draws), n_members)) + 1]
    if sizes.size:
        sizes[-1] -= int(sizes.sum()) - n_members
        if sizes[-1] < 2:  # fold a remainder of one into the previous group
            sizes = np.append(sizes[:-2], sizes[-2:].sum()) if sizes.size > 1 else sizes[:0]
    return sizes


def build_bids(
    rng: np.random.Generator,
    s: Scenario,
    specs: tuple[ProductSpec, ...],
    products: pl.DataFrame,
    gate_open_us: int,
    gate_close_us: int,
    *,
    scale: PriceScale = DEFAULT_PRICE_SCALE,
    styles: BidderStyles | None = None,
) -> pl.DataFrame:
    """The bid book.

    Bids come in three kinds, drawn in this order: plain bids, exclusive groups (2-3
    alternatives of one org on distinct products) and linked children (same org as a plain
    parent, another product). Each org has a persistent style: a price level (aggressive
    ~1.0 of the product's value, conservative ~0.8), a scatter and a price tick (cents to
    5 EUR). Ids ``b00001``... follow submission order.

    Prices scatter around the values at ``scale``. Without ``styles`` the ``s.n_orgs``
    organisations get fresh styles from ``rng`` (drawn first, so the sample's draws stay
    in order); with them, ``s.n_orgs`` is ignored and ``styles.taste`` has one column per
    spec.
    """
    n = s.n_bids
    n_prod = len(specs)

    # Products: increments in kW so that quantities are exact multiples.
    inc_kw = np.round(products["increment_mw"].to_numpy() * 1000).astype(np.int64)
    min_units = np.round(products["min_mw"].to_numpy() * 1000).astype(np.int64) // inc_kw
    max_mw = products["max_mw"].fill_null(np.inf).to_numpy()
    max_units = np.where(
        np.isfinite(max_mw), np.round(np.nan_to_num(max_mw, posinf=0) * 1000) // inc_kw, 10**9
    ).astype(np.int64)
    single = np.array([p.single_item for p in specs])
    hours = (products["end"] - products["start"]).dt.total_microseconds().to_numpy() / 3.6e9
    value = product_values(specs, hours, scale)
    reserve_cents = np.round(products["reserve_price_eur_per_mw"].to_numpy() * 100).astype(np.int64)
    popularity = np.array([p.popularity for p in specs])

    # Organisations: activity (some bid a lot), style and product taste.
    if styles is None:
        styles = draw_styles(rng, tuple(org_names(s.n_orgs)), popularity)
    if styles.taste.shape != (len(styles.orgs), n_prod):
        raise ValueError("styles.taste needs one row per org and one column per product")
    orgs, n_org = list(styles.orgs), len(styles.orgs)
    activity, level, scatter = styles.activity, styles.level, styles.scatter
    tick_cents, taste = styles.tick_cents, styles.taste
    cum_taste = np.cumsum(taste, axis=1)
    sentiment = np.exp(rng.normal(0.0, 0.08, n_prod))

    # Structure: how many bids of each kind.
    if s.max_group_size > 3:
        sizes = _big_group_sizes(rng, round(s.share_exclusive * n), s.max_group_size)
        n_groups = len(sizes)
    else:
        n_groups = round(s.share_exclusive * n / 2.5) if n_prod >= 2 else 0
        sizes = np.minimum(rng.choice(np.array([2, 3]), n_groups), n_prod).astype(np.int64)
    n_excl = int(sizes.sum())
    n_link = round(s.share_linked * n) if n_prod >= 2 else 0
    if n_excl + 2 * n_link > n:
        n_groups, sizes, n_excl, n_link = 0, sizes[:0], 0, 0
    n_plain = n - n_excl - n_link

    # Plain bids.
    org_p = rng.choice(n_org, n_plain, p=activity).astype(np.int64)
    prod_p = _sample_rows(rng, cum_taste, org_p)
    # Exclusive groups: distinct products per group by Gumbel top-k on the org's taste;
    # big groups draw each alternative's product from that taste, repeats allowed.
    org_g = rng.choice(n_org, n_groups, p=activity).astype(np.int64)
    group_of = np.repeat(np.arange(n_groups), sizes)
    rank_in_group = np.arange(n_excl) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    if s.max_group_size > 3:
        prod_g = _sample_rows(rng, cum_taste, org_g[group_of])
    else:
        keys = np.log(taste[org_g]) + rng.gumbel(size=(n_groups, n_prod))
        top = np.argsort(-keys, axis=1)[:, :3]
        prod_g = top[group_of, rank_in_group] if n_excl else np.zeros(0, dtype=np.int64)
    # Linked children: a distinct plain parent each, same org, another product.
    parent_p = rng.choice(n_plain, n_link, replace=False).astype(np.int64)
    prod_c = (prod_p[parent_p] + rng.integers(1, max(n_prod, 2), n_link)) % n_prod

    org = np.concatenate([org_p, org_g[group_of], org_p[parent_p]]).astype(np.int64)
    prod = np.concatenate([prod_p, prod_g, prod_c]).astype(np.int64)
    group = np.concatenate([np.full(n_plain, -1), group_of, np.full(n_link, -1)])
    parent = np.concatenate([np.full(n_plain + n_excl, -1), parent_p]).astype(np.int64)

    # Quantities: mostly a few MW (lognormal), whole multiples of the increment.
    q_mw = np.minimum(rng.lognormal(np.log(s.median_quantity_mw), 0.75, n), 25.0)
    q_units = np.maximum(np.round(q_mw * 1000 / inc_kw[prod]).astype(np.int64), min_units[prod])
    q_units = np.minimum(q_units, max_units[prod])
    # Minimums above one increment (some all-or-nothing); single items are all-or-nothing.
    min_q_units = np.full(n, -1, dtype=np.int64)
    can_min = np.flatnonzero(~single[prod] & (max_units[prod] >= 2))
    with_min = rng.choice(can_min, min(round(s.share_min * n), len(can_min)), replace=False)
    q_units[with_min] = np.maximum(q_units[with_min], 2)
    low = np.maximum(min_units[prod[with_min]], 2)
    min_q_units[with_min] = rng.integers(low, q_units[with_min] + 1)
    aon = with_min[: min(round(s.share_all_or_nothing * n), len(with_min))]
    min_q_units[aon] = q_units[aon]
    min_q_units[single[prod]] = q_units[single[prod]]

    # Prices: value x market sentiment x org level x scatter, a bit less per MW for big bids.
    raw = (
        value[prod]
        * sentiment[prod]
        * level[org]
        * np.exp(rng.normal(0.0, 1.0, n) * scatter[org])
        * (q_units * inc_kw[prod] / 3000.0) ** -0.03
    )
    tick = tick_cents[org]
    cents = np.maximum(np.round(raw * 100 / tick).astype(np.int64), 1) * tick

    # Submission times: skewed towards gate closure, whole seconds.
    open_s = -(-gate_open_us // 1_000_000)
    span_s = (gate_close_us // 1_000_000) - open_s
    t_s = open_s + np.floor(rng.beta(2.2, 1.0, n) * span_s).astype(np.int64)
    if n_excl:  # alternatives are entered together, seconds apart
        first = n_plain + np.cumsum(sizes) - sizes
        t_s[n_plain : n_plain + n_excl] = t_s[first[group_of]] + rank_in_group * rng.integers(
            2, 60, n_excl
        )
    t_s[n_plain + n_excl :] = t_s[parent_p] + rng.integers(5, 900, n_link)
    t_s = np.minimum(t_s, open_s + span_s - 1)

    # Ties: copy the price (and, for a third, the submission second) of another bid on the
    # same product, so that time priority and then bid_id have to decide.
    by_product = np.lexsort((rng.random(n), prod))
    same = prod[by_product[1:]] == prod[by_product[:-1]]
    pairs = np.flatnonzero(same)
    tied = rng.choice(pairs, min(round(s.share_tied * n), len(pairs)), replace=False)
    dst, src = by_product[tied + 1], by_product[tied]
    cents[dst] = cents[src]
    same_time = (rng.random(len(tied)) < 1 / 3) & (parent[dst] < 0) & (parent[src] < 0)
    t_s[dst[same_time]] = t_s[src[same_time]]
    # A few bids below the reserve price (never the single-item ones, to keep that race).
    not_single = np.flatnonzero(~single[prod])
    below = rng.choice(
        not_single, min(round(s.share_below_reserve * n), len(not_single)), replace=False
    )
    cents[below] = np.maximum(
        np.floor(reserve_cents[prod[below]] * rng.uniform(0.7, 0.97, len(below))), 1
    ).astype(np.int64)

    # Ids in submission order (ties by a random draw); children may share a second.
    order = np.lexsort((rng.random(n), t_s))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    width = max(5, len(str(n)))
    ids = pl.Series("bid_id", rank + 1, dtype=pl.Int64).cast(pl.String).str.zfill(width)
    ids = "b" + ids
    parent_rank = np.where(parent >= 0, rank[np.maximum(parent, 0)], -1)

    frame = pl.DataFrame(
        {
            "bid_id": ids,
            "org_id": pl.Series(orgs, dtype=pl.String).gather(org),
            "product_id": products["product_id"].gather(prod),
            "quantity_mw": q_units * inc_kw[prod] / 1000,
            "min_quantity_mw": np.where(min_q_units >= 0, min_q_units * inc_kw[prod], -1) / 1000,
            "price_eur_per_mw": cents / 100,
            "submitted_at": utc_series("submitted_at", t_s * 1_000_000),
            "group": group,
            "parent": parent_rank,
        }
    )
    id_by_rank = ids.gather(order)
    return (
        frame.with_columns(
            min_quantity_mw=pl.when(pl.col("min_quantity_mw") >= 0).then(pl.col("min_quantity_mw")),
            exclusive_group=pl.when(pl.col("group") >= 0).then(
                pl.format("alt-{}", (pl.col("group") + 1).cast(pl.String).str.zfill(3))
            ),
            linked_to=pl.when(pl.col("parent") >= 0).then(
                id_by_rank.gather(pl.Series(np.maximum(parent_rank, 0)))
            ),
        )
        .pipe(conform, BIDS)
        .sort("bid_id")
    )


def build_allocations(s: Scenario, products: pl.DataFrame) -> pl.DataFrame:
    """One fixed allocation for the designated optimiser on the first product (DAY-WS2)."""
    if s.allocation_mw == 0:
        return pl.DataFrame(schema=ALLOCATIONS)
    increment = float(products["increment_mw"][0])
    mw = max(round(s.allocation_mw / increment), 1) * round(increment * 1000) / 1000
    return pl.DataFrame(
        {
            "org_id": [ALLOCATION_ORG],
            "product_id": [products["product_id"][0]],
            "quantity_mw": [mw],
        },
        schema=ALLOCATIONS,
    )
