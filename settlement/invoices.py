"""Invoices: pay-as-bid awards, minus unavailability credits, plus SoC-imbalance charges.

Money is exact. Every line carries ``amount_units``, an Int64 in 1e-5 EUR: the engine's
money grid (1 kW × 1 cent, the unit of the clearing's ``payment_units``). Integers rather
than decimal strings because totals, the reconciliation and the checks are then plain
integer sums with nothing to parse; ``auction.units.payment_str`` writes EUR at the edge.
Signs: what the customer pays is positive (awards, charges), what it gets back negative.

Rules
-----
Award
    One line per award with awarded_kw > 0: amount = payment_units (awarded kW × price
    cents) exactly as the clearing priced it, so the award lines add up to the clearing
    revenue to the unit. A fixed allocation (a virtual asset without a bid) gets a line of 0.
Unavailability credit
    Only for virtual assets that pay something (never for fixed allocations). The price
    covers all of a VA's blocks for its whole window. An MTU touched by a lost stretch of
    a block counts as lost (stretches off the grid are widened to whole MTUs, as in
    ``dispatch.slices.lost_per_mtu``). In each MTU the VA loses the largest fraction
    lost_kw / power_kw over its blocks (max, not sum: a VA whose blocks are all lost gets
    its price back once; lost_kw above power_kw counts as the whole block). Consecutive
    MTUs in which the same block sets the same loss make one line::

        credit = payment_units × lost_kw / power_kw × n_mtu / window_mtu

    rounded half-even to the unit when not exact. Should a VA's rounded credits exceed
    what it paid (by rounding alone, only when nearly its whole window is lost), the
    excess is taken off its largest lines (the earlier of equal ones first): a VA is never
    credited more than it paid.
Imbalance charge
    Energies are read to the watt-hour (half-even). Charged Wh = max(|imbalance| −
    tolerance, 0), over- and under-charging alike; amount = Wh × price (cents per MWh)
    / 1000 units, rounded half-even. A line wherever some energy is charged, also for
    fixed allocations and also at a price of 0 (the clerk sees the imbalance).
Invoice
    Per auction and organisation: total = Σ lines, exact; amount due = the total rounded
    half-even to the cent, once per invoice (never per line), so it is within half a cent
    of the exact total.
"""

from __future__ import annotations

import polars as pl

from auction.book import INVOICE_LINES, MARKETS
from auction.csvsafe import write_csv
from auction.errors import DomainError, Problem
from auction.timegrid import (
    DEFAULT_TIME_ZONE,
    mtu_index_expr,
    mtu_us,
    offset_us_expr,
    on_grid_expr,
)
from auction.units import mw_str
from auction.wallclock import window_expr
from settlement.exact import (
    MAX_DENOMINATOR,
    cap,
    div_half_even,
    grouped,
    money_str,
    mwh,
    scaled,
)
from settlement.money import money
from settlement.totals import INVOICES, KINDS, invoices, kind_totals, reconcile

MARKET_NAMES = {"wholesale": "wholesale", "fcr": "FCR", "afrr_pos": "aFRR+", "afrr_neg": "aFRR-"}
# The columns that say whose a line is and what it covers.
_KEYS = ("virtual_asset_id", "org_id", "bid_id", "product_id", "start", "end")
# Far above any real imbalance price (reBAP peaks are ~15,000 EUR/MWh); keeps money finite.
MAX_IMBALANCE_PRICE_EUR = 1_000_000
LINES = INVOICE_LINES  # what the store keeps too


