"""``vba demo``: one auction's whole life through the REST API, on a fresh store (its
arguments are in ``api.cli.demo_parser``, which stays light for ``vba --help``).

Every HTTP step goes through the typed client (``api.client.VbaClient``), one per demo
user, all over one in-process TestClient: it reads as a tutorial of the client.

An empty SQLite store in a temporary directory; the operator is provisioned (as ``vba
admin`` does) and creates ten bidding organisations and invites their users, who log in;
the operator uploads the fleet and creates the sample auction; every sample bid is sent
over HTTP at its own submission time (the operator moves the sandbox's clock through the
bidding window with ``POST /sandbox/clock``, so time priority is the sample's); one bid is
amended and one withdrawn; the clock moves past the gate, which closes, and a late bid is
refused; the operator reads the pre-clearing report, clears, publishes; a bidder reads its
awards and everybody the anonymous results. After publication the bidder dispatches two of
its virtual assets (one schedule is refused for its state of charge), the operator reads
the fleet's setpoints, and an outage of the busiest battery is re-backed. The app runs
in-process (no port is opened).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from fastapi.testclient import TestClient
from rich.console import Console

from api import services
from api.cli import demo_ancillary, demo_serve
from api.cli.exits import EXIT_FINDINGS
from api.cli.tables import print_highlights, print_summary
from api.client import VbaClient, VbaError
from api.http.app import create_app
from api.http.schemas.bids import BidPublic
from api.http.settings import LOCAL_URL, Settings
from auction.archive import read_archive
from auction.eic import check_character
from auction.model import TENNET_DE, Archive
from auction.sample import sample_dir
from auction.store import Store
from auction.store.results import result_frame
from auction.timegrid import day_bounds, mtu_span
from auction.wallclock import window as local_window
from clearing import clear, write_results

PASSWORD = "demo password, not for production"  # noqa: S105 - a throwaway demo store
_IDS = uuid.UUID("0b6c1d52-61a4-4a8e-9d55-6f1e3b8a7c20")
ZONE = TENNET_DE  # every demo organisation's TSO zone


class DemoClock:
    """A frozen base clock: the demo's time moves only through ``POST /sandbox/clock``,
    so that every run stamps the same instants (benchmarks mutate ``now`` themselves)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _eic(n: int) -> str:
    """A valid balancing-group EIC per demo organisation (office 11, type X)."""
    body = f"11XVBADEMO{n:04d}-"[:15]
    return body + check_character(body)


def _email(name: str) -> str:
    return f"{name}@demo.example"


def _bid_id(sample_id: str) -> str:
    return str(uuid.uuid5(_IDS, sample_id))


def _provision(
    store: Store, http: TestClient, names: list[str], now: datetime
) -> dict[str, VbaClient]:
    """One signed-in ``VbaClient`` per organisation's user, by name; the first is the
    operator. The operator's organisation and invite come from the store, as ``vba admin``
    makes them; the operator then creates the other organisations and invites their users
    over REST. Every user accepts the invite and signs in."""
    operator_name, *bidders = names
    org = services.accounts.new_org(store, "demo", operator_name, _eic(0), ZONE, now)
    invited = services.accounts.invite(
        store,
        "demo",
        _email(operator_name),
        org.org_id,
        "operator",
        now,
        timedelta(hours=1),
        postage=services.accounts.Postage(LOCAL_URL, "sandbox"),
        inviter="The market operator",
    )
    operator = _sign_up(http, operator_name, invited.token)
    accounts = {operator_name: operator}
    for n, name in enumerate(bidders, start=1):
        bidder_org = operator.create_organisation(name, _eic(n), ZONE)
        invite = operator.invite(_email(name), bidder_org.org_id, role="bidder")
        accounts[name] = _sign_up(http, name, invite.token)
    return accounts


def _sign_up(http: TestClient, name: str, invite_token: str) -> VbaClient:
    """The invited user chooses a password and signs in; the client keeps the token."""
    vba = VbaClient(client=http)
    vba.accept_invite(invite_token, PASSWORD)
    vba.authenticate(_email(name), PASSWORD)
    return vba


