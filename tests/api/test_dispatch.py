"""Virtual assets and schedules over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api import services
from auction.store import Store
from auction.store.results import result_frame
from tests.api.conftest import EICS, Account, Clock, provision, small_auction
from tests.strategies import NORMAL_DAY, local

START = local(NORMAL_DAY, 10)  # p1's window opens


def _setup(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> tuple[TestClient, Account, Account, Account, dict[str, list[dict[str, Any]]]]:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    vas = small_auction(client, operator, [alpha, beta], clock)
    return client, operator, alpha, beta, vas


def _wholesale(va: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in va["blocks"] if b["market"] == "wholesale")


def _url(account: Account, va: dict[str, Any], block: dict[str, Any]) -> str:
    return (
        f"/organisations/{account.org_id}/virtual-assets/{va['virtual_asset_id']}"
        f"/blocks/{block['block_id']}"
    )


def _at(k: int) -> str:
    return (START + k * timedelta(minutes=15)).isoformat()


def test_each_organisation_sees_its_own_virtual_assets_with_their_blocks(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, vas = _setup(store, make_client, clock)
    mine = vas[alpha.org_id]
    assert sorted(va["product_id"] for va in mine) == ["p1", "p2"]
    assert all(va["org_id"] == alpha.org_id and va["status"] == "upcoming" for va in mine)
    p1 = next(va for va in mine if va["product_id"] == "p1")
    p2 = next(va for va in mine if va["product_id"] == "p2")
    assert [b["market"] for b in p1["blocks"]] == ["wholesale"]
    assert sorted(b["market"] for b in p2["blocks"]) == ["fcr", "wholesale"]
    block = _wholesale(p1)
    assert (block["power_kw"], block["energy_kwh"], block["initial_soc_kwh"]) == (1000, 2000, 1000)
    assert block["gate_closure_s"] == 330
    assert block["dispatchable"]
    assert datetime.fromisoformat(block["start"]) == START
    assert (p1["power_kw"], p1["energy_kwh"]) == (1000, 2000)

    one = client.get(
        f"/organisations/{alpha.org_id}/virtual-assets/{p1['virtual_asset_id']}",
        headers=alpha.headers,
    )
    assert one.status_code == 200
    assert one.json() == p1
    # Another organisation's virtual asset is as unknown as a missing one.
    foreign = client.get(
        f"/organisations/{beta.org_id}/virtual-assets/{p1['virtual_asset_id']}",
        headers=beta.headers,
    )
    assert foreign.status_code == 404
    assert (
        client.get(
            f"/organisations/{alpha.org_id}/virtual-assets", headers=beta.headers
        ).status_code
        == 404
    )
    # Operators read any organisation's.
    seen = client.get(f"/organisations/{alpha.org_id}/virtual-assets", headers=operator.headers)
    assert seen.json()["items"] == mine

    # The window decides the status.
    clock.now = START + timedelta(minutes=1)
    url = f"/organisations/{alpha.org_id}/virtual-assets"
    active = client.get(url, params={"status": "active"}, headers=alpha.headers).json()
    assert [va["product_id"] for va in active["items"]] == ["p1"]
    upcoming = client.get(url, params={"status": "upcoming"}, headers=alpha.headers).json()
    assert [va["product_id"] for va in upcoming["items"]] == ["p2"]
    assert client.get(url, params={"status": "soon"}, headers=alpha.headers).status_code == 422


def test_a_schedule_is_accepted_whole_and_reports_its_soc_and_imbalance(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, _operator, alpha, _beta, vas = _setup(store, make_client, clock)
    va = next(v for v in vas[alpha.org_id] if v["product_id"] == "p1")
    url = _url(alpha, va, _wholesale(va))

    body = {"schedule": [{"power": 400, "time": _at(0)}, {"power": -200, "time": _at(1)}]}
    answer = client.post(url, headers=alpha.headers, json=body)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["version"] == 1
    assert len(view["schedule"]) == 16
    assert len(view["soc"]) == 17
    assert [p["power"] for p in view["schedule"][:3]] == [400, -200, 0]
    assert [s["soc_kwh"] for s in view["soc"][:3]] == [1000.0, 900.0, 950.0]
    assert view["imbalance_kwh"] == -50.0
    assert view["imbalance"].startswith("projected to end 50 kWh under-charged")

    # MTUs not named keep their value; PUT does the same as POST.
    again = client.put(
        url, headers=alpha.headers, json={"schedule": [{"power": 0, "time": _at(1)}]}
    )
    assert again.status_code == 200, again.text
    assert [p["power"] for p in again.json()["schedule"][:2]] == [400, 0]
    stored = client.get(url + "/schedule", headers=alpha.headers).json()
    assert stored == again.json()
    assert stored["version"] == 2
    versions = client.get(url + "/schedule/versions", headers=alpha.headers).json()["items"]
    assert [(v["version"], v["points"]) for v in versions] == [(1, 2), (2, 1)]
    assert [p["power"] for p in versions[0]["schedule"][:2]] == [400, -200]


def test_a_refused_schedule_lists_every_broken_point_and_changes_nothing(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, _operator, alpha, _beta, vas = _setup(store, make_client, clock)
    va = next(v for v in vas[alpha.org_id] if v["product_id"] == "p1")
    url = _url(alpha, va, _wholesale(va))
    assert (
        client.post(
            url, headers=alpha.headers, json={"schedule": [{"power": 100, "time": _at(0)}]}
        ).status_code
        == 200
    )

    bad = {
        "schedule": [
            {"power": 1001, "time": _at(2)},  # above the block's 1,000 kW
            {"power": 100, "time": (START + timedelta(minutes=7)).isoformat()},  # off the grid
            {"power": 100, "time": _at(16)},  # after the window
        ]
    }
    answer = client.post(url, headers=alpha.headers, json=bad)
    assert answer.status_code == 422
    found = {(tuple(d["loc"]), d["field"]) for d in answer.json()["errors"]}
    assert found == {
        (("body", "schedule", 0, "power"), "power"),
        (("body", "schedule", 1, "time"), "time"),
        (("body", "schedule", 2, "time"), "time"),
    }
    # 975 kWh after the first MTU: the fourth quarter-hour at 1 MW goes below 0.
    drain = {"schedule": [{"power": 1000, "time": _at(k)} for k in range(1, 6)]}
    answer = client.post(url, headers=alpha.headers, json=drain)
    assert answer.status_code == 422
    [soc] = answer.json()["errors"]
    assert soc["loc"] == ["body", "schedule", 3, "power"]
    assert "below 0" in soc["rule"]
    fraction = client.post(
        url, headers=alpha.headers, json={"schedule": [{"power": 0.5, "time": _at(0)}]}
    )
    assert fraction.status_code == 422
    assert fraction.json()["errors"][0]["loc"] == ["body", "schedule", 0, "power"]

    stored = client.get(url + "/schedule", headers=alpha.headers).json()
    assert stored["version"] == 1
    assert [p["power"] for p in stored["schedule"][:3]] == [100, 0, 0]


def test_reserve_blocks_refuse_schedules_and_the_gate_closes_per_mtu(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, _operator, alpha, beta, vas = _setup(store, make_client, clock)
    p2 = next(v for v in vas[alpha.org_id] if v["product_id"] == "p2")
    fcr = next(b for b in p2["blocks"] if b["market"] == "fcr")
    refused = client.post(
        _url(alpha, p2, fcr),
        headers=alpha.headers,
        json={"schedule": [{"power": 100, "time": p2["start"]}]},
    )
    assert refused.status_code == 422
    assert "fcr block: it holds reserve" in refused.json()["errors"][0]["rule"]

    p1 = next(v for v in vas[alpha.org_id] if v["product_id"] == "p1")
    url = _url(alpha, p1, _wholesale(p1))
    # Exactly at the gate closure of the first MTU: that MTU is closed, the next one open.
    clock.now = START - timedelta(seconds=330)
    closed = client.post(
        url, headers=alpha.headers, json={"schedule": [{"power": 100, "time": _at(0)}]}
    )
    assert closed.status_code == 422
    assert "dispatch gate" in closed.json()["errors"][0]["rule"]
    assert (
        client.post(
            url, headers=alpha.headers, json={"schedule": [{"power": 100, "time": _at(1)}]}
        ).status_code
        == 200
    )
    # Another organisation cannot dispatch it, nor learn that it exists.
    stranger = client.post(
        _url(beta, p1, _wholesale(p1)),
        headers=beta.headers,
        json={"schedule": [{"power": 100, "time": _at(2)}]},
    )
    assert stranger.status_code == 404


def _carriers(store: Store, vas: list[dict[str, Any]]) -> list[str]:
    """Assets under these virtual assets' blocks, most kW first."""
    blocks = {b["block_id"] for va in vas for b in va["blocks"]}
    with store.read() as conn:
        backing = result_frame(conn, "small", "backing")
    carried = (
        backing.filter(pl.col("block_id").is_in(sorted(blocks)))
        .group_by("asset_id")
        .agg(pl.col("power_kw").sum())
        .sort("power_kw", "asset_id", descending=[True, False])
    )
    return carried["asset_id"].to_list()


