"""The rules of docs/archive.md for each table, one function per table.

Each ``check_*`` function takes a table as text (a `Sheet`), reports every broken rule on
it, and returns the table typed with its schema from ``auction.book`` (null where a cell
is bad). A table that could not be loaded is ``None``; the checks of other tables that
depend on it (bids on products, availability on fleet) are then skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from auction.book import ALLOCATIONS, AVAILABILITY, BIDS, FLEET, PRODUCTS
from auction.cells import Sheet, rows_mask, units_text
from auction.eic import eic_problem
from auction.limits import SAFE_ID, SAFE_ID_RULE
from auction.model import AuctionConfig
from auction.timegrid import day_bounds, local_iso, mtu_us

TABLES: dict[str, pl.Schema] = {
    "fleet": FLEET,
    "availability": AVAILABILITY,
    "products": PRODUCTS,
    "bids": BIDS,
    "allocations": ALLOCATIONS,
}
OPTIONAL_TABLES = frozenset({"availability", "allocations"})
# Columns a table may leave out, with the value that fills them (None: null).
OPTIONAL_COLUMNS: dict[str, dict[str, float | None]] = {
    "fleet": {"owner_org": None, "eta_charge": 0.95, "eta_discharge": 0.95},
    "availability": {},
    "products": {
        "max_mw": None,
        "eta_charge": 1.0,
        "eta_discharge": 1.0,
        "daily_cycle_limit": None,
    },
    "bids": {"min_quantity_mw": None, "exclusive_group": None, "linked_to": None},
    "allocations": {},
}
MW_DECIMALS = 3  # the 1 kW grid
EUR_DECIMALS = 2  # the cent grid
PRODUCT_FACTORS = ("wholesale_mw", "fcr_mw", "afrr_pos_mw", "afrr_neg_mw")


def _frame(columns: dict[str, pl.Series], schema: pl.Schema, stem: str) -> pl.DataFrame:
    """A checked table with exactly ``schema``, optional columns filled with their defaults."""
    defaults = OPTIONAL_COLUMNS[stem]
    out = []
    for name, dtype in schema.items():
        series = columns[name].cast(dtype)
        if defaults.get(name) is not None:
            series = series.fill_null(defaults[name])
        out.append(series.alias(name))
    return pl.DataFrame(out, schema=schema)


def _mw(kw: int | None) -> str:
    return "?" if kw is None else units_text(kw, MW_DECIMALS)


def _mw_exact(sheet: Sheet, column: str, *, nullable: bool = False) -> tuple[pl.Series, pl.Series]:
    rule = f"{column} must lie on the 1 kW grid: at most three decimals"
    return sheet.exact(column, MW_DECIMALS, rule, nullable=nullable)


def _at_least_zero(sheet: Sheet, column: str, value: pl.Series) -> None:
    sheet.flag(value < 0, column, f"{column} must be >= 0")


def _multiple_rule(column: str, increment_kw: pl.Series) -> Callable[[int], str]:
    return lambda i: (
        f"{column} must be a whole multiple of the product's increment_mw {_mw(increment_kw[i])} MW"
    )


def _check_efficiencies(sheet: Sheet, columns: dict[str, pl.Series]) -> None:
    """Optional one-way efficiencies in (0, 1]."""
    for column in ("eta_charge", "eta_discharge"):
        eta = columns[column] = sheet.number(column, nullable=True)
        sheet.flag((eta <= 0) | (eta > 1), column, f"{column} must lie in (0, 1]")


def _safe_ids(sheet: Sheet, column: str, cells: pl.Series) -> None:
    """Ids of new things name URL paths and files: no '/', no '..', no control characters."""
    sheet.flag(
        cells.is_not_null() & ~cells.str.contains(SAFE_ID),
        column,
        f"{column} must be {SAFE_ID_RULE}",
    )


def _eics(sheet: Sheet, column: str, cells: pl.Series) -> None:
    # Few distinct zones in any fleet: each is judged once.
    why = {code: eic_problem(code) for code in cells.drop_nulls().unique().to_list()}
    sheet.flag(
        cells.is_not_null() & cells.is_in([c for c, w in why.items() if w]),
        column,
        lambda i: f"{column} must be the EIC of a control area: {why[cells[i]]}",
    )


def check_fleet(sheet: Sheet | None) -> pl.DataFrame | None:
    """fleet: unique safe asset ids, EIC zones, powers >= 0, 0 <= e_min_mwh <= e_max_mwh,
    booleans."""
    if sheet is None:
        return None
    columns = {"asset_id": sheet.text("asset_id"), "tso_zone": sheet.text("tso_zone")}
    sheet.unique("asset_id")
    _safe_ids(sheet, "asset_id", columns["asset_id"])
    _eics(sheet, "tso_zone", columns["tso_zone"])
    for column in ("p_charge_mw", "p_discharge_mw", "e_min_mwh", "e_max_mwh"):
        columns[column] = sheet.number(column)
        _at_least_zero(sheet, column, columns[column])
    sheet.flag(
        columns["e_min_mwh"] > columns["e_max_mwh"],
        "e_min_mwh",
        "e_min_mwh must not exceed e_max_mwh",
    )
    for column in ("fcr", "afrr_pos", "afrr_neg"):
        columns[column] = sheet.boolean(column)
    columns["owner_org"] = sheet.text("owner_org", nullable=True)
    _check_efficiencies(sheet, columns)
    return _frame(columns, FLEET, "fleet")


def check_availability(sheet: Sheet | None, fleet: pl.DataFrame | None) -> pl.DataFrame | None:
    """availability: known assets, start < end, available_fraction in [0, 1]."""
    if sheet is None:
        return None
    columns = {"asset_id": sheet.text("asset_id")}
    if fleet is not None:
        assets = columns["asset_id"]
        sheet.flag(
            assets.is_not_null() & ~assets.is_in(fleet["asset_id"].drop_nulls().implode()),
            "asset_id",
            lambda i: f"asset_id {assets[i]!r} is not an asset of the fleet (fleet.csv)",
        )
    columns["start"], columns["end"] = sheet.timestamp("start"), sheet.timestamp("end")
    sheet.flag(columns["start"] >= columns["end"], "end", "end must be after start")
    fraction = columns["available_fraction"] = sheet.number("available_fraction")
    sheet.flag(
        (fraction < 0) | (fraction > 1),
        "available_fraction",
        "available_fraction must lie in [0, 1] (0 = outage, 1 = fully available)",
    )
    return _frame(columns, AVAILABILITY, "availability")


def check_products(sheet: Sheet | None, config: AuctionConfig | None) -> pl.DataFrame | None:
    """products: windows on the MTU grid inside the day, a block recipe, min/increment/max.

    The frame returned keeps the exact kW of min_mw, increment_mw and max_mw in a
    ``_kw`` struct column, for the checks of bids and allocations.
    """
    if sheet is None:
        return None
    columns = {"product_id": sheet.text("product_id")}
    sheet.unique("product_id")
    _safe_ids(sheet, "product_id", columns["product_id"])
    columns["start"], columns["end"] = sheet.timestamp("start"), sheet.timestamp("end")
    sheet.flag(columns["start"] >= columns["end"], "end", "end must be after start")
    if config is not None:
        _check_window_grid(sheet, columns["start"], "start", config)
        _check_window_grid(sheet, columns["end"], "end", config)

    for column in PRODUCT_FACTORS:
        columns[column] = _mw_exact(sheet, column)[0]
        _at_least_zero(sheet, column, columns[column])
    no_block = pl.DataFrame({c: columns[c] for c in PRODUCT_FACTORS}).select(
        pl.all_horizontal(pl.all() <= 0)
    )
    sheet.flag(
        no_block.to_series(),
        "wholesale_mw",
        "a product needs a block: at least one of wholesale_mw, fcr_mw, afrr_pos_mw, "
        "afrr_neg_mw must be > 0",
    )
    columns["wholesale_h"] = sheet.number("wholesale_h")
    _at_least_zero(sheet, "wholesale_h", columns["wholesale_h"])
    sheet.flag(
        (columns["wholesale_mw"] > 0) & (columns["wholesale_h"] == 0),
        "wholesale_h",
        "wholesale_h must be > 0 when wholesale_mw > 0 (a wholesale block needs energy)",
    )

    columns["increment_mw"], increment_kw = _mw_exact(sheet, "increment_mw")
    sheet.flag(increment_kw <= 0, "increment_mw", "increment_mw must be > 0")
    increment_kw = increment_kw.set(increment_kw <= 0, None)
    columns["min_mw"], min_kw = _mw_exact(sheet, "min_mw")
    sheet.flag(min_kw <= 0, "min_mw", "min_mw must be > 0")
    sheet.flag(min_kw % increment_kw != 0, "min_mw", _multiple_rule("min_mw", increment_kw))
    columns["max_mw"], max_kw = _mw_exact(sheet, "max_mw", nullable=True)
    sheet.flag(max_kw % increment_kw != 0, "max_mw", _multiple_rule("max_mw", increment_kw))
    sheet.flag(
        max_kw < min_kw, "max_mw", lambda i: f"max_mw must be at least min_mw {_mw(min_kw[i])} MW"
    )

    price = columns["reserve_price_eur_per_mw"] = sheet.exact(
        "reserve_price_eur_per_mw",
        EUR_DECIMALS,
        "reserve_price_eur_per_mw has at most two decimals (whole cents)",
    )[0]
    _at_least_zero(sheet, "reserve_price_eur_per_mw", price)
    _check_efficiencies(sheet, columns)
    cycles = columns["daily_cycle_limit"] = sheet.number("daily_cycle_limit", nullable=True)
    sheet.flag(cycles <= 0, "daily_cycle_limit", "daily_cycle_limit must be > 0 (or empty)")

    kw = pl.DataFrame({"min": min_kw, "increment": increment_kw, "max": max_kw}).to_struct("_kw")
    return _frame(columns, PRODUCTS, "products").with_columns(kw)


def _check_window_grid(
    sheet: Sheet, instant: pl.Series, column: str, config: AuctionConfig
) -> None:
    """A window edge lies inside the delivery day, on its MTU grid (anchored at local midnight)."""
    day: date = config.delivery_day
    day_start, day_end = day_bounds(day, config.time_zone)
    local_start = local_iso(day_start, config.time_zone)
    local_end = local_iso(day_end, config.time_zone)
    outside = (instant < day_start) | (instant > day_end)
    sheet.flag(
        outside,
        column,
        f"{column} must lie inside the delivery day {day}: from {local_start} to {local_end}",
    )
    step_us = mtu_us(config.mtu_minutes)
    off_grid = ~outside & ((instant - day_start).dt.total_microseconds() % step_us != 0)
    sheet.flag(
        off_grid,
        column,
        f"{column} must be an MTU edge: a whole number of {config.mtu_minutes}-minute MTUs "
        f"after the start of the delivery day {local_start}",
    )


def _product_kw(product_id: pl.Series, products: pl.DataFrame | None) -> pl.DataFrame:
    """Per row: whether its product is known, and that product's min/increment/max in kW."""
    if products is None:
        known = pl.Series("known", [True] * product_id.len())
        return pl.DataFrame({"known": known, "min": None, "increment": None, "max": None})
    table = (
        products.select("product_id", "_kw")
        .filter(pl.col("product_id").is_not_null() & pl.col("product_id").is_first_distinct())
        .unnest("_kw")
        .with_columns(known=pl.lit(True))
    )
    joined = pl.DataFrame({"product_id": product_id}).join(
        table, on="product_id", how="left", maintain_order="left"
    )
    return joined.with_columns(pl.col("known").fill_null(False))


