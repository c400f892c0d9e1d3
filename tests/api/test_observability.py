"""A server an operator can watch: JSON log lines, Prometheus metrics, health and readiness,
request ids (docs/operations.md)."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.http import logs
from api.http.app import create_app, scheduled_tick
from api.http.settings import Settings, SettingsError
from auction.store import Store
from auction.store.migrate import head
from tests.api.conftest import EICS, PASSWORD, SECRET, Clock, provision
from tests.api.test_durability import free_port
from tests.calendar_bodies import template_body
from tests.strategies import NORMAL_DAY, asset, local, product

METRICS_TOKEN = "metrics token of the tests, 40 characters"
BIDS = "/organisations/{org_id}/auctions/{auction_id}/bids"
# Prices the flow bids: none of them may be in any log line.
ACCEPTED_PRICE = 87.65
REFUSED_PRICE = 91.235
FORBIDDEN_KEYS = ("price", "quantity", "token", "password", "authorization", "cookie")
SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every line the ``vba`` loggers write during the test, in the JSON format, parsed."""
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger("vba")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def make_app(store_url: str, clock: Clock, **settings: Any) -> FastAPI:
    options = {"metrics_token": METRICS_TOKEN, "token_minutes": 7 * 24 * 60, **settings}
    return create_app(
        Settings(database_url=store_url, secret_key=SECRET, **options),
        clock=clock,
        scheduler=False,
    )


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of GET /metrics, parsed by prometheus_client's own parser."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def requests_of(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == "http.request"]


def events_of(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == event]


def small_auction_body() -> dict[str, Any]:
    """One product (10:00-14:00 Berlin on NORMAL_DAY), gate on D-2 15:00 Berlin, clearing
    and publication by itself at 17:00."""
    row = product("p1", NORMAL_DAY)
    body_product = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
    auction = {"auction_id": "watched", "delivery_day": NORMAL_DAY.isoformat()}
    return {"auction": auction, "products": [body_product], "auto_publish": True}


