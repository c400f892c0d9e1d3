"""The operator's clearing report of the demo's published auction, in the browser."""

from __future__ import annotations

import re

import polars as pl
from playwright.sync_api import Page, expect

from api.web.render import hhmm, number
from auction.store.accounts import list_orgs
from auction.store.auctions import get_auction
from auction.store.results import get_clearing, result_frame
from tests.ui.conftest import Guard, LiveServer, World, check_accessible, painted_pixels, snapshot

# Non-transparent pixels of a drawn merit order (an empty uPlot frame has its axes only).
MIN_INK = 1500


def _report(page: Page, world: World) -> None:
    page.goto(f"/ui/operator/auctions/{world.sample_auction}/clearing")
    expect(
        page.get_by_role("heading", name=f"Clearing report: {world.sample_auction}", level=1)
    ).to_be_visible()


def _ink(page: Page, product_id: str) -> int:
    figure = page.get_by_role("img", name=re.compile(f"^Merit order of {product_id}:"))
    return painted_pixels(figure)


def test_the_summary_shows_the_stored_hashes_revenue_and_verdict(
    operator: Page, server: LiveServer, world: World
) -> None:
    with server.store.read() as conn:
        clearing = get_clearing(conn, world.sample_auction)
    assert clearing is not None
    _report(operator, world)
    summary = clearing.summary
    expect(operator.get_by_text(clearing.input_sha256, exact=True)).to_be_visible()
    expect(operator.get_by_text(clearing.result_sha256, exact=True)).to_be_visible()
    assert summary["input_sha256"] == clearing.input_sha256
    expect(operator.get_by_text(number(summary["objective_eur"]), exact=True)).to_be_visible()
    expect(operator.get_by_text(str(summary["optimality"]), exact=True)).to_be_visible()
    expect(
        operator.get_by_text(f"{summary['n_accepted']} of {summary['n_bids']}", exact=True)
    ).to_be_visible()
    verdict = "passed: the result may be published" if clearing.checker_ok else "FAILED"
    expect(operator.get_by_text(verdict)).to_be_visible()
    expect(operator.get_by_text(clearing.checker_report.strip())).to_be_visible()
    expect(operator.get_by_text(number(summary["solve_s"], 3), exact=False).first).to_be_visible()


def test_clearing_prices_and_the_merit_order_of_every_product(
    operator: Page, server: LiveServer, world: World
) -> None:
    with server.store.read() as conn:
        awards = result_frame(conn, world.sample_auction, "awards")
    won = (
        awards.filter(pl.col("awarded_kw") > 0)
        .group_by("product_id")
        .agg(low=pl.col("price_cents").min(), high=pl.col("price_cents").max())
        .sort("product_id")
    )
    _report(operator, world)
    prices = operator.get_by_role("table", name=re.compile("^Clearing prices per product"))
    for product_id, low, high in won.iter_rows():
        cells = prices.get_by_role("row", name=re.compile(f"^{product_id} ")).get_by_role("cell")
        # offered, awarded, allocated MW; lowest, volume-weighted, highest EUR/MW; revenue
        expect(cells.nth(3)).to_have_text(number(low / 100))
        expect(cells.nth(5)).to_have_text(number(high / 100))

    products = sorted(awards["product_id"].unique().to_list())
    # Every product has its chart, drawn offline in the page's own uPlot.
    expect(operator.get_by_role("img", name=re.compile("^Merit order of "))).to_have_count(
        len(products)
    )
    first = products[0]
    assert _ink(operator, first) > MIN_INK
    # Its data table: every bid, accepted and rejected, best price first.
    operator.get_by_text(f"Data table: the bids of {first}").click()
    table = operator.get_by_role("table", name=f"Merit order of {first}")
    mine = awards.filter(pl.col("product_id") == first)
    expect(table.get_by_role("row")).to_have_count(mine.height + 1)
    best = number(int(mine["price_cents"].max()) / 100)
    expect(table.get_by_role("row").nth(1).get_by_role("cell").first).to_have_text(best)
    check_accessible(operator)


