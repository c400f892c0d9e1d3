"""The fleet's physical setpoints per asset for a delivery day (``GET /fleet/setpoints``):
a chart with one series per asset and the numbers in tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.http.routes import fleet as api_fleet
from api.http.schemas.fields import Day
from api.web.render import BERLIN, render, utc_iso
from api.web.session import OperatorPage, PageCall
from auction.lifecycle import Status
from auction.store.auctions import list_auctions
from auction.timegrid import day_bounds

router = APIRouter(include_in_schema=False)

PATH = "/ui/operator/setpoints"


def default_day(call: PageCall) -> date:
    """The next delivery day (from today in Berlin) of a published auction, else today."""
    today = call.now.astimezone(BERLIN).date()
    with call.store.read() as conn:
        days = [
            a.config.delivery_day
            for a in list_auctions(conn, {Status.PUBLISHED})
            if a.config.delivery_day >= today
        ]
    return min(days, default=today)


@dataclass(frozen=True, slots=True)
class AssetRow:
    asset_id: str
    power_kw: list[float]
    soc_kwh: list[float]

    @property
    def moves(self) -> bool:
        return any(p != 0 for p in self.power_kw)


def _chart(mtus: list[datetime], end: datetime, rows: list[AssetRow]) -> dict[str, object]:
    """uPlot's data: x in Unix seconds (the day's end repeats the last step), a series
    per asset that moves (every asset when none does)."""
    shown = [r for r in rows if r.moves] or rows
    return {
        "x": [int(t.timestamp()) for t in [*mtus, end]],
        "unit": "kW",
        "series": [
            {"label": r.asset_id, "values": [*r.power_kw, r.power_kw[-1] if r.power_kw else 0]}
            for r in shown
        ],
    }


@router.get(PATH)
def setpoints_page(request: Request, call: OperatorPage, day: Day | None = None) -> HTMLResponse:
    chosen = day or default_day(call)
    start, end = day_bounds(chosen, "Europe/Berlin")
    answer = api_fleet.get_setpoints(call, start, end)
    mtus = sorted({p.start for p in answer.setpoints})
    index = {t: i for i, t in enumerate(mtus)}
    power: dict[str, list[float]] = {}
    soc: dict[str, list[float]] = {}
    for p in answer.setpoints:
        power.setdefault(p.asset_id, [0.0] * len(mtus))[index[p.start]] = p.power_kw
        soc.setdefault(p.asset_id, [0.0] * len(mtus))[index[p.start]] = p.soc_kwh
    rows = [AssetRow(a, power[a], soc[a]) for a in sorted(power)]
    idle = [r.asset_id for r in rows if not r.moves]
    values = {
        "day": chosen,
        "previous_day": chosen - timedelta(days=1),
        "next_day": chosen + timedelta(days=1),
        "summary": answer.summary,
        "mtus": mtus,
        "rows": rows,
        "idle": idle,
        "charted": [r.asset_id for r in rows if r.moves] or [r.asset_id for r in rows],
        "shortfall": answer.shortfall,
        "trades": answer.trades,
        "breaches": answer.breaches,
        "chart_data": _chart(mtus, end, rows) if rows else None,
        "day_start": utc_iso(start),
        "page_path": PATH,
    }
    title = f"Setpoints, {chosen:%a %d %b %Y}"
    return render(request, "fleet/setpoints.html", call, values, title=title)