def invoice_lines(
    awards: pl.DataFrame,
    virtual_assets: pl.DataFrame,
    blocks: pl.DataFrame,
    lost: pl.DataFrame,
    imbalances: pl.DataFrame,
    imbalance_price_cents_per_mwh: int,
    auction_id: str,
    *,
    mtu_minutes: int = 15,
    time_zone: str = DEFAULT_TIME_ZONE,
    org_id: str | None = None,
) -> pl.DataFrame:
    """Every invoice line of one auction (``LINES``), or only ``org_id``'s.

    Frames as in ``auction.store.results.RESULT_SCHEMAS`` (extra columns are ignored),
    ``lost`` as ``dispatch.slices.LOST``, ``imbalances`` with virtual_asset_id,
    imbalance_kwh and tolerance_kwh. ``time_zone`` only words the descriptions.
    Raises ``DomainError`` when the frames do not belong together.
    """
    if imbalance_price_cents_per_mwh < 0:
        raise DomainError([_problem("imbalance price", imbalance_price_cents_per_mwh, "≥ 0")])
    vas = _windows(virtual_assets, mtu_minutes)
    paid = _paid(awards, vas)
    lines = pl.concat(
        [
            _award_lines(paid, vas, time_zone),
            _credit_lines(paid, blocks, lost, mtu_minutes, time_zone),
            _imbalance_lines(vas, imbalances, imbalance_price_cents_per_mwh),
        ],
        how="diagonal_relaxed",
    ).with_columns(auction_id=pl.lit(auction_id, pl.String))
    if org_id is not None:
        lines = lines.filter(pl.col("org_id") == org_id)
    kind_order = pl.col("kind").replace_strict(KINDS, list(range(len(KINDS))))
    return lines.sort(
        pl.col("org_id"), "product_id", "virtual_asset_id", kind_order, "start", nulls_last=True
    ).select(*(pl.col(c).cast(t) for c, t in LINES.items()))


# --------------------------------------------------------------------------- the three kinds


def _windows(virtual_assets: pl.DataFrame, mtu_minutes: int) -> pl.DataFrame:
    """The VAs with their window in MTUs (``n_mtu``) and, if given, their kW (``va_kw``)."""
    kw = pl.col("awarded_kw") if "awarded_kw" in virtual_assets.columns else pl.lit(None)
    start, end = pl.col("start"), pl.col("end")
    vas = virtual_assets.select(
        "virtual_asset_id",
        "org_id",
        "bid_id",
        "product_id",
        "start",
        "end",
        va_kw=kw.cast(pl.Int64),
        n_mtu=mtu_index_expr(end, start, mtu_minutes),
        on_grid=(offset_us_expr(end, start) > 0) & on_grid_expr(end, start, mtu_minutes),
    )
    problems = [
        _problem("virtual_assets", va, "window must be a positive whole number of MTUs")
        for va in vas.filter(~pl.col("on_grid"))["virtual_asset_id"]
    ]
    problems += [
        _problem("virtual_assets", va, "virtual_asset_id must be unique")
        for va in vas.filter(pl.col("virtual_asset_id").is_duplicated())["virtual_asset_id"]
    ]
    if problems:
        raise DomainError(problems)
    return vas.drop("on_grid")


def _paid(awards: pl.DataFrame, vas: pl.DataFrame) -> pl.DataFrame:
    """Positive awards with their virtual asset; each award has exactly one, of its org."""
    won = awards.filter(pl.col("awarded_kw") > 0).select(
        "bid_id", "org_id", "product_id", "awarded_kw", "price_cents", "payment_units"
    )
    from_bids = vas.filter(pl.col("bid_id").is_not_null()).select(
        "bid_id", "virtual_asset_id", "start", "end", "n_mtu", va_org="org_id"
    )
    paid = won.join(from_bids, on="bid_id", how="full", coalesce=True, maintain_order="left")
    problems = [
        _problem("awards", bid, "a positive award needs one virtual asset of the same org")
        for bid in paid.filter(
            pl.col("virtual_asset_id").is_null() | (pl.col("va_org") != pl.col("org_id"))
        )["bid_id"]
    ]
    problems += [
        _problem("virtual_assets", va, "its bid has no positive award")
        for va in paid.filter(pl.col("org_id").is_null())["virtual_asset_id"]
    ]
    if problems:
        raise DomainError(problems)
    return paid.drop("va_org")