def _check_quantity(
    sheet: Sheet, column: str, product: pl.DataFrame, *, nullable: bool = False
) -> tuple[pl.Series, pl.Series]:
    """A quantity of product: on the 1 kW grid, > 0, a multiple of the product's increment."""
    value, kw = _mw_exact(sheet, column, nullable=nullable)
    sheet.flag(kw <= 0, column, f"{column} must be > 0")
    increment = product["increment"]
    sheet.flag((kw > 0) & (kw % increment != 0), column, _multiple_rule(column, increment))
    return value, kw


def check_bids(sheet: Sheet | None, products: pl.DataFrame | None) -> pl.DataFrame | None:
    """bids: unique ids, known products, quantities on the increment, prices in cents, links."""
    if sheet is None:
        return None
    bid_id = sheet.text("bid_id")
    sheet.unique("bid_id")
    columns = {"bid_id": bid_id, "org_id": sheet.text("org_id")}
    product_id = columns["product_id"] = sheet.text("product_id")
    product = _product_kw(product_id, products)
    sheet.flag(
        product_id.is_not_null() & ~product["known"],
        "product_id",
        lambda i: f"product_id {product_id[i]!r} is not a product of this auction (products.csv)",
    )
    min_kw = product["min"]
    columns["quantity_mw"], quantity_kw = _check_quantity(sheet, "quantity_mw", product)
    sheet.flag(
        (quantity_kw > 0) & (quantity_kw < min_kw),
        "quantity_mw",
        lambda i: f"quantity_mw must be at least the product's min_mw {_mw(min_kw[i])} MW",
    )
    columns["min_quantity_mw"], least_kw = _check_quantity(
        sheet, "min_quantity_mw", product, nullable=True
    )
    sheet.flag(
        (least_kw > 0) & (least_kw < min_kw),
        "min_quantity_mw",
        lambda i: f"min_quantity_mw must be at least the product's min_mw {_mw(min_kw[i])} MW",
    )
    sheet.flag(
        least_kw > quantity_kw,
        "min_quantity_mw",
        "min_quantity_mw must not exceed quantity_mw",
    )
    price = columns["price_eur_per_mw"] = sheet.exact(
        "price_eur_per_mw", EUR_DECIMALS, "price_eur_per_mw has at most two decimals (whole cents)"
    )[0]
    _at_least_zero(sheet, "price_eur_per_mw", price)
    columns["submitted_at"] = sheet.timestamp("submitted_at")
    columns["exclusive_group"] = sheet.text("exclusive_group", nullable=True)
    columns["linked_to"] = sheet.text("linked_to", nullable=True)
    _check_links(sheet, bid_id, columns["org_id"], columns["linked_to"])
    return _frame(columns, BIDS, "bids")


