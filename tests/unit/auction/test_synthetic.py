"""The synthetic auction generator: determinism, exact schemas, archive rules, benchmark shares."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auction.archive import read_archive
from auction.book import ALLOCATIONS, AVAILABILITY, BIDS, FLEET, PRODUCTS
from auction.model import Archive
from auction.synthetic import Scenario, benchmark_scenario, catalogue, generate
from auction.timegrid import day_bounds

TABLES = {
    "fleet": FLEET,
    "availability": AVAILABILITY,
    "products": PRODUCTS,
    "bids": BIDS,
    "allocations": ALLOCATIONS,
}


@pytest.fixture(scope="module")
def sample() -> Archive:
    return generate(Scenario())


@pytest.fixture(scope="module")
def reference() -> Archive:
    return generate(benchmark_scenario(10_000, 200))


def _on_grid(values: pl.Series, step: int) -> bool:
    """Whether every value is a whole multiple of ``step`` thousandths (kW, cents x 10)."""
    scaled = values.to_numpy() * 1000
    return bool(np.all(np.abs(scaled - np.round(scaled)) < 1e-6)) and bool(
        np.all(np.round(scaled).astype(np.int64) % step == 0)
    )


def _bids_with_products(archive: Archive) -> pl.DataFrame:
    return archive.bids.join(archive.products, on="product_id", how="left", validate="m:1")


@pytest.mark.parametrize(
    "scenario",
    [Scenario(), benchmark_scenario(1_000, 20), Scenario(seed=11, n_bids=500)],
    ids=["sample", "bench-1k", "seed-11"],
)
def test_same_seed_gives_identical_frames(scenario: Scenario) -> None:
    first, second = generate(scenario), generate(scenario)
    assert first.config == second.config
    for name in TABLES:
        assert_frame_equal(getattr(first, name), getattr(second, name))


def test_other_seed_gives_another_book() -> None:
    assert not generate(Scenario(seed=3)).bids.equals(generate(Scenario(seed=4)).bids)


@pytest.mark.parametrize("scenario", [Scenario(), benchmark_scenario(1_000, 20)])
def test_frames_have_the_exact_schemas(scenario: Scenario) -> None:
    archive = generate(scenario)
    for name, schema in TABLES.items():
        assert getattr(archive, name).schema == schema, name


def test_sample_sizes(sample: Archive) -> None:
    s = Scenario()
    assert sample.fleet.height == s.n_assets
    assert (sample.fleet["tso_zone"] != sample.config.tso_zone).sum() == s.n_outside_zone
    assert sample.bids.height == s.n_bids
    assert sample.bids["org_id"].n_unique() == s.n_orgs
    assert sample.availability.height == s.n_outages
    assert sample.allocations.rows() == [("designated-optimiser", "DAY-WS2", 5.0)]


def test_fleet_is_physically_sane(sample: Archive) -> None:
    f = sample.fleet
    assert f["asset_id"].is_unique().all()
    assert (f["p_charge_mw"] > 0).all()
    assert (f["p_charge_mw"] <= f["p_discharge_mw"]).all()
    assert (f["e_min_mwh"] >= 0).all()
    assert (f["e_min_mwh"] < 0.1 * f["e_max_mwh"]).all()
    assert (f["e_max_mwh"] <= 100.0).all()
    assert f["p_discharge_mw"].is_between(2.0, 50.0).all()


@pytest.mark.parametrize("day", [date(2026, 11, 29), date(2026, 3, 29), date(2026, 10, 25)])
def test_windows_on_the_mtu_grid_inside_the_day(day: date) -> None:
    archive = generate(Scenario(delivery_day=day))
    start, end = day_bounds(day)
    quarter = 15 * 60 * 1_000_000
    for frame in (archive.products, archive.availability):
        assert (frame["start"] >= start).all()
        assert (frame["end"] <= end).all()
        assert (frame["start"] < frame["end"]).all()
        for column in ("start", "end"):
            offset = (frame[column] - start).dt.total_microseconds()
            assert (offset % quarter == 0).all()


def test_products_have_a_single_item_and_sensible_terms(sample: Archive) -> None:
    p = sample.products
    assert p["product_id"].is_unique().all()
    assert (p["min_mw"] >= p["increment_mw"]).all()
    assert (p["reserve_price_eur_per_mw"] > 0).all()
    single = p.filter(pl.col("max_mw").is_not_null())
    assert single.height == 1
    assert single["max_mw"][0] == single["min_mw"][0] == single["increment_mw"][0]
    assert set(p["increment_mw"]) == {0.1, 1.0, 10.0}


@pytest.mark.parametrize(
    "scenario", [Scenario(), benchmark_scenario(10_000, 200)], ids=["sample", "reference"]
)
def test_every_bid_obeys_the_archive_rules(scenario: Scenario) -> None:
    archive = generate(scenario)
    b = _bids_with_products(archive)
    assert b["product_id"].null_count() == 0
    assert b["bid_id"].is_unique().all()
    assert b["bid_id"].str.contains(r"^b\d{5,}$").all()
    # Quantities on the increment, at least the product minimum, at most max_mw.
    inc_kw = (b["increment_mw"] * 1000).round(0).cast(pl.Int64)
    q_kw = (b["quantity_mw"] * 1000).round(0).cast(pl.Int64)
    assert _on_grid(b["quantity_mw"], 1)
    assert (q_kw % inc_kw == 0).all()
    assert (b["quantity_mw"] >= b["min_mw"] - 1e-9).all()
    assert (b["quantity_mw"] <= b["max_mw"].fill_null(np.inf)).all()
    # Minimums: on the increment, between the product minimum and the quantity.
    m = b.filter(pl.col("min_quantity_mw").is_not_null())
    assert _on_grid(m["min_quantity_mw"], 1)
    m_kw = (m["min_quantity_mw"] * 1000).round(0).cast(pl.Int64)
    assert (m_kw % (m["increment_mw"] * 1000).round(0).cast(pl.Int64) == 0).all()
    assert (m["min_quantity_mw"] >= m["min_mw"] - 1e-9).all()
    assert (m["min_quantity_mw"] <= m["quantity_mw"]).all()
    # Prices: positive, on cents.
    assert (b["price_eur_per_mw"] > 0).all()
    assert _on_grid(b["price_eur_per_mw"], 10)
    # Submission inside the gate window.
    config = archive.config
    assert config.gate_open is not None
    assert config.gate_close is not None
    assert (b["submitted_at"] >= config.gate_open.astimezone(UTC)).all()
    assert (b["submitted_at"] < config.gate_close.astimezone(UTC)).all()


@pytest.mark.parametrize(
    "scenario", [Scenario(), benchmark_scenario(10_000, 200)], ids=["sample", "reference"]
)
def test_links_and_exclusive_groups_are_well_formed(scenario: Scenario) -> None:
    bids = generate(scenario).bids
    children = bids.filter(pl.col("linked_to").is_not_null())
    parents = children.join(
        bids.select("bid_id", "org_id", "linked_to"),
        left_on="linked_to",
        right_on="bid_id",
        how="left",
        suffix="_parent",
    )
    assert children.height > 0
    assert parents["org_id_parent"].null_count() == 0  # every parent exists
    assert (parents["org_id"] == parents["org_id_parent"]).all()
    assert (parents["linked_to"] != parents["bid_id"]).all()
    # Parents are never children themselves, so there is no cycle.
    assert parents["linked_to_parent"].null_count() == parents.height
    groups = (
        bids.filter(pl.col("exclusive_group").is_not_null())
        .group_by("exclusive_group")
        .agg(
            n=pl.len(),
            orgs=pl.col("org_id").n_unique(),
            products=pl.col("product_id").n_unique(),
        )
    )
    assert groups.height > 0
    assert groups["n"].is_between(2, 3).all()
    assert (groups["orgs"] == 1).all()
    assert (groups["products"] == groups["n"]).all()


def test_sample_has_ties_below_reserve_and_all_or_nothing(sample: Archive) -> None:
    b = _bids_with_products(sample)
    assert b.select(pl.struct("product_id", "price_eur_per_mw").is_duplicated().sum()).item() > 0
    assert b.select(pl.struct("submitted_at").is_duplicated().sum()).item() > 0
    assert (b["price_eur_per_mw"] < b["reserve_price_eur_per_mw"]).sum() > 0
    assert (b["min_quantity_mw"] == b["quantity_mw"]).sum() > 0
    solo = b.filter(pl.col("max_mw").is_not_null())
    assert solo.height > 1
    assert (solo["min_quantity_mw"] == solo["quantity_mw"]).all()


def test_sample_prices_are_at_german_levels(sample: Archive) -> None:
    median = _bids_with_products(sample).group_by("product_id").agg(pl.median("price_eur_per_mw"))
    by_id = dict(median.iter_rows())
    assert 150 <= by_id["DAY-WS2"] <= 450
    assert by_id["DAY-WS1-FCR"] > by_id["DAY-WS2"]
    assert by_id["DAY-WS1-AFRR"] > by_id["DAY-WS2"]
    assert by_id["H16-20-WS2"] > by_id["H00-04-WS2"]
    assert by_id["H16-20-WS2"] < by_id["DAY-WS2"]


def test_reference_day_has_the_requested_shares(reference: Archive) -> None:
    b = _bids_with_products(reference)
    n = b.height
    assert n == 10_000
    assert reference.products.height == 24
    assert reference.fleet.height == 200
    above_one_increment = (b["min_quantity_mw"] > b["increment_mw"]).fill_null(False).mean()
    assert above_one_increment == pytest.approx(0.20, abs=0.01)
    assert b["exclusive_group"].is_not_null().mean() == pytest.approx(0.05, abs=0.01)
    assert b["linked_to"].is_not_null().mean() == pytest.approx(0.02, abs=0.005)
    # The products overlap in time, so they compete for the same assets.
    day_products = reference.products.filter(
        pl.col("end") - pl.col("start") >= pl.duration(hours=23)
    )
    assert day_products.height >= 4


@pytest.mark.parametrize(("n_bids", "n_assets"), [(1_000, 20), (100_000, 1_000)])
def test_benchmark_sizes(n_bids: int, n_assets: int) -> None:
    archive = generate(benchmark_scenario(n_bids, n_assets))
    assert archive.bids.height == n_bids
    assert archive.fleet.height == n_assets
    assert archive.fleet["asset_id"].is_unique().all()
    assert archive.bids["bid_id"].is_unique().all()


def test_catalogue_prefixes_start_with_the_full_day_product() -> None:
    assert catalogue(1)[0].product_id == "DAY-WS2"
    ids = [p.product_id for p in catalogue(72)]
    assert len(set(ids)) == 72
    with pytest.raises(ValueError, match="n_products"):
        catalogue(73)


def test_empty_book_and_refused_knobs() -> None:
    archive = generate(Scenario(n_bids=0))
    assert archive.bids.height == 0
    assert archive.bids.schema == BIDS
    with pytest.raises(ValueError, match="n_outside_zone"):
        generate(Scenario(n_assets=3, n_outside_zone=3))
    with pytest.raises(ValueError, match="share"):
        generate(Scenario(share_all_or_nothing=0.5, share_min=0.2))


def test_bundled_sample_is_up_to_date(sample: Archive) -> None:
    """data/sample is what data/generate_sample.py writes today (rerun it after a change)."""
    bundled = read_archive(Path(__file__).resolve().parents[3] / "data" / "sample")
    assert bundled.config == sample.config
    for name in TABLES:
        assert_frame_equal(getattr(bundled, name), getattr(sample, name))
