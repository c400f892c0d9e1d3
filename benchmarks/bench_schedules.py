"""Schedule benchmark: validating a wholesale schedule in-process, and POSTing one over HTTP.

    python benchmarks/bench_schedules.py [--seconds 8] [--concurrency 8] [--procs 2]
                                   [--repeats 3000]

In-process, first: ``dispatch.schedule.apply_schedule`` on a 96-point schedule of a
whole-day wholesale block (15-min MTUs, every MTU named, valid SoC) and on 4 points, timed
call by call (median and p99) next to two baselines run in the same process, interleaved:
the same rules checked by a plain per-point Python loop without numpy (is numpy's fixed cost
worth it at 96 points?) and parsing the same points with ``api.http.schemas.dispatch.ScheduleIn``
(what every request pays before the rules run).

Then over HTTP, with the machinery of benchmarks/bench_intake.py: ``vba serve`` on a fresh
SQLite store next to intake's bare FastAPI endpoint. A small whole-day auction is taken
through open -> bids -> close -> clear -> publish as the operator (wall clock: the gate
closes a few seconds after it opens; delivery two days ahead, so every MTU is far from
its dispatch gate closure). The client processes then POST schedules to the bidders'
wholesale blocks for ``--seconds`` per phase: 4 points at random MTUs with small powers
(always accepted; non-2xx counts as an error), and whole 96-point schedules, next to the
bare endpoint. Finally ``api.services.dispatch.submit_schedule`` is timed in-process on the same
store, to split a request's time into the store's part and the HTTP part. Figures only:
nothing here asserts on a time. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))


def _load_intake() -> ModuleType:
    """benchmarks/bench_intake.py as the module ``intake`` (registered, so that its ``Job`` and
    ``drive`` pickle by reference into the spawned client processes, which run this file's
    top level again and so load it the same way)."""
    if "intake" in sys.modules:
        return sys.modules["intake"]
    spec = importlib.util.spec_from_file_location("intake", HERE / "bench_intake.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["intake"] = module
    spec.loader.exec_module(module)
    return module


intake = _load_intake()

RESULTS_DIR = HERE / "results"
TIME_ZONE = "Europe/Berlin"
VALIDATION_DAY = date(2026, 11, 30)
MTU_MINUTES = 15
BIDDERS = 3  # intake's bidder and two more
GATE_S = 4.0  # the gate closes this long after the auction is created
SMALL_POINTS = 4
SMALL_KW = 20  # |power| of the small schedules' points
FULL_KW = 35  # |power| of the 96-point schedules' points
BODIES_PER_CLIENT = 64
STORE_REPEATS = 200  # in-process submit_schedule calls per schedule size

# Targets of issue 4 (SQLite, a 2-core machine).
TARGET_VALIDATE_MS = 1.0  # apply_schedule of 96 points
TARGET_REQ_S = 200.0  # POST of a schedule


# --------------------------------------------------------------------------- in-process


def day_start(day: date) -> datetime:
    """Local midnight of ``day`` in Berlin, as a UTC instant."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TIME_ZONE)).astimezone(UTC)


def whole_day_terms(day: date) -> Any:
    """The terms of a 1 MW / 2 MWh whole-day wholesale block as a clearing makes them."""
    from dispatch.schedule import BlockTerms

    start = day_start(day)
    return BlockTerms(
        start=start,
        end=day_start(day + timedelta(days=1)),
        mtu_minutes=MTU_MINUTES,
        power_kw=1000,
        energy_kwh=2000,
        initial_soc_kwh=1000.0,
        final_soc_kwh=1000.0,
        final_soc_tolerance_kwh=20.0,
        eta_charge=0.95,
        eta_discharge=0.95,
        daily_cycle_limit=1.0,
    )


