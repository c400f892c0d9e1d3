"""``vba demo``: one auction's whole life through the REST API, on a fresh store.

An empty SQLite store in a temporary directory; the operator and ten bidding
organisations are provisioned and log in; the operator uploads the fleet and creates the
sample auction; every sample bid is sent over HTTP at its own submission time (the demo's
clock walks through the bidding window, so time priority is the sample's); one bid is
amended and one withdrawn; a late bid is refused at the gate; the operator reads the
pre-clearing report, clears, publishes; a bidder reads its awards and everybody the
anonymous results. After publication the bidder dispatches two of its virtual assets (one
schedule is refused for its state of charge), the operator reads the fleet's setpoints, and
an outage of the busiest battery is re-backed. The app runs in-process (no port is opened).
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
from zoneinfo import ZoneInfo

import polars as pl
from fastapi.testclient import TestClient
from rich.console import Console

from api import services
from api.cli import demo_ancillary, demo_serve
from api.cli.archive import print_highlights, print_summary
from api.cli.exits import EXIT_FINDINGS
from api.http.app import create_app, tick
from api.http.settings import Settings
from auction.archive import read_archive
from auction.eic import check_character
from auction.model import Archive
from auction.sample import sample_dir
from auction.store import Store
from auction.store.accounts import create_invite, create_org
from auction.store.results import result_frame
from auction.timegrid import day_bounds, mtu_span
from clearing import clear, write_results

PASSWORD = "demo password, not for production"  # noqa: S105 - a throwaway demo store
_IDS = uuid.UUID("0b6c1d52-61a4-4a8e-9d55-6f1e3b8a7c20")


class DemoClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _eic(n: int) -> str:
    """A valid balancing-group EIC per demo organisation (office 11, type X)."""
    body = f"11XVBADEMO{n:04d}-"[:15]
    return body + check_character(body)


def _bid_id(sample_id: str) -> str:
    return str(uuid.uuid5(_IDS, sample_id))


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _provision(store: Store, client: TestClient, names: list[str], now: datetime) -> dict[str, Any]:
    """Organisations (the first is the operator), one user each, logged in over HTTP."""
    accounts: dict[str, Any] = {}
    for n, name in enumerate(names):
        role = "operator" if n == 0 else "bidder"
        email = f"{name}@demo.example"
        with store.write() as conn:
            org = create_org(conn, name, _eic(n), "10YDE-EON------1", now)
            token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
        answer = client.post(
            "/auth/public/accept-invite", json={"token": token, "password": PASSWORD}
        )
        assert answer.status_code == 201, answer.text
        login = client.post(
            "/auth/public/authenticate", json={"username": email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        accounts[name] = {"org_id": org.org_id, "headers": headers}
    return accounts


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
    clock = DemoClock(cfg.gate_open.astimezone(UTC))
    url = f"sqlite:///{workdir / 'vba.db'}"
    # A hash with argon2 takes ~50 ms: the demo hashes the one shared password once.
    settings = Settings(database_url=url, token_minutes=7 * 24 * 60)
    app = create_app(settings, clock=clock, scheduler=False)
    store: Store = app.state.store
    orgs = sorted(set(sample.bids["org_id"]) | set(sample.allocations["org_id"]))
    with TestClient(app) as client:
        accounts = _provision(store, client, ["operator", *orgs], clock.now)
        op = accounts["operator"]["headers"]
        console.print(
            f"Store {url}: operator and {len(orgs)} organisations provisioned; each user "
            "accepted an invite and logged in over HTTP."
        )
        client.put("/fleet/assets", headers=op, json={"assets": sample.fleet.to_dicts()})
        for row in sample.availability.to_dicts():
            client.post("/fleet/outages", headers=op, json={k: _json(v) for k, v in row.items()})
        allocations = [
            {**row, "org_id": accounts[row["org_id"]]["org_id"]}
            for row in sample.allocations.to_dicts()
        ]
        body = {
            "auction": cfg.model_dump(mode="json"),
            "products": [{k: _json(v) for k, v in p.items()} for p in sample.products.to_dicts()],
            "allocations": allocations,
        }
        created = client.post("/auctions", headers=op, json=body)
        assert created.status_code == 201, created.text
        client.post(f"/auctions/{cfg.auction_id}/open", headers=op)

        accepted = _submit_sample_bids(client, sample, accounts, clock)
        console.print(
            f"Gate open {cfg.gate_open:%d %b %H:%M} to {cfg.gate_close:%d %b %H:%M} "
            f"{cfg.time_zone}: "
            f"{accepted} sealed bids submitted over HTTP, each at its own time."
        )
        _amend_and_withdraw(console, client, sample, accounts, clock)

        clock.now = cfg.gate_close.astimezone(UTC)
        tick(store, clock.now)  # what the server's scheduler does every second
        late = sample.bids.row(0, named=True)
        refused = client.post(
            f"/organisations/{accounts[late['org_id']]['org_id']}/auctions/{cfg.auction_id}/bids",
            headers=accounts[late["org_id"]]["headers"],
            json=_body(late),
        )
        console.print(
            f"The gate closed by itself; a late bid got {refused.status_code}: "
            f"{refused.json()['detail']}."
        )
        report = client.get(f"/auctions/{cfg.auction_id}/report", headers=op).json()
        console.print(
            f"Pre-clearing report: {report['book']['bids']} bids, "
            f"{len(report['warnings'])} plausibility warning(s)"
            + "".join(f"\n  - {w['message']}" for w in report["warnings"][:3])
        )
        cleared = client.post(f"/auctions/{cfg.auction_id}/clear", headers=op).json()
        client.post(f"/auctions/{cfg.auction_id}/publish", headers=op)
        _show_bidder(console, client, sample, accounts)
        traders = demo_ancillary.offer_reserve(console, client, sample, accounts)
        if traders:
            demo_ancillary.sandbox_tso(console, client, sample, accounts, traders)
        _dispatch(console, client, store, sample, accounts)
        _settle(console, client, sample, accounts, clock, traders)

    out = workdir / "export"
    services.auctions.export_auction(store, cfg.auction_id, out)
    services.dispatch.export_dispatch(store, cfg.auction_id, out)
    store.dispose()
    return DemoOutcome(
        archive=read_archive(out),
        exported=out,
        checker_ok=bool(cleared["checker_ok"]),
        checker_report=str(cleared["checker_report"]),
        names={account["org_id"]: name for name, account in accounts.items()},
    )


def _body(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "bid_id": _bid_id(row["bid_id"]),
        "product_id": row["product_id"],
        "quantity_mw": row["quantity_mw"],
        "min_quantity_mw": row["min_quantity_mw"],
        "price_eur_per_mw": row["price_eur_per_mw"],
        "exclusive_group": row["exclusive_group"],
        "linked_to": None if row["linked_to"] is None else _bid_id(row["linked_to"]),
    }


def _submit_sample_bids(
    client: TestClient, sample: Archive, accounts: dict[str, Any], clock: DemoClock
) -> int:
    accepted = 0
    for row in sample.bids.sort("submitted_at", "bid_id").iter_rows(named=True):
        clock.now = row["submitted_at"]
        account = accounts[row["org_id"]]
        answer = client.post(
            f"/organisations/{account['org_id']}/auctions/{sample.config.auction_id}/bids",
            headers=account["headers"],
            json=_body(row),
        )
        assert answer.status_code == 201, answer.text
        accepted += 1
    return accepted


def _amend_and_withdraw(
    console: Console,
    client: TestClient,
    sample: Archive,
    accounts: dict[str, Any],
    clock: DemoClock,
) -> None:
    """One bidder raises a price, another withdraws a bid, shortly before the gate."""
    assert sample.config.gate_close is not None
    clock.now = sample.config.gate_close.astimezone(UTC) - timedelta(minutes=10)
    simple = sample.bids.filter(pl.col("linked_to").is_null() & pl.col("exclusive_group").is_null())
    linked = set(sample.bids["linked_to"].drop_nulls())
    raise_row = simple.row(0, named=True)
    drop_row = simple.filter(~pl.col("bid_id").is_in(list(linked))).row(-1, named=True)
    for row, method in ((raise_row, "PUT"), (drop_row, "DELETE")):
        account = accounts[row["org_id"]]
        url = (
            f"/organisations/{account['org_id']}/auctions/{sample.config.auction_id}"
            f"/bids/{_bid_id(row['bid_id'])}"
        )
        body = {k: v for k, v in _body(row).items() if k != "bid_id"}
        body["price_eur_per_mw"] = round(row["price_eur_per_mw"] * 1.1, 2)
        answer = client.request(
            method, url, headers=account["headers"], json=body if method == "PUT" else None
        )
        assert answer.status_code in (200, 204), answer.text
    console.print(
        f"{raise_row['org_id']} raised a bid by 10 % (version 2, time priority anew); "
        f"{drop_row['org_id']} withdrew one."
    )


def _show_bidder(
    console: Console, client: TestClient, sample: Archive, accounts: dict[str, Any]
) -> None:
    name = sample.bids["org_id"].mode().sort()[0]
    account = accounts[name]
    auction_id = sample.config.auction_id
    awards = client.get(
        f"/organisations/{account['org_id']}/auctions/{auction_id}/awards",
        headers=account["headers"],
    ).json()["awards"]
    won = [a for a in awards if a["awarded_mw"] > 0]
    lost = [a for a in awards if a["price_needed_eur_per_mw"] is not None]
    console.print(
        f"{name} sees only its own {len(awards)} bids: {len(won)} won "
        f"({sum(a['payment_eur'] for a in won):,.2f} EUR to pay)"
        + (
            f"; e.g. {lost[0]['product_id']} would have needed "
            f"{lost[0]['price_needed_eur_per_mw']:,.2f} EUR/MW "
            f"(bid {lost[0]['price_eur_per_mw']:,.2f})."
            if lost
            else "."
        )
    )
    results = client.get(f"/auctions/{auction_id}/results", headers=account["headers"]).json()
    busiest = max(results["products"], key=lambda p: len(p["bids"]))
    console.print(
        f"Anonymous results of {busiest['product_id']}: {len(busiest['bids'])} bids, accepted "
        f"{busiest['lowest_accepted_eur_per_mw']}-{busiest['highest_accepted_eur_per_mw']} "
        f"EUR/MW (average {busiest['average_accepted_eur_per_mw']})."
    )


def _dispatch(
    console: Console,
    client: TestClient,
    store: Store,
    sample: Archive,
    accounts: dict[str, Any],
) -> None:
    """The bidder dispatches; a schedule that would empty its battery is refused; an outage
    of the battery carrying the most blocks is re-backed by the rest of the fleet."""
    name = sample.bids["org_id"].mode().sort()[0]
    account, op = accounts[name], accounts["operator"]["headers"]
    base = f"/organisations/{account['org_id']}/virtual-assets"
    vas = client.get(base, headers=account["headers"]).json()["virtual_assets"]
    dispatchable = [va for va in vas if va["power_kw"] > 0]
    console.print(
        f"{name} has {len(vas)} virtual assets (upcoming, created at publication); "
        f"{len(dispatchable)} with a wholesale block to dispatch."
    )
    for n, va in enumerate(dispatchable[:2]):
        block = next(b for b in va["blocks"] if b["market"] == "wholesale")
        url = f"{base}/{va['virtual_asset_id']}/blocks/{block['block_id']}"
        step = timedelta(minutes=15)
        start = datetime.fromisoformat(block["start"])
        n_mtu = mtu_span(start, datetime.fromisoformat(block["end"]), 15)
        if n == 0:
            # Full power out in every MTU: more energy than the block holds.
            drain = [
                {"power": block["power_kw"], "time": (start + k * step).isoformat()}
                for k in range(n_mtu)
            ]
            refused = client.post(url, headers=account["headers"], json={"schedule": drain})
            first = refused.json()["errors"][0]
            console.print(
                f"Schedule for {va['product_id']} refused ({refused.status_code}): "
                f"point {first['loc'][2] + 1}: {first['rule']}."
            )
        # A quarter of the power, out and back in turn (the first: ends on target), or out
        # only (the second: ends under-charged, which settlement charges).
        quarter = block["power_kw"] // 4
        points = [
            {
                "power": quarter if n == 1 or k % 2 == 0 else -quarter,
                "time": (start + k * step).isoformat(),
            }
            for k in range(min(n_mtu, 8))
        ]
        accepted = client.post(url, headers=account["headers"], json={"schedule": points})
        assert accepted.status_code == 200, accepted.text
        view = accepted.json()
        socs = [s["soc_kwh"] for s in view["soc"]]
        console.print(
            f"Schedule for {va['product_id']} accepted (version {view['version']}): "
            f"{len(points)} MTUs at ±{quarter:,} kW, the SoC stays within {min(socs):,.0f}-"
            f"{max(socs):,.0f} of {block['energy_kwh']:,} kWh; {view['imbalance']}."
        )
    if not dispatchable:
        return
    day_start, day_end = day_bounds(sample.config.delivery_day, sample.config.time_zone)
    window = {"from": day_start.isoformat(), "to": day_end.isoformat()}
    setpoints = client.get("/fleet/setpoints", headers=op, params=window).json()
    console.print(f"Physical setpoints: {setpoints['summary'][0]}.")

    # Two hours into the first dispatched virtual asset's window.
    first = dispatchable[0]
    start = datetime.fromisoformat(first["start"]) + timedelta(hours=2)
    end = start + timedelta(hours=2)
    busiest = _busiest_asset(store, sample.config.auction_id, start, end)
    outage = {
        "asset_id": busiest,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "available_fraction": 0,
    }
    answer = client.post("/fleet/outages", headers=op, json=outage).json()
    tz = ZoneInfo(sample.config.time_zone)
    console.print(
        f"Outage of {busiest}, the battery under the most blocks, {start.astimezone(tz):%H:%M}-"
        f"{end.astimezone(tz):%H:%M} {tz}: {answer['rebacking']}"
    )
    for conflict in answer["schedule_conflicts"][:3]:
        console.print(f"  schedule point {conflict['time']} no longer fits: {conflict['rule']}")


def _settle(
    console: Console,
    client: TestClient,
    sample: Archive,
    accounts: dict[str, Any],
    clock: DemoClock,
    reserve_traders: list[str],
) -> None:
    """D+1: the operator settles the day; a bidder reads its invoice and its nomination, the
    trader of reserve the TSO's payment passed on."""
    day = sample.config.delivery_day
    _, day_end = day_bounds(day, sample.config.time_zone)
    clock.now = day_end + timedelta(hours=8)
    op = accounts["operator"]["headers"]
    body = {"imbalance_price_eur_per_mwh": 150}
    run = client.post(f"/settlement/{day}/run", headers=op, json=body)
    assert run.status_code == 201, run.text
    settled = run.json()
    totals = settled["totals_eur"]
    verdict = "reconciled" if settled["reconciliation"]["ok"] else "NOT reconciled"
    console.print(
        f"Settlement of {day} (version {settled['version']}): awards "
        f"{float(totals['award']):,.2f} EUR, unavailability credits "
        f"{float(totals['unavailability_credit']):,.2f} EUR, SoC imbalance "
        f"{float(totals['imbalance_charge']):,.2f} EUR; {settled['documents']} nominations; "
        f"{verdict} with the schedules and the fleet's setpoints."
    )
    name = sample.bids["org_id"].mode().sort()[0]
    account = accounts[name]
    base = f"/organisations/{account['org_id']}"
    invoice = client.get(f"{base}/invoices", headers=account["headers"]).json()["invoices"][0]
    console.print(
        f"{name}'s invoice: {len(invoice['lines'])} lines, awards {invoice['awards_eur']} EUR, "
        f"credits {invoice['credits_eur']} EUR, imbalance {invoice['imbalance_eur']} EUR; "
        f"due {invoice['amount_due_eur']} EUR."
    )
    for reserve_trader in reserve_traders:
        trader = accounts[reserve_trader]
        listed = client.get(
            f"/organisations/{trader['org_id']}/invoices", headers=trader["headers"]
        ).json()["invoices"]
        reserve = [ln for inv in listed for ln in inv["lines"] if ln["kind"] == "ancillary_revenue"]
        console.print(
            f"{reserve_trader}'s invoice passes on the TSO's payment for its accepted reserve: "
            f"{len(reserve)} ancillary revenue line(s), "
            f"{sum(float(inv['ancillary_eur']) for inv in listed):,.2f} EUR (negative: it gets it)."
        )
    xml = client.get(
        f"{base}/nominations/{day}", headers=account["headers"], params={"format": "xml"}
    )
    intervals = xml.text.count("<Interval>")
    console.print(
        f"Its nomination for {day}: an ESS-style schedule document ({len(xml.content):,} "
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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo", help="run the sample auction through the REST API on a fresh store"
    )
    demo.add_argument("--out", type=Path, help="where to keep the store and export (default: temp)")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then keep the demo's store served (web frontend and API) until Ctrl+C",
    )
    demo.add_argument("--port", type=int, default=8000, help="the port of --serve")
    demo.set_defaults(run=demo_command)


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