def test_a_flow_logs_a_json_line_per_request_and_per_step_and_no_secret(
    store: Store, store_url: str, clock: Clock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    app = make_app(store_url, clock)
    with TestClient(app) as client:
        operator = provision(store, client, "Operator", "operator")
        bidder = provision(store, client, "Alpha Trading", "bidder", EICS[1])
        invited = client.post(
            "/admin/invites",
            headers=operator.headers,
            json={"email": "newcomer@example.com", "org_id": bidder.org_id},
        )
        assert invited.status_code == 201, invited.text
        invite_token = invited.json()["token"]
        new_password = "a newcomer's own passphrase"
        accepted = client.post(
            "/auth/public/accept-invite", json={"token": invite_token, "password": new_password}
        )
        assert accepted.status_code == 201, accepted.text
        fleet = [asset("a1", 2.0, 4.0), asset("a2", 2.0, 4.0)]
        put = client.put("/fleet/assets", headers=operator.headers, json={"assets": fleet})
        assert put.status_code == 200, put.text
        created = client.post("/auctions", headers=operator.headers, json=small_auction_body())
        assert created.status_code == 201, created.text
        assert client.post("/auctions/watched/open", headers=operator.headers).status_code == 200

        before = scrape(client)
        url = f"/organisations/{bidder.org_id}/auctions/watched/bids"
        bid = {"product_id": "p1", "quantity_mw": 1, "price_eur_per_mw": ACCEPTED_PRICE}
        placed = client.post(url, headers=bidder.headers, json=bid)
        assert placed.status_code == 201, placed.text
        refused = client.post(
            url, headers=bidder.headers, json={**bid, "price_eur_per_mw": REFUSED_PRICE}
        )
        assert refused.status_code == 422, refused.text
        missing = client.get("/auctions/nowhere", headers=bidder.headers)
        assert missing.status_code == 404
        assert client.get("/no/such/path").status_code == 404
        # A person signed in on the pages: the session cookie is a token too.
        page = client.post(
            "/ui/login",
            data={"email": bidder.email, "password": PASSWORD},
            headers={"origin": "http://testserver"},
            follow_redirects=False,
        )
        assert page.status_code == 303, page.text
        cookie = page.cookies["vba_session"]
        assert client.get("/ui/auctions").status_code == 200

        # The gate passes; until the scheduler's tick the gate is overdue by 90 s.
        clock.now = local(NORMAL_DAY - timedelta(days=2), 15) + timedelta(seconds=90)
        assert scrape(client)[("vba_scheduler_overdue_seconds", ())] == 90.0
        scheduled_tick(store, app.state.clock, app.state.metrics)
        assert scrape(client)[("vba_scheduler_overdue_seconds", ())] == 0.0
        clock.now = local(NORMAL_DAY - timedelta(days=2), 17)
        scheduled_tick(store, app.state.clock, app.state.metrics)
        after = scrape(client)

        outage = {
            "asset_id": "a1",
            "start": local(NORMAL_DAY, 10).isoformat(),
            "end": local(NORMAL_DAY, 11).isoformat(),
            "available_fraction": 0,
        }
        down = client.post("/fleet/outages", headers=operator.headers, json=outage)
        assert down.status_code == 201, down.text
        clock.now = local(NORMAL_DAY + timedelta(days=1), 12)
        settled = client.post(
            f"/settlement/{NORMAL_DAY}/run",
            headers=operator.headers,
            json={"imbalance_price_eur_per_mwh": 0},
        )
        assert settled.status_code == 201, settled.text

    lines = log_lines()
    requests = requests_of(lines)
    [bid_line, refused_line] = [r for r in requests if r["route"] == BIDS]
    assert bid_line == {
        "ts": bid_line["ts"],
        "level": "INFO",
        "logger": "vba.http",
        "message": "request",
        "event": "http.request",
        "method": "POST",
        "route": BIDS,
        "status": 201,
        "duration_ms": bid_line["duration_ms"],
        "org_id": bidder.org_id,
        "request_id": placed.headers["X-Request-ID"],
    }
    assert isinstance(bid_line["duration_ms"], float)
    assert bid_line["duration_ms"] >= 0
    assert bid_line["ts"].endswith("Z")
    datetime.fromisoformat(bid_line["ts"])
    assert refused_line["status"] == 422
    assert refused_line["request_id"] == refused.headers["X-Request-ID"]
    [missing_line] = [r for r in requests if r["request_id"] == missing.headers["X-Request-ID"]]
    assert (missing_line["route"], missing_line["status"]) == ("/auctions/{auction_id}", 404)
    assert missing_line["org_id"] == bidder.org_id
    assert any(r["route"] == "(unmatched)" and r["status"] == 404 for r in requests)
    assert not any("org_id" in r for r in requests if r["route"] == "/auth/public/authenticate")
    assert any(r["route"] == "/ui/auctions" and r["org_id"] == bidder.org_id for r in requests)
    # Every line of a request has its id, and the scrapes were logged below INFO.
    assert all(r["request_id"] for r in requests)
    assert {r["level"] for r in requests if r["route"] == "/metrics"} == {"DEBUG"}

    [closed] = events_of(lines, "auction.gate_closed")
    assert closed["auction_id"] == "watched"
    assert closed["by"] == "system"
    assert closed["logger"] == "vba.events"
    assert closed["gate_close"] == "2026-11-27T14:00:00Z"
    assert closed["at"] == "2026-11-27T14:01:30Z"
    [cleared] = events_of(lines, "auction.cleared")
    assert (cleared["status"], cleared["gap"], cleared["checker_ok"]) == ("optimal", 0.0, True)
    assert cleared["duration_s"] >= 0
    assert cleared["by"] == "system"
    [published] = events_of(lines, "auction.published")
    assert (published["auction_id"], published["at"]) == ("watched", "2026-11-27T16:00:00Z")
    [rebacked] = events_of(lines, "outage.rebacked")
    outcome = down.json()
    assert rebacked["asset_id"] == "a1"
    for key in ("outage_id", "blocks_touched"):
        assert rebacked[key] == outcome[key], key
    assert "moved_kw" not in rebacked  # how much was moved would tell awarded volumes
    [run] = events_of(lines, "settlement.run")
    assert (run["day"], run["version"], run["auctions"], run["ok"]) == ("2026-11-29", 1, 1, True)

    # The metrics moved with the flow.
    assert after[("vba_bid_submissions_accepted_total", ())] == (
        before[("vba_bid_submissions_accepted_total", ())] + 1
    )
    assert after[("vba_bid_submissions_refused_total", (("reason", "invalid"),))] == 1
    assert after[("vba_clearings_total", (("status", "optimal"),))] == 1
    assert after[("vba_clearing_duration_seconds_count", ())] == 1
    assert after[("vba_auctions", (("status", "published"),))] == 1
    assert after[("vba_lifecycle_events_total", (("event", "auction.gate_closed"),))] == 1
    assert after[("vba_scheduler_last_tick_timestamp_seconds", ())] > 0
    assert after[("vba_store_up", ())] == 1

    # Nothing secret and no bid's price or quantity in any line.
    text = "\n".join(json.dumps(line) for line in lines)
    secrets = [PASSWORD, new_password, invite_token, cookie, operator.token, bidder.token]
    for secret in [*secrets, "Bearer", str(ACCEPTED_PRICE), str(REFUSED_PRICE)]:
        assert secret not in text, secret
    for line in lines:
        for key in line:
            assert not any(word in key.lower() for word in FORBIDDEN_KEYS), key


@SQLITE
def test_an_auction_the_scheduler_cannot_publish_holds_up_no_other(
    store: Store, store_url: str, clock: Clock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """Fixed allocations beyond the fleet clear as infeasible, which may not be published:
    the scheduler says which auction failed, counts it, and publishes the other."""
    app = make_app(store_url, clock)
    with TestClient(app) as client:
        operator = provision(store, client, "Operator", "operator")
        fleet = [asset("a1", 2.0, 4.0)]
        put = client.put("/fleet/assets", headers=operator.headers, json={"assets": fleet})
        assert put.status_code == 200, put.text
        too_much = [{"org_id": operator.org_id, "product_id": "p1", "quantity_mw": 5}]
        for auction_id, allocations in (("stuck", too_much), ("fine", [])):
            body = small_auction_body()
            body["auction"]["auction_id"] = auction_id
            created = client.post(
                "/auctions", headers=operator.headers, json={**body, "allocations": allocations}
            )
            assert created.status_code == 201, created.text
            opened = client.post(f"/auctions/{auction_id}/open", headers=operator.headers)
            assert opened.status_code == 200, opened.text
        clock.now = local(NORMAL_DAY - timedelta(days=2), 17)
        scheduled_tick(store, app.state.clock, app.state.metrics)
        statuses = {
            a: client.get(f"/auctions/{a}", headers=operator.headers).json()["status"]
            for a in ("stuck", "fine")
        }
        scraped = scrape(client)
        clock.advance(minutes=5)
        later = scrape(client)
    assert statuses == {"stuck": "cleared", "fine": "published"}
    [failed] = events_of(log_lines(), "scheduler.failed")
    assert (failed["level"], failed["step"], failed["auction_id"]) == ("ERROR", "publish", "stuck")
    assert "cannot publish an infeasible clearing" in failed["exc"]
    assert scraped[("vba_scheduler_failures_total", (("step", "publish"),))] == 1
    assert scraped[("vba_clearings_total", (("status", "infeasible"),))] == 1
    # Still due: the stuck auction is overdue from its publication time on.
    assert scraped[("vba_scheduler_overdue_seconds", ())] == 0.0
    assert later[("vba_scheduler_overdue_seconds", ())] == 300.0


@SQLITE
def test_metrics_are_off_without_a_token_and_need_it_with_one(store_url: str, clock: Clock) -> None:
    with TestClient(make_app(store_url, clock, metrics_token="")) as client:
        same_id = {"X-Request-ID": "probe"}
        off = client.get("/metrics", headers=same_id)
        unknown = client.get("/no-such-route", headers=same_id)
        assert off.status_code == unknown.status_code == 404
        # The same answer as an unknown path's, but for the path it names.
        assert off.text.replace("/metrics", "/no-such-route") == unknown.text
    with TestClient(make_app(store_url, clock)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * len(METRICS_TOKEN)}
        refused = client.get("/metrics", headers=wrong)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        first = scrape(client)
        assert client.get("/auctions").status_code == 401
        second = scrape(client)
    route = (("method", "GET"), ("route", "/auctions"))
    key = ("vba_http_requests_total", (*route, ("status", "401")))
    assert first.get(key, 0) == 0
    assert second[key] == 1
    assert second[("vba_http_request_duration_seconds_count", route)] == 1
    assert "/metrics" not in client.app.openapi()["paths"]


@SQLITE
def test_probes_answer_without_a_token_and_log_below_info(
    store_url: str, clock: Clock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with TestClient(make_app(store_url, clock)) as client:
        alive, ready = client.get("/healthz"), client.get("/readyz")
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"store": "ok", "migrations": "ok"}}
    probes = [r for r in requests_of(log_lines()) if r["route"] in {"/healthz", "/readyz"}]
    assert [(r["route"], r["level"]) for r in probes] == [
        ("/healthz", "DEBUG"),
        ("/readyz", "DEBUG"),
    ]


def test_readyz_is_503_when_the_store_is_behind_on_migrations(
    store: Store, store_url: str, clock: Clock
) -> None:
    with TestClient(make_app(store_url, clock)) as client:
        with store.write() as conn:  # as if an older server's store were handed to this one
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))
        ready = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    body = ready.json()
    assert body["checks"] == {"store": "ok", "migrations": "behind"}
    assert body["status"] == 503
    assert body["instance"] == "/readyz"
    assert body["request_id"] == ready.headers["X-Request-ID"]
    assert f"revision 0004, this server needs {head()}" in body["detail"]