def _check_links(sheet: Sheet, bid_id: pl.Series, org_id: pl.Series, linked_to: pl.Series) -> None:
    """linked_to names another existing bid of the same organisation, and links never loop."""
    sheet.flag(linked_to == bid_id, "linked_to", "a bid cannot link to itself")
    owners = pl.DataFrame({"linked_to": bid_id, "parent_org": org_id}).filter(
        pl.col("linked_to").is_not_null() & pl.col("linked_to").is_first_distinct()
    )
    parent_org = (
        pl.DataFrame({"linked_to": linked_to})
        .join(owners, on="linked_to", how="left", maintain_order="left")
        .with_columns(exists=pl.col("linked_to").is_in(owners["linked_to"].implode()))
    )
    exists, parent = parent_org["exists"], parent_org["parent_org"]
    sheet.flag(
        linked_to.is_not_null() & ~exists,
        "linked_to",
        lambda i: f"linked_to names no bid of this auction: {linked_to[i]!r}",
    )
    sheet.flag(
        exists & (linked_to != bid_id) & (parent != org_id),
        "linked_to",
        lambda i: (
            f"linked_to names bid {linked_to[i]!r} of another organisation {parent[i]!r}; "
            "a bid may only link to a bid of its own organisation"
        ),
    )
    _check_link_cycles(sheet, bid_id, linked_to, exists)