def check_any_mix(terms: Any, max_kw: int) -> None:
    """Raise unless every schedule with |power| <= ``max_kw`` at every MTU keeps the block's
    SoC inside [0, energy] and its daily cycle limit, whatever the order of the values."""
    dt_h = terms.mtu_minutes / 60
    worst_down = terms.n_mtu * max_kw * dt_h / terms.eta_discharge
    worst_up = terms.n_mtu * max_kw * dt_h * terms.eta_charge
    if worst_down >= terms.initial_soc_kwh or worst_up >= terms.energy_kwh - terms.initial_soc_kwh:
        raise ValueError(f"{max_kw} kW at every MTU could leave the block's SoC window")
    cycles = terms.daily_cycle_limit
    if cycles is not None and terms.n_mtu * max_kw * dt_h > cycles * terms.energy_kwh:
        raise ValueError(f"{max_kw} kW at every MTU could break the daily cycle limit")


def valid_powers(terms: Any, rng: random.Random, max_kw: int) -> list[int]:
    """A random power for every MTU, valid by construction (``check_any_mix``)."""
    check_any_mix(terms, max_kw)
    return [rng.randint(-max_kw, max_kw) for _ in range(terms.n_mtu)]


def plain_schedule(
    terms: Any, stored: Sequence[int], points: Sequence[Any], now: datetime
) -> tuple[list[int], list[float]]:
    """The baseline: apply_schedule's rules, point by point and MTU by MTU, without numpy.

    Returns the power per MTU and the SoC at every MTU edge; raises ValueError listing the
    broken rules (their wording is not the point here: only accepted schedules are timed).
    """
    problems: list[str] = []
    power = list(stored)
    seen: set[int] = set()
    mtu = timedelta(minutes=terms.mtu_minutes)
    gate = timedelta(seconds=terms.gate_closure_s)
    for row, point in enumerate(points, start=1):
        t = point.time
        k: int | None = None
        if t.tzinfo is None:
            problems.append(f"{row}: no UTC offset")
        elif not terms.start <= t < terms.end:
            problems.append(f"{row}: outside the window")
        elif (t - terms.start) % mtu:
            problems.append(f"{row}: not an MTU start")
        elif now >= t - gate:
            problems.append(f"{row}: dispatch gate closed")
        else:
            k = (t - terms.start) // mtu
        limit = terms.power_kw if k is None else terms.available_kw(k)
        if abs(point.power_kw) > limit:
            problems.append(f"{row}: |power| above {limit} kW")
            continue
        if k is None:
            continue
        if k in seen:
            problems.append(f"{row}: MTU given twice")
            continue
        seen.add(k)
        power[k] = point.power_kw
    if problems:
        raise ValueError(problems)
    dt_h = terms.mtu_minutes / 60
    eta_c, eta_d, energy = terms.eta_charge, terms.eta_discharge, terms.energy_kwh
    eps = 1e-6
    cum, discharged = 0.0, 0.0
    soc = [terms.initial_soc_kwh]
    was_low = was_high = False
    for k, kw in enumerate(power):
        if kw > 0:
            cum += -(kw / eta_d) * dt_h
            discharged += kw
        else:
            cum += eta_c * -kw * dt_h
        s = terms.initial_soc_kwh + cum
        soc.append(s)
        low, high = s < -eps, s > energy + eps
        if (low and not was_low) or (high and not was_high):
            problems.append(f"MTU {k}: SoC {s:,.1f} kWh outside [0, {energy}]")
        was_low, was_high = low, high
    cycles = terms.daily_cycle_limit
    if cycles is not None and discharged * dt_h > cycles * energy + eps:
        problems.append("daily cycle limit")
    if problems:
        raise ValueError(problems)
    return power, soc


def _body(points: Sequence[tuple[datetime, int]]) -> bytes:
    schedule = [{"power": kw, "time": t.isoformat()} for t, kw in points]
    return json.dumps({"schedule": schedule}, separators=(",", ":")).encode()


