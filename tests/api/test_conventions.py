"""Conventions every answer keeps, checked across the whole API rather than route by route:
every error is RFC 9457 problem details (documented and real), and every instant an answer
carries is UTC with ``Z``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.http.ratelimit import WriteLimiter
from auction.store import Store
from tests.api.conftest import (
    EICS,
    Clock,
    bid_body,
    create_sample_auction,
    provision,
    settled_day,
)
from tests.calendar_bodies import template_body
from tests.strategies import NORMAL_DAY, local

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

PROBLEM = "application/problem+json"
MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}
PROBLEM_SCHEMAS = {"ProblemDetails", "ValidationProblem", "ConflictProblem", "ThrottledProblem"}
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    """``answer`` is problem details for ``status``, about its own request; returns the body."""
    where = f"{answer.request.method} {answer.request.url}: {answer.text[:300]}"
    assert answer.status_code == status, where
    assert answer.headers["content-type"] == PROBLEM, where
    body: dict[str, Any] = answer.json()
    assert body.keys() >= MEMBERS, where
    assert body["type"] == "about:blank"
    assert body["title"] == HTTPStatus(status).phrase
    assert body["status"] == status
    assert body["instance"] == urlsplit(str(answer.request.url)).path
    assert body["request_id"] == answer.headers["x-request-id"]
    # One human sentence: words, no line breaks, not just the reason phrase.
    detail = body["detail"]
    assert isinstance(detail, str), where
    assert " " in detail, where
    assert "\n" not in detail, where
    assert detail != body["title"], where
    if status == 422:
        assert body["errors"], where
        for item in body["errors"]:
            assert item.keys() >= {"loc", "field", "value", "rule", "msg"}, where
    else:
        assert "errors" not in body, where
    return body


@pytest.fixture
def client(make_client: Callable[[], TestClient]) -> TestClient:
    return make_client()


# --- (a) the document ------------------------------------------------------------------


def test_every_documented_error_is_problem_details(client: TestClient) -> None:
    """Every 4xx and 5xx of every operation is ``application/problem+json`` with one of the
    problem schemas, and those carry the RFC 9457 members."""
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in PROBLEM_SCHEMAS:
        assert {*schemas["ProblemDetails"]["properties"], *schemas[name]["properties"]} >= MEMBERS
    assert "errors" in schemas["ValidationProblem"]["required"]
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                content = response.get("content", {})
                ref = content.get(PROBLEM, {}).get("schema", {}).get("$ref", "")
                if set(content) != {PROBLEM} or ref.rsplit("/", 1)[-1] not in PROBLEM_SCHEMAS:
                    wrong.append(f"{method} {path} {status}: {content}")
    assert wrong == []


def test_every_route_documents_the_errors_any_request_can_meet(client: TestClient) -> None:
    """Walking ``app.routes``: every API route's operations document 422, 431 and 500."""
    app: FastAPI = client.app  # type: ignore[assignment]
    document = client.get("/openapi.json").json()
    missing = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        operations = document["paths"][context.path_format or route.path_format]
        for method in route.methods or ():
            responses = operations[method.lower()]["responses"]
            missing += [
                f"{method} {route.path} {s}" for s in ("422", "431", "500") if s not in responses
            ]
    assert missing == []


# --- (b) real answers ------------------------------------------------------------------