def _award_lines(paid: pl.DataFrame, vas: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    """One line per positive award (its payment) and per fixed allocation (0)."""
    window = window_expr(pl.col("start"), pl.col("end"), time_zone)
    price = money_str(pl.col("price_cents"), 2)
    bids = paid.select(
        *_KEYS,
        kind=pl.lit("award"),
        description=pl.format(
            "Award of bid {}: {} MW of {} at {} EUR/MW, {}",
            "bid_id",
            mw_str(pl.col("awarded_kw")),
            "product_id",
            price,
            window,
        ),
        quantity=mw_str(pl.col("awarded_kw")),
        unit=pl.lit("MW"),
        unit_price_eur=price,
        amount_units="payment_units",
    )
    size = pl.when(pl.col("va_kw").is_not_null()).then(mw_str(pl.col("va_kw")) + " MW of ")
    fixed = vas.filter(pl.col("bid_id").is_null()).select(
        *_KEYS,
        kind=pl.lit("award"),
        description=pl.format(
            "Fixed allocation: {}{}, {}, not from a bid: nothing to pay",
            size.otherwise(pl.lit("")),
            "product_id",
            window,
        ),
        quantity=mw_str(pl.col("va_kw")),
        unit=pl.lit("MW"),
        unit_price_eur=pl.lit("0.00"),
        amount_units=pl.lit(0, pl.Int64),
    )
    return pl.concat([bids, fixed], how="vertical_relaxed")


def _credit_lines(
    paid: pl.DataFrame, blocks: pl.DataFrame, lost: pl.DataFrame, mtu_minutes: int, time_zone: str
) -> pl.DataFrame:
    """Unavailability credits: per VA, one line per run of MTUs lost alike (module rules)."""
    stretches = lost.select("block_id", "start", "end", "lost_kw").join(
        blocks.select("block_id", "virtual_asset_id", "market", "power_kw"),
        on="block_id",
        how="left",
    )
    unknown = stretches.filter(pl.col("virtual_asset_id").is_null())["block_id"]
    if unknown.len():
        raise DomainError([_problem("lost", b, "block_id must be a block") for b in unknown])
    payers = paid.filter(pl.col("payment_units") > 0).select(
        *_KEYS[:4], "awarded_kw", "price_cents", "payment_units", "n_mtu", va_start="start"
    )
    va_start = pl.col("va_start")
    # One row per (stretch, MTU it touches), clipped to the window: at most a VA's blocks
    # times its MTUs, a few hundred thousand rows for thousands of VAs.
    per_mtu = (
        stretches.join(payers, on="virtual_asset_id", how="inner")
        .filter((pl.col("lost_kw") > 0) & (pl.col("power_kw") > 0))
        .with_columns(
            lost_kw=pl.min_horizontal("lost_kw", "power_kw"),
            first=mtu_index_expr(pl.col("start"), va_start, mtu_minutes).clip(0, pl.col("n_mtu")),
            last=mtu_index_expr(pl.col("end"), va_start, mtu_minutes, ceil=True).clip(
                0, pl.col("n_mtu")
            ),
        )
        .filter(pl.col("first") < pl.col("last"))
        .with_columns(mtu=pl.int_ranges("first", "last"))
        .explode("mtu")
    )
    # The block losing the largest fraction sets each MTU's credit. Float order is exact
    # here: distinct fractions with denominators below 2**26 kW differ by more than the
    # rounding of the division, and equal fractions divide to the same float.
    deciding = per_mtu.with_columns(
        fraction=pl.col("lost_kw") / pl.col("power_kw"),
        market_order=pl.col("market").replace_strict(MARKETS, list(range(len(MARKETS)))),
    ).sort(
        ["virtual_asset_id", "mtu", "fraction", "market_order", "block_id"],
        descending=[False, False, True, False, False],
    )
    deciding = deciding.unique(["virtual_asset_id", "mtu"], keep="first", maintain_order=True)
    same = pl.col("mtu") == pl.col("mtu").shift() + 1
    for col in ("virtual_asset_id", "block_id", "lost_kw"):
        same &= pl.col(col) == pl.col(col).shift()
    runs = (
        deciding.with_columns(run=(~same).fill_null(True).cum_sum())
        .group_by("run", maintain_order=True)
        .agg(
            pl.all().exclude("mtu").first(),
            first_mtu=pl.col("mtu").first(),
            n=pl.len().cast(pl.Int64),
        )
        .with_columns(den=pl.col("power_kw") * pl.col("n_mtu"))
    )
    largest = runs.select(pl.col("den").max()).item()
    if largest is not None and largest >= MAX_DENOMINATOR:
        raise DomainError([_problem("blocks", largest, "power_kw × window MTUs < 2**31")])
    exact = scaled(pl.col("payment_units"), pl.col("lost_kw") * pl.col("n"), pl.col("den"))
    step = mtu_us(mtu_minutes)
    start = va_start + pl.duration(microseconds=pl.col("first_mtu") * step)
    end = start + pl.duration(microseconds=pl.col("n") * step)
    market = pl.col("market").replace_strict(MARKET_NAMES, default=pl.col("market"))
    runs = runs.with_columns(credit=exact, start=start, end=end)
    return cap(runs, "virtual_asset_id", "payment_units").select(
        *_KEYS,
        kind=pl.lit("unavailability_credit"),
        description=pl.format(
            "Unavailability {}: {} kW of {} kW of the {} block lost, {}/{} of the window",
            window_expr(pl.col("start"), pl.col("end"), time_zone),
            grouped(pl.col("lost_kw")),
            grouped(pl.col("power_kw")),
            market,
            "n",
            "n_mtu",
        ),
        quantity=mw_str(pl.col("awarded_kw")),
        unit=pl.lit("MW"),
        unit_price_eur=money_str(pl.col("price_cents"), 2),
        amount_units=-pl.col("credit"),
    )


def _imbalance_lines(
    vas: pl.DataFrame, imbalances: pl.DataFrame, price_cents_per_mwh: int
) -> pl.DataFrame:
    """SoC-imbalance charges beyond the tolerance, read to the watt-hour (module rules)."""
    frame = imbalances.select("virtual_asset_id", "imbalance_kwh", "tolerance_kwh").join(
        vas.select("virtual_asset_id", "org_id", "bid_id", "product_id", "start", "end"),
        on="virtual_asset_id",
        how="left",
    )
    imbalance, tolerance = pl.col("imbalance_kwh"), pl.col("tolerance_kwh").fill_null(0.0)
    checks = {
        "virtual_asset_id must be a virtual asset": pl.col("org_id").is_null(),
        "virtual_asset_id must be unique": pl.col("virtual_asset_id").is_duplicated(),
        "imbalance_kwh must be a finite number": ~imbalance.is_finite().fill_null(False),
        "tolerance_kwh must be finite and ≥ 0": ~(tolerance.is_finite() & (tolerance >= 0)),
    }
    problems = [
        _problem("imbalances", va, rule)
        for rule, bad in checks.items()
        for va in frame.filter(bad)["virtual_asset_id"]
    ]
    if problems:
        raise DomainError(problems)
    frame = frame.with_columns(
        wh=(imbalance * 1000).round(0).cast(pl.Int64),
        tolerance_wh=(tolerance * 1000).round(0).cast(pl.Int64),
    )
    charged = (pl.col("wh").abs() - pl.col("tolerance_wh")).clip(lower_bound=0)
    frame = frame.with_columns(charged_wh=charged).filter(pl.col("charged_wh") > 0)
    price = money_str(pl.lit(price_cents_per_mwh, pl.Int64), 2)
    side = pl.when(pl.col("wh") > 0).then(pl.lit("above")).otherwise(pl.lit("below"))
    return frame.select(
        *_KEYS,
        kind=pl.lit("imbalance_charge"),
        description=pl.format(
            "SoC imbalance: ended {} MWh {} its final SoC target; {} MWh tolerated, "
            "{} MWh charged at {} EUR/MWh",
            mwh(pl.col("wh").abs()),
            side,
            mwh(pl.col("tolerance_wh")),
            mwh(pl.col("charged_wh")),
            price,
        ),
        quantity=mwh(pl.col("charged_wh")),
        unit=pl.lit("MWh"),
        unit_price_eur=price,
        amount_units=div_half_even(pl.col("charged_wh") * price_cents_per_mwh, 1000),
    )


# --------------------------------------------------------------------------- files


def lines_csv(lines: pl.DataFrame) -> str:
    """Invoice lines (``LINES``, with day and version if given) as the CSV a clerk opens in
    a spreadsheet: ``amount_eur`` in EUR with five decimals instead of ``amount_units``.

    Credits stay negative numbers (``-12.50000``); text such as an id that starts with
    ``-`` or ``=`` gets an apostrophe first, so it cannot act as a formula
    (``auction.csvsafe``).
    """
    amounts = [str(money(units)) for units in lines["amount_units"]]
    frame = lines.with_columns(amount_eur=pl.Series(amounts, dtype=pl.String))
    return write_csv(frame.drop("amount_units"))


# --------------------------------------------------------------------------- wording


def _problem(file: str, value: object, rule: str) -> Problem:
    return Problem(file=file, row=None, column=None, value=value, rule=rule)


__all__ = [
    "INVOICES",
    "KINDS",
    "LINES",
    "invoice_lines",
    "invoices",
    "kind_totals",
    "lines_csv",
    "reconcile",
]
