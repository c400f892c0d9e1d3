"""The setpoints page's plan section, rendered from its template with trades and breaches
(the browser test's sample day needs no trade, so it shows the other branch)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from api.http.schemas.dispatch import BandBreach, Trade
from api.web.render import templates

NOW = datetime(2026, 11, 29, 9, tzinfo=UTC)


def render(**values: object) -> str:
    frame = {
        "title": "Setpoints",
        "environment": "production",
        "user": None,
        "org": None,
        "nav": (),
        "path": "/ui/operator/setpoints",
        "now": NOW,
        "day": date(2026, 11, 29),
        "previous_day": date(2026, 11, 28),
        "next_day": date(2026, 11, 30),
        "summary": ["a day"],
        "mtus": [],
        "rows": [],
        "idle": [],
        "charted": [],
        "shortfall": [],
        "chart_data": None,
        "day_start": "2026-11-28T23:00:00Z",
        "page_path": "/ui/operator/setpoints",
    }
    return templates.env.get_template("fleet/setpoints.html").render(**(frame | values))


def test_the_plan_lists_each_trade_with_its_side_and_each_breach_with_its_reason() -> None:
    html = render(
        trades=[
            Trade(start=NOW, trade_kw=-400.0),
            Trade(start=NOW + timedelta(minutes=15), trade_kw=250.5),
        ],
        breaches=[
            BandBreach(
                asset_id="a1", start=NOW, soc_kwh=10, lo_kwh=50, hi_kwh=900, reason="it is out"
            )
        ],
    )
    plan = html[html.index("The operator's rebalancing plan") :]
    assert plan.count("<td>buy</td>") == 1
    assert plan.count("<td>sell</td>") == 1
    assert "10:00 CET" in plan
    assert "250.5" in plan
    assert '<th scope="row">a1</th>' in plan
    assert "<td>it is out</td>" in plan


def test_no_trade_says_so() -> None:
    html = render(trades=[], breaches=[])
    assert "No trade: the customers' schedules keep every asset inside its reserve band" in html
    assert "Assets outside their reserve band" not in html