def test_every_status_we_answer_is_problem_details(
    store: Store, client: TestClient, clock: Clock
) -> None:
    """One real answer per error status, from our handlers and from outside them
    (Starlette's routing, the security dependencies, the ASGI body limit)."""
    operator = provision(store, client, "Operator", "operator")
    bidder = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    archive = create_sample_auction(client, operator)
    bids = f"/organisations/{bidder.org_id}/auctions/sample/bids"
    row = archive.bids.row(0, named=True)
    first = client.post(bids, headers=bidder.headers, json=bid_body(row, exclusive_group=None))
    assert first.status_code == 201, first.text
    bid_id = first.json()["bid_id"]
    json_headers = {"Content-Type": "application/json"}

    assert_problem(client.get("/no/such/route"), 404)
    assert_problem(client.get("/auctions/nope", headers=bidder.headers), 404)
    not_allowed = client.delete("/auctions", headers=bidder.headers)
    assert_problem(not_allowed, 405)
    assert not_allowed.headers["allow"] == "GET, POST"
    assert_problem(client.get("/auth/me"), 401)
    assert_problem(client.get("/auth/me", headers={"Authorization": "Bearer forged"}), 401)
    wrong = {"username": bidder.email, "password": "not the password at all"}
    assert_problem(client.post("/auth/public/authenticate", json=wrong), 401)
    assert_problem(client.get("/fleet/assets", headers=bidder.headers), 403)
    assert_problem(client.post("/auth/public/authenticate", content=b"x" * 70_000), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it is read
        yield from [b" " * 40_000] * 3

    chunked = client.post("/auth/public/authenticate", content=chunks(), headers=json_headers)
    assert_problem(chunked, 413)
    assert_problem(client.get("/auth/me", headers={"X-Padding": "a" * 20_000}), 431)
    assert_problem(
        client.post("/auth/public/authenticate", content=b"\xff", headers=json_headers), 400
    )

    refused = client.post(
        bids,
        headers=bidder.headers,
        json={**bid_body(row), "price_eur_per_mw": "x", "quantity_mw": -1},
    )
    body = assert_problem(refused, 422)
    fields = {item["field"] for item in body["errors"]}
    assert {"price_eur_per_mw", "quantity_mw"} <= fields
    assert all(field in body["detail"] for field in ("price_eur_per_mw", "quantity_mw"))
    assert body["detail"].startswith(f"the request has {len(body['errors'])} problems")

    used = client.post(
        bids, headers=bidder.headers, json={**bid_body(row, exclusive_group=None), "bid_id": bid_id}
    )
    assert assert_problem(used, 409)["bid_ids"] == [bid_id]
    stale = client.put(
        f"{bids}/{bid_id}",
        headers={**bidder.headers, "If-Match": '"7"'},
        json=bid_body(row, exclusive_group=None),
    )
    assert assert_problem(stale, 412)["version"] == 1

    client.app.state.write_limiter = WriteLimiter(rate_per_s=0.001, burst=1)  # type: ignore[attr-defined]
    client.post(bids, headers=bidder.headers, json=bid_body(row, exclusive_group=None))
    throttled = client.post(bids, headers=bidder.headers, json=bid_body(row, exclusive_group=None))
    body = assert_problem(throttled, 429)
    assert body["retry_after_s"] == int(throttled.headers["retry-after"]) == 1000
    assert body["retry_at"] == (clock.now + timedelta(seconds=1000)).strftime("%Y-%m-%dT%H:%M:%SZ")

    clock.advance(days=2)
    client.app.state.write_limiter = WriteLimiter(rate_per_s=500, burst=5000)  # type: ignore[attr-defined]
    late = client.post(bids, headers=bidder.headers, json=bid_body(row, exclusive_group=None))
    body = assert_problem(late, 409)
    assert (body["auction_status"], body["gate_close"]) == ("open", "2026-11-27T14:00:00Z")

    # The pages keep their own error pages.
    page = client.get("/ui/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


def test_a_fault_of_ours_is_problem_details_with_its_reference(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]

    def fails() -> None:
        raise RuntimeError("a bug, with a secret: hunter2")

    app.add_api_route("/test-only/fails", fails)
    with TestClient(app, raise_server_exceptions=False) as raw:
        answer = raw.get("/test-only/fails", headers={"X-Request-ID": "trace-42"})
    body = assert_problem(answer, 500)
    assert body["request_id"] == "trace-42"
    assert "reference trace-42" in body["detail"]
    assert "hunter2" not in answer.text


def test_every_operation_refuses_in_problem_details_what_it_documents(
    store: Store, client: TestClient
) -> None:
    """Each operation of the document, called without a token (or as a bidder where an
    operator is needed) with made-up ids: its refusal is problem details with a status
    the document lists for it."""
    bidder = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    document = client.get("/openapi.json").json()
    ids = {"org_id": bidder.org_id, "delivery_day": str(NORMAL_DAY)}
    for path, operations in document["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x1"), path)
        for method, operation in operations.items():
            for headers in ({}, bidder.headers):
                answer = client.request(method.upper(), url, headers=headers)
                if answer.status_code < 400:
                    continue
                assert str(answer.status_code) in operation["responses"], (method, path)
                assert_problem(answer, answer.status_code)


# --- (c) instants ----------------------------------------------------------------------


def _instants(value: Any) -> Iterator[str]:
    """Every string of a JSON value that starts like an ISO 8601 date-time."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _instants(item)
    elif isinstance(value, list):
        for item in value:
            yield from _instants(item)
    elif isinstance(value, str) and INSTANT.match(value):
        yield value


def _first(value: Any, key: str) -> Any:
    """The first value of ``key`` anywhere in a JSON value (whatever shape lists have)."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _first(item, key)
            if found is not None:
                return found
    return None


def test_every_instant_of_an_auctions_life_is_utc_with_z(
    store: Store, client: TestClient, clock: Clock
) -> None:
    """The whole life of a small auction, a schedule, a refused late bid, invites and a
    settlement; then every GET of the document: every instant in every JSON answer is UTC
    with ``Z``."""
    answers: list[tuple[str, Any]] = []

    def record(response: Any) -> None:
        response.read()
        if "json" in response.headers.get("content-type", ""):
            answers.append((f"{response.request.method} {response.request.url}", response.json()))

    client.event_hooks["response"].append(record)
    world = settled_day(store, client, clock)
    operator, alpha = world.operator, world.alpha
    invite = client.post(
        "/admin/invites",
        headers=operator.headers,
        json={"email": "new@example.com", "org_id": alpha.org_id, "role": "bidder"},
    )
    assert invite.status_code == 201, invite.text
    late = client.post(
        f"/organisations/{alpha.org_id}/auctions/small/bids",
        headers=alpha.headers,
        json={"product_id": "p1", "quantity_mw": 1, "price_eur_per_mw": 1},
    )
    assert late.status_code == 409
    template = client.put(
        "/calendar/templates/daily", headers=operator.headers, json=template_body()
    )
    assert template.status_code == 200, template.text
    ids = {
        **world.ids,
        "invite_id": invite.json()["invite_id"],
        "product_date_code": "x1",
        "template_id": "daily",
    }
    document = client.get("/openapi.json").json()
    window = {"from": local(NORMAL_DAY, 0).isoformat(), "to": local(NORMAL_DAY, 23).isoformat()}
    for path, operations in document["paths"].items():
        if "get" in operations:
            for who in (alpha, operator):
                client.get(path.format(**ids), headers=who.headers, params=window)

    seen = [(where, t) for where, body in answers for t in _instants(body)]
    assert len(seen) > 100
    wrong = [(where, t) for where, t in seen if not t.endswith("Z")]
    assert wrong == [], "\n".join(map(str, wrong))