def _check_link_cycles(
    sheet: Sheet, bid_id: pl.Series, linked_to: pl.Series, exists: pl.Series
) -> None:
    """Report every cycle of links once, at its first row, naming its bids in link order."""
    links = (exists & (linked_to != bid_id)).fill_null(False)
    # A link to a bid that links nowhere cannot be on a cycle; dropping those first leaves
    # the Python walk below nothing to do in the usual case (children of root bids).
    links = links & linked_to.is_in(bid_id.filter(links).implode()).fill_null(False)
    if not links.any():
        return
    parent: dict[str, str] = {}
    row: dict[str, int] = {}
    rows = links.arg_true()
    # Plain lists: indexing a Series element by element is slow.
    for i, child, link in zip(
        rows.to_list(), bid_id.gather(rows).to_list(), linked_to.gather(rows).to_list(), strict=True
    ):
        parent.setdefault(child, link)
        row.setdefault(child, i)
    done: set[str] = set()
    cycles: list[list[str]] = []
    # Each bid has at most one parent, so walking up from every bid finds every cycle.
    for start in parent:
        path: list[str] = []
        on_path: set[str] = set()
        node: str | None = start
        while node is not None and node not in done and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = parent.get(node)
        if node is not None and node in on_path:
            cycles.append(path[path.index(node) :])
        done.update(path)
    rules: dict[int, str] = {}
    for cycle in cycles:
        first = min(cycle, key=row.__getitem__)
        k = cycle.index(first)
        ordered = [*cycle[k:], *cycle[:k], first]
        rules[row[first]] = (
            f"links form a cycle: {' -> '.join(ordered)}; "
            "a chain of links must end at a bid without linked_to"
        )
    sheet.flag(rows_mask(bid_id.len(), list(rules)), "linked_to", rules.__getitem__)


