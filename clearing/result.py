"""The result of a clearing, its tables in the archive's format, and writing them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from auction.csvsafe import write_csv
from auction.safewrite import make_dir, write_file
from auction.units import eur_str, mw_str, payment_str
from clearing.digest import results_sha256

TIMESTAMP = "%Y-%m-%dT%H:%M:%S%:z"


@dataclass(frozen=True)
class ClearingResult:
    """Everything a clearing decided; integer kW / cents / 1e-5 EUR inside, exact strings out.

    ``awards`` has one row per bid (canonical order) with ``awarded_kw``, ``price_cents``,
    ``payment_units`` (kW × cents), ``status`` and ``reason``; ``allocation`` is in kW;
    ``blocks`` and ``backing`` carry kW and kWh.
    """

    auction_id: str
    time_zone: str
    status: str
    objective_eur: Decimal
    mip_gap: float | None  # None: unknown (nothing proven)
    build_s: float
    solve_s: float
    input_sha256: str
    awards: pl.DataFrame
    allocation: pl.DataFrame
    virtual_assets: pl.DataFrame
    blocks: pl.DataFrame
    backing: pl.DataFrame
    solver: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    # The best proven upper bound on the revenue (EUR); None when nothing bounds it.
    bound_eur: float | None = None

    @property
    def optimality(self) -> str:
        """Whether the result is proven optimal, and if not how far it may be, in words."""
        if self.status == "infeasible":
            return self.message or "infeasible: no award is possible"
        if self.status == "optimal":
            return "optimal: proven that no answer earns 0.01 EUR more"
        why = self.solver.get("stopped", "the time limit ran out")
        revenue = float(self.objective_eur)
        if self.bound_eur is None:
            return f"not proven optimal: {why} before any bound was proven"
        if self.mip_gap is None:
            return (
                f"not proven optimal: {why} with {revenue:,.2f} EUR awarded; up to "
                f"{self.bound_eur:,.2f} EUR may be possible"
            )
        return (
            f"not proven optimal: {why}; the revenue is within {gap_text(self.mip_gap)} of "
            f"the best possible (at most {max(self.bound_eur - revenue, 0):,.2f} EUR more)"
        )

    @property
    def n_bids(self) -> int:
        return self.awards.height

    @property
    def n_accepted(self) -> int:
        return int((self.awards["awarded_kw"] > 0).sum())

    def tables(self) -> dict[str, bytes]:
        """The five result CSVs, byte for byte as ``write_results`` writes them."""
        tz = self.time_zone

        def local(col: str) -> pl.Expr:
            return pl.col(col).dt.convert_time_zone(tz).dt.strftime(TIMESTAMP)

        frames = {
            "awards.csv": self.awards.select(
                "bid_id",
                "org_id",
                "product_id",
                awarded_mw=mw_str(pl.col("awarded_kw")),
                price_eur_per_mw=eur_str(pl.col("price_cents")),
                payment_eur=payment_str(pl.col("payment_units")),
                status="status",
                reason="reason",
            ),
            "allocation.csv": self.allocation.select(
                "product_id", "market", "asset_id", mw=mw_str(pl.col("kw"))
            ),
            "virtual_assets.csv": self.virtual_assets.select(
                "virtual_asset_id",
                "org_id",
                "bid_id",
                "product_id",
                start=local("start"),
                end=local("end"),
            ),
            "blocks.csv": self.blocks.select(
                "block_id",
                "virtual_asset_id",
                "market",
                power_mw=mw_str(pl.col("power_kw")),
                energy_mwh=mw_str(pl.col("energy_kwh")),
                start=local("start"),
                end=local("end"),
            ),
            "backing.csv": self.backing.select(
                "block_id",
                "asset_id",
                power_mw=mw_str(pl.col("power_kw")),
                energy_mwh=mw_str(pl.col("energy_kwh")),
            ),
        }
        # Ids are text a spreadsheet must not take for a formula (``auction.csvsafe``).
        return {name: write_csv(frame).encode() for name, frame in frames.items()}

    def summary(self, result_sha256: str) -> dict[str, Any]:
        """summary.json: the keys of docs/archive.md, then the solver's settings."""
        return {
            "auction_id": self.auction_id,
            "status": self.status,
            "objective_eur": float(self.objective_eur),
            "mip_gap": self.mip_gap,
            "bound_eur": self.bound_eur,
            "optimality": self.optimality,
            "build_s": round(self.build_s, 4),
            "solve_s": round(self.solve_s, 4),
            "n_bids": self.n_bids,
            "n_accepted": self.n_accepted,
            "input_sha256": self.input_sha256,
            "result_sha256": result_sha256,
            "message": self.message,
            "solver": self.solver,
        }


def optimality_of(summary: dict[str, Any]) -> str:
    """A stored summary's ``optimality``; for results stored before it was written, the
    same sentence's first words from status and gap."""
    said = summary.get("optimality")
    if isinstance(said, str):
        return said
    status = summary.get("status")
    if status == "optimal":
        return "optimal: proven that no answer earns 0.01 EUR more"
    if status == "infeasible":
        return str(summary.get("message") or "infeasible: no award is possible")
    return f"not proven optimal: gap {gap_text(summary.get('mip_gap'))}"


def gap_text(mip_gap: float | None) -> str:
    """A relative gap for people: "0.04 %", "unknown" when nothing bounds it."""
    if mip_gap is None:
        return "unknown"
    return f"{mip_gap * 100:.2g} %"


def write_results(result: ClearingResult, out_dir: str | Path) -> dict[str, Any]:
    """Write summary.json and the five CSVs of docs/archive.md; return the summary."""
    out = Path(out_dir)
    make_dir(out)  # files are written without following links (auction.safewrite)
    tables = result.tables()
    for name, data in tables.items():
        write_file(out / name, data)
    summary = result.summary(results_sha256(tables))
    write_file(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