def time_calls(
    cases: dict[str, Callable[[], object]], repeats: int, rounds: int = 10
) -> dict[str, list[float]]:
    """Seconds per call of each case: ``repeats`` calls each, in ``rounds`` interleaved
    slices so that a burst of load elsewhere hits every case alike; after a warm-up."""
    for fn in cases.values():
        for _ in range(max(10, repeats // 20)):
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    per_round = max(1, repeats // rounds)
    clock = time.perf_counter
    for _ in range(rounds):
        for name, fn in cases.items():
            out = times[name]
            for _ in range(per_round):
                t0 = clock()
                fn()
                out.append(clock() - t0)
    return times


def validation(repeats: int, rng: random.Random) -> list[dict[str, Any]]:
    """apply_schedule (96 and 4 points) next to the plain loop and the pydantic parse."""
    import numpy as np

    from api.http.schemas.dispatch import ScheduleIn
    from dispatch.schedule import Point, apply_schedule

    # A fixed day without a clock change (96 MTUs), seen from two days before: a pure
    # function needs no wall clock, and every MTU is far from its dispatch gate closure.
    terms = whole_day_terms(VALIDATION_DAY)
    assert terms.n_mtu == 96
    now = terms.start - timedelta(days=2)
    stored = np.zeros(terms.n_mtu, dtype=np.int64)
    stored_list = stored.tolist()
    full = [Point(terms.mtu_start(k), kw) for k, kw in enumerate(valid_powers(terms, rng, FULL_KW))]
    small_ks = sorted(rng.sample(range(terms.n_mtu), SMALL_POINTS))
    small = [Point(terms.mtu_start(k), rng.randint(-SMALL_KW, SMALL_KW)) for k in small_ks]
    # The two ways agree on what they accept, to the last MTU.
    for points in (full, small):
        profile = apply_schedule(terms, stored, points, now)
        power, soc = plain_schedule(terms, stored_list, points, now)
        assert profile.power_kw.tolist() == power
        assert np.allclose(profile.soc_kwh, soc, rtol=0, atol=1e-9)
    bodies = {n: _body([(p.time, p.power_kw) for p in pts]) for n, pts in ((96, full), (4, small))}
    cases: dict[str, Callable[[], object]] = {
        "apply_schedule, 96 points": lambda: apply_schedule(terms, stored, full, now),
        "plain Python loop, 96 points": lambda: plain_schedule(terms, stored_list, full, now),
        "ScheduleIn parse, 96 points": lambda: ScheduleIn.model_validate_json(bodies[96]),
        "apply_schedule, 4 points": lambda: apply_schedule(terms, stored, small, now),
        "plain Python loop, 4 points": lambda: plain_schedule(terms, stored_list, small, now),
        "ScheduleIn parse, 4 points": lambda: ScheduleIn.model_validate_json(bodies[4]),
    }
    times = time_calls(cases, repeats)
    ours = {96: "apply_schedule, 96 points", SMALL_POINTS: "apply_schedule, 4 points"}
    rows: list[dict[str, Any]] = []
    for name, values in times.items():
        values.sort()
        rows.append(
            {
                "case": name,
                "points": 96 if "96" in name else SMALL_POINTS,
                "calls": len(values),
                "p50_us": statistics.median(values) * 1e6,
                "p99_us": intake._pct(values, 0.99) * 1e6,
                "min_us": values[0] * 1e6,
            }
        )
    by = {r["case"]: r for r in rows}
    for r in rows:
        r["apply_schedule_over_this"] = by[ours[r["points"]]]["p50_us"] / r["p50_us"]
    return rows


# --------------------------------------------------------------------------- set-up


def add_bidders(store: Any, n: int) -> list[str]:
    """``n`` more bidder organisations, one user each, through the store; their emails."""
    from api.http.security import hash_password
    from auction.store.accounts import accept_invite, create_invite, create_org

    now = datetime.now(UTC)
    emails = []
    hashed = hash_password(intake.PASSWORD)
    with store.write() as conn:
        for i in range(n):
            org = create_org(
                conn, f"Schedules Bidder {i + 2}", intake.EIC_BIDDER, intake.TSO_ZONE, now
            )
            email = f"bidder{i + 2}@schedules.example.com"
            token = create_invite(conn, email, org.org_id, "bidder", now, timedelta(hours=1))
            accept_invite(conn, token, hashed, now)
            emails.append(email)
    return emails


@dataclass(frozen=True)
class Block:
    """A bidder's wholesale block: where to send its schedules, as whom, on which grid."""

    org_id: str
    token: str
    virtual_asset_id: str
    block_id: str
    start: datetime
    n_mtu: int
    terms: Any  # dispatch.schedule.BlockTerms, as the listing describes the block

    @property
    def path(self) -> str:
        return (
            f"/organisations/{self.org_id}/virtual-assets/{self.virtual_asset_id}"
            f"/blocks/{self.block_id}"
        )


def fleet() -> list[dict[str, Any]]:
    """Four 2 MW / 4 MWh batteries in TenneT DE: room for every bid of ``publish_auction``."""
    return [
        {
            "asset_id": f"bess-{i}",
            "tso_zone": intake.TSO_ZONE,
            "p_charge_mw": 2.0,
            "p_discharge_mw": 2.0,
            "e_min_mwh": 0.0,
            "e_max_mwh": 4.0,
            "fcr": False,
            "afrr_pos": False,
            "afrr_neg": False,
            "owner_org": None,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
        }
        for i in range(1, 5)
    ]


def products(day: date) -> list[dict[str, Any]]:
    """Two whole-day wholesale products: 1 MW with 2 h per MW, at most one cycle a day."""
    return [
        {
            "product_id": product_id,
            "start": day_start(day).isoformat(),
            "end": day_start(day + timedelta(days=1)).isoformat(),
            "wholesale_mw": 1.0,
            "wholesale_h": 2.0,
            "fcr_mw": 0.0,
            "afrr_pos_mw": 0.0,
            "afrr_neg_mw": 0.0,
            "min_mw": 1.0,
            "increment_mw": 1.0,
            "reserve_price_eur_per_mw": 0.0,
            "max_mw": None,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
            "daily_cycle_limit": 1.0,
        }
        for product_id in ("day-a", "day-b")
    ]


def publish_auction(vba: str, bidder_emails: list[str], console: Console) -> list[Block]:
    """Create, open, bid, close, clear and publish a whole-day auction through HTTP as the
    operator; every bidder wins 1 MW of each product. Returns their wholesale blocks."""
    from dispatch.schedule import BlockTerms

    checked = intake._checked
    with httpx2.Client(base_url=vba, timeout=120) as client:
        operator = {
            "Authorization": f"Bearer {intake._login(client, 'operator@intake.example.com')}"
        }
        bidders = []
        for email in bidder_emails:
            token = intake._login(client, email)
            me = checked(client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}), 200)
            bidders.append((me["org_id"], token))
        checked(client.put("/fleet/assets", headers=operator, json={"assets": fleet()}), 200)
        now = datetime.now(UTC)
        day = now.astimezone(ZoneInfo(TIME_ZONE)).date() + timedelta(days=2)
        gate_close = now + timedelta(seconds=GATE_S)
        config = {
            "auction_id": "schedules",
            "delivery_day": day.isoformat(),
            "time_zone": TIME_ZONE,
            "gate_open": (now - timedelta(minutes=1)).isoformat(),
            "gate_close": gate_close.isoformat(),
            "publish_at": (gate_close + timedelta(seconds=1)).isoformat(),
        }
        body = {"auction": config, "products": products(day)}
        auction_id = checked(client.post("/auctions", headers=operator, json=body), 201)[
            "auction_id"
        ]
        checked(client.post(f"/auctions/{auction_id}/open", headers=operator), 200)
        for i, (org_id, token) in enumerate(bidders):
            bids = [
                {"product_id": p["product_id"], "quantity_mw": 1, "price_eur_per_mw": 100 - i}
                for p in products(day)
            ]
            checked(
                client.post(
                    f"/organisations/{org_id}/auctions/{auction_id}/bids",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"bids": bids},
                ),
                201,
            )
        time.sleep(max(0.0, (gate_close - datetime.now(UTC)).total_seconds() + 0.2))
        # The server's scheduler may have closed the gate first (409): either way it is closed.
        closed = client.post(f"/auctions/{auction_id}/close", headers=operator)
        if closed.status_code not in (200, 409):
            checked(closed, 200)
        t0 = time.perf_counter()
        checked(client.post(f"/auctions/{auction_id}/clear", headers=operator), 200)
        checked(client.post(f"/auctions/{auction_id}/publish", headers=operator), 200)
        console.print(
            f"auction {auction_id} for {day} published (close {closed.status_code}); "
            f"clear + publish {time.perf_counter() - t0:.1f} s"
        )
        blocks = []
        for org_id, token in bidders:
            answer = client.get(
                f"/organisations/{org_id}/virtual-assets",
                headers={"Authorization": f"Bearer {token}"},
            )
            for va in checked(answer, 200)["virtual_assets"]:
                b = next(b for b in va["blocks"] if b["market"] == "wholesale")
                start = datetime.fromisoformat(b["start"])
                end = datetime.fromisoformat(b["end"])
                terms = BlockTerms(
                    start=start,
                    end=end,
                    mtu_minutes=MTU_MINUTES,
                    power_kw=b["power_kw"],
                    energy_kwh=b["energy_kwh"],
                    initial_soc_kwh=b["initial_soc_kwh"],
                    final_soc_kwh=b["final_soc_target_kwh"],
                    final_soc_tolerance_kwh=0.0,
                    eta_charge=b["eta_charge"],
                    eta_discharge=b["eta_discharge"],
                    daily_cycle_limit=b["daily_cycle_limit"],
                    gate_closure_s=b["gate_closure_s"],
                )
                blocks.append(
                    Block(
                        org_id,
                        token,
                        va["virtual_asset_id"],
                        b["block_id"],
                        start,
                        terms.n_mtu,
                        terms,
                    )
                )
    return blocks