def test_readyz_is_503_when_the_store_does_not_answer(tmp_path: Path, clock: Clock) -> None:
    home = tmp_path / "store"
    home.mkdir()
    app = make_app(f"sqlite:///{home / 'vba.db'}", clock)
    with TestClient(app) as client:
        app.state.store.dispose()
        shutil.rmtree(home)  # SQLite cannot open a file in a directory that is gone
        ready = client.get("/readyz")
        alive = client.get("/healthz")
        scraped = scrape(client)
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"store": "unreachable", "migrations": "unknown"}
    assert ready.json()["detail"] == "the store does not answer (OperationalError)"
    assert alive.status_code == 200
    assert scraped[("vba_store_up", ())] == 0


def failing_route(app: FastAPI) -> None:
    def fails() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/fails", fails)


@SQLITE
def test_the_request_id_goes_round_and_into_every_line(
    store_url: str, clock: Clock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    app = make_app(store_url, clock)
    failing_route(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        kept = client.get("/auctions/x", headers={"X-Request-ID": "trace-42.a:b_c-d"})
        unsafe = client.get("/auctions/x", headers={"X-Request-ID": "bad id <script>"})
        missing = client.get("/no/such/path")
        too_large = client.post("/auth/public/authenticate", content=b" " * 70_000)
        failed = client.get("/test-only/fails", headers={"X-Request-ID": "failing-1"})
    assert kept.headers["X-Request-ID"] == "trace-42.a:b_c-d"
    assert unsafe.headers["X-Request-ID"] not in {"", "bad id <script>"}
    assert (too_large.status_code, failed.status_code) == (413, 500)
    for answer in (missing, too_large, failed):
        assert answer.headers["X-Request-ID"]
    assert "failing-1" in failed.json()["detail"]
    lines = log_lines()
    by_id = {r["request_id"]: r for r in requests_of(lines)}
    assert by_id["trace-42.a:b_c-d"]["route"] == "/auctions/{auction_id}"
    assert by_id[unsafe.headers["X-Request-ID"]]["status"] == 401
    assert "script" not in json.dumps(lines)
    assert by_id[missing.headers["X-Request-ID"]]["route"] == "(unmatched)"
    assert by_id[too_large.headers["X-Request-ID"]]["route"] == "/auth/public/authenticate"
    assert by_id[too_large.headers["X-Request-ID"]]["status"] == 413
    assert by_id["failing-1"]["status"] == 500
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "failing-1"
    assert "RuntimeError: a bug" in error["exc"]


def test_the_text_format_is_one_readable_line() -> None:
    record = logging.LogRecord("vba.http", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"route": "/auctions", "status": 401, "note": "two words"}
    line = logs.formatter("text").format(record)
    assert line.endswith(' INFO vba.http request route=/auctions status=401 note="two words"')
    with pytest.raises(ValueError, match="xml"):
        logs.formatter("xml")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"VBA_LOG_FORMAT": "xml"}, "VBA_LOG_FORMAT='xml' is not one of text, json"),
        ({"VBA_LOG_LEVEL": "loud"}, "VBA_LOG_LEVEL='loud' is not one of debug"),
        ({"VBA_METRICS_TOKEN": "short"}, "VBA_METRICS_TOKEN must have at least 32"),
    ],
)
def test_bad_observability_settings_stop_the_server(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)
    assert Settings.from_env({"VBA_LOG_FORMAT": "JSON"}).log_format == "json"


