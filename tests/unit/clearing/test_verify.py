"""The independent checker on tiny auctions whose answer is derived by hand.

The base auction: two assets in TenneT DE, one wholesale product 10:00-14:00 local
(1 MW wholesale per MW, 2 h of energy), increment 1 MW, reserve 10 EUR/MW.

    a1: 10 MW each way, 20 MWh  -> carries 10 MW of product (power and energy bind)
    a2:  5 MW each way, 10 MWh  -> carries  5 MW
    b1 org A: 10 MW at 30 EUR/MW -> 10 MW (300 EUR)
    b2 org B:  8 MW at 25 EUR/MW ->  5 MW (125 EUR), the rest of the fleet
    b3 org C:  4 MW at  5 EUR/MW ->  0, below the reserve

Optimum 425 EUR. Each corruption test breaks one rule of the result and expects
exactly the finding(s) that rule gives.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from auction.book import MARKET_FACTOR, MARKETS
from auction.errors import InfeasibleAllocation
from auction.model import Archive
from clearing.reference_arrays import KINDS
from clearing.verify import CHECKS, VerifyReport, format_report, reference_optimum, verify
from tests import strategies
from tests.strategies import BERLIN, NORMAL_DAY, Rows, asset, local

DAY = NORMAL_DAY


def at(hour: int, minute: int = 0) -> datetime:
    """A local time of the delivery day, as the UTC instant the frames hold."""
    return local(DAY, hour, minute)


def product(product_id: str = "p1", **extra: Any) -> dict[str, Any]:
    """The base product: 10:00-14:00 local, reserve 10 EUR/MW (see the module docstring)."""
    return strategies.product(product_id, DAY, **({"reserve_price_eur_per_mw": 10.0} | extra))


def bid(bid_id: str, org: str, mw: float, price: float, **extra: Any) -> dict[str, Any]:
    return strategies.bid(bid_id, org, mw, price, **({"submitted_at": at(1)} | extra))


def make_archive(
    fleet: Rows,
    products: Rows,
    bids: Rows,
    allocations: Rows | None = None,
    availability: Rows | None = None,
    day: date = DAY,
) -> Archive:
    return strategies.make_archive(
        fleet, products, bids, allocations, availability, day=day, auction_id="t1"
    )


def base_fleet() -> Rows:
    return [asset("a1", 10.0, 20.0, fcr=True), asset("a2", 5.0, 10.0)]


def base_bids() -> Rows:
    return [bid("b1", "A", 10.0, 30.0), bid("b2", "B", 8.0, 25.0), bid("b3", "C", 4.0, 5.0)]


def base_archive(**changes: Any) -> Archive:
    parts: dict[str, Any] = {
        "fleet": base_fleet(),
        "products": [product()],
        "bids": base_bids(),
    }
    return make_archive(**(parts | changes))


BASE_AWARDS = {"b1": "10", "b2": "5"}
BASE_ALLOCATION = {("p1", "wholesale", "a1"): "10", ("p1", "wholesale", "a2"): "5"}

# --------------------------------------------------------------------------- result files


def dec(value: float) -> Decimal:
    return Decimal(repr(value))


def text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def build_result(
    archive: Archive,
    awards: dict[str, str],
    allocation: dict[tuple[str, str, str], str],
) -> dict[str, Any]:
    """The files a correct writer would produce for these awards and this allocation.

    Blocks and the assets' shares of each product and market are laid end to end, as
    the engine documents it: each asset carries exactly its allocation.
    """
    products = {p["product_id"]: p for p in archive.products.iter_rows(named=True)}
    files: dict[str, Any] = {"awards.csv": [], "allocation.csv": [], "virtual_assets.csv": []}
    carriers: list[tuple[str, str, str, Decimal]] = []  # (va, org, product, MW)
    for b in archive.bids.iter_rows(named=True):
        p = products[b["product_id"]]
        x, q, price = (
            Decimal(awards.get(b["bid_id"], "0")),
            dec(b["quantity_mw"]),
            dec(b["price_eur_per_mw"]),
        )
        below = price < dec(p["reserve_price_eur_per_mw"])
        status = "rejected" if x == 0 else "accepted" if x == q else "partial"
        reason = "" if status == "accepted" else "below_reserve" if below else "outbid"
        files["awards.csv"].append(
            {
                "bid_id": b["bid_id"],
                "org_id": b["org_id"],
                "product_id": b["product_id"],
                "awarded_mw": text(x),
                "price_eur_per_mw": text(price),
                "payment_eur": text(x * price),
                "status": status,
                "reason": reason,
            }
        )
        if x > 0:
            carriers.append((f"va-{b['bid_id']}", b["org_id"], b["product_id"], x))
            files["virtual_assets.csv"].append(virtual_asset(f"va-{b['bid_id']}", b, p))
    for i, a in enumerate(archive.allocations.iter_rows(named=True)):
        va = f"va-fixed-{i}"
        carriers.append((va, a["org_id"], a["product_id"], dec(a["quantity_mw"])))
        files["virtual_assets.csv"].append(
            virtual_asset(va, a | {"bid_id": ""}, products[a["product_id"]])
        )
    files["allocation.csv"] = [
        {"product_id": p, "market": m, "asset_id": k, "mw": mw}
        for (p, m, k), mw in allocation.items()
    ]
    files["blocks.csv"], files["backing.csv"] = blocks_and_backing(archive, carriers, allocation)
    total = sum((Decimal(r["payment_eur"]) for r in files["awards.csv"]), Decimal(0))
    files["summary.json"] = {
        "auction_id": archive.config.auction_id,
        "status": "optimal",
        "objective_eur": total,
        "mip_gap": 0,
        "build_s": 0.01,
        "solve_s": 0.02,
        "n_bids": archive.bids.height,
        "n_accepted": sum(1 for x in awards.values() if Decimal(x) > 0),
        "input_sha256": "0" * 64,
        "result_sha256": "1" * 64,
    }
    return files


def virtual_asset(va: str, owner: dict[str, Any], p: dict[str, Any]) -> dict[str, str]:
    return {
        "virtual_asset_id": va,
        "org_id": owner["org_id"],
        "bid_id": owner["bid_id"],
        "product_id": p["product_id"],
        "start": p["start"].astimezone(BERLIN).isoformat(),
        "end": p["end"].astimezone(BERLIN).isoformat(),
    }


def blocks_and_backing(
    archive: Archive,
    carriers: list[tuple[str, str, str, Decimal]],
    allocation: dict[tuple[str, str, str], str],
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    products = {p["product_id"]: p for p in archive.products.iter_rows(named=True)}
    config = archive.config
    blocks = []
    lines: dict[tuple[str, str], list[tuple[str, Decimal, Decimal]]] = {}
    for va, _org, product_id, x in carriers:
        p = products[product_id]
        hours = {
            "wholesale": dec(p["wholesale_h"]),
            "fcr": 2 * dec(config.fcr_energy_h),
            "afrr_pos": dec(config.afrr_energy_h),
            "afrr_neg": dec(config.afrr_energy_h),
        }
        for market in MARKETS:
            f = dec(p[MARKET_FACTOR[market]])
            if f == 0:
                continue
            power = f * x
            block_id = f"{va}-{market}"
            blocks.append(
                {
                    "block_id": block_id,
                    "virtual_asset_id": va,
                    "market": market,
                    "power_mw": text(power),
                    "energy_mwh": text(hours[market] * power),
                    "start": p["start"].astimezone(BERLIN).isoformat(),
                    "end": p["end"].astimezone(BERLIN).isoformat(),
                }
            )
            lines.setdefault((product_id, market), []).append((block_id, power, hours[market]))
    backing = []
    for (product_id, market), line in lines.items():
        f = dec(products[product_id][MARKET_FACTOR[market]])
        shares = [
            (k, f * Decimal(mw))
            for (p, m, k), mw in allocation.items()
            if (p, m) == (product_id, market)
        ]
        backing += lay_out(line, shares)
    return blocks, backing


def lay_out(
    line: list[tuple[str, Decimal, Decimal]], shares: list[tuple[str, Decimal]]
) -> list[dict[str, str]]:
    """Blocks end to end, and assets' shares end to end: each overlap is a backing row.

    So every asset carries exactly its share of the product and market, in whole kW
    wherever the shares and block powers are whole kW.
    """
    rows, b, a = [], 0, 0
    block_left = line[0][1] if line else Decimal(0)
    asset_left = shares[0][1] if shares else Decimal(0)
    while b < len(line) and a < len(shares):
        piece = min(block_left, asset_left)
        if piece > 0:
            block_id, _, hours = line[b]
            rows.append(
                {
                    "block_id": block_id,
                    "asset_id": shares[a][0],
                    "power_mw": text(piece),
                    "energy_mwh": text(hours * piece),
                }
            )
        block_left -= piece
        asset_left -= piece
        if block_left == 0:
            b += 1
            block_left = line[b][1] if b < len(line) else Decimal(0)
        if asset_left == 0:
            a += 1
            asset_left = shares[a][1] if a < len(shares) else Decimal(0)
    return rows


def write(out: Path, files: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if name.endswith(".json"):
            (out / name).write_text(summary_json(content), encoding="utf-8")
            continue
        columns = COLUMNS[name]
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(content)
    return out


def summary_json(summary: dict[str, Any]) -> str:
    """JSON with Decimals written as exact JSON numbers, as the engine writes them."""
    items = [
        f"{json.dumps(k)}: {text(v) if isinstance(v, Decimal) else json.dumps(v)}"
        for k, v in summary.items()
    ]
    return "{" + ", ".join(items) + "}\n"


COLUMNS = {
    "awards.csv": [
        "bid_id",
        "org_id",
        "product_id",
        "awarded_mw",
        "price_eur_per_mw",
        "payment_eur",
        "status",
        "reason",
    ],
    "allocation.csv": ["product_id", "market", "asset_id", "mw"],
    "virtual_assets.csv": ["virtual_asset_id", "org_id", "bid_id", "product_id", "start", "end"],
    "blocks.csv": [
        "block_id",
        "virtual_asset_id",
        "market",
        "power_mw",
        "energy_mwh",
        "start",
        "end",
    ],
    "backing.csv": ["block_id", "asset_id", "power_mw", "energy_mwh"],
}


def found(report: VerifyReport) -> list[tuple[str, str]]:
    return sorted((f.check, f.subject) for f in report.findings)


def row_of(rows: Iterable[dict[str, str]], **match: str) -> dict[str, str]:
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))


@pytest.fixture
def base_files() -> dict[str, Any]:
    return build_result(base_archive(), BASE_AWARDS, BASE_ALLOCATION)


# --------------------------------------------------------------------------- verify: passes


def test_correct_result_passes_every_check(tmp_path: Path, base_files: dict[str, Any]) -> None:
    report = verify(base_archive(), write(tmp_path, base_files), optimality=True)

    assert report.findings == []
    assert report.ok
    assert report.checks_run == list(CHECKS)
    assert report.reference_objective_eur == pytest.approx(425.0)
    assert format_report(report) == f"verify: {len(CHECKS)} checks passed"


def test_optimality_auto_runs_on_small_instances(
    tmp_path: Path, base_files: dict[str, Any]
) -> None:
    auto = verify(base_archive(), write(tmp_path, base_files))
    never = verify(base_archive(), tmp_path, optimality=False)

    assert "optimality" in auto.checks_run
    assert "optimality" not in never.checks_run
    assert never.reference_objective_eur is None


def test_fixed_allocation_served_passes(tmp_path: Path) -> None:
    # 6 MW to a designated optimiser first; 9 MW of fleet left for b1 at 30: 270 EUR.
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 6.0}])
    files = build_result(archive, {"b1": "9"}, BASE_ALLOCATION)

    report = verify(archive, write(tmp_path, files), optimality=True)

    assert report.findings == []
    assert report.reference_objective_eur == pytest.approx(270.0)


def test_a_kilowatt_over_a_limit_is_a_finding_in_allocation_and_backing(tmp_path: Path) -> None:
    # 10 MW over three assets of 10/3 MW and 20/3 MWh cannot be laid out in whole kW:
    # 3.334 + 2 x 3.333 puts a1 0.67 kW over its power and 1.33 kWh over its energy (2 h
    # blocks), which the old rounding slack let pass.
    fleet = [asset(k, 10 / 3, 20 / 3) for k in ("a1", "a2", "a3")]
    archive = base_archive(fleet=fleet, bids=[bid("b1", "A", 10.0, 30.0)])
    allocation = {("p1", "wholesale", "a1"): "3.334", ("p1", "wholesale", "a2"): "3.333"}
    allocation[("p1", "wholesale", "a3")] = "3.333"
    files = build_result(archive, {"b1": "10"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    over = [f for f in report.findings if f.check == "capacity"]
    assert {f.subject.split(" MTU ")[0] for f in over} == {"asset a1"}
    assert {f.subject.rsplit(" ", 1)[1] for f in over} == {"discharge", "charge", "energy"}
    assert {f.detail.split(" puts ")[0] for f in over} == {"allocation.csv", "backing.csv"}
    power = [f for f in over if not f.subject.endswith("energy")]
    energy = [f for f in over if f.subject.endswith("energy")]
    assert all(
        "3.334 MW on it, 0.666667 kW over its capacity of 3.333333 MW" in f.detail for f in power
    )
    assert all(
        "6.668 MWh on it, 1.333333 kWh over its capacity of 6.666667 MWh" in f.detail
        for f in energy
    )


def test_a_layout_that_meets_the_limits_exactly_passes(tmp_path: Path) -> None:
    # The same fleet, 9.999 MW of a product on a 1 kW increment: 3 x 3.333 fits exactly.
    fleet = [asset(k, 10 / 3, 20 / 3) for k in ("a1", "a2", "a3")]
    archive = base_archive(
        fleet=fleet,
        products=[product("p1", min_mw=0.001, increment_mw=0.001)],
        bids=[bid("b1", "A", 9.999, 30.0)],
    )
    allocation = {("p1", "wholesale", k): "3.333" for k in ("a1", "a2", "a3")}
    files = build_result(archive, {"b1": "9.999"}, allocation)

    assert verify(archive, write(tmp_path, files), optimality=False).findings == []


# --------------------------------------------------------------------------- verify: files


def test_missing_file_is_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    out = write(tmp_path, base_files)
    (out / "backing.csv").unlink()

    report = verify(base_archive(), out)

    assert found(report) == [("files", "backing.csv")]
    assert report.checks_run == ["files"]


def test_wrong_columns_are_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    out = write(tmp_path, base_files)
    (out / "allocation.csv").write_text("product_id,market,asset,mw\np1,wholesale,a1,10\n")

    assert found(verify(base_archive(), out)) == [("files", "allocation.csv")]


def test_missing_award_row_is_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    base_files["awards.csv"] = [r for r in base_files["awards.csv"] if r["bid_id"] != "b3"]

    report = verify(base_archive(), write(tmp_path, base_files))

    assert [(f.check, f.detail) for f in report.findings] == [("files", "no row for bids b3")]


def test_unparsable_number_is_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    row_of(base_files["awards.csv"], bid_id="b1")["awarded_mw"] = "ten"

    assert found(verify(base_archive(), write(tmp_path, base_files))) == [
        ("files", "awards.csv row 1")
    ]


# --------------------------------------------------------------------------- verify: awards


def test_award_above_quantity(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # The archive says b1 wants 9 MW; the result gives it 10.
    bids = base_bids()
    bids[0]["quantity_mw"] = 9.0
    report = verify(base_archive(bids=bids), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("awards", "bid b1", "awarded 10 MW, more than the 9 MW bid")
    ]


def test_award_not_a_multiple_of_the_increment(tmp_path: Path) -> None:
    archive = base_archive()
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "4.5"}
    files = build_result(archive, {"b1": "10", "b2": "4.5"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("awards", "bid b2", "awarded 4.5 MW, not a whole multiple of the increment 1 MW")
    ]


def test_wrong_payment(tmp_path: Path, base_files: dict[str, Any]) -> None:
    row_of(base_files["awards.csv"], bid_id="b2")["payment_eur"] = "126"
    base_files["summary.json"]["objective_eur"] = Decimal("426")

    report = verify(base_archive(), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("awards", "bid b2", "payment 126 EUR, but 5 MW x 25 EUR/MW = 125 EUR")
    ]


def test_award_below_reserve(tmp_path: Path) -> None:
    archive = base_archive()
    files = build_result(archive, {"b1": "10", "b2": "4", "b3": "1"}, BASE_ALLOCATION)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert found(report) == [("awards", "bid b3")]
    assert "below the reserve price 10" in report.findings[0].detail


def test_two_bids_of_an_exclusive_group(tmp_path: Path, base_files: dict[str, Any]) -> None:
    bids = base_bids()
    bids[0]["exclusive_group"] = "g"
    bids[1] |= {"org_id": "A", "exclusive_group": "g"}
    for r in base_files["awards.csv"][:2]:
        r["org_id"] = "A"
    for r in base_files["virtual_assets.csv"]:
        r["org_id"] = "A"

    report = verify(base_archive(bids=bids), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject) for f in report.findings] == [
        ("exclusive_groups", "org A group g")
    ]


def test_child_awarded_without_parent(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # b2 hangs from b3, which is below the reserve and gets nothing.
    bids = base_bids()
    bids[1]["linked_to"] = "b3"
    bids[2]["org_id"] = "B"
    row_of(base_files["awards.csv"], bid_id="b3")["org_id"] = "B"

    report = verify(base_archive(bids=bids), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("links", "bid b2", "awarded 5 MW, but its parent b3 got nothing")
    ]


def test_supply_cap_exceeded(tmp_path: Path, base_files: dict[str, Any]) -> None:
    archive = base_archive(products=[product(max_mw=12.0)])

    report = verify(archive, write(tmp_path, base_files), optimality=False)

    assert found(report) == [("supply", "product p1")]


def test_fixed_allocation_not_served(tmp_path: Path) -> None:
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 6.0}])
    files = build_result(archive, {"b1": "9"}, BASE_ALLOCATION)
    # Drop the optimiser's virtual asset, its blocks and their backing.
    files["virtual_assets.csv"] = [r for r in files["virtual_assets.csv"] if r["bid_id"]]
    files["blocks.csv"] = [r for r in files["blocks.csv"] if "fixed" not in r["block_id"]]
    files["backing.csv"] = [r for r in files["backing.csv"] if "fixed" not in r["block_id"]]

    report = verify(archive, write(tmp_path, files), optimality=False)

    # The missing 6 MW also shows as assets backing less than allocation.csv gives them.
    assert found(report) == [
        ("backing", "product p1 wholesale asset a1"),
        ("backing", "product p1 wholesale asset a2"),
        ("fixed_allocations", "org Z product p1"),
    ]


# --------------------------------------------------------------------------- verify: physics


def test_asset_over_capacity_during_an_outage(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # a1 at half power and energy for 5 minutes: the whole 11:00 MTU counts.
    outage = [{"asset_id": "a1", "start": at(11, 5), "end": at(11, 10), "available_fraction": 0.5}]
    archive = base_archive(availability=outage)

    report = verify(archive, write(tmp_path, base_files), optimality=False)

    mtu = "2026-11-29T11:00:00+01:00"
    expected = [
        (
            "capacity",
            f"asset a1 MTU {mtu} discharge",
            "puts 10 MW on it, 5000 kW over its capacity of 5 MW",
        ),
        (
            "capacity",
            f"asset a1 MTU {mtu} charge",
            "puts 10 MW on it, 5000 kW over its capacity of 5 MW",
        ),
        (
            "capacity",
            f"asset a1 MTU {mtu} energy",
            "puts 20 MWh on it, 10000 kWh over its capacity of 10 MWh",
        ),
    ]
    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        (check, subject, f"{source} {detail}")
        for source in ("allocation.csv", "backing.csv")
        for check, subject, detail in expected
    ]


def test_capacity_in_the_repeated_hour_of_the_long_dst_day(tmp_path: Path) -> None:
    # 25 October 2026 has 100 MTUs; 02:00-03:00 local happens twice. The outage hits
    # only the second 02:00 quarter-hour (01:00 UTC, offset +01:00).
    day = date(2026, 10, 25)
    window = {
        "start": datetime(2026, 10, 24, 22, tzinfo=UTC),  # 00:00 local (+02:00)
        "end": datetime(2026, 10, 25, 5, tzinfo=UTC),  # 06:00 local (+01:00)
    }
    outage = {"start": datetime(2026, 10, 25, 1, tzinfo=UTC)}
    outage |= {"end": datetime(2026, 10, 25, 1, 15, tzinfo=UTC), "available_fraction": 0.0}
    archive = base_archive(
        products=[product(**window)], availability=[{"asset_id": "a2"} | outage], day=day
    )
    files = build_result(archive, BASE_AWARDS, BASE_ALLOCATION)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [f.subject for f in report.findings] == 2 * [
        f"asset a2 MTU 2026-10-25T02:00:00+01:00 {kind}"
        for kind in ("discharge", "charge", "energy")
    ]


def test_backing_not_summing_to_the_block(tmp_path: Path, base_files: dict[str, Any]) -> None:
    row = row_of(base_files["backing.csv"], block_id="va-b1-wholesale", asset_id="a1")
    row["power_mw"] = text(Decimal(row["power_mw"]) + Decimal("0.5"))

    report = verify(base_archive(), write(tmp_path, base_files), optimality=False)

    # a1 was full: the extra 0.5 MW it now physically carries is over its capacity too.
    assert found(report) == sorted(
        [
            ("backing", "block va-b1-wholesale"),
            ("backing", "product p1 wholesale asset a1"),
            *[("capacity", f"asset a1 MTU 2026-11-29T10:00:00+01:00 {kind}") for kind in KINDS],
        ]
    )
    assert "backing sums to 10.5 MW, the block has 10 MW" in report.findings[0].detail
    assert report.findings[2].detail.startswith("backing.csv puts 10.5 MW on it")


def test_asset_outside_the_zone(tmp_path: Path) -> None:
    fleet = [*base_fleet(), asset("a3", 10.0, 20.0, tso_zone="10YDE-RWENET---I")]
    archive = base_archive(fleet=fleet)
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "3", ("p1", "wholesale", "a3"): "2"}
    files = build_result(archive, BASE_AWARDS, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [(f.check, f.subject) for f in report.findings] == [
        ("allocation", "product p1 wholesale asset a3")
    ]
    assert "outside the auction's zone" in report.findings[0].detail


def test_unprequalified_fcr_asset(tmp_path: Path) -> None:
    # An FCR-only product: 4 MW to b1; a1 is prequalified, a2 is not.
    fcr = product(wholesale_mw=0.0, wholesale_h=0.0, fcr_mw=1.0)
    archive = base_archive(products=[fcr], bids=[bid("b1", "A", 4.0, 20.0)])
    allocation = {("p1", "fcr", "a1"): "2", ("p1", "fcr", "a2"): "2"}
    files = build_result(archive, {"b1": "4"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("allocation", "product p1 fcr asset a2", "2 MW on an asset not prequalified for fcr")
    ]


def test_fcr_result_on_prequalified_asset_passes(tmp_path: Path) -> None:
    # FCR holds 2 x 0.25 h per MW: 4 MW needs 2 MWh on a1.
    fcr = product(wholesale_mw=0.0, wholesale_h=0.0, fcr_mw=1.0)
    archive = base_archive(products=[fcr], bids=[bid("b1", "A", 4.0, 20.0)])
    files = build_result(archive, {"b1": "4"}, {("p1", "fcr", "a1"): "4"})

    report = verify(archive, write(tmp_path, files), optimality=True)

    assert report.findings == []
    assert row_of(files["blocks.csv"], market="fcr")["energy_mwh"] == "2"


# --------------------------------------------------------------------------- verify: money


def test_objective_not_the_sum_of_payments(tmp_path: Path, base_files: dict[str, Any]) -> None:
    base_files["summary.json"]["objective_eur"] = Decimal("430")

    report = verify(base_archive(), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.detail) for f in report.findings] == [
        ("revenue", "430 EUR, but the payments sum to 425 EUR")
    ]


def test_suboptimal_result(tmp_path: Path) -> None:
    archive = base_archive()
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "4"}
    files = build_result(archive, {"b1": "10", "b2": "4"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=True)

    assert [(f.check, f.detail) for f in report.findings] == [
        ("optimality", "400 EUR, but the reference model finds 425 EUR")
    ]
    assert format_report(report).splitlines() == [
        "optimality: summary.json objective_eur: 400 EUR, but the reference model finds 425 EUR",
        "verify: 1 finding",
    ]


def test_time_limit_result_within_its_gap_passes(tmp_path: Path) -> None:
    archive = base_archive()
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "4"}
    files = build_result(archive, {"b1": "10", "b2": "4"}, allocation)
    files["summary.json"] |= {"status": "time_limit", "mip_gap": Decimal("0.1")}

    assert verify(archive, write(tmp_path, files), optimality=True).findings == []


def test_objective_above_the_proven_optimum(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # An outage leaves 10 MW of fleet in one MTU: 425 EUR cannot be earned.
    outage = [{"asset_id": "a1", "start": at(13), "end": at(14), "available_fraction": 0.5}]

    report = verify(base_archive(availability=outage), write(tmp_path, base_files), optimality=True)

    assert (
        "optimality",
        "425 EUR, more than the proven optimum 300 EUR of the reference model",
    ) in [(f.check, f.detail) for f in report.findings]
    assert {f.check for f in report.findings} == {"capacity", "optimality"}


def test_reported_infeasible_without_fixed_allocations(tmp_path: Path) -> None:
    summary = build_result(base_archive(), {}, {})["summary.json"]
    summary |= {"status": "infeasible", "objective_eur": None}

    report = verify(base_archive(), write(tmp_path, {"summary.json": summary}), optimality=False)

    assert [(f.check, f.detail) for f in report.findings] == [
        ("optimality", "infeasible, but without fixed allocations awarding nothing is feasible")
    ]


def test_reported_infeasible_but_feasible(tmp_path: Path) -> None:
    summary = build_result(base_archive(), {}, {})["summary.json"]
    summary |= {"status": "infeasible", "objective_eur": None}

    report = verify(base_archive(), write(tmp_path, {"summary.json": summary}), optimality=True)

    assert found(report) == [("optimality", "summary.json status")]


def test_reported_infeasible_and_infeasible(tmp_path: Path) -> None:
    # 20 MW of fixed allocation on a 15 MW fleet cannot be served.
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 20.0}])
    summary = build_result(archive, {}, {})["summary.json"]
    summary |= {"status": "infeasible", "objective_eur": None}

    report = verify(archive, write(tmp_path, {"summary.json": summary}), optimality=True)

    assert report.ok
    assert report.checks_run == ["files", "optimality"]


# --------------------------------------------------------------------------- reference model


def with_bid(**changes: Any) -> Rows:
    bids = base_bids()
    for b in bids:
        b.update(changes.get(b["bid_id"], {}))
    return bids


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        # b1 10 MW + b2 5 MW = 300 + 125.
        pytest.param(base_archive(), 425.0, id="base"),
        # b2 all-or-nothing 8 MW: 7 x 30 + 8 x 25 = 410 beats b1 alone (300).
        pytest.param(base_archive(bids=with_bid(b2={"min_quantity_mw": 8.0})), 410.0, id="aon"),
        # b4 (15 MW at 29) and b1 exclude each other: b4 alone, 435 > 425.
        pytest.param(
            base_archive(
                bids=[
                    *with_bid(b1={"exclusive_group": "g"}),
                    bid("b4", "A", 15.0, 29.0, exclusive_group="g"),
                ]
            ),
            435.0,
            id="exclusive",
        ),
        # Without the group both A bids fill the fleet: 10 x 30 + 5 x 29 = 445.
        pytest.param(
            base_archive(bids=[*base_bids(), bid("b4", "A", 15.0, 29.0)]), 445.0, id="no-group"
        ),
        # b5 (5 MW at 40) needs its parent b2: 5 x 40 + 1 x 25 + 9 x 30 = 495.
        pytest.param(
            base_archive(bids=[*base_bids(), bid("b5", "B", 5.0, 40.0, linked_to="b2")]),
            495.0,
            id="link",
        ),
        # A link to a bid below the reserve: the child is out too.
        pytest.param(
            base_archive(bids=[*base_bids(), bid("b6", "C", 5.0, 100.0, linked_to="b3")]),
            425.0,
            id="link-below-reserve",
        ),
        # max_mw 12: b1 10 + b2 2 = 350.
        pytest.param(base_archive(products=[product(max_mw=12.0)]), 350.0, id="max-mw"),
        # 6 MW fixed allocation first: 9 MW left for b1 = 270.
        pytest.param(
            base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 6.0}]),
            270.0,
            id="fixed",
        ),
        # a1 at half in one MTU of the window: 10 MW of fleet, all to b1 = 300.
        pytest.param(
            base_archive(
                availability=[
                    {
                        "asset_id": "a1",
                        "start": at(11),
                        "end": at(11, 15),
                        "available_fraction": 0.5,
                    }
                ]
            ),
            300.0,
            id="outage",
        ),
        # An outage outside the window changes nothing.
        pytest.param(
            base_archive(
                availability=[
                    {"asset_id": "a1", "start": at(15), "end": at(16), "available_fraction": 0.0}
                ]
            ),
            425.0,
            id="outage-elsewhere",
        ),
    ],
)
def test_reference_optimum_matches_hand_derivation(archive: Archive, expected: float) -> None:
    assert reference_optimum(archive, time_limit_s=10) == pytest.approx(expected, abs=1e-9)


def test_reference_optimum_of_an_energy_bound_product() -> None:
    # 4 h of energy per MW: a1 holds 20 / 4 = 5 MW, a2 10 / 4 = 2.5, on a 0.5 MW increment.
    archive = base_archive(products=[product(wholesale_h=4.0, increment_mw=0.5)])

    # 7.5 MW of fleet: b1 7.5 x 30 = 225.
    assert reference_optimum(archive) == pytest.approx(225.0)


def test_reference_optimum_raises_when_allocations_cannot_be_served() -> None:
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 20.0}])

    with pytest.raises(InfeasibleAllocation, match="cannot serve the fixed allocations"):
        reference_optimum(archive)
