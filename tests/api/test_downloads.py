"""Every file the API or the pages serve is a download: an attachment with a safe name,
``nosniff`` and ``no-store``; the invoice CSV keeps credits as numbers.

The headers do not depend on the store, so the world (one settled day with an outage
credit) is built once, on SQLite, and every download route is asked in turn.
"""

from __future__ import annotations

import csv
import inspect
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient
from starlette.responses import Response

from api.http.app import create_app
from api.http.downloads import attachment
from api.http.settings import Settings
from auction.store import Store, migrate
from tests.api.conftest import EICS, PASSWORD, SECRET, Account, Clock, provision, small_auction
from tests.strategies import NORMAL_DAY, local

DAY = str(NORMAL_DAY)
START = local(NORMAL_DAY, 10)


@dataclass
class World:
    rest: TestClient
    trader: TestClient  # signed in to the pages as the bidder
    operator_pages: TestClient  # signed in to the pages as the operator
    alpha: Account


def _client(url: str, clock: Clock) -> TestClient:
    settings = Settings(database_url=url, secret_key=SECRET, token_minutes=7 * 24 * 60)
    return TestClient(create_app(settings, clock=clock, scheduler=False))


def _signed_in(client: TestClient, email: str) -> TestClient:
    answer = client.post(
        "/ui/login",
        data={"email": email, "password": PASSWORD, "next": "/ui/"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('downloads') / 'vba.db'}"
    store = Store(url)
    migrate(store)
    clock = Clock(datetime(2026, 11, 26, 12, tzinfo=UTC))  # as the conftest clock
    with _client(url, clock) as rest, _client(url, clock) as trader, _client(url, clock) as op:
        operator = provision(store, rest, "Operator", "operator")
        alpha = provision(store, rest, "Alpha Trading", "bidder", EICS[1])
        small_auction(rest, operator, [alpha], clock)
        for asset_id in ("a1", "a2", "a3"):  # the whole fleet out: alpha gets credits
            answer = rest.post(
                "/fleet/outages",
                headers=operator.headers,
                json={
                    "start": START.isoformat(),
                    "end": (START + timedelta(hours=4)).isoformat(),
                    "asset_id": asset_id,
                    "available_fraction": 0,
                },
            )
            assert answer.status_code == 201, answer.text
        clock.now = local(NORMAL_DAY, 0) + timedelta(days=1, hours=9)
        answer = rest.post(
            f"/settlement/{DAY}/run",
            headers=operator.headers,
            json={"imbalance_price_eur_per_mwh": 0},
        )
        assert answer.status_code == 201, answer.text
        yield World(
            rest,
            _signed_in(trader, alpha.email),
            _signed_in(op, operator.email),
            alpha,
        )
    store.dispose()


# (who asks, method, path): every route that answers a file.
DOWNLOADS = [
    ("rest", "GET", "/organisations/{org_id}/invoices?format=csv"),
    ("rest", "GET", "/organisations/{org_id}/nominations/{delivery_day}?format=csv"),
    ("rest", "GET", "/organisations/{org_id}/nominations/{delivery_day}?format=xml"),
    ("trader", "GET", "/ui/invoices/invoices.csv"),
    ("trader", "GET", "/ui/invoices/nominations/{day}.csv"),
    ("trader", "GET", "/ui/invoices/nominations/{day}.xml"),
    ("operator_pages", "GET", "/ui/operator/settlement/invoices/{org_id}/invoices.csv"),
    ("operator_pages", "GET", "/ui/operator/settlement/invoices/{org_id}/nominations/{day}.csv"),
    ("operator_pages", "GET", "/ui/operator/settlement/invoices/{org_id}/nominations/{day}.xml"),
    ("operator_pages", "POST", "/ui/operator/ancillary/export"),
]
_SAFE_NAME = re.compile(r'attachment; filename="[A-Za-z0-9._-]+"(; filename\*=UTF-8\'\'[^\s"]+)?')


@pytest.mark.parametrize(("who", "method", "path"), DOWNLOADS)
def test_every_file_is_served_as_a_download(world: World, who: str, method: str, path: str) -> None:
    client: TestClient = getattr(world, who)
    url = path.format(org_id=world.alpha.org_id, delivery_day=DAY, day=DAY)
    if method == "POST":
        answer = client.post(
            url, data={"day": DAY, "market": "fcr"}, headers={"Origin": "http://testserver"}
        )
    else:
        headers = world.alpha.headers if who == "rest" else {}
        answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    assert _SAFE_NAME.fullmatch(answer.headers["content-disposition"])
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in answer.headers["cache-control"]


def test_the_list_covers_every_route_that_answers_a_file(world: World) -> None:
    """A route with a choice of format, or whose path names a file or an export, is in
    DOWNLOADS: a new download cannot be added without the test above asking it."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    app: Any = world.rest.app
    routes: Iterator[Any] = iter(app.routes) if iter_contexts is None else iter_contexts(app.routes)
    files = set()
    for route in routes:
        endpoint = getattr(route, "endpoint", None)
        if endpoint is None:
            continue
        choice = {"format", "fmt"} & set(inspect.signature(endpoint).parameters)
        if choice or re.search(r"\.(csv|xml|json)$|/export$", route.path):
            files.add(route.path)
    # Documents for programs, not files: the OpenAPI schema, and the REST ancillary
    # export's JSON (the pages' export is the file).
    files -= {"/openapi.json", "/ancillary/{delivery_day}/export"}
    listed = {re.sub(r"\.(csv|xml)$", ".{fmt}", path.split("?")[0]) for _, _, path in DOWNLOADS}
    listed |= {path.split("?")[0] for _, _, path in DOWNLOADS}
    assert len(files) >= 6
    assert files <= listed


def test_the_invoice_csv_keeps_credits_as_numbers(world: World) -> None:
    answer = world.rest.get(
        f"/organisations/{world.alpha.org_id}/invoices?format=csv", headers=world.alpha.headers
    )
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    credits = [r["amount_eur"] for r in rows if r["kind"] == "unavailability_credit"]
    assert credits
    assert all(a.startswith("-") and Decimal(a) < 0 for a in credits)  # no apostrophe


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoices-abc.csv", 'attachment; filename="invoices-abc.csv"'),
        (
            'a"b/../c\r\n.csv',
            "attachment; filename=\"a-b.c.csv\"; filename*=UTF-8''ab..c.csv",
        ),
        (
            "invoices-Stadtwerke München.csv",
            'attachment; filename="invoices-Stadtwerke-M-nchen.csv"; '
            "filename*=UTF-8''invoices-Stadtwerke%20M%C3%BCnchen.csv",
        ),
        ("..", 'attachment; filename="file"'),
    ],
)
def test_a_file_name_is_ascii_without_quotes_or_slashes(name: str, expected: str) -> None:
    assert attachment(Response(b""), name).headers["content-disposition"] == expected