def test_vba_serve_writes_json_lines_on_stderr(tmp_path: Path) -> None:
    """The real thing: ``vba serve`` with VBA_LOG_FORMAT=json, its stderr read back."""
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}",
        "VBA_SECRET_KEY": SECRET,
        "VBA_LOG_FORMAT": "json",
    }
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(300):  # polls of a starting server; the deadline only stops a hang
                assert server.poll() is None, stderr.read_text()
                try:
                    client.get("/healthz")
                    break
                except httpx2.TransportError:
                    time.sleep(0.1)
            answer = client.get("/auctions", headers={"X-Request-ID": "served-1"})
            assert answer.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = stderr.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    [line] = [r for r in requests_of(lines) if r["request_id"] == "served-1"]
    assert (line["route"], line["status"], line["level"]) == ("/auctions", 401, "INFO")
    assert not any(r["route"] == "/healthz" for r in requests_of(lines))  # DEBUG: not shown
    assert '"GET /auctions HTTP/1.1" 401' not in text  # no uvicorn access log


@SQLITE
def test_a_template_the_scheduler_cannot_read_holds_up_no_other_step(
    store: Store, store_url: str, clock: Clock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """A stored template whose body no longer reads (as after a hand edit of the store) is
    said at ERROR and counted; the other template's day is still created and a gate that
    passed still closes, in the same tick."""
    app = make_app(store_url, clock)
    with TestClient(app) as client:
        operator = provision(store, client, "Operator", "operator")
        fleet = {"assets": [asset("a1", 5.0, 10.0), asset("a2", 5.0, 10.0)]}
        assert client.put("/fleet/assets", headers=operator.headers, json=fleet).status_code == 200
        for template_id in ("broken", "daily"):
            url = f"/calendar/templates/{template_id}"
            saved = client.put(url, headers=operator.headers, json=template_body())
            assert saved.status_code == 200, saved.text
        with store.write() as conn:
            conn.execute(
                sa.text(
                    "UPDATE calendar_templates SET body_json = '{}' WHERE template_id = 'broken'"
                )
            )
        watched = client.post("/auctions", headers=operator.headers, json=small_auction_body())
        assert watched.status_code == 201, watched.text
        assert client.post("/auctions/watched/open", headers=operator.headers).status_code == 200
        # 2026-11-27 15:30 Berlin: the first day (12-04) opened at 09:00; watched's gate at 15:00.
        clock.now = local(NORMAL_DAY - timedelta(days=2), 15, 30)
        scheduled_tick(store, app.state.clock, app.state.metrics)
        scraped = scrape(client)
        statuses = {
            a: client.get(f"/auctions/{a}", headers=operator.headers).json()["status"]
            for a in ("watched", "daily-2026-12-04")
        }
    assert statuses == {"watched": "closed", "daily-2026-12-04": "open"}
    [failed] = events_of(log_lines(), "scheduler.failed")
    assert (failed["level"], failed["step"], failed["template_id"]) == ("ERROR", "create", "broken")
    assert scraped[("vba_scheduler_failures_total", (("step", "create"),))] == 1