@dataclass(frozen=True)
class DemoOutcome:
    archive: Archive  # the stored auction, exported and read back
    exported: Path
    checker_ok: bool  # the verdict of the checker the server ran before publication
    checker_report: str
    names: dict[str, str]  # organisation id -> name


def run_demo(console: Console, workdir: Path) -> DemoOutcome:
    """Run the demo in ``workdir``."""
    sample = read_archive(sample_dir())
    cfg = sample.config
    assert cfg.gate_open is not None
    assert cfg.gate_close is not None
    auction_id = cfg.auction_id
    clock = DemoClock(cfg.gate_open.astimezone(UTC))
    url = f"sqlite:///{workdir / 'vba.db'}"
    # A hash with argon2 takes ~50 ms: the demo hashes the one shared password once.
    settings = Settings(database_url=url, token_minutes=7 * 24 * 60)
    app = create_app(settings, clock=clock, scheduler=False)
    store: Store = app.state.store
    orgs = sorted(set(sample.bids["org_id"]) | set(sample.allocations["org_id"]))
    # Every account's VbaClient sends through this one in-process TestClient.
    with TestClient(app) as http:
        accounts = _provision(store, http, ["operator", *orgs], clock.now)
        operator = accounts["operator"]
        console.print(
            f"Store {url}: operator and {len(orgs)} organisations provisioned; each user "
            "accepted an invite and logged in over HTTP."
        )
        operator.put_fleet(sample.fleet.to_dicts())
        for outage in sample.availability.to_dicts():
            operator.record_outage(outage)
        # The sample names organisations; the server knows them by id.
        allocations = [
            {**row, "org_id": accounts[row["org_id"]].me().org_id}
            for row in sample.allocations.to_dicts()
        ]
        operator.create_auction(
            cfg.model_dump(mode="json"), sample.products.to_dicts(), allocations
        )
        operator.open_auction(auction_id)

        accepted = _submit_sample_bids(sample, accounts)
        console.print(
            f"Gate open {cfg.gate_open:%d %b %H:%M} to {cfg.gate_close:%d %b %H:%M} "
            f"{cfg.time_zone}: "
            f"{accepted} sealed bids submitted over HTTP, each at its own time."
        )
        _amend_and_withdraw(console, sample, accounts)

        # The move closes the gate at its time, as the server's scheduler would.
        operator.advance_clock(to=cfg.gate_close)
        late = sample.bids.row(0, named=True)
        try:
            _submit(accounts[late["org_id"]], auction_id, late)
        except VbaError as refused:
            console.print(
                f"The gate closed by itself; a late bid got {refused.status}: {refused.detail}."
            )
        report = operator.report(auction_id)
        console.print(
            f"Pre-clearing report: {report.book.bids} bids, "
            f"{len(report.warnings)} plausibility warning(s)"
            + "".join(f"\n  - {w.message}" for w in report.warnings[:3])
        )
        cleared = operator.clear_auction(auction_id)
        operator.publish_auction(auction_id)
        _show_bidder(console, sample, accounts)
        traders = demo_ancillary.offer_reserve(console, sample, accounts)
        if traders:
            demo_ancillary.sandbox_tso(console, sample, accounts, traders)
        _dispatch(console, store, sample, accounts)
        _settle(console, sample, accounts, traders)
        names = {vba.me().org_id: name for name, vba in accounts.items()}

    out = workdir / "export"
    services.auctions.export_auction(store, auction_id, out)
    services.dispatch.export_dispatch(store, auction_id, out)
    # The store is handed over with the sandbox's time back at the base clock: whoever
    # serves it next (--serve, the browser tests) sets the time it wants.
    services.sandbox.set_up_clock(store, app.state.clock, clock(), "demo")
    store.dispose()
    return DemoOutcome(
        archive=read_archive(out),
        exported=out,
        checker_ok=cleared.checker_ok,
        checker_report=cleared.checker_report,
        names=names,
    )


