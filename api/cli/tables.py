"""The terminal tables of the archive commands (and of ``vba demo``): the clearing's
products, what an operator looks at first, the busiest assets of a dispatch."""

from __future__ import annotations

import polars as pl
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from auction.model import Archive
from auction.units import CENTS_PER_EUR, KW_PER_MW, PAYMENT_UNITS_PER_EUR
from auction.wallclock import window as local_window
from clearing import ClearingResult
from clearing.report import product_table, utilisation
from clearing.result import gap_text
from dispatch.disaggregate import Disaggregation


def print_setpoints(console: Console, day: Disaggregation, mtu_h: float) -> None:
    """The busiest assets of the day, and the day in one sentence."""
    per_asset = (
        day.setpoints.group_by("asset_id")
        .agg(
            discharge_kwh=(pl.col("power_kw").clip(0, None) * mtu_h).sum(),
            charge_kwh=(-pl.col("power_kw").clip(None, 0) * mtu_h).sum(),
            peak_kw=pl.col("power_kw").abs().max(),
            soc_low=pl.col("soc_kwh").min(),
            soc_high=pl.col("soc_kwh").max(),
        )
        .sort("discharge_kwh", "asset_id", descending=[True, False])
    )
    table = Table(title="Busiest assets (physical setpoints)", title_justify="left")
    for name in ("asset", "discharged kWh", "charged kWh", "peak kW", "SoC range kWh"):
        table.add_column(name, justify="left" if name == "asset" else "right")
    for r in per_asset.head(10).iter_rows(named=True):
        table.add_row(
            r["asset_id"],
            f"{r['discharge_kwh']:,.0f}",
            f"{r['charge_kwh']:,.0f}",
            f"{r['peak_kw']:,.0f}",
            f"{r['soc_low']:,.0f}-{r['soc_high']:,.0f}",
        )
    if per_asset.height:
        console.print(table)
    console.print(day.summary)


# The product table's columns (header, justify). The product id and its window always
# show in full; on a narrow terminal the other columns go, least needed first, and the
# table's caption names them, rather than cutting ids to an ambiguous ``DAY-WS1-…``.
PRODUCT_COLUMNS = (
    ("product", "left"),
    ("window (local)", "left"),
    ("bids", "right"),
    ("offered MW", "right"),
    ("awarded MW", "right"),
    ("revenue EUR", "right"),
    ("lowest accepted EUR/MW", "right"),
)
LEFT_OUT_FIRST = ("lowest accepted EUR/MW", "offered MW", "bids", "revenue EUR", "awarded MW")


def product_cells(products: pl.DataFrame, time_zone: str) -> list[dict[str, str]]:
    """The cells of ``clearing.report.product_table``'s rows, by column header."""
    cells = []
    for row in products.iter_rows(named=True):
        awarded = f"{row['awarded_kw'] / KW_PER_MW:,.1f}"
        if row["allocated_kw"]:
            awarded += f" (+{row['allocated_kw'] / KW_PER_MW:g} fixed)"
        lowest = row["lowest_cents"]
        cells.append(
            {
                "product": row["product_id"],
                "window (local)": local_window(row["start"], row["end"], time_zone),
                "bids": str(row["bids"]),
                "offered MW": f"{row['offered_kw'] / KW_PER_MW:,.1f}",
                "awarded MW": awarded,
                "revenue EUR": f"{row['revenue_units'] / PAYMENT_UNITS_PER_EUR:,.2f}",
                "lowest accepted EUR/MW": (
                    "-" if lowest is None else f"{lowest / CENTS_PER_EUR:,.2f}"
                ),
            }
        )
    return cells


def product_table_view(console: Console, title: str, cells: list[dict[str, str]]) -> Table:
    """The widest table of ``cells`` that fits ``console``: ids and windows never cut."""
    # Measured without the console's limit (a measurement is clamped to it).
    unlimited = console.options.update_width(10**6)
    left_out: list[str] = []
    for drop in (None, *LEFT_OUT_FIRST):
        if drop is not None:
            left_out.append(drop)
        table = _product_table(title, cells, left_out, whole=True)
        if Measurement.get(console, unlimited, table).minimum <= console.width:
            return table
    # Not even product and window fit: they fold (every character stays, on the next line).
    return _product_table(title, cells, left_out, whole=False)


