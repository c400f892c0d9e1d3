"""Ancillary lines: the FCR/aFRR revenue the operator passes on to each virtual asset's owner,
less a credit where an outage left accepted reserve undelivered.

The operator offers its customers' reserve to the TSO as its own; the TSO's result marks
each customer bid with ``accepted_kw`` and ``accepted_price_cents``. These lines hand that
money on. They follow the money conventions of ``settlement.invoices``: ``amount_units``
in 1e-5 EUR (1 kW × 1 cent), exact; what the customer pays positive, what it gets back
negative. They are no part of the clearing revenue: the award lines alone reconcile with
it.

Rules
-----
Ancillary revenue
    One line per bid with accepted_kw > 0. Both prices are per MW and hour (capacity:
    cents per MW per hour of the window; energy: cents per MWh, and a MWh is a MW for an
    hour), so::

        revenue = accepted_kw × price_cents × window_minutes / 60          (units)

    Capacity windows are whole hours (4, or 3 and 5 on the DST days): exact. An energy
    quarter-hour is a quarter of that, rounded half-even to the unit (exact for whole
    MW, as the TSO accepts). The line is −revenue: the owner gets it. A negative price
    (the markets allow down to −15,000 EUR) flips the sign: the owner pays.
Ancillary credit
    Only for bids with a positive revenue: at a price ≤ 0 there is nothing to take back
    (the owner is not paid back for reserve it failed to give). In each MTU of the
    block's grid that the product's window touches, the block keeps power_kw − lost_kw
    (lost_kw the largest loss of a stretch touching that MTU, at most power_kw, as in
    ``dispatch.slices.lost_per_mtu``); what it no longer holds of the accepted reserve
    is undelivered::

        undelivered_kw = max(0, accepted_kw − (power_kw − lost_kw))
        credit = revenue × undelivered_kw × n_mtu / (accepted_kw × window_mtu)

    rounded half-even to the unit, one line per run of consecutive MTUs with the same
    undelivered kW, clipped to the window. Should a bid's rounded credits exceed its
    revenue (by rounding alone), the excess is taken off its largest lines, as for the
    unavailability credit: a bid never gives back more than it got.
"""

from __future__ import annotations

import polars as pl

from auction.book import UTC_TIME, schema
from auction.errors import DomainError, Problem
from auction.timegrid import DEFAULT_TIME_ZONE, mtu_index_expr, mtu_us, offset_us_expr
from auction.units import fixed_point_str, mw_str
from auction.wallclock import window_expr
from dispatch.ancillary.bids import MAX_PRICE_CENTS
from dispatch.ancillary.products import BLOCK_MARKET, FILE
from settlement.exact import (
    MAX_DENOMINATOR,
    cap,
    div_half_even,
    grouped,
    money_str,
    mwh,
    scaled,
)
from settlement.invoices import LINES, MARKET_NAMES
from settlement.totals import ANCILLARY_KINDS, KINDS

# What an accepted bid must tell: ``auction.store.ancillary.AncillaryBid``'s columns that
# settlement reads (extra columns are ignored).
ANCILLARY_BIDS = schema(
    {
        "bid_id": pl.String,
        "virtual_asset_id": pl.String,
        "org_id": pl.String,
        "block_id": pl.String,
        "product_code": pl.String,  # productDateCode, e.g. 2026-12-01_NEGPOS_00_04
        "market": pl.String,  # fcr, afrr_capacity, afrr_energy
        "start": UTC_TIME,
        "end": UTC_TIME,
        "status": pl.String,
        "accepted_kw": pl.Int64,
        "accepted_price_cents": pl.Int64,  # capacity: per MW per hour; energy: per MWh
    }
)
PRODUCT_MARKETS = {"fcr": "FCR", "afrr_capacity": "aFRR capacity", "afrr_energy": "aFRR energy"}
ACCEPTED = ("accepted", "partially_accepted")
_US_PER_MINUTE = 60_000_000
_KEYS = ("virtual_asset_id", "org_id", "bid_id", "product_id", "start", "end")