def check_allocations(sheet: Sheet | None, products: pl.DataFrame | None) -> pl.DataFrame | None:
    """allocations: known products, quantities on the increment, one row per org and product,
    and no more than a product's max_mw in total."""
    if sheet is None:
        return None
    org_id = sheet.text("org_id")
    product_id = sheet.text("product_id")
    product = _product_kw(product_id, products)
    sheet.flag(
        product_id.is_not_null() & ~product["known"],
        "product_id",
        lambda i: f"product_id {product_id[i]!r} is not a product of this auction (products.csv)",
    )
    quantity, kw = _check_quantity(sheet, "quantity_mw", product)
    pair = pl.DataFrame({"o": org_id, "p": product_id}).select(
        pl.struct("o", "p").is_first_distinct().alias("first")
    )["first"]
    sheet.flag(
        ~pair & org_id.is_not_null() & product_id.is_not_null(),
        "product_id",
        lambda i: f"org_id {org_id[i]!r} has more than one allocation of product {product_id[i]!r}",
    )
    totals = pl.DataFrame({"p": product_id, "kw": kw.fill_null(0), "max": product["max"]}).select(
        running=pl.col("kw").cum_sum().over("p"),
        total=pl.col("kw").sum().over("p"),
        max=pl.col("max"),
        kw=pl.col("kw"),
    )
    running, total, max_kw = totals["running"], totals["total"], totals["max"]
    sheet.flag(
        (running > max_kw) & (running - totals["kw"] <= max_kw),
        "quantity_mw",
        lambda i: (
            f"allocations of product {product_id[i]!r} add up to {_mw(total[i])} MW, "
            f"more than its max_mw {_mw(max_kw[i])} MW"
        ),
    )
    columns = {"org_id": org_id, "product_id": product_id, "quantity_mw": quantity}
    return _frame(columns, ALLOCATIONS, "allocations")
