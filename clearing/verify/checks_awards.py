"""The checks of what each bid got: awards.csv covers the archive's bids, summary.json
counts them, every award obeys its bid, and exclusive groups, links and product caps
hold.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from clearing.verify.findings import Finding, num
from clearing.verify.result import ZERO, Award, Result
from clearing.verify.terms import BidTerms, ProductTerms, Terms, awarded_mw, product_totals


def check_files(terms: Terms, result: Result) -> list[Finding]:
    """awards.csv has exactly one row per bid of the archive."""
    missing = sorted(set(terms.bids) - set(result.awards))
    extra = sorted(set(result.awards) - set(terms.bids))
    findings = []
    if missing:
        findings.append(Finding("files", "awards.csv", f"no row for bids {', '.join(missing)}"))
    if extra:
        findings.append(Finding("files", "awards.csv", f"rows for unknown bids {', '.join(extra)}"))
    return findings


def check_summary(terms: Terms, result: Result) -> list[Finding]:
    """summary.json names this auction and counts its bids and awards."""
    s = result.summary
    findings = []
    if s.auction_id != terms.auction_id:
        findings.append(Finding("summary", "auction_id", f"{s.auction_id!r} is not this auction"))
    if s.n_bids is not None and s.n_bids != len(terms.bids):
        findings.append(
            Finding("summary", "n_bids", f"{s.n_bids}, the archive has {len(terms.bids)}")
        )
    positive = sum(1 for a in result.awards.values() if a.awarded_mw > 0)
    full = sum(1 for a in result.awards.values() if a.status == "accepted")
    # The format does not say whether partial awards count as accepted: either count is fine.
    if s.n_accepted is not None and s.n_accepted not in (positive, full):
        findings.append(
            Finding("summary", "n_accepted", f"{s.n_accepted}, awards.csv has {positive} awarded")
        )
    if s.objective_eur is None:
        findings.append(Finding("summary", "objective_eur", "missing for a feasible result"))
    return findings


def check_awards(terms: Terms, result: Result) -> list[Finding]:
    """Every award obeys its bid: quantity, increment, price, payment, reserve, status.

    ``x_b = 0 or min_b ≤ x_b ≤ q_b`` on the increment grid, ``payment = x_b·price_b``
    exactly, and the status and reason say what happened.
    """
    findings = []
    for bid in terms.bids.values():
        award = result.awards[bid.bid_id]
        product = terms.products.get(bid.product_id)
        problems = _award_terms(bid, award) + _award_quantity(bid, product, award.awarded_mw)
        problems += _award_status(bid, product, award, result)
        findings += [Finding("awards", f"bid {bid.bid_id}", p) for p in problems]
    return findings


def _award_terms(bid: BidTerms, award: Award) -> list[str]:
    """Names, price and payment as the bid says."""
    x, price = award.awarded_mw, bid.price_eur_per_mw
    out = []
    if (award.org_id, award.product_id) != (bid.org_id, bid.product_id):
        out.append(
            f"names org {award.org_id} and product {award.product_id}, "
            f"the bid org {bid.org_id} and product {bid.product_id}"
        )
    if award.price_eur_per_mw != price:
        out.append(f"price {num(award.price_eur_per_mw)} EUR/MW, the bid says {num(price)}")
    if award.payment_eur != x * price:
        out.append(
            f"payment {num(award.payment_eur)} EUR, but {num(x)} MW x {num(price)} EUR/MW "
            f"= {num(x * price)} EUR"
        )
    return out


def _minimum(bid: BidTerms, product: ProductTerms) -> Decimal:
    """The least a bid may get if awarded: its own minimum, never below the product's."""
    return max(bid.min_quantity_mw or ZERO, product.min_mw)


def _below_reserve(bid: BidTerms, product: ProductTerms | None) -> bool:
    return product is not None and bid.price_eur_per_mw < product.reserve_eur_per_mw