def _submit(vba: VbaClient, auction_id: str, row: dict[str, Any]) -> BidPublic:
    """One sample bid, under a bid id of its own derived from the sample's."""
    return vba.submit_bid(
        auction_id,
        row["product_id"],
        row["quantity_mw"],
        row["price_eur_per_mw"],
        min_quantity_mw=row["min_quantity_mw"],
        exclusive_group=row["exclusive_group"],
        linked_to=None if row["linked_to"] is None else _bid_id(row["linked_to"]),
        bid_id=_bid_id(row["bid_id"]),
    )


def _submit_sample_bids(sample: Archive, accounts: dict[str, VbaClient]) -> int:
    """Every sample bid at its own submission time: the operator moves the sandbox's clock
    there, then the bidder sends it (time priority among equal prices is the sample's)."""
    operator = accounts["operator"]
    accepted = 0
    for row in sample.bids.sort("submitted_at", "bid_id").iter_rows(named=True):
        operator.advance_clock(to=row["submitted_at"])
        _submit(accounts[row["org_id"]], sample.config.auction_id, row)
        accepted += 1
    return accepted


def _amend_and_withdraw(console: Console, sample: Archive, accounts: dict[str, VbaClient]) -> None:
    """One bidder raises a price, another withdraws a bid, shortly before the gate; each
    sends the version it read (If-Match), so a change made meanwhile would be refused."""
    cfg = sample.config
    assert cfg.gate_close is not None
    accounts["operator"].advance_clock(to=cfg.gate_close - timedelta(minutes=10))
    simple = sample.bids.filter(pl.col("linked_to").is_null() & pl.col("exclusive_group").is_null())
    linked = set(sample.bids["linked_to"].drop_nulls())
    raise_row = simple.row(0, named=True)
    drop_row = simple.filter(~pl.col("bid_id").is_in(list(linked))).row(-1, named=True)

    raiser = accounts[raise_row["org_id"]]
    bid = raiser.bid(cfg.auction_id, _bid_id(raise_row["bid_id"]))
    raiser.amend_bid(
        cfg.auction_id,
        bid.bid_id,
        bid.product_id,
        bid.quantity_mw,
        round(bid.price_eur_per_mw * 1.1, 2),
        min_quantity_mw=bid.min_quantity_mw,
        version=bid.version,
    )
    dropper = accounts[drop_row["org_id"]]
    bid = dropper.bid(cfg.auction_id, _bid_id(drop_row["bid_id"]))
    dropper.withdraw_bid(cfg.auction_id, bid.bid_id, version=bid.version)
    console.print(
        f"{raise_row['org_id']} raised a bid by 10 % (version 2, time priority anew); "
        f"{drop_row['org_id']} withdrew one."
    )


def _busiest_bidder(sample: Archive) -> str:
    """The organisation with the most sample bids (the first by name among equals)."""
    return str(sample.bids["org_id"].mode().sort()[0])


def _show_bidder(console: Console, sample: Archive, accounts: dict[str, VbaClient]) -> None:
    name = _busiest_bidder(sample)
    bidder = accounts[name]
    awards = bidder.awards(sample.config.auction_id)
    won = [a for a in awards if a.awarded_mw > 0]
    lost = [a for a in awards if a.price_needed_eur_per_mw is not None]
    console.print(
        f"{name} sees only its own {len(awards)} bids: {len(won)} won "
        f"({sum(a.payment_eur for a in won):,.2f} EUR to pay)"
        + (
            f"; e.g. {lost[0].product_id} would have needed "
            f"{lost[0].price_needed_eur_per_mw:,.2f} EUR/MW "
            f"(bid {lost[0].price_eur_per_mw:,.2f})."
            if lost
            else "."
        )
    )
    results = bidder.results(sample.config.auction_id)
    busiest = max(results.products, key=lambda p: len(p.bids))
    console.print(
        f"Anonymous results of {busiest.product_id}: {len(busiest.bids)} bids, accepted "
        f"{busiest.lowest_accepted_eur_per_mw}-{busiest.highest_accepted_eur_per_mw} "
        f"EUR/MW (average {busiest.average_accepted_eur_per_mw})."
    )


