"""The checks of how the sold MW are delivered: fixed allocations are served,
allocation.csv adds up to each product's total, one virtual asset per awarded bid,
and its blocks as the product's recipe says.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from clearing.verify.findings import Finding, num
from clearing.verify.result import KW, Allocated, Block, Result, VirtualAsset
from clearing.verify.terms import ProductTerms, Terms, awarded_mw, product_totals, when

HALF_KW = KW / 2  # the most a value rounded to nearest 1 kW moves


def _va_quantities(terms: Terms, result: Result) -> dict[str, Decimal | None]:
    """MW of product each virtual asset carries.

    A bid's is its award; a fixed allocation's is read back from its first block
    (power / factor, on the 1 kW grid). ``None`` when it cannot be told.
    """
    first_block: dict[str, Block] = {}
    for block in result.blocks:
        first_block.setdefault(f"{block.virtual_asset_id}/{block.market}", block)
    out: dict[str, Decimal | None] = {}
    for va in result.virtual_assets:
        product = terms.products.get(va.product_id)
        if va.bid_id is not None:
            out[va.virtual_asset_id] = awarded_mw(result, va.bid_id)
            continue
        keys = [f"{va.virtual_asset_id}/{m}" for m in product.markets] if product else []
        found = [first_block[key] for key in keys if key in first_block]
        if product is None or not found:
            out[va.virtual_asset_id] = None
            continue
        # Fixed allocations are on the 1 kW grid, so the read-back MW is too.
        factor = product.factor[found[0].market]
        out[va.virtual_asset_id] = (found[0].power_mw / factor).quantize(KW)
    return out


def check_fixed_allocations(terms: Terms, result: Result) -> list[Finding]:
    """Every fixed allocation is served in full: one virtual asset of its org, product and MW."""
    quantity = _va_quantities(terms, result)
    served: dict[tuple[str, str], Counter[Decimal | None]] = defaultdict(Counter)
    for va in result.virtual_assets:
        if va.bid_id is None:
            served[(va.org_id, va.product_id)][quantity[va.virtual_asset_id]] += 1
    wanted: dict[tuple[str, str], Counter[Decimal | None]] = defaultdict(Counter)
    for org, product_id, mw in terms.fixed:
        product = terms.products.get(product_id)
        # A product without blocks gives no way to read the MW back; count only.
        wanted[(org, product_id)][mw if product is not None and product.markets else None] += 1
    findings = []
    for org, product_id in sorted(set(served) | set(wanted)):
        missing = wanted[(org, product_id)] - served[(org, product_id)]
        extra = served[(org, product_id)] - wanted[(org, product_id)]
        subject = f"org {org} product {product_id}"
        findings += [
            Finding("fixed_allocations", subject, f"allocation of {_show(q)} MW is not served")
            for q in missing.elements()
        ]
        findings += [
            Finding(
                "fixed_allocations",
                subject,
                f"a virtual asset without bid carries {_show(q)} MW, no fixed allocation says so",
            )
            for q in extra.elements()
        ]
    return findings


def _show(value: Decimal | None) -> str:
    return "?" if value is None else num(value)


def check_allocation(terms: Terms, result: Result) -> list[Finding]:
    """allocation.csv: allowed assets only, and ``Σ_k w_{p,m,k} = X_p`` exactly."""
    findings = []
    for row in result.allocation:
        subject = f"product {row.product_id} {row.market} asset {row.asset_id}"
        findings += [Finding("allocation", subject, d) for d in _allocation_row(terms, row)]
    totals = product_totals(terms, result)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in result.allocation:
        sums[(row.product_id, row.market)] += row.mw
    for product in terms.products.values():
        for market in product.markets:
            got, want = sums[(product.product_id, market)], totals[product.product_id]
            if got != want:
                findings.append(
                    Finding(
                        "allocation",
                        f"product {product.product_id} {market}",
                        f"allocated {num(got)} MW in total, the product sold {num(want)} MW",
                    )
                )
    return findings


def _allocation_row(terms: Terms, row: Allocated) -> list[str]:
    """One row: known ids, on the 1 kW grid, a market of the product, an allowed asset."""
    product = terms.products.get(row.product_id)
    asset = terms.assets.get(row.asset_id)
    if product is None:
        return ["unknown product"]
    if asset is None:
        return ["unknown asset"]
    out = []
    if row.mw < 0 or row.mw % KW != 0:
        out.append(f"{num(row.mw)} MW is not a non-negative multiple of 1 kW")
    if product.factor[row.market] == 0:
        out.append(f"product {row.product_id} has no {row.market} block")
    if row.mw != 0 and asset["tso_zone"] != terms.tso_zone:
        out.append(
            f"{num(row.mw)} MW on an asset in zone {asset['tso_zone']}, "
            f"outside the auction's zone {terms.tso_zone}"
        )
    if row.mw != 0 and row.market != "wholesale" and not asset[row.market]:
        out.append(f"{num(row.mw)} MW on an asset not prequalified for {row.market}")
    return out


def check_virtual_assets(terms: Terms, result: Result) -> list[Finding]:
    """One virtual asset per bid with an award, of its org and product, over the product window."""
    findings = []
    per_bid: Counter[str] = Counter()
    for va in result.virtual_assets:
        subject = f"virtual asset {va.virtual_asset_id}"
        product = terms.products.get(va.product_id)
        if product is None:
            findings.append(Finding("virtual_assets", subject, f"unknown product {va.product_id}"))
        elif (va.start, va.end) != (product.start, product.end):
            findings.append(
                Finding(
                    "virtual_assets",
                    subject,
                    f"window {when(va.start, terms)} to {when(va.end, terms)}, the product's "
                    f"is {when(product.start, terms)} to {when(product.end, terms)}",
                )
            )
        if va.bid_id is None:
            continue
        bid = terms.bids.get(va.bid_id)
        if bid is None:
            findings.append(Finding("virtual_assets", subject, f"unknown bid {va.bid_id}"))
            continue
        per_bid[bid.bid_id] += 1
        if (va.org_id, va.product_id) != (bid.org_id, bid.product_id):
            findings.append(
                Finding("virtual_assets", subject, f"org or product differ from bid {bid.bid_id}")
            )
    for bid in terms.bids.values():
        x, n = awarded_mw(result, bid.bid_id), per_bid[bid.bid_id]
        if (x > 0 and n != 1) or (x <= 0 and n > 0):
            findings.append(
                Finding(
                    "virtual_assets",
                    f"bid {bid.bid_id}",
                    f"awarded {num(x)} MW, {n} virtual assets",
                )
            )
    return findings


def check_blocks(terms: Terms, result: Result) -> list[Finding]:
    """One block per market with ``f_{p,m} > 0``: ``power = f·x``, energy as the market holds.

    wholesale ``E = wholesale_h·P``, fcr ``2·fcr_energy_h·P``, afrr ``afrr_energy_h·P``.
    Powers may be rounded to 1 kW, energies to 1 kWh after that.
    """
    virtual_assets = {va.virtual_asset_id: va for va in result.virtual_assets}
    quantity = _va_quantities(terms, result)
    by_va: dict[str, list[Block]] = defaultdict(list)
    findings = []
    for block in result.blocks:
        va = virtual_assets.get(block.virtual_asset_id)
        subject = f"block {block.block_id}"
        if va is None:
            findings.append(Finding("blocks", subject, "belongs to an unknown virtual asset"))
            continue
        by_va[va.virtual_asset_id].append(block)
        if (block.start, block.end) != (va.start, va.end):
            findings.append(Finding("blocks", subject, "window differs from its virtual asset's"))
    for va in virtual_assets.values():
        product = terms.products.get(va.product_id)
        if product is not None:
            x = quantity[va.virtual_asset_id]
            findings += _va_blocks(product, va, by_va[va.virtual_asset_id], x)
    return findings


def _va_blocks(
    product: ProductTerms, va: VirtualAsset, blocks: list[Block], x: Decimal | None
) -> list[Finding]:
    """The blocks of one virtual asset against its product's recipe."""
    markets = sorted(b.market for b in blocks)
    if markets != sorted(product.markets):
        return [
            Finding(
                "blocks",
                f"virtual asset {va.virtual_asset_id}",
                f"blocks for {markets}, expected one each for {product.markets}",
            )
        ]
    if x is None:
        return []
    findings = []
    for block in blocks:
        power = product.factor[block.market] * x
        hours = product.energy_h[block.market]
        energy = hours * power
        subject = f"block {block.block_id}"
        if abs(block.power_mw - power) > HALF_KW:
            findings.append(
                Finding("blocks", subject, f"power {num(block.power_mw)} MW, expected {num(power)}")
            )
        if abs(block.energy_mwh - energy) > HALF_KW * (1 + hours):
            findings.append(
                Finding(
                    "blocks",
                    subject,
                    f"energy {num(block.energy_mwh)} MWh, expected {num(energy)}",
                )
            )
    return findings