def schedule_bodies(block: Block, n: int, points: int, rng: random.Random) -> tuple[bytes, ...]:
    """``n`` schedules that the block accepts in any order: ``points`` distinct MTUs at
    random (all of them for a whole schedule), |power| small enough for any mix."""
    max_kw = FULL_KW if points >= block.n_mtu else SMALL_KW
    check_any_mix(block.terms, max(FULL_KW, SMALL_KW))  # the phases mix both sizes
    out = []
    for _ in range(n):
        ks = sorted(rng.sample(range(block.n_mtu), min(points, block.n_mtu)))
        out.append(_body([(block.terms.mtu_start(k), rng.randint(-max_kw, max_kw)) for k in ks]))
    return tuple(out)


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Client:
    """One load client: a keep-alive connection posting ``bodies`` to ``path`` in turn."""

    path: str
    token: str
    bodies: tuple[bytes, ...]


def drive_clients(jobs: list[Any]) -> dict[str, Any]:
    """intake.drive for each job (one client each) on threads of this process, merged.

    intake.drive gives all of its threads one path; the clients here post to different
    blocks, so each is a job of one thread. Every job's meter measures this whole process
    over the same window: its CPU is taken once.
    """
    with ThreadPoolExecutor(len(jobs)) as pool:
        parts = list(pool.map(intake.drive, jobs))
    errors: dict[str, int] = {}
    for p in parts:
        for key, n in p["errors"].items():
            errors[key] = errors.get(key, 0) + n
    return {
        "latencies": [x for p in parts for x in p["latencies"]],
        "ends": [x for p in parts for x in p["ends"]],
        "warm_ok": sum(p["warm_ok"] for p in parts),
        "errors": errors,
        "client_cpu_s": max(p["client_cpu_s"] for p in parts),
    }


