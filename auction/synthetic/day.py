"""Seeded synthetic auctions that look like the German market: one day from its blocks.

``generate(Scenario())`` is the bundled sample auction (``data/sample``);
``benchmark_scenario`` gives the books the benchmarks clear; ``history`` builds a year of
days from the same blocks (``fleet``, ``products``, ``bids``), passing its own
``PriceScale`` and persistent ``BidderStyles``. Everything is drawn from one
``numpy.random.default_rng(seed)`` in a fixed order, so a scenario always gives the same
frames.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from auction.model import Archive, AuctionConfig
from auction.synthetic.bids import build_allocations, build_bids
from auction.synthetic.fleet import build_availability, build_fleet
from auction.synthetic.frames import epoch_us
from auction.synthetic.products import SAMPLE_CATALOGUE, build_products, catalogue
from auction.synthetic.scenario import Scenario, check_scenario


def generate(scenario: Scenario) -> Archive:
    """Build the auction ``scenario`` describes.

    Returns
    -------
    Archive
        Frames with exactly the schemas of ``auction.book``; every bid obeys the rules of
        docs/archive.md.
    """
    check_scenario(scenario)
    rng = np.random.default_rng(scenario.seed)
    tz = ZoneInfo(scenario.time_zone)
    d = scenario.delivery_day
    gate_day = d - timedelta(days=scenario.gate_open_days_before)
    config = AuctionConfig(
        auction_id=scenario.auction_id,
        delivery_day=d,
        time_zone=scenario.time_zone,
        gate_open=datetime.combine(gate_day, time(9), tzinfo=tz),
    )
    specs = SAMPLE_CATALOGUE if scenario.n_products is None else catalogue(scenario.n_products)
    fleet = build_fleet(rng, scenario, config.tso_zone)
    availability = build_availability(rng, scenario, fleet, config.tso_zone)
    products = build_products(specs, d, scenario.time_zone)
    assert config.gate_open is not None
    assert config.gate_close is not None
    bids = build_bids(
        rng,
        scenario,
        specs,
        products,
        gate_open_us=epoch_us(config.gate_open),
        gate_close_us=epoch_us(config.gate_close),
    )
    allocations = build_allocations(scenario, products)
    return Archive(config, fleet, availability, products, bids, allocations)