def test_an_outage_rebacks_blocks_and_marks_only_what_the_fleet_cannot_carry(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, vas = _setup(store, make_client, clock)
    p1 = {org: next(v for v in mine if v["product_id"] == "p1") for org, mine in vas.items()}
    for account in (alpha, beta):
        va = p1[account.org_id]
        body = {"schedule": [{"power": 800, "time": _at(0)}]}
        answer = client.post(_url(account, va, _wholesale(va)), headers=account.headers, json=body)
        assert answer.status_code == 200, answer.text
    window = {"asset_id": "", "start": _at(0), "end": _at(16), "available_fraction": 0}

    # p1 needs 2 MW / 4 MWh; without its busiest carrier the other two still hold it.
    first = _carriers(store, list(p1.values()))[0]
    spare = sorted({"a1", "a2", "a3"} - {first})
    answer = client.post(
        "/fleet/outages", headers=operator.headers, json={**window, "asset_id": first}
    )
    assert answer.status_code == 201, answer.text
    whole = answer.json()
    assert whole["lost_kw"] == 0
    assert whole["unavailable"] == []
    assert whole["blocks_touched"] >= 1
    assert whole["moved_kw"] > 0
    assert set(_carriers_now(store, p1)) <= set(spare)

    # Then the biggest of the others fails too: 1 MW / 2 MWh is left for 2 MW of blocks.
    biggest = "a1" if "a1" in spare else "a2"
    answer = client.post(
        "/fleet/outages", headers=operator.headers, json={**window, "asset_id": biggest}
    )
    assert answer.status_code == 201, answer.text
    short = answer.json()
    assert short["lost_kw"] == 1000, short["rebacking"]
    lost = {u["block_id"]: u for u in short["unavailable"]}
    assert sum(u["lost_kw"] for u in lost.values()) == 1000
    for u in lost.values():
        assert (datetime.fromisoformat(u["start"]), datetime.fromisoformat(u["end"])) == (
            START,
            START + timedelta(hours=4),
        )
    broken = {c["block_id"] for c in short["schedule_conflicts"]}
    assert broken == {b for b, u in lost.items() if 1000 - u["lost_kw"] < 800}

    for account in (alpha, beta):
        va = p1[account.org_id]
        block = _wholesale(va)
        seen = client.get(
            f"/organisations/{account.org_id}/virtual-assets/{va['virtual_asset_id']}",
            headers=account.headers,
        ).json()
        shown = _wholesale(seen)["unavailability"]
        if block["block_id"] in lost:
            [stretch] = shown
            assert stretch["lost_kw"] == lost[block["block_id"]]["lost_kw"]
            assert stretch["available_kw"] == 1000 - stretch["lost_kw"]
            view = client.get(
                _url(account, va, block) + "/schedule", headers=account.headers
            ).json()
            assert [c["power"] for c in view["conflicts"]] == (
                [800] if stretch["available_kw"] < 800 else []
            )
            too_much = {"schedule": [{"power": stretch["available_kw"] + 1, "time": _at(1)}]}
            refused = client.post(_url(account, va, block), headers=account.headers, json=too_much)
            assert refused.status_code == 422
            assert "are out" in refused.json()["errors"][0]["rule"]
        else:
            assert shown == []


def test_an_outage_is_solved_outside_the_write_lock_and_again_when_the_fleet_moved(
    store: Store,
    make_client: Callable[[], TestClient],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the first outage's LP runs, a second outage is recorded (a write that would
    wait forever if the first held the writer lock); the first then sees that its inputs
    changed, solves again on the fleet as it now is, and ends as the two in turn would."""
    client, operator, _alpha, _beta, vas = _setup(store, make_client, clock)
    p1 = {org: next(v for v in mine if v["product_id"] == "p1") for org, mine in vas.items()}
    window = {"start": _at(0), "end": _at(16), "available_fraction": 0}
    first = _carriers(store, list(p1.values()))[0]
    second = "a1" if first != "a1" else "a2"
    solve = services.outages._reback
    solved: list[str] = []

    def solve_and_meanwhile(inputs: Any) -> Any:
        solved.append("solve")
        if len(solved) == 1:  # the first solve: another outage lands meanwhile
            services.outages.record_outage(
                store, {**window, "asset_id": second}, "someone", clock.now
            )
        return solve(inputs)

    monkeypatch.setattr(services.outages, "_reback", solve_and_meanwhile)
    answer = client.post(
        "/fleet/outages", headers=operator.headers, json={**window, "asset_id": first}
    )
    assert answer.status_code == 201, answer.text
    assert len(solved) == 3  # first, the one meanwhile, first again
    # Two of three assets are out: 1 MW / 2 MWh is left for p1's 2 MW of blocks.
    assert answer.json()["lost_kw"] == 1000, answer.json()["rebacking"]
    assert not set(_carriers_now(store, p1)) & {first, second}


def _carriers_now(store: Store, p1: dict[str, dict[str, Any]]) -> list[str]:
    """Assets under p1's blocks after re-backing, in the first MTU."""
    ids = sorted(b["block_id"] for va in p1.values() for b in va["blocks"])
    blocks = pl.DataFrame({"block_id": ids, "auction_id": ["small"] * len(ids)})
    with store.read() as conn:
        backing = services.frames.effective_backing(conn, blocks)
    first = backing.filter(pl.col("start") <= START, pl.col("end") > START, pl.col("power_kw") > 0)
    return sorted(set(first["asset_id"]))


def test_setpoints_split_the_schedules_onto_the_fleet(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, vas = _setup(store, make_client, clock)
    powers = {alpha.org_id: 600, beta.org_id: -400}
    for account in (alpha, beta):
        va = next(v for v in vas[account.org_id] if v["product_id"] == "p1")
        body = {"schedule": [{"power": powers[account.org_id], "time": _at(k)} for k in range(2)]}
        answer = client.post(_url(account, va, _wholesale(va)), headers=account.headers, json=body)
        assert answer.status_code == 200, answer.text
    day = {"from": local(NORMAL_DAY, 0).isoformat(), "to": local(NORMAL_DAY, 0).isoformat()}
    empty = client.get("/fleet/setpoints", headers=operator.headers, params=day)
    assert empty.status_code == 422
    day["to"] = (local(NORMAL_DAY, 0) + timedelta(days=1)).isoformat()
    answer = client.get("/fleet/setpoints", headers=operator.headers, params=day)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["shortfall"] == []
    points = pl.DataFrame(found["setpoints"]).with_columns(
        pl.col("start").str.to_datetime(time_zone="UTC")
    )
    assert points["start"].n_unique() == 96
    total = points.group_by("start").agg(pl.col("power_kw").sum()).sort("start")
    at_start = total.filter(pl.col("start") == START)["power_kw"].item()
    assert abs(at_start - 200) < 1e-6
    assert abs(total["power_kw"].abs().sum() - 400) < 1e-6
    bidder = client.get("/fleet/setpoints", headers=alpha.headers, params=day)
    assert bidder.status_code == 403


def test_the_rebalancing_plan_is_served_and_the_setpoints_include_it(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, vas = _setup(store, make_client, clock)
    for account, power in ((alpha, 600), (beta, -400)):
        va = next(v for v in vas[account.org_id] if v["product_id"] == "p1")
        body = {"schedule": [{"power": power, "time": _at(k)} for k in range(4)]}
        answer = client.post(_url(account, va, _wholesale(va)), headers=account.headers, json=body)
        assert answer.status_code == 200, answer.text
    busy = _carriers(store, [va for mine in vas.values() for va in mine])[0]
    outage = {"asset_id": busy, "start": _at(2), "end": _at(12), "available_fraction": 0}
    assert client.post("/fleet/outages", headers=operator.headers, json=outage).status_code == 201
    midnight = local(NORMAL_DAY, 0)
    day = {"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()}

    plan = client.get("/fleet/rebalancing", headers=operator.headers, params=day)
    assert plan.status_code == 200, plan.text
    found = plan.json()
    assert "the operator's plan" in found["summary"][0]
    assert all(b["reason"] for b in found["breaches"])
    served = client.get("/fleet/setpoints", headers=operator.headers, params=day).json()
    assert served["trades"] == found["trades"]
    assert served["shortfall"] == []
    # The fleet delivers the customers' total plus the operator's trades, every MTU.
    points = pl.DataFrame(served["setpoints"])
    total = points.group_by("start").agg(pl.col("power_kw").sum()).iter_rows()
    trade = {datetime.fromisoformat(t["start"]): t["trade_kw"] for t in found["trades"]}
    virtual = {START + k * timedelta(minutes=15): 200 for k in range(4)}
    for start, kw in total:
        when = datetime.fromisoformat(start)
        assert kw == pytest.approx(virtual.get(when, 0) + trade.get(when, 0.0), abs=1e-6)
    # Without the plan: the customers' schedules alone, no trades.
    bare = client.get(
        "/fleet/setpoints", headers=operator.headers, params={**day, "rebalance": "false"}
    ).json()
    assert bare["trades"] == []
    assert "the operator's plan" not in bare["summary"][0]


def test_a_new_fleet_may_not_drop_an_asset_that_carries_blocks(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, _alpha, _beta, vas = _setup(store, make_client, clock)
    fleet = client.get("/fleet/assets", headers=operator.headers).json()["items"]
    busy = _carriers(store, [va for mine in vas.values() for va in mine])[0]
    kept = [a for a in fleet if a["asset_id"] != busy]
    answer = client.put("/fleet/assets", headers=operator.headers, json={"assets": kept})
    assert answer.status_code == 409
    assert answer.json()["assets"] == [busy]
    assert client.get("/fleet/assets", headers=operator.headers).json()["items"] == fleet
    # Once the day is delivered the asset may go.
    clock.now = START + timedelta(days=2)
    answer = client.put("/fleet/assets", headers=operator.headers, json={"assets": kept})
    assert answer.status_code == 200, answer.text


def test_vba_dispatch_offline_gives_the_setpoints_the_server_gives(
    store_url: str,
    store: Store,
    make_client: Callable[[], TestClient],
    clock: Clock,
    tmp_path: Path,
) -> None:
    """Schedules, an outage and its re-backing, exported; ``vba dispatch`` on the export
    reproduces the server's setpoints."""
    client, operator, alpha, beta, vas = _setup(store, make_client, clock)
    for account, power in ((alpha, 600), (beta, -300)):
        va = next(v for v in vas[account.org_id] if v["product_id"] == "p1")
        body = {"schedule": [{"power": power, "time": _at(k)} for k in range(0, 8, 2)]}
        answer = client.post(_url(account, va, _wholesale(va)), headers=account.headers, json=body)
        assert answer.status_code == 200, answer.text
    busy = _carriers(store, [va for mine in vas.values() for va in mine])[0]
    outage = {"asset_id": busy, "start": _at(4), "end": _at(12), "available_fraction": 0}
    assert client.post("/fleet/outages", headers=operator.headers, json=outage).status_code == 201
    midnight = local(NORMAL_DAY, 0)
    day = {"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()}
    online = client.get("/fleet/setpoints", headers=operator.headers, params=day).json()

    vba = Path(sys.executable).with_name("vba")
    env = {"VBA_DATABASE_URL": store_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [vba, "export", "small", tmp_path / "x"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "vba dispatch" in done.stdout
    assert {"schedules.csv", "rebacked.csv", "outages.csv"} <= {
        f.name for f in (tmp_path / "x").iterdir()
    }
    done = subprocess.run(
        [vba, "dispatch", tmp_path / "x", tmp_path / "out", "--rebalance"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "follow" in done.stdout
    assert "the operator's plan" in done.stdout
    offline = pl.read_csv(tmp_path / "out" / "setpoints.csv")
    served = pl.DataFrame(online["setpoints"])
    assert offline.height == served.height > 0
    assert offline["power_kw"].to_list() == pytest.approx(served["power_kw"].to_list(), abs=1e-6)
    assert offline["soc_kwh"].to_list() == pytest.approx(served["soc_kwh"].to_list(), abs=1e-6)
    trades = pl.read_csv(tmp_path / "out" / "trades.csv")
    assert trades["trade_kw"].to_list() == pytest.approx([t["trade_kw"] for t in online["trades"]])
    assert (tmp_path / "out" / "breaches.csv").exists()

    # A schedule beside the archive that breaks a rule is refused, naming the file and row.
    schedules = tmp_path / "x" / "schedules.csv"
    rows = schedules.read_text().splitlines()
    header, first = rows[0], rows[1].split(",")
    first[2] = "999999"
    schedules.write_text("\n".join([header, ",".join(first), *rows[2:]]) + "\n")
    done = subprocess.run(
        [vba, "dispatch", tmp_path / "x", tmp_path / "out2"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "schedules.csv, row 1, column power_kw" in done.stderr
