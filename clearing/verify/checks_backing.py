"""The physical checks: backing.csv adds up to the blocks and to allocation.csv, and no
asset exceeds its discharge, charge or energy capacity in any MTU.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import numpy as np

from auction.book import MARKETS
from clearing.reference_arrays import KINDS
from clearing.verify.findings import Finding, num
from clearing.verify.result import KW, ZERO, Backing, Block, Result
from clearing.verify.terms import Terms, when

# Float noise on a capacity sum (1 mW): the limits themselves have no tolerance, every
# kW and kWh counts.
CAPACITY_FLOOR_MW = 1e-9


def check_backing(terms: Terms, result: Result) -> list[Finding]:
    """Backing sums to each block exactly, on assets the allocation uses, as much as it gives them.

    Per block: ``Σ_k power = power_mw`` exactly and ``Σ_k energy = energy_mwh`` within
    1 kWh. Per (product, market, asset): the blocks' backing adds up to
    ``f_{p,m}·w_{p,m,k}``, exactly where ``f`` is 1 and within 1 kW otherwise.
    """
    blocks = {b.block_id: b for b in result.blocks}
    product_of = {va.virtual_asset_id: va.product_id for va in result.virtual_assets}
    allocated = {(a.product_id, a.market, a.asset_id): a.mw for a in result.allocation}
    power: dict[str, Decimal] = defaultdict(Decimal)
    energy: dict[str, Decimal] = defaultdict(Decimal)
    carried: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    findings = []
    for row in result.backing:
        block = blocks.get(row.block_id)
        subject = f"block {row.block_id} asset {row.asset_id}"
        if block is None:
            findings.append(Finding("backing", subject, "unknown block"))
            continue
        key = (product_of.get(block.virtual_asset_id, ""), block.market, row.asset_id)
        findings += [
            Finding("backing", subject, d) for d in _backing_row(terms, row, allocated, key)
        ]
        power[row.block_id] += row.power_mw
        energy[row.block_id] += row.energy_mwh
        carried[key] += row.power_mw
    for block in blocks.values():
        findings += _backing_sums(block, power[block.block_id], energy[block.block_id])
    return findings + _backing_per_asset(terms, result, carried)


def _backing_row(
    terms: Terms,
    row: Backing,
    allocated: dict[tuple[str, str, str], Decimal],
    key: tuple[str, str, str],
) -> list[str]:
    out = []
    if row.asset_id not in terms.assets:
        out.append("unknown asset")
    if row.power_mw < 0 or row.energy_mwh < 0 or row.power_mw % KW != 0:
        out.append(
            f"{num(row.power_mw)} MW / {num(row.energy_mwh)} MWh: power and energy must be "
            "non-negative, power on the 1 kW grid"
        )
    if row.power_mw > 0 and allocated.get(key, ZERO) <= 0:
        out.append(f"carries {num(row.power_mw)} MW, but allocation.csv gives the asset none")
    return out


def _backing_sums(block: Block, power: Decimal, energy: Decimal) -> list[Finding]:
    out = []
    if power != block.power_mw:
        out.append(
            Finding(
                "backing",
                f"block {block.block_id}",
                f"backing sums to {num(power)} MW, the block has {num(block.power_mw)} MW",
            )
        )
    if abs(energy - block.energy_mwh) > KW:
        out.append(
            Finding(
                "backing",
                f"block {block.block_id}",
                f"backing sums to {num(energy)} MWh, the block has {num(block.energy_mwh)} MWh",
            )
        )
    return out


def _backing_per_asset(
    terms: Terms, result: Result, carried: dict[tuple[str, str, str], Decimal]
) -> list[Finding]:
    """What each asset carries of a (product, market) matches ``f·w`` of allocation.csv:
    exactly where the factor is 1, within 1 kW otherwise (block powers are whole kW)."""
    expected = {
        (a.product_id, a.market, a.asset_id): terms.products[a.product_id].factor[a.market] * a.mw
        for a in result.allocation
        if a.product_id in terms.products
    }
    findings = []
    for key in sorted(set(expected) | set(carried)):
        got, want = carried.get(key, ZERO), expected.get(key, ZERO)
        product = terms.products.get(key[0])
        exact = product is not None and product.factor.get(key[1]) == 1
        if (exact and got != want) or abs(got - want) >= KW:
            product_id, market, asset_id = key
            findings.append(
                Finding(
                    "backing",
                    f"product {product_id} {market} asset {asset_id}",
                    f"blocks are backed by {num(got)} MW of it, allocation.csv gives "
                    f"f·w = {num(want)} MW",
                )
            )
    return findings


def check_capacity(terms: Terms, result: Result) -> list[Finding]:
    """No asset exceeds its discharge, charge or energy capacity in any MTU, by any amount.

    Checked twice, at zero tolerance (float noise of ``CAPACITY_FLOOR_MW`` aside):

    - allocation.csv, as docs/clearing.md writes the rows: ``Σ_p coef[c,p,m]·w_{p,m,k}
      ≤ a_k(t)·cap_c(k)`` per asset ``k``, MTU ``t`` and kind ``c``;
    - backing.csv, what each asset physically carries: the power of the blocks it backs
      (in the markets that move power that way) and the energy that power needs (the
      market's hours per MW: wholesale_h, 2·fcr_energy_h, afrr_energy_h).
    """
    grid = terms.grid
    p_index = {p: i for i, p in enumerate(grid.product_ids)}
    k_index = {k: i for i, k in enumerate(grid.asset_ids)}
    w = np.zeros((len(grid.product_ids), len(MARKETS), len(grid.asset_ids)))
    for row in result.allocation:
        if row.product_id in p_index and row.asset_id in k_index:
            p, m = p_index[row.product_id], MARKETS.index(row.market)
            w[p, m, k_index[row.asset_id]] = float(row.mw)
    findings = _over_capacity(terms, grid.coef, w, "allocation.csv")
    # Block power per MW of block: the coefficients without the factor.
    physical = np.divide(
        grid.coef, grid.factors[None], out=np.zeros_like(grid.coef), where=grid.factors[None] > 0
    )
    return findings + _over_capacity(terms, physical, _carried(terms, result), "backing.csv")


def _carried(terms: Terms, result: Result) -> np.ndarray:
    """(product, market, asset): MW of block power backing.csv puts on each asset."""
    grid = terms.grid
    p_index = {p: i for i, p in enumerate(grid.product_ids)}
    k_index = {k: i for i, k in enumerate(grid.asset_ids)}
    product_of = {va.virtual_asset_id: va.product_id for va in result.virtual_assets}
    blocks = {b.block_id: b for b in result.blocks}
    carried = np.zeros((len(grid.product_ids), len(MARKETS), len(grid.asset_ids)))
    for row in result.backing:
        block = blocks.get(row.block_id)
        if block is None or row.asset_id not in k_index or block.market not in MARKETS:
            continue  # check_backing reports these
        product = product_of.get(block.virtual_asset_id)
        if product in p_index:
            p, m = p_index[product], MARKETS.index(block.market)
            carried[p, m, k_index[row.asset_id]] += float(row.power_mw)
    return carried


def _over_capacity(
    terms: Terms, coef: np.ndarray, load_mw: np.ndarray, source: str
) -> list[Finding]:
    """Findings for every (asset, kind) whose load exceeds its capacity in some MTU."""
    grid = terms.grid
    active = grid.active.astype(np.float64)
    load = np.einsum("cpm,pmk->cpk", coef, load_mw)
    usage = np.einsum("cpk,pt->ckt", load, active)
    excess = usage - grid.capacity
    over = excess > CAPACITY_FLOOR_MW
    findings = []
    for c, k in zip(*np.nonzero(over.any(axis=2)), strict=True):
        ts = np.flatnonzero(over[c, k])
        worst = int(ts[np.argmax(excess[c, k, ts])])
        unit, small = ("MWh", "kWh") if KINDS[c] == "energy" else ("MW", "kW")
        when = _mtu_label(grid.mtus[worst], terms)
        used, limit = float(usage[c, k, worst]), float(grid.capacity[c, k, worst])
        detail = (
            f"{source} puts {num(used)} {unit} on it, {num((used - limit) * 1000)} "
            f"{small} over its capacity of {num(limit)} {unit}"
        )
        if ts.size > 1:
            detail += (
                f" (over in {ts.size} MTUs, {_mtu_label(grid.mtus[ts[0]], terms)}"
                f" to {_mtu_label(grid.mtus[ts[-1]], terms)})"
            )
        findings.append(
            Finding("capacity", f"asset {grid.asset_ids[k]} MTU {when} {KINDS[c]}", detail)
        )
    return findings


def _mtu_label(start: np.datetime64, terms: Terms) -> str:
    instant = datetime.fromisoformat(f"{np.datetime_as_string(start, unit='s')}+00:00")
    return when(instant, terms)