def ancillary_lines(
    bids: pl.DataFrame,
    blocks: pl.DataFrame,
    lost: pl.DataFrame,
    auction_id: str,
    *,
    mtu_minutes: int = 15,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> pl.DataFrame:
    """The ancillary lines (``LINES``) of the bids on one auction's reserve blocks.

    ``bids`` as ``ANCILLARY_BIDS`` (bids without accepted kW give no line), ``blocks``
    the auction's blocks (block_id, virtual_asset_id, market, power_kw, start, end: as
    ``auction.store.results.RESULT_SCHEMAS["blocks"]``), ``lost`` as
    ``dispatch.slices.LOST``, ``mtu_minutes`` the auction's. ``time_zone`` only words
    the descriptions. Raises ``DomainError`` when an accepted bid does not fit its block.
    """
    won = _accepted(bids, blocks, mtu_minutes)
    lines = pl.concat(
        [_revenue_lines(won, time_zone), _credit_lines(won, lost, mtu_minutes, time_zone)],
        how="vertical_relaxed",
    ).with_columns(auction_id=pl.lit(auction_id, pl.String))
    kind_order = pl.col("kind").replace_strict(KINDS, list(range(len(KINDS))))
    return lines.sort(
        "org_id", "product_id", "virtual_asset_id", kind_order, "start", "bid_id", nulls_last=True
    ).select(*(pl.col(c).cast(t) for c, t in LINES.items()))


def _accepted(bids: pl.DataFrame, blocks: pl.DataFrame, mtu_minutes: int) -> pl.DataFrame:
    """The bids with accepted kW, with their block, window and revenue; each checked."""
    name = pl.col("product_code").str.replace(r"^[^_]*_", "")
    won = (
        bids.filter(pl.col("accepted_kw") > 0)
        .select(*(pl.col(c).cast(t) for c, t in ANCILLARY_BIDS.items()))
        .with_columns(name=name, direction=name.str.extract(r"^(NEGPOS|POS|NEG)_", 1))
        .join(
            blocks.select(
                "block_id",
                pl.col("power_kw").cast(pl.Int64),
                block_va="virtual_asset_id",
                block_market="market",
                block_start="start",
                block_end="end",
            ),
            on="block_id",
            how="left",
        )
    )
    start, end, block_start = pl.col("start"), pl.col("end"), pl.col("block_start")
    window_us = offset_us_expr(end, start)
    won = won.with_columns(
        minutes=window_us // _US_PER_MINUTE,
        first_mtu=mtu_index_expr(start, block_start, mtu_minutes),
        window_mtu=mtu_index_expr(end, block_start, mtu_minutes, ceil=True)
        - mtu_index_expr(start, block_start, mtu_minutes),
    )
    kw, price, market = pl.col("accepted_kw"), pl.col("accepted_price_cents"), pl.col("market")
    whole = pl.when(market == "afrr_energy").then(15).otherwise(60).cast(pl.Int64) * _US_PER_MINUTE
    drawn_on = pl.col("direction").replace_strict(BLOCK_MARKET, default=None)
    no_block = pl.col("block_va").is_null()
    known = market.is_in(list(PRODUCT_MARKETS))
    # (column, rule, broken): a rule of the bid alone is broken where it cannot be judged
    # (a null); one that needs the block only where there is one (else block_id says so).
    own = [
        ("bid_id", "bid_id must be unique", pl.col("bid_id").is_duplicated()),
        (
            "status",
            "a bid with accepted_kw must be accepted or partially_accepted",
            ~pl.col("status").is_in(ACCEPTED),
        ),
        (
            "accepted_price_cents",
            "accepted_price_cents must be given, within ±15,000.00 EUR",
            price.abs() > MAX_PRICE_CENTS,
        ),
        (
            "market",
            f"market must be one of {', '.join(PRODUCT_MARKETS)}",
            ~known,
        ),
        (
            "product_code",
            "product_code must name a product of the market (NEGPOS: fcr; POS, NEG: aFRR)",
            known & ((market == "fcr") != (pl.col("direction") == "NEGPOS")),
        ),
        (
            "end",
            "the window must be whole hours (capacity) or whole quarter-hours (energy)",
            (window_us <= 0) | (window_us % whole != 0),
        ),
        (
            "block_id",
            "block_id must be a block of the bid's virtual asset, of the market it draws on",
            no_block
            | (pl.col("block_va") != pl.col("virtual_asset_id"))
            | (pl.col("block_market") != drawn_on),
        ),
    ]
    of_block = [
        (
            "start",
            "the window must lie inside the block",
            (start < block_start) | (end > pl.col("block_end")),
        ),
        (
            "accepted_kw",
            "accepted_kw must be at most the block's power_kw",
            kw > pl.col("power_kw"),
        ),
        (
            "accepted_kw",
            "accepted_kw × window MTUs must be below 2**31",
            kw * pl.col("window_mtu") >= MAX_DENOMINATOR,
        ),
    ]
    broken = [(c, r, b.fill_null(True)) for c, r, b in own]
    broken += [(c, r, b.fill_null(False) & ~no_block) for c, r, b in of_block]
    problems = [
        Problem(FILE, None, column, bid, rule)
        for column, rule, bad in broken
        for bid in won.filter(bad)["bid_id"]
    ]
    if problems:
        raise DomainError(problems)
    revenue = div_half_even(kw * price * pl.col("minutes"), 60)
    return won.with_columns(
        revenue=revenue, product_id="product_code", window_start=start, window_end=end
    )


def _worded(time_zone: str) -> dict[str, pl.Expr]:
    """The product, window, quantity, unit and unit price of a bid's lines, in words."""
    kw, minutes = pl.col("accepted_kw"), pl.col("minutes")
    energy = pl.col("market") == "afrr_energy"
    market = pl.col("market").replace_strict(PRODUCT_MARKETS, default=pl.col("market"))
    return {
        "product": pl.format("{} {}", market, "name"),
        "window": window_expr(pl.col("window_start"), pl.col("window_end"), time_zone),
        # Energy windows are whole quarter-hours: kW × minutes / 60 × 1000 Wh is exact.
        "quantity": pl.when(energy).then(mwh(kw * minutes * 50 // 3)).otherwise(mw_str(kw)),
        "unit": pl.when(energy).then(pl.lit("MWh")).otherwise(pl.lit("MW")),
        "unit_price_eur": money_str(pl.col("accepted_price_cents"), 2),
    }


def _revenue_lines(won: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    """One line per accepted bid: −revenue (module rules)."""
    words = _worded(time_zone)
    mw = mw_str(pl.col("accepted_kw"))
    hours = fixed_point_str(pl.col("minutes") * 5 // 3, 2)  # exact on quarter-hours
    how = (
        pl.when(pl.col("market") == "afrr_energy")
        .then(
            pl.format(
                "{} MW for {} h = {} MWh at {} EUR/MWh",
                mw,
                hours,
                words["quantity"],
                words["unit_price_eur"],
            )
        )
        .otherwise(pl.format("{} MW at {} EUR/MW/h for {} h", mw, words["unit_price_eur"], hours))
    )
    paying = pl.when(pl.col("accepted_price_cents") < 0).then(
        pl.lit(" (a negative price: you pay)")
    )
    return won.select(
        *_KEYS,
        kind=pl.lit("ancillary_revenue"),
        description=pl.format(
            "Ancillary revenue of {}, {}: {}{}",
            words["product"],
            words["window"],
            how,
            paying.otherwise(pl.lit("")),
        ),
        quantity=words["quantity"],
        unit=words["unit"],
        unit_price_eur=words["unit_price_eur"],
        amount_units=-pl.col("revenue"),
    )


def _credit_lines(
    won: pl.DataFrame, lost: pl.DataFrame, mtu_minutes: int, time_zone: str
) -> pl.DataFrame:
    """Credits for undelivered reserve: per bid, one line per run of MTUs alike."""
    payers = won.filter(pl.col("revenue") > 0)
    block_start = pl.col("block_start")
    last_mtu = pl.col("first_mtu") + pl.col("window_mtu")
    # One row per (stretch, MTU of the window it touches), then the largest loss per MTU.
    per_mtu = (
        lost.select(
            "block_id", lost_start="start", lost_end="end", lost_kw=pl.col("lost_kw").cast(pl.Int64)
        )
        .filter(pl.col("lost_kw") > 0)
        .join(
            payers.select("bid_id", "block_id", "block_start", "first_mtu", "window_mtu"),
            on="block_id",
        )
        .with_columns(
            lo=mtu_index_expr(pl.col("lost_start"), block_start, mtu_minutes).clip(
                pl.col("first_mtu"), last_mtu
            ),
            hi=mtu_index_expr(pl.col("lost_end"), block_start, mtu_minutes, ceil=True).clip(
                pl.col("first_mtu"), last_mtu
            ),
        )
        .filter(pl.col("lo") < pl.col("hi"))
        .with_columns(mtu=pl.int_ranges("lo", "hi"))
        .explode("mtu")
        .group_by("bid_id", "mtu")
        .agg(pl.col("lost_kw").max())
        .join(payers, on="bid_id")
        .with_columns(lost_kw=pl.min_horizontal("lost_kw", "power_kw"))
        .with_columns(
            undelivered_kw=(pl.col("accepted_kw") - pl.col("power_kw") + pl.col("lost_kw")).clip(
                lower_bound=0
            )
        )
        .filter(pl.col("undelivered_kw") > 0)
        .sort("bid_id", "mtu")
    )
    same = pl.col("mtu") == pl.col("mtu").shift() + 1
    for col in ("bid_id", "undelivered_kw"):
        same &= pl.col(col) == pl.col(col).shift()
    runs = (
        per_mtu.with_columns(run=(~same).fill_null(True).cum_sum())
        .group_by("run", maintain_order=True)
        .agg(pl.all().exclude("mtu").first(), run_mtu=pl.col("mtu").first(), n=pl.len())
        .with_columns(n=pl.col("n").cast(pl.Int64))
    )
    exact = scaled(
        pl.col("revenue"),
        pl.col("undelivered_kw") * pl.col("n"),
        pl.col("accepted_kw") * pl.col("window_mtu"),
    )
    step = mtu_us(mtu_minutes)
    mtu_start = block_start + pl.duration(microseconds=pl.col("run_mtu") * step)
    mtu_end = mtu_start + pl.duration(microseconds=pl.col("n") * step)
    runs = runs.with_columns(
        credit=exact,
        start=pl.max_horizontal(mtu_start, "start"),
        end=pl.min_horizontal(mtu_end, "end"),
    )
    words = _worded(time_zone)
    block = pl.col("block_market").replace_strict(MARKET_NAMES, default=pl.col("block_market"))
    return cap(runs, "bid_id", "revenue").select(
        *_KEYS,
        kind=pl.lit("ancillary_credit"),
        description=pl.format(
            "Reserve not delivered {} of {}, {}: {} of the {} kW accepted "
            "({} kW of the {} kW {} block lost), {}/{} of the window",
            window_expr(pl.col("start"), pl.col("end"), time_zone),
            words["product"],
            words["window"],
            grouped(pl.col("undelivered_kw")),
            grouped(pl.col("accepted_kw")),
            grouped(pl.col("lost_kw")),
            grouped(pl.col("power_kw")),
            block,
            "n",
            "window_mtu",
        ),
        quantity=words["quantity"],
        unit=words["unit"],
        unit_price_eur=words["unit_price_eur"],
        amount_units="credit",
    )


__all__ = ["ANCILLARY_BIDS", "ANCILLARY_KINDS", "PRODUCT_MARKETS", "ancillary_lines"]