def test_the_fleet_heat_map_and_the_allocation(
    operator: Page, server: LiveServer, world: World
) -> None:
    with server.store.read() as conn:
        clearing = get_clearing(conn, world.sample_auction)
        virtual_assets = result_frame(conn, world.sample_auction, "virtual_assets")
        blocks = result_frame(conn, world.sample_auction, "blocks")
        backing = result_frame(conn, world.sample_auction, "backing")
        names = {org.org_id: org.name for org in list_orgs(conn)}
        zone = get_auction(conn, world.sample_auction).config.tso_zone
    assert clearing is not None
    # The fleet the clearing saw, in the auction's zone: the rows of the heat map.
    fleet = pl.read_csv(clearing.fleet_csv.encode()).filter(pl.col("tso_zone") == zone)
    _report(operator, world)

    heat = operator.get_by_role("table", name=re.compile("^Fleet utilisation"))
    expect(heat.get_by_role("row")).to_have_count(fleet.height + 1)
    hours = heat.get_by_role("row").first.get_by_role("columnheader")
    expect(hours).to_have_count(1 + 24)
    expect(hours.nth(1)).to_have_text("00:00 CET")  # Berlin, though the browser is in New York
    # Every cell carries its number and the class of its 10 % bucket.
    cells = heat.locator("td")
    expect(cells).to_have_count(fleet.height * 24)
    pairs = cells.evaluate_all("tds => tds.map(td => [td.textContent, td.className])")
    for text, classes in pairs:
        bucket = re.search(r"\bheat-(\d)\b", classes)
        assert bucket is not None, classes
        assert int(bucket.group(1)) == min(9, int(text) // 10), (text, classes)

    # The first hour of one asset, worked out here from the stored blocks and backing:
    # the power the clearing committed on it, as a share of its rated power.
    start = virtual_assets["start"].min()
    live = blocks.filter((pl.col("start") <= start) & (pl.col("end") > start))
    carried = backing.join(live, on="block_id", suffix="_block")
    asset = str(carried["asset_id"].mode().sort()[0])
    on_asset = carried.filter(pl.col("asset_id") == asset)
    rated = fleet.filter(pl.col("asset_id") == asset).row(0, named=True)
    discharge = on_asset.filter(pl.col("market") != "afrr_neg")["power_kw"].sum()
    charge = on_asset.filter(pl.col("market") != "afrr_pos")["power_kw"].sum()
    share = max(discharge / rated["p_discharge_mw"], charge / rated["p_charge_mw"]) / 10
    row = heat.get_by_role("row", name=re.compile(f"^{asset} "))
    expect(row.get_by_role("cell").first).to_have_text(number(share, 0))
    assert hhmm(start) == "00:00 CET"

    # The allocation: a virtual asset with its organisation and the assets backing it.
    va = virtual_assets.row(0, named=True)
    block_ids = blocks.filter(pl.col("virtual_asset_id") == va["virtual_asset_id"])["block_id"]
    backers = backing.filter(pl.col("block_id").is_in(block_ids.implode()))
    allocation = operator.get_by_role("table", name=re.compile("^Virtual assets and the physical"))
    expect(allocation.get_by_role("row")).to_have_count(virtual_assets.height + 1)
    va_row = allocation.get_by_role("row", name=re.compile(va["virtual_asset_id"]))
    expect(va_row).to_contain_text(names[va["org_id"]])
    for backer in backers.iter_rows(named=True):
        carried_mw = number(backer["power_kw"] / 1000, 3)
        expect(va_row).to_contain_text(f"{backer['asset_id']} {carried_mw} MW")
    check_accessible(operator)
    snapshot(operator, "clearing-report")


def test_an_auction_not_yet_cleared_has_no_clearing_report(
    operator: Page, guard: Guard, world: World
) -> None:
    guard.allow_status(409)
    operator.goto(f"/ui/operator/auctions/{world.next_auction}/clearing")
    expect(operator.get_by_role("alert")).to_contain_text("no clearing report until it is cleared")
