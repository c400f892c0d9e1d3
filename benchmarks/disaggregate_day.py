"""The disaggregation benchmark's seeded day: assets of 1-10 MW, virtual assets laid end to
end over the fleet's power as the clearing lays them, random valid schedules, derates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from auction.book import AVAILABILITY, FLEET
from auction.timegrid import day_bounds
from dispatch.frames import BACKING_SLICES, BLOCKS, SCHEDULES

DAY = date(2026, 11, 29)
ZONE = "10YDE-EON------1"
MARKETS = ("wholesale", "fcr", "afrr_pos", "afrr_neg")
HOURS = {"wholesale": 2.0, "fcr": 0.5, "afrr_pos": 1.0, "afrr_neg": 1.0}  # energy per kW


@dataclass(frozen=True)
class Frames:
    fleet: pl.DataFrame
    availability: pl.DataFrame
    blocks: pl.DataFrame
    backing: pl.DataFrame
    schedules: pl.DataFrame

    def kwargs(self) -> dict[str, Any]:
        start, end = day_bounds(DAY)
        return {
            "fleet": self.fleet,
            "availability": self.availability,
            "blocks": self.blocks,
            "backing": self.backing,
            "schedules": self.schedules,
            "start": start,
            "end": end,
        }


def synthetic_day(
    seed: int,
    n_assets: int,
    n_virtual: int,
    energy_margin: float,
    outages: int,
    fraction: float,
    drain: float = 0.0,
) -> Frames:
    """A valid day: blocks sized to the fleet's power, assets sized to their blocks' energy.

    ``drain`` (0-1) tilts every schedule towards discharging: with it the customers empty
    their virtual batteries together, and the fleet's losses then take more out of the
    physical ones than the schedules account for."""
    rng = np.random.default_rng(seed)
    start, end = day_bounds(DAY)
    mtu = timedelta(minutes=15)
    n_mtu = (end - start) // mtu
    edges = [start + k * mtu for k in range(n_mtu + 1)]
    p_kw = rng.choice([1000, 2000, 2500, 5000, 10000], n_assets)
    asset_ids = [f"asset-{i:04d}" for i in range(n_assets)]

    # Virtual assets: wholesale W, FCR 0.2 W for 30 %, aFRR +/- 0.2 W for 20 %; their
    # footprints fill 95 % of the fleet's power.
    weight = rng.uniform(0.5, 1.5, n_virtual)
    has_fcr, has_afrr = rng.random(n_virtual) < 0.3, rng.random(n_virtual) < 0.2
    scale = 0.95 * p_kw.sum() / (weight * (1 + 0.2 * has_fcr + 0.2 * has_afrr)).sum()
    power = {"wholesale": np.maximum(np.floor(weight * scale), 1).astype(np.int64)}
    power["fcr"] = np.where(has_fcr, np.round(0.2 * power["wholesale"]), 0).astype(np.int64)
    power["afrr_pos"] = np.where(has_afrr, np.round(0.2 * power["wholesale"]), 0).astype(np.int64)
    power["afrr_neg"] = power["afrr_pos"]
    energy = {m: np.round(HOURS[m] * power[m]).astype(np.int64) for m in MARKETS}
    footprint = power["wholesale"] + power["fcr"] + power["afrr_pos"]

    # Windows: the whole day for a third, else one of six 4-hour products.
    kind = rng.integers(0, 9, n_virtual)
    first = np.where(kind < 3, 0, (kind - 3) * 16)
    last = np.where(kind < 3, n_mtu, np.minimum((kind - 2) * 16, n_mtu))
    last = np.where(kind == 8, n_mtu, last)

    # Lay virtual assets and assets end to end on one line of kW (as clearing.assets does).
    va_hi, as_hi = np.cumsum(footprint), np.cumsum(p_kw)
    va_lo, as_lo = va_hi - footprint, as_hi - p_kw
    cuts = np.unique(np.concatenate([va_lo, va_hi, as_lo, as_hi]))
    lo, hi = cuts[:-1], cuts[1:]
    v = np.searchsorted(va_lo, lo, side="right") - 1
    a = np.searchsorted(as_lo, lo, side="right") - 1
    keep = (v >= 0) & (hi <= va_hi[v.clip(0)]) & (hi <= as_hi[a.clip(0, n_assets - 1)])
    lo, hi, v, a = lo[keep], hi[keep], v[keep], a[keep]
    share_lo, share_hi = (lo - va_lo[v]) / footprint[v], (hi - va_lo[v]) / footprint[v]

    blocks, backing = [], []
    for m in MARKETS:
        blocks.extend(
            {
                "block_id": f"va-{b:05d}/{m}",
                "product_id": f"p{kind[b]}",
                "market": m,
                "power_kw": int(power[m][b]),
                "energy_kwh": int(energy[m][b]),
                "start": edges[first[b]],
                "end": edges[last[b]],
                "tso_zone": ZONE,
                "initial_soc_kwh": float(energy[m][b] // 2) if m == "wholesale" else 0.0,
            }
            for b in np.flatnonzero(power[m])
        )

        def part(total: np.ndarray, v: np.ndarray = v) -> np.ndarray:
            cut: np.ndarray = np.round(total[v] * share_hi) - np.round(total[v] * share_lo)
            return cut.astype(np.int64)

        kw, kwh = part(power[m]), part(energy[m])
        for j in np.flatnonzero(kw > 0):
            b = v[j]
            backing.append(
                {
                    "block_id": f"va-{b:05d}/{m}",
                    "asset_id": asset_ids[a[j]],
                    "start": edges[first[b]],
                    "end": edges[last[b]],
                    "power_kw": int(kw[j]),
                    "energy_kwh": int(kwh[j]),
                }
            )
    backing_frame = pl.DataFrame(backing, schema=BACKING_SLICES)
    need = dict(backing_frame.group_by("asset_id").agg(pl.col("energy_kwh").sum()).iter_rows())
    fleet = pl.DataFrame(
        [
            {
                "asset_id": asset_id,
                "tso_zone": ZONE,
                "p_charge_mw": p / 1000,
                "p_discharge_mw": p / 1000,
                "e_min_mwh": 0.0,
                "e_max_mwh": max(np.ceil(need.get(asset_id, 0) * energy_margin), p) / 1000,
                "fcr": True,
                "afrr_pos": True,
                "afrr_neg": True,
                "owner_org": None,
                "eta_charge": 0.95,
                "eta_discharge": 0.95,
            }
            for asset_id, p in zip(asset_ids, p_kw.tolist(), strict=True)
        ],
        schema=FLEET,
    )
    return Frames(
        fleet=fleet,
        availability=_outages(rng, asset_ids, edges, outages, fraction),
        blocks=pl.DataFrame(blocks, schema=BLOCKS),
        backing=backing_frame,
        schedules=_schedules(
            rng, power["wholesale"], energy["wholesale"], first, last, edges, drain
        ),
    )


def _schedules(
    rng: np.random.Generator,
    power: np.ndarray,
    energy: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    edges: list[Any],
    drain: float,
) -> pl.DataFrame:
    """A persistent random walk per block, clipped so the virtual SoC stays in [0, energy]."""
    dt_h = 0.25
    soc = (energy // 2).astype(np.float64)
    level = rng.uniform(-1, 1, len(power))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for t in range(len(edges) - 1):
        level = np.clip(0.8 * level + 0.4 * rng.uniform(-1, 1, len(power)) + drain, -1, 1)
        kw = np.round(level * power)
        kw = np.clip(kw, np.ceil(-(energy - soc) / dt_h), np.floor(soc / dt_h))
        kw = np.where((first <= t) & (t < last), kw, 0).astype(np.int64)
        soc -= kw * dt_h
        nz = np.flatnonzero(kw)
        parts.append((nz, np.full(len(nz), t), kw[nz]))
    b, t, kw = (np.concatenate(x) for x in zip(*parts, strict=True))
    return pl.DataFrame(
        {
            "block_id": [f"va-{i:05d}/wholesale" for i in b.tolist()],
            "start": [edges[i] for i in t.tolist()],
            "power_kw": kw,
        },
        schema=SCHEDULES,
    )


def _outages(
    rng: np.random.Generator, asset_ids: list[str], edges: list[Any], n: int, fraction: float
) -> pl.DataFrame:
    """``n`` assets at ``fraction`` for two hours somewhere in the day."""
    rows = []
    for k in rng.choice(len(asset_ids), n, replace=False).tolist():
        t = int(rng.integers(0, len(edges) - 9))
        rows.append(
            {
                "asset_id": asset_ids[k],
                "start": edges[t],
                "end": edges[t + 8],
                "available_fraction": fraction,
            }
        )
    return pl.DataFrame(rows, schema=AVAILABILITY)
