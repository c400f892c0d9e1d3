"""The physical fleet of a synthetic day: BESS of German sizes and sites, and their outages."""

from __future__ import annotations

import numpy as np
import polars as pl

from auction.book import AVAILABILITY, FLEET
from auction.synthetic.frames import conform, epoch_us, utc_series
from auction.synthetic.scenario import Scenario
from auction.timegrid import day_bounds, mtu_us

# The other German control areas (EIC): a few assets sit outside the auction's zone.
FIFTY_HERTZ = "10YDE-VE-------2"
AMPRION = "10YDE-RWENET---I"
TRANSNET_BW = "10YDE-ENBW-----N"
# Customers whose assets the operator pools (about 40 % of the fleet).
OWNER_ORGS = (
    "stadtwerke-nordheide",
    "hofgut-solar-bayern",
    "windpark-dithmarschen",
    "energiegenossenschaft-allgaeu",
    "northwind-trading",
)
# Substation-like site names by control area; asset ids are "bess-<site>-<nn>".
TENNET_SITES = (
    "husum",
    "bordesholm",
    "emden",
    "dollern",
    "wilhelmshaven",
    "heide",
    "brunsbuettel",
    "lehrte",
    "audorf",
    "conneforde",
    "cloppenburg",
    "stade",
    "landshut",
    "wunsiedel",
    "schweinfurt",
    "regensburg",
    "grafenrheinfeld",
    "raitersaich",
    "ingolstadt",
    "bamberg",
    "passau",
    "kassel",
)
OTHER_ZONE_SITES = (
    (FIFTY_HERTZ, "wolmirstedt"),
    (AMPRION, "oberzier"),
    (FIFTY_HERTZ, "lauchstaedt"),
    (TRANSNET_BW, "kuppenheim"),
    (AMPRION, "gersteinwerk"),
    (FIFTY_HERTZ, "schwerin"),
)


def build_fleet(rng: np.random.Generator, s: Scenario, tso_zone: str) -> pl.DataFrame:
    """Physical BESS: 2 MW/2 MWh to 50 MW/100 MWh, 1 h, 1.5 h and 2 h systems.

    Most are prequalified for FCR and aFRR; about 40 % belong to customers (``owner_org``).
    The last ``n_outside_zone`` assets sit in other German control areas.
    """
    n = s.n_assets
    sizes = np.array([2, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50], dtype=np.float64)
    weights = np.array([6, 8, 8, 6, 8, 10, 7, 8, 7, 5, 4, 3, 2], dtype=np.float64)
    p_mw = rng.choice(sizes, n, p=weights / weights.sum())
    duration_h = rng.choice(np.array([1.0, 1.5, 2.0]), n, p=[0.35, 0.2, 0.45])
    e_max = p_mw * duration_h
    # A few % of the energy is kept as a floor (cell protection), on the 0.1 MWh grid.
    e_min = np.round(e_max * rng.uniform(0.02, 0.08, n), 1)
    # Some inverters charge slower than they discharge.
    slow_charge = rng.random(n) < 0.12
    p_charge = np.where(slow_charge, np.round(0.8 * p_mw, 1), p_mw)
    fcr = rng.random(n) < 0.8
    afrr = rng.random(n) < 0.7
    neg_only = afrr & (rng.random(n) < 0.1)
    owner_draw = rng.integers(0, len(OWNER_ORGS), n)
    customer = rng.random(n) < 0.4

    n_in = n - s.n_outside_zone
    zones = [tso_zone] * n_in
    sites = [TENNET_SITES[i] for i in rng.integers(0, len(TENNET_SITES), n_in)]
    for i in range(s.n_outside_zone):
        zone, site = OTHER_ZONE_SITES[i % len(OTHER_ZONE_SITES)]
        zones.append(zone)
        sites.append(site)
    seen: dict[str, int] = {}
    asset_ids: list[str] = []
    for site in sites:  # one loop per asset, not per bid
        seen[site] = seen.get(site, 0) + 1
        asset_ids.append(f"bess-{site}-{seen[site]:02d}")
    owners = [OWNER_ORGS[k] if c else None for k, c in zip(owner_draw, customer, strict=True)]
    return pl.DataFrame(
        {
            "asset_id": asset_ids,
            "tso_zone": zones,
            "p_charge_mw": p_charge,
            "p_discharge_mw": p_mw,
            "e_min_mwh": e_min,
            "e_max_mwh": e_max,
            "fcr": fcr,
            "afrr_pos": afrr & ~neg_only,
            "afrr_neg": afrr,
            "owner_org": owners,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
        },
        schema=FLEET,
    ).pipe(conform, FLEET)


def build_availability(
    rng: np.random.Generator, s: Scenario, fleet: pl.DataFrame, tso_zone: str
) -> pl.DataFrame:
    """Outages of 2-8 hours (fraction 0) and, every third event, a whole-day derate to 0.5.

    Events hit distinct assets of the zone; edges lie on the 15-minute grid.
    """
    in_zone = np.flatnonzero((fleet["tso_zone"] == tso_zone).to_numpy())
    assets = rng.choice(in_zone, s.n_outages, replace=False)
    start, end = day_bounds(s.delivery_day, s.time_zone)
    day_start_us, day_end_us = epoch_us(start), epoch_us(end)
    quarter_us = mtu_us(15)
    n_mtu = (day_end_us - day_start_us) // quarter_us
    length = rng.integers(8, 33, s.n_outages)  # quarter-hours
    first = rng.integers(0, n_mtu - length + 1)
    derate = np.arange(s.n_outages) % 3 == 2
    starts = np.where(derate, day_start_us, day_start_us + first * quarter_us)
    ends = np.where(derate, day_end_us, day_start_us + (first + length) * quarter_us)
    return (
        pl.DataFrame(
            [
                pl.Series("asset_id", fleet["asset_id"].to_numpy()[assets], dtype=pl.String),
                utc_series("start", starts),
                utc_series("end", ends),
                pl.Series("available_fraction", np.where(derate, 0.5, 0.0), dtype=pl.Float64),
            ]
        )
        .pipe(conform, AVAILABILITY)
        .sort("asset_id", "start")
    )