def run_load(
    name: str,
    server: Any,
    servers: dict[str, Any],
    clients: list[Client],
    points: int,
    pool: ProcessPoolExecutor,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Drive ``clients`` over ``--procs`` client processes for ``--seconds``; throughput,
    client-side latency (2xx only), and the CPU of the server and of everything else."""
    procs = max(1, min(args.procs, len(clients)))
    start_at = time.time() + 3.0 + intake.WARMUP_S  # time for the client processes to start
    jobs = [
        [
            intake.Job(
                server.url,
                c.path,
                c.token,
                c.bodies,
                1,
                start_at,
                args.seconds,
                intake.WARMUP_S,
            )
            for c in clients[k::procs]
        ]
        for k in range(procs)
    ]
    load_before = os.getloadavg()[0]
    futures = [pool.submit(drive_clients, share) for share in jobs]
    time.sleep(max(0.0, start_at - time.time()))
    ours0 = {n: intake.cpu_s(s.proc.pid) for n, s in servers.items()}
    busy0 = intake.busy_s()
    time.sleep(max(0.0, start_at + args.seconds - time.time()))
    ours1 = {n: intake.cpu_s(s.proc.pid) for n, s in servers.items()}
    busy1 = intake.busy_s()
    parts = [f.result() for f in futures]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors: dict[str, int] = {}
    for p in parts:
        for key, count in p["errors"].items():
            errors[key] = errors.get(key, 0) + count
    span = max(max(p["ends"]) for p in parts) - start_at
    n = len(latencies)
    server_cpu = ours1[server.name] - ours0[server.name]
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    others = busy1[0] - busy0[0] - client_cpu - sum(ours1[k] - ours0[k] for k in ours1)
    return {
        "name": name,
        "target": server.name,
        "clients": len(clients),
        "blocks": len({c.path for c in clients}),
        "points": points,
        "procs": procs,
        "seconds": args.seconds,
        "span_s": span,
        "requests": n,
        "warmup_requests": sum(p["warm_ok"] for p in parts),
        "errors": errors,
        "req_per_s": n / span if span > 0 else 0.0,
        "p50_ms": intake._pct(latencies, 0.50) * 1000,
        "p90_ms": intake._pct(latencies, 0.90) * 1000,
        "p99_ms": intake._pct(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
        "mean_ms": (statistics.fmean(latencies) if latencies else math.nan) * 1000,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_req": server_cpu / n * 1000 if n else math.nan,
        "client_cpu_s": client_cpu,
        "others_cpu_s": others,
        "steal_s": busy1[1] - busy0[1],
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def stored_versions(store: Any) -> int:
    """Schedule versions in the store: one per accepted POST."""
    import sqlalchemy as sa

    from auction.store.schema import schedule_versions

    with store.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(schedule_versions)).scalar_one()
        )


def time_store(store: Any, blocks: list[Block], rng: random.Random) -> list[dict[str, Any]]:
    """operating.submit_schedule in this process on the server's store (SQLite, WAL,
    synchronous=FULL): the part of a request the store and the rules take, no HTTP."""
    from api.http.schemas.dispatch import ScheduleIn
    from api.services.dispatch import submit_schedule
    from auction.store.accounts import user_by_email
    from dispatch.schedule import Point

    rows = []
    for points in (SMALL_POINTS, blocks[0].n_mtu):
        block = blocks[0]
        with store.read() as conn:
            user = user_by_email(conn, "bidder@intake.example.com")
        assert user is not None
        assert user.org_id == block.org_id
        schedules = [
            [Point(p.time, p.power) for p in ScheduleIn.model_validate_json(b).schedule]
            for b in schedule_bodies(block, 16, points, rng)
        ]
        times = []
        for i in range(STORE_REPEATS):
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            submit_schedule(
                store,
                block.org_id,
                block.virtual_asset_id,
                block.block_id,
                schedules[i % len(schedules)],
                user.user_id,
                now,
            )
            times.append(time.perf_counter() - t0)
        times.sort()
        rows.append(
            {
                "case": f"submit_schedule, {points} points",
                "points": points,
                "calls": len(times),
                "p50_ms": statistics.median(times) * 1000,
                "p99_ms": intake._pct(times, 0.99) * 1000,
                "per_s_one_writer": 1 / statistics.fmean(times),
            }
        )
    return rows


# --------------------------------------------------------------------------- report


def validation_table(rows: list[dict[str, Any]], repeats: int) -> Table:
    t = Table(title=f"Validating a schedule in-process ({repeats:,} calls each, interleaved)")
    for col in ("case", "points", "p50 µs", "p99 µs", "min µs", "apply_schedule ÷ this, p50"):
        t.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        ours = r["case"].startswith("apply_schedule")
        t.add_row(
            r["case"],
            str(r["points"]),
            f"{r['p50_us']:,.1f}",
            f"{r['p99_us']:,.1f}",
            f"{r['min_us']:,.1f}",
            "-" if ours else f"{r['apply_schedule_over_this']:.2f}x",
        )
    return t


def load_table(phases: list[dict[str, Any]]) -> Table:
    bare = phases[0]
    t = Table(title="POST of a schedule over HTTP (client-side latency, 2xx only)")
    cols = (
        *("phase", "clients", "blocks", "requests", "req/s", "vs bare", "p50 ms", "p90 ms"),
        *("p99 ms", "max ms", "errors", "server CPU ms/req", "server CPU %", "client CPU %"),
        "others / steal CPU %",
    )
    for col in cols:
        t.add_column(col, justify="left" if col == "phase" else "right")
    for r in phases:
        t.add_row(
            r["name"],
            str(r["clients"]),
            str(r["blocks"]),
            f"{r['requests']:,}",
            f"{r['req_per_s']:,.1f}",
            "-" if r is bare else f"{r['req_per_s'] / bare['req_per_s']:.0%}",
            intake._ms(r["p50_ms"]),
            intake._ms(r["p90_ms"]),
            intake._ms(r["p99_ms"]),
            intake._ms(r["max_ms"]),
            str(sum(r["errors"].values())),
            f"{r['server_cpu_ms_per_req']:.2f}",
            f"{r['server_cpu_s'] / r['seconds']:.0%}",
            f"{r['client_cpu_s'] / r['seconds']:.0%}",
            f"{r['others_cpu_s'] / r['seconds']:.0%} / {r['steal_s'] / r['seconds']:.0%}",
        )
    return t


def store_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="submit_schedule in-process on the same SQLite store (no HTTP)")
    for col in ("case", "calls", "p50 ms", "p99 ms", "calls/s, one writer"):
        t.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        t.add_row(
            r["case"],
            str(r["calls"]),
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['per_s_one_writer']:,.0f}",
        )
    return t


def targets(validate: list[dict[str, Any]], phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    v = next(r for r in validate if r["case"] == "apply_schedule, 96 points")
    bare = phases[0]["req_per_s"]

    def post(p: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = intake._target(
            f"POST {p['name']}: >= {TARGET_REQ_S:g} req/s, every request accepted",
            f"{p['req_per_s']:,.0f} req/s ({p['req_per_s'] / bare:.0%} of the bare endpoint's "
            f"{bare:,.0f}), {p['errors_total']} errors",
            p["req_per_s"] >= TARGET_REQ_S and p["errors_total"] == 0,
        )
        return found

    return [
        intake._target(
            f"validating a 96-point schedule (apply_schedule) < {TARGET_VALIDATE_MS:g} ms, "
            "judged on p99",
            f"p50 {v['p50_us'] / 1000:.3f} ms, p99 {v['p99_us'] / 1000:.3f} ms",
            v["p99_us"] / 1000 < TARGET_VALIDATE_MS,
        ),
        *(post(p) for p in phases[1:]),
    ]


def write_json(report: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"schedules-{report['machine']['date'][:10]}.json"
    path.write_text(json.dumps(intake._rounded(report), indent=1) + "\n")
    return path


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="per phase (default %(default)s)")
    p.add_argument(
        "--concurrency", type=int, default=8, help="clients at once (default %(default)s)"
    )
    p.add_argument(
        "--procs",
        type=int,
        default=2,
        help="client processes sharing the clients, each with its own GIL (default %(default)s)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=3000,
        help="in-process calls of each validation case (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 250)
    info = intake.machine()
    console.print(", ".join(f"{k} {v}" for k, v in info.items()))
    rng = random.Random(args.seed)

    console.print(f"validating in-process, {args.repeats:,} calls per case ...")
    validate = validation(args.repeats, rng)
    for r in validate:
        console.print(f"  {r['case']}: p50 {r['p50_us']:,.1f} µs, p99 {r['p99_us']:,.1f} µs")

    phases: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="vba-schedules-") as tmp_name,
        intake.servers_running(Path(tmp_name), console) as (servers, store, _db),
    ):
        emails = ["bidder@intake.example.com", *add_bidders(store, BIDDERS - 1)]
        blocks = publish_auction(servers["vba"].url, emails, console)
        console.print(
            f"{len(blocks)} wholesale blocks of {blocks[0].n_mtu} MTUs, "
            f"{blocks[0].terms.power_kw} kW / {blocks[0].terms.energy_kwh} kWh each"
        )
        small = [
            Client(
                blocks[c % len(blocks)].path,
                blocks[c % len(blocks)].token,
                schedule_bodies(blocks[c % len(blocks)], BODIES_PER_CLIENT, SMALL_POINTS, rng),
            )
            for c in range(args.concurrency)
        ]
        full = [
            Client(
                blocks[c % len(blocks)].path,
                blocks[c % len(blocks)].token,
                schedule_bodies(blocks[c % len(blocks)], 8, blocks[0].n_mtu, rng),
            )
            for c in range(args.concurrency)
        ]
        bare = [Client("/noop", c.token, c.bodies) for c in small]
        loads = (
            ("bare endpoint", servers["bare"], bare, SMALL_POINTS),
            (f"schedule of {SMALL_POINTS} points", servers["vba"], small, SMALL_POINTS),
            (f"schedule of {blocks[0].n_mtu} points", servers["vba"], full, blocks[0].n_mtu),
        )
        versions_before = stored_versions(store)
        pool = ProcessPoolExecutor(max_workers=args.procs, mp_context=get_context("spawn"))
        with pool:
            for name, server, clients, points in loads:
                console.print(f"running {name} ({len(clients)} clients) ...")
                row = run_load(name, server, servers, clients, points, pool, args)
                row["errors_total"] = sum(row["errors"].values())
                phases.append(row)
                console.print(
                    f"  {row['req_per_s']:,.1f} req/s, p50 {row['p50_ms']:.1f} ms, "
                    f"p99 {row['p99_ms']:.1f} ms, errors {row['errors_total']}"
                )
                for key, n in list(row["errors"].items())[:3]:
                    console.print(f"  [red]{n} x[/red] {key}", markup=True, highlight=False)
        accepted = sum(r["requests"] + r["warmup_requests"] for r in phases if r["target"] == "vba")
        stored = stored_versions(store) - versions_before
        server_errors = intake.logged_errors(servers["vba"])
        for line, n in server_errors.items():
            console.print(f"  [red]server log, {n} x[/red] {line}", highlight=False)
        console.print(f"the load is over: {accepted:,} schedules accepted, {stored:,} stored")
        if stored != accepted:
            console.print(f"[red]the store holds {stored:,} new versions, accepted {accepted:,}[/]")
        in_store = time_store(store, blocks, rng)

    console.print(validation_table(validate, args.repeats))
    console.print(load_table(phases))
    console.print(store_table(in_store))
    found = targets(validate, phases)
    intake.print_targets(console, found)
    report = {
        "machine": info,
        "args": vars(args),
        "validation": validate,
        "phases": phases,
        "accepted_over_http": accepted,
        "versions_stored": stored,
        "submit_schedule": in_store,
        "server_log_errors": server_errors,
        "targets": found,
    }
    console.print(f"figures written to {write_json(report).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