def _product_table(
    title: str, cells: list[dict[str, str]], left_out: list[str], whole: bool
) -> Table:
    caption = f"narrow terminal: left out {', '.join(left_out)}" if left_out else None
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    shown = [(name, justify) for name, justify in PRODUCT_COLUMNS if name not in left_out]
    for name, justify in shown:
        # An id or a window is never wrapped or cut with an ellipsis: its column is as wide
        # as its longest cell (``whole``). Numbers have no space to wrap at either.
        keep = whole and name in ("product", "window (local)")
        widest = max((len(row[name]) for row in cells), default=0)
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=keep,
            min_width=widest if keep else None,
            overflow="fold",
        )
    for row in cells:
        table.add_row(*(row[name] for name, _ in shown))
    return table


def print_summary(console: Console, archive: Archive, result: ClearingResult) -> None:
    cells = product_cells(product_table(archive, result), archive.config.time_zone)
    title = f"Clearing of {result.auction_id} (windows in {archive.config.time_zone})"
    table = product_table_view(console, title, cells)
    console.print(table)
    use = utilisation(archive, result)
    console.print(
        f"Revenue {result.objective_eur:,.2f} EUR from {result.n_accepted} of {result.n_bids} "
        f"bids; fleet discharge power sold: mean {use['mean']:.0%}, peak {use['peak']:.0%}."
    )
    console.print(f"Status {result.status}, gap {gap_text(result.mip_gap)}: {result.optimality}.")
    console.print(
        f"Model {result.solver.get('n_cols')} columns x {result.solver.get('n_rows')} rows "
        f"({result.solver.get('n_integer')} integer); build {result.build_s:.2f} s, "
        f"solve {result.solve_s:.2f} s (tie-break {result.solver.get('tiebreak')})."
    )


def print_highlights(
    console: Console,
    archive: Archive,
    result: ClearingResult,
    names: dict[str, str] | None = None,
) -> None:
    """What an operator looks at first: the single-item auction, fixed capacity, outages.

    ``names`` turns organisation ids into names where the ids are random (the demo's).
    """
    name = (names or {}).get
    awards = result.awards
    products = archive.products
    single = products.filter(
        (pl.col("max_mw") == pl.col("min_mw")) & (pl.col("min_mw") == pl.col("increment_mw"))
    )
    for product in single["product_id"]:
        bids = awards.filter(pl.col("product_id") == product)
        won = bids.filter(pl.col("awarded_kw") > 0)
        if won.height:
            w = won.row(0, named=True)
            winner = name(w["org_id"], w["org_id"])
            console.print(
                f"Single-item auction {product}: {bids.height} bids, won by {winner} "
                f"(bid {w['bid_id']}) at {w['price_cents'] / CENTS_PER_EUR:,.2f} EUR/MW."
            )
    for row in archive.allocations.iter_rows(named=True):
        console.print(
            f"Fixed allocation: {row['quantity_mw']:g} MW of {row['product_id']} for "
            f"{name(row['org_id'], row['org_id'])}, served before the bids at price 0."
        )
    tz = archive.config.time_zone
    for row in archive.availability.iter_rows(named=True):
        what = (
            "outage"
            if row["available_fraction"] == 0
            else (f"derated to {row['available_fraction']:.0%}")
        )
        console.print(
            f"Asset {row['asset_id']}: {what} {local_window(row['start'], row['end'], tz)} "
            f"{tz}; the clearing worked around it."
        )
    reasons = (
        awards.filter(pl.col("reason").is_not_null())
        .group_by("reason")
        .len()
        .sort("len", "reason", descending=[True, False])
    )
    listed = ", ".join(f"{r} {n}" for r, n in reasons.iter_rows())
    console.print(f"Bids that got less than they asked, by reason: {listed}.")
