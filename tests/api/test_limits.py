"""Body size limits: a body past its route's limit is a 413 before anything reads it.

The streamed cases drive the ASGI app with a long body sent in chunks and count what it
read: the app must answer after reading just past the limit, which no timing can fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.limits import (
    ANCILLARY_BATCH_BYTES,
    ARCHIVE_UPLOAD_BYTES,
    AUCTION_BYTES,
    BID_BATCH_BYTES,
    DEFAULT_BODY_BYTES,
    FLEET_BYTES,
    FORM_OVERHEAD_BYTES,
    OPENAPI_KEY,
    TSO_RESULTS_BYTES,
)
from api.http.schemas.bids import MAX_BATCH
from api.http.security import create_token
from api.http.settings import Settings
from api.web.session import COOKIE
from auction.store import Store
from tests.api.conftest import (
    SECRET,
    Account,
    Clock,
    bid_body,
    create_sample_auction,
    provision,
)

MB = 1_000_000
CHUNK = 64 * 1024

# Every route with a limit of its own, and a path of it (ids need not exist: the limit is
# checked first, and a body within it goes on to a 401 or a login page).
ROUTE_LIMITS = [
    ("POST", "/organisations/o/auctions/a/bids", BID_BATCH_BYTES),
    ("POST", "/auctions", AUCTION_BYTES),
    ("PUT", "/auctions/a/allocations", AUCTION_BYTES),
    ("PUT", "/fleet/assets", FLEET_BYTES),
    ("POST", "/organisations/o/virtual-assets/v/ancillary-bids", ANCILLARY_BATCH_BYTES),
    ("POST", "/ancillary/2026-12-08/results", TSO_RESULTS_BYTES),
    ("POST", "/ui/operator/auctions", ARCHIVE_UPLOAD_BYTES + FORM_OVERHEAD_BYTES),
    ("POST", "/ui/operator/ancillary/results", TSO_RESULTS_BYTES + FORM_OVERHEAD_BYTES),
    # Everything else: the default.
    ("POST", "/auth/public/authenticate", DEFAULT_BODY_BYTES),
    ("POST", "/auth/public/accept-invite", DEFAULT_BODY_BYTES),
    ("PUT", "/organisations/o/auctions/a/bids/b", DEFAULT_BODY_BYTES),
    ("POST", "/organisations/o/virtual-assets/v/blocks/b", DEFAULT_BODY_BYTES),
    ("POST", "/ui/login", DEFAULT_BODY_BYTES),
]


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# Signed by the app's key: a route's larger limit is for a caller with a valid token (the
# user need not exist; the limit is judged before the route asks who it is).
TOKEN, _EXPIRES = create_token("someone", "sandbox", SECRET, NOW, 60)
SIGNED_IN = {"Authorization": f"Bearer {TOKEN}", "Cookie": f"{COOKIE}={TOKEN}"}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'vba.db'}", secret_key=SECRET)
    return create_app(settings, clock=lambda: NOW, scheduler=False)


def padded_json(size: int) -> bytes:
    """A valid JSON body of exactly ``size`` bytes (an empty object and blanks)."""
    return b"{}" + b" " * (size - 2)


@pytest.mark.parametrize(("method", "path", "limit"), ROUTE_LIMITS)
def test_each_route_takes_its_limit_and_refuses_one_byte_more(
    app: FastAPI, method: str, path: str, limit: int
) -> None:
    headers = {"Content-Type": "application/json", **SIGNED_IN}
    with TestClient(app, follow_redirects=False) as client:
        fits = client.request(method, path, content=padded_json(limit), headers=headers)
        over = client.request(method, path, content=padded_json(limit + 1), headers=headers)
    assert fits.status_code != 413
    assert over.status_code == 413
    assert over.headers["Connection"] == "close"
    assert f"{limit} bytes" in over.json()["detail"]
    assert "split a batch" in over.json()["detail"]


def test_headers_past_16_kib_are_refused_before_the_app(app: FastAPI) -> None:
    with TestClient(app) as client:
        big = client.get("/auth/me", headers={"X-Padding": "a" * 100_000})
        fits = client.get("/auth/me", headers={"X-Padding": "a" * 8_000})
    assert big.status_code == 431
    assert "16 KiB" in big.json()["detail"]
    assert big.headers["X-VBA-Environment"] == "sandbox"
    assert fits.status_code == 401  # read, and answered by the app


def test_the_openapi_document_states_each_limit(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    bids = paths["/organisations/{org_id}/auctions/{auction_id}/bids"]["post"]
    assert bids[OPENAPI_KEY] == BID_BATCH_BYTES
    assert "at most 8 MiB; a larger one is a 413" in bids["description"]
    login = paths["/auth/public/authenticate"]["post"]
    assert login[OPENAPI_KEY] == DEFAULT_BODY_BYTES
    assert "at most 64 KiB" in login["description"]


def test_the_largest_legitimate_batch_fits_its_limit() -> None:
    """10,000 bids with every field at its longest, pretty-printed, as a client may send."""
    bid = {
        "bid_id": "0b6b7cf8-3c55-4d3e-9b0a-6f1d2e3c4b5a",
        "product_id": "p" * 64,
        "quantity_mw": "12345.678",
        "min_quantity_mw": "12345.678",
        "price_eur_per_mw": "123456789.12",
        "exclusive_group": "g" * 200,
        "linked_to": "1c7c8d09-4d66-4e4f-8c1b-7e2f3d4c5b6a",
    }
    body = json.dumps({"bids": [bid] * MAX_BATCH}, indent=2).encode()
    assert len(body) < BID_BATCH_BYTES / 1.4  # headroom


@pytest.fixture
def trader(store: Store, make_client: Callable[[], TestClient]) -> tuple[TestClient, Account, str]:
    client = make_client()
    operator = provision(store, client, "Grid Operator", "operator")
    bidder = provision(store, client, "Kestrel Energy", "bidder")
    archive = create_sample_auction(client, operator)
    return client, bidder, archive.bids.row(0, named=True)["product_id"]


def stored_bids(client: TestClient, bidder: Account) -> list[Any]:
    url = f"/organisations/{bidder.org_id}/auctions/sample/bids"
    answer = client.get(url, headers=bidder.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def huge_bid(product_id: str) -> bytes:
    """One bid whose exclusive group is 50 MB long."""
    row = {"product_id": product_id, "quantity_mw": 1, "min_quantity_mw": None}
    body = bid_body({**row, "price_eur_per_mw": 10, "exclusive_group": "g" * (50 * MB)})
    return json.dumps(body).encode()


def test_a_50_mb_bid_is_refused_and_nothing_is_stored(
    trader: tuple[TestClient, Account, str], clock: Clock
) -> None:
    client, bidder, product_id = trader
    url = f"/organisations/{bidder.org_id}/auctions/sample/bids"
    headers = {**bidder.headers, "Content-Type": "application/json"}
    body = huge_bid(product_id)
    answer = client.post(url, content=body, headers=headers)
    assert answer.status_code == 413, answer.text[:300]
    assert "8 MiB" in answer.json()["detail"]

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), CHUNK):
            yield body[start : start + CHUNK]

    # Without Content-Length (Transfer-Encoding: chunked) the body is counted instead.
    streamed = client.post(url, content=chunked(), headers=headers)
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413, streamed.text[:300]
    assert stored_bids(client, bidder) == []
    # The same bid with a short group is taken: the refusal was the size.
    small = json.loads(body)
    small["exclusive_group"] = "g"
    assert client.post(url, json=small, headers=bidder.headers).status_code == 201
    assert len(stored_bids(client, bidder)) == 1


class LongBody:
    """A request body of ``total`` bytes in chunks (ends there, so that an app without a
    limit reads it all and the test fails instead of eating memory); counts what was read."""

    def __init__(self, total: int, chunk: bytes = b" " * CHUNK) -> None:
        self.total = total
        self.chunk = chunk
        self.read = 0
        self.calls = 0

    async def receive(self) -> dict[str, Any]:
        self.calls += 1
        if self.read >= self.total:
            return {"type": "http.disconnect"}
        self.read += len(self.chunk)
        return {"type": "http.request", "body": self.chunk, "more_body": self.read < self.total}


def drive(
    app: FastAPI, path: str, body: LongBody, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One request straight into the ASGI app; its status, headers and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, body.receive, send)

    anyio.run(run)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], answer_headers, content


def test_a_100_mb_login_is_refused_before_it_is_read(app: FastAPI) -> None:
    """Declared: refused without reading a byte, so nothing is parsed or hashed."""
    body = LongBody(16 * CHUNK)
    headers = {"Content-Type": "application/json", "Content-Length": str(100 * MB)}
    status, answer_headers, content = drive(app, "/auth/public/authenticate", body, headers)
    assert status == 413
    assert body.calls == 0
    assert "64 KiB" in json.loads(content)["detail"]
    assert answer_headers["x-vba-environment"] == "sandbox"


def test_a_content_length_of_5000_digits_is_a_413(app: FastAPI) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "9" * 5000}
    status, _headers, _content = drive(app, "/auth/public/authenticate", LongBody(0), headers)
    assert status == 413


def test_a_streamed_login_is_cut_off_just_past_the_limit(app: FastAPI) -> None:
    """Chunked: the app stops reading at the first chunk past 64 KiB, of 4 MB sent."""
    body = LongBody(4 * MB, b" " * 1000)
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, _headers, content = drive(app, "/auth/public/authenticate", body, headers)
    assert status == 413
    assert DEFAULT_BODY_BYTES < body.read <= DEFAULT_BODY_BYTES + 1000
    assert "64 KiB" in json.loads(content)["detail"]


@pytest.mark.parametrize(("method", "path", "limit"), ROUTE_LIMITS[:8])
def test_without_a_valid_token_every_body_is_held_to_the_default(
    app: FastAPI, method: str, path: str, limit: int
) -> None:
    """An anonymous client (or a forged token) cannot make the server read megabytes on
    its way to a 401: the larger limits are for signed-in callers."""
    assert limit > DEFAULT_BODY_BYTES
    forged = create_token("someone", "sandbox", "another key" * 4, NOW, 60)[0]
    for auth in ({}, {"Authorization": f"Bearer {forged}", "Cookie": f"{COOKIE}={forged}"}):
        headers = {"Content-Type": "application/json", **auth}
        with TestClient(app, follow_redirects=False) as client:
            over = client.request(
                method, path, content=padded_json(DEFAULT_BODY_BYTES + 1), headers=headers
            )
        assert over.status_code == 413
        assert f"{DEFAULT_BODY_BYTES} bytes" in over.json()["detail"]


def test_a_streamed_batch_is_cut_off_just_past_its_limit(app: FastAPI) -> None:
    body = LongBody(2 * BID_BATCH_BYTES)
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **SIGNED_IN}
    status, _headers, _content = drive(app, "/organisations/o/auctions/a/bids", body, headers)
    assert status == 413
    assert BID_BATCH_BYTES < body.read <= BID_BATCH_BYTES + CHUNK


def test_a_page_upload_past_its_limit_answers_a_page(app: FastAPI) -> None:
    """A form under /ui that streams past its limit gets the pages' error page."""
    body = LongBody(4 * MB, b"a" * CHUNK)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Transfer-Encoding": "chunked",
        "Sec-Fetch-Site": "same-origin",  # a form of this server's own pages
    }
    status, answer_headers, content = drive(app, "/ui/login", body, headers)
    assert status == 413
    assert answer_headers["content-type"].startswith("text/html")
    assert b"64 KiB" in content
