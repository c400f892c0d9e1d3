"""The replay report's tables: their schemas, and how outcomes become frames.

Four tables, one row per:

- ``DAYS``: archive replayed (status, revenue, volume, prices, utilisation, solve time);
- ``PRODUCTS``: product of an archive (awarded MW, revenue, lowest and highest accepted price);
- ``ORGANISATIONS``: organisation bidding in an archive, recorded beside replayed (MW, paid,
  surplus);
- ``DIFFERENCES``: bid whose replayed award or payment is not the recorded one.

"Recorded" columns come from ``recorded/awards.csv``; the others from today's engine under
the what-if rules (none: a plain replay). Money is summed exactly (1e-5 EUR units) and only
then given as float EUR; ``exact_sum`` adds the tables' figures the same way. Bidder
surplus takes each bid's price as what the capacity is worth to the bidder:
``awarded_mw × (bid price − price paid)``, zero under pay-as-bid.
"""

from __future__ import annotations

import polars as pl

STATUSES = ("same", "differs", "unrecorded", "counterfactual", "error")
# Product families, from the blocks a product carries.
FAMILIES = ("wholesale", "fcr", "afrr", "stacked")

DAYS = pl.Schema(
    {
        "path": pl.String,
        "auction_id": pl.String,
        "delivery_day": pl.Date,
        "status": pl.String,  # one of STATUSES
        "solver_status": pl.String,  # optimal | time_limit | infeasible
        "n_bids": pl.Int64,
        "n_accepted": pl.Int64,
        "revenue_eur": pl.Float64,
        "recorded_revenue_eur": pl.Float64,
        "volume_mw": pl.Float64,  # awarded MW, all products (allocations excluded)
        "recorded_volume_mw": pl.Float64,
        "lowest_price_eur_per_mw": pl.Float64,  # over accepted bids of every product
        "highest_price_eur_per_mw": pl.Float64,
        "fleet_mw": pl.Float64,  # discharge power of the assets that may back blocks
        "utilisation": pl.Float64,  # backed MW·h / (fleet_mw × hours of the day), in [0, 1]
        "differences": pl.Int64,
        "solve_s": pl.Float64,  # the solver's own time (both stages)
        "seconds": pl.Float64,  # read, clear and compare
        "error": pl.String,
    }
)

PRODUCTS = pl.Schema(
    {
        "auction_id": pl.String,
        "delivery_day": pl.Date,
        "product_id": pl.String,
        "family": pl.String,  # one of FAMILIES
        "hours": pl.Float64,  # window length
        "awarded_mw": pl.Float64,
        "revenue_eur": pl.Float64,
        "lowest_price_eur_per_mw": pl.Float64,  # the clearing price under uniform pricing
        "highest_price_eur_per_mw": pl.Float64,
        "recorded_awarded_mw": pl.Float64,
        "recorded_revenue_eur": pl.Float64,
    }
)

ORGANISATIONS = pl.Schema(
    {
        "auction_id": pl.String,
        "delivery_day": pl.Date,
        "org_id": pl.String,
        "recorded_mw": pl.Float64,
        "recorded_paid_eur": pl.Float64,
        "recorded_surplus_eur": pl.Float64,
        "awarded_mw": pl.Float64,
        "paid_eur": pl.Float64,
        "surplus_eur": pl.Float64,
    }
)

DIFFERENCES = pl.Schema(
    {
        "path": pl.String,
        "auction_id": pl.String,
        "bid_id": pl.String,
        "column": pl.String,  # awarded_mw | payment_eur
        "recorded": pl.String,
        "replayed": pl.String,
    }
)


# What the report adds up lies on the 1e-5 grid (EUR to 1e-5, MW to the kW, hours in
# quarters), so adding integers of 1e-5 makes a sum exact and independent of the order in
# which polars' threads add: the same frames give the same page. Shares (utilisation) are
# added on a 1e-9 grid, far below what the page shows.
MONEY_DECIMALS = 5
SHARE_DECIMALS = 9


def exact_sum(expr: pl.Expr, decimals: int = MONEY_DECIMALS) -> pl.Expr:
    """The sum of ``expr`` on the ``10**-decimals`` grid, added as integers."""
    scale = 10**decimals
    units = (expr * scale).round(0).cast(pl.Int128).sum()
    # Divided as decimals: a float division by a constant, polars multiplies by 1/scale and
    # misses the nearest float by an ulp about half of the time.
    exact = pl.Decimal(38, decimals)
    total: pl.Expr = units.cast(exact).truediv(pl.lit(scale).cast(exact))
    return total.cast(pl.Float64)