def _dispatch(
    console: Console, store: Store, sample: Archive, accounts: dict[str, VbaClient]
) -> None:
    """The bidder dispatches; a schedule that would empty its battery is refused; an outage
    of the battery carrying the most blocks is re-backed by the rest of the fleet."""
    name = _busiest_bidder(sample)
    bidder, operator = accounts[name], accounts["operator"]
    vas = bidder.virtual_assets()
    dispatchable = [va for va in vas if va.power_kw > 0]
    console.print(
        f"{name} has {len(vas)} virtual assets (upcoming, created at publication); "
        f"{len(dispatchable)} with a wholesale block to dispatch."
    )
    step = timedelta(minutes=15)
    for n, va in enumerate(dispatchable[:2]):
        block = next(b for b in va.blocks if b.market == "wholesale")
        n_mtu = mtu_span(block.start, block.end, 15)
        mtus = [block.start + k * step for k in range(n_mtu)]
        if n == 0:
            # Full power out in every MTU: more energy than the block holds.
            drain = dict.fromkeys(mtus, block.power_kw)
            try:
                bidder.set_schedule(va.virtual_asset_id, block.block_id, drain)
            except VbaError as refused:
                first = refused.errors[0]
                console.print(
                    f"Schedule for {va.product_id} refused ({refused.status}): "
                    f"point {first['loc'][2] + 1}: {first['rule']}."
                )
        # A quarter of the power, out and back in turn (the first: ends on target), or out
        # only (the second: ends under-charged, which settlement charges).
        quarter = block.power_kw // 4
        points = {
            time: quarter if n == 1 or k % 2 == 0 else -quarter for k, time in enumerate(mtus[:8])
        }
        view = bidder.set_schedule(va.virtual_asset_id, block.block_id, points)
        socs = [s.soc_kwh for s in view.soc]
        console.print(
            f"Schedule for {va.product_id} accepted (version {view.version}): "
            f"{len(points)} MTUs at ±{quarter:,} kW, the SoC stays within {min(socs):,.0f}-"
            f"{max(socs):,.0f} of {block.energy_kwh:,} kWh; {view.imbalance}."
        )
    if not dispatchable:
        return
    day_start, day_end = day_bounds(sample.config.delivery_day, sample.config.time_zone)
    setpoints = operator.setpoints(day_start, day_end)
    console.print(f"Physical setpoints: {setpoints.summary[0]}.")

    # Two hours into the first dispatched virtual asset's window.
    start = dispatchable[0].start + timedelta(hours=2)
    end = start + timedelta(hours=2)
    busiest = _busiest_asset(store, sample.config.auction_id, start, end)
    outage = operator.record_outage(
        {"asset_id": busiest, "start": start, "end": end, "available_fraction": 0}
    )
    console.print(
        f"Outage of {busiest}, the battery under the most blocks, "
        f"{local_window(start, end, sample.config.time_zone)} {sample.config.time_zone}: "
        f"{outage.rebacking}"
    )
    for conflict in outage.schedule_conflicts[:3]:
        console.print(
            f"  schedule point {conflict.time.isoformat()} no longer fits: {conflict.rule}"
        )


def _settle(
    console: Console,
    sample: Archive,
    accounts: dict[str, VbaClient],
    reserve_traders: list[str],
) -> None:
    """D+1: the operator settles the day; a bidder reads its invoice and its nomination, the
    trader of reserve the TSO's payment passed on."""
    day = sample.config.delivery_day
    _, day_end = day_bounds(day, sample.config.time_zone)
    operator = accounts["operator"]
    operator.advance_clock(to=day_end + timedelta(hours=8))
    settled = operator.run_settlement(day, imbalance_price_eur_per_mwh=150)
    totals = settled.totals_eur
    verdict = "reconciled" if settled.reconciliation["ok"] else "NOT reconciled"
    console.print(
        f"Settlement of {day} (version {settled.version}): awards "
        f"{float(totals['award']):,.2f} EUR, unavailability credits "
        f"{float(totals['unavailability_credit']):,.2f} EUR, SoC imbalance "
        f"{float(totals['imbalance_charge']):,.2f} EUR; {settled.documents} nominations; "
        f"{verdict} with the schedules and the fleet's setpoints."
    )
    name = _busiest_bidder(sample)
    bidder = accounts[name]
    invoice = bidder.invoices()[0]
    console.print(
        f"{name}'s invoice: {len(invoice.lines)} lines, awards {invoice.awards_eur} EUR, "
        f"credits {invoice.credits_eur} EUR, imbalance {invoice.imbalance_eur} EUR; "
        f"due {invoice.amount_due_eur} EUR."
    )
    for reserve_trader in reserve_traders:
        invoices = accounts[reserve_trader].invoices()
        reserve = [ln for inv in invoices for ln in inv.lines if ln.kind == "ancillary_revenue"]
        console.print(
            f"{reserve_trader}'s invoice passes on the TSO's payment for its accepted reserve: "
            f"{len(reserve)} ancillary revenue line(s), "
            f"{sum(float(inv.ancillary_eur) for inv in invoices):,.2f} EUR "
            "(negative: it gets it)."
        )
    xml = bidder.nomination_document(day, "xml")
    intervals = xml.count("<Interval>")
    console.print(
        f"Its nomination for {day}: an ESS-style schedule document ({len(xml.encode()):,} "
        f"bytes, {intervals // 2} quarter-hours in each direction), checked against the "
        "project's XSD."
    )