def _award_quantity(bid: BidTerms, product: ProductTerms | None, x: Decimal) -> list[str]:
    """``x = 0`` or ``min ≤ x ≤ q``, a whole multiple of the increment, priced at the reserve."""
    if x < 0:
        return [f"awarded {num(x)} MW, a negative quantity"]
    if x == 0:
        return []
    if product is None:
        return [f"awarded {num(x)} MW of unknown product {bid.product_id}"]
    out = []
    minimum = _minimum(bid, product)
    if x > bid.quantity_mw:
        out.append(f"awarded {num(x)} MW, more than the {num(bid.quantity_mw)} MW bid")
    elif x < minimum:
        out.append(f"awarded {num(x)} MW, less than its minimum of {num(minimum)} MW")
    if product.increment_mw <= 0 or x % product.increment_mw != 0:
        out.append(
            f"awarded {num(x)} MW, not a whole multiple of the increment "
            f"{num(product.increment_mw)} MW"
        )
    if _below_reserve(bid, product):
        out.append(
            f"awarded {num(x)} MW although its price {num(bid.price_eur_per_mw)} EUR/MW is "
            f"below the reserve price {num(product.reserve_eur_per_mw)}"
        )
    return out


def _award_status(
    bid: BidTerms, product: ProductTerms | None, award: Award, result: Result
) -> list[str]:
    """Status follows the quantity; reasons that can be checked are true."""
    x, q = award.awarded_mw, bid.quantity_mw
    out = []
    if 0 <= x <= q:
        expected = "rejected" if x == 0 else "accepted" if x == q else "partial"
        if award.status != expected:
            out.append(f"status {award.status}, but {num(x)} of {num(q)} MW is {expected}")
        # docs/archive.md: the reason says why a bid got less than it asked.
        if (award.reason is None) != (x == q):
            out.append(f"{num(x)} of {num(q)} MW with reason {award.reason or '(empty)'}")
    below = _below_reserve(bid, product)
    if x == 0 and below and award.reason != "below_reserve":
        out.append(f"priced below the reserve, but reason is {award.reason or '(empty)'}")
    if award.reason == "below_reserve" and not below:
        out.append("reason below_reserve, but its price is not below the reserve price")
    if award.reason == "parent_rejected" and (
        bid.linked_to is None or awarded_mw(result, bid.linked_to) > 0
    ):
        out.append("reason parent_rejected, but it has no rejected parent")
    if award.reason == "exclusive_group" and bid.exclusive_group is None:
        out.append("reason exclusive_group, but it is in no exclusive group")
    return out


def check_exclusive_groups(terms: Terms, result: Result) -> list[Finding]:
    """At most one bid of each (org, exclusive group) gets an award: ``Σ_{b∈g} y_b ≤ 1``."""
    awarded: dict[tuple[str, str], list[str]] = defaultdict(list)
    for bid in terms.bids.values():
        if bid.exclusive_group is not None and awarded_mw(result, bid.bid_id) > 0:
            awarded[(bid.org_id, bid.exclusive_group)].append(bid.bid_id)
    return [
        Finding(
            "exclusive_groups",
            f"org {org} group {group}",
            f"bids {', '.join(sorted(ids))} are all awarded; at most one may be",
        )
        for (org, group), ids in sorted(awarded.items())
        if len(ids) > 1
    ]


def check_links(terms: Terms, result: Result) -> list[Finding]:
    """A linked bid with an award has a parent of its org with an award: ``y_c ≤ y_parent``."""
    findings = []
    for bid in terms.bids.values():
        x = awarded_mw(result, bid.bid_id)
        if bid.linked_to is None or x <= 0:
            continue
        parent = terms.bids.get(bid.linked_to)
        if parent is None:
            detail = f"awarded {num(x)} MW, but its parent {bid.linked_to} does not exist"
        elif parent.org_id != bid.org_id:
            detail = f"awarded {num(x)} MW, but its parent {parent.bid_id} is another org's"
        elif awarded_mw(result, parent.bid_id) <= 0:
            detail = f"awarded {num(x)} MW, but its parent {parent.bid_id} got nothing"
        else:
            continue
        findings.append(Finding("links", f"bid {bid.bid_id}", detail))
    return findings


def check_supply(terms: Terms, result: Result) -> list[Finding]:
    """``X_p ≤ max_mw_p``: bids and fixed allocations together stay within the cap."""
    totals = product_totals(terms, result)
    return [
        Finding(
            "supply",
            f"product {p.product_id}",
            f"{num(totals[p.product_id])} MW sold (bids and fixed allocations), "
            f"max_mw is {num(p.max_mw)}",
        )
        for p in terms.products.values()
        if p.max_mw is not None and totals[p.product_id] > p.max_mw
    ]