def _busiest_asset(store: Store, auction_id: str, start: datetime, end: datetime) -> str:
    """The asset under the most blocks of the auction delivering in [start, end)."""
    with store.read() as conn:
        backing = result_frame(conn, auction_id, "backing")
        blocks = result_frame(conn, auction_id, "blocks")
    live = blocks.filter((pl.col("start") < end) & (pl.col("end") > start))
    counts = (
        backing.filter(pl.col("block_id").is_in(live["block_id"].implode()))
        .group_by("asset_id")
        .len()
        .sort("len", "asset_id", descending=[True, False])
    )
    return str(counts["asset_id"][0])


def demo_workdir(out: Path | None) -> Path:
    if out is None:
        return Path(tempfile.mkdtemp(prefix="vba-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def demo_command(args: argparse.Namespace, console: Console) -> int:
    workdir = demo_workdir(args.out)
    sample = read_archive(sample_dir())
    cfg = sample.config
    console.rule(f"vba demo: auction {cfg.auction_id}, delivery day {cfg.delivery_day}")
    zone = sample.fleet.filter(sample.fleet["tso_zone"] == cfg.tso_zone)
    console.print(
        f"Fleet: {sample.fleet.height} batteries, {zone.height} in zone {cfg.tso_zone} "
        f"({zone['p_discharge_mw'].sum():.0f} MW, {zone['e_max_mwh'].sum():.0f} MWh); "
        f"{sample.availability.height} outages or derates."
    )
    outcome = run_demo(console, workdir)
    archive, exported = outcome.archive, outcome.exported
    # The export is an archive: clearing it again must give the recorded result exactly.
    result = clear(archive)
    again = write_results(result, workdir / "replay")
    recorded = json.loads((exported / "recorded" / "summary.json").read_text())
    same = again["result_sha256"] == recorded["result_sha256"]
    print_summary(console, archive, result)
    print_highlights(console, archive, result, outcome.names)
    # The server ran the independent checker (with its own optimisation) before publishing.
    console.print(outcome.checker_report.splitlines()[-1], markup=False)
    console.print(
        f"Exported to {exported}; vba clear on it reproduces the stored result: "
        f"{'identical' if same else 'DIFFERENT'} (sha256 {recorded['result_sha256'][:16]}…)."
    )
    # The full path: after `make demo`, `vba` lives in .venv/bin, not on PATH.
    vba = Path(sys.argv[0]).absolute() if Path(sys.argv[0]).name == "vba" else "vba"
    console.print(
        f"Replay it yourself: {vba} clear {exported} --out OUT && {vba} verify {exported} OUT"
    )
    ok = outcome.checker_ok and same and result.status == "optimal"
    if args.serve and ok:
        demo_serve.serve(console, workdir, list(outcome.names.values()), PASSWORD, args.port)
    elif not args.serve:
        console.print(
            f"Look around in the browser: {vba} demo --serve, then open "
            f"http://127.0.0.1:{args.port}/ui/ (it prints the sign-ins)."
        )
    return 0 if ok else EXIT_FINDINGS
