"""Every list answers ``{"items": [...], "next": <URL> | null}``: in the OpenAPI document
(no answer is a bare array; every list is the envelope) and in real answers of a seeded
app, page by page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.http.schemas.lists import ListOf
from auction.store import Store
from tests.api.conftest import Clock, settled_day
from tests.calendar_bodies import template_body

# Answers that are one document holding lists of its own, not a list: each was looked at
# and kept whole (docs/api.md, "Pages of lists"). A new answer with an array must be
# either the envelope or named here.
DOCUMENTS = {
    "AuctionPublic",  # one auction with its products
    "VirtualAssetPublic",  # one virtual asset with its blocks
    "ScheduleView",  # one schedule with its points and SoC
    "AncillaryBidHistory",  # one ancillary bid with its versions
    "OutageCreated",  # one outage with what it did
    "SetpointList",  # the setpoints of a span of at most 7 days, with a summary
    "RebalancingPlan",  # the plan of a span of at most 7 days, with a summary
    "AuctionReport",  # a report of one auction
    "AuctionResults",  # the results of one auction
    "Nominations",  # one nomination document
    "TsoBids",  # the export file for the TSO
}
ENVELOPE = {"items", "next"}
# Lists the seeded world leaves empty (reserve bids need a day of their own:
# test_ancillary reads them full through the same envelope).
EMPTY_HERE = {"/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids"}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = schema.get("$ref")
    if ref is None:
        return "", schema
    name = ref.rsplit("/", 1)[-1]
    return name, document["components"]["schemas"][name]


def _answers(document: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, schema name, schema) of every 2xx JSON answer, a union split up."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or schema is None:
                    continue
                for part in schema.get("anyOf", [schema]):
                    name, resolved = _resolve(document, part)
                    found.append((method, path, name, resolved))
    return found


def test_no_answer_is_a_bare_array_and_every_list_is_the_envelope(
    make_client: Callable[[], TestClient],
) -> None:
    document = make_client().app.openapi()  # type: ignore[attr-defined]
    answers = _answers(document)
    assert answers
    for method, path, name, schema in answers:
        where = f"{method.upper()} {path} ({name})"
        assert schema.get("type") != "array", f"{where} answers a bare array"
        properties = schema.get("properties", {})
        arrays = {k for k, v in properties.items() if v.get("type") == "array"}
        if "items" in properties:
            assert set(properties) == ENVELOPE, where
            assert set(schema["required"]) == ENVELOPE, where
            assert properties["items"]["type"] == "array", where
            assert {s.get("type") for s in properties["next"]["anyOf"]} == {"string", "null"}
        elif arrays:
            assert name in DOCUMENTS, f"{where} holds arrays {arrays}: a list or a document?"


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(path, route) of every documented route, through included routers."""
    return [
        (c.path_format or c.original_route.path_format, c.original_route)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and c.original_route.include_in_schema
    ]


def _lists(model: object) -> bool:
    return isinstance(model, type) and issubclass(model, ListOf)


def test_every_paged_route_answers_the_envelope_and_every_envelope_is_a_list(
    make_client: Callable[[], TestClient],
) -> None:
    app = make_client().app
    document = app.openapi()  # type: ignore[attr-defined]
    routes = _api_routes(app)  # type: ignore[arg-type]
    assert len(routes) > 40
    for path, route in routes:
        listed = _lists(route.response_model)
        for method in route.methods:
            parameters = document["paths"][path][method.lower()].get("parameters", [])
            paged = any(p["name"] == "limit" for p in parameters)
            # A paged read answers the envelope; a write may answer it whole (next null).
            assert listed or not paged, f"{method} {path} pages but is no ListOf"
            if method == "GET" and listed:
                assert paged, f"GET {path} answers a list but takes no limit"


def _list_paths(client: TestClient) -> list[str]:
    return sorted(
        path
        for path, route in _api_routes(client.app)  # type: ignore[arg-type]
        if "GET" in route.methods and _lists(route.response_model)
    )


def test_real_answers_of_every_list_follow_the_convention(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    """A published auction, a schedule, a settled day: every list route, read whole and
    one item a page, answers the envelope, and its pages add up to the whole."""
    client = make_client()
    world = settled_day(store, client, clock, powers=(100, 200))
    operator, alpha, ids = world.operator, world.alpha, world.ids
    # The calendar: a template, and its first day marked.
    saved = client.put("/calendar/templates/daily", headers=operator.headers, json=template_body())
    assert saved.status_code == 200, saved.text
    first_day = saved.json()["body"]["first_day"]
    marked = client.put(
        f"/calendar/exceptions/daily/{first_day}",
        headers=operator.headers,
        json={"action": "skip", "reason": "a holiday"},
    )
    assert marked.status_code == 200, marked.text
    ids = {**ids, "template_id": "daily"}

    paths = _list_paths(client)
    assert len(paths) >= 12, paths
    seen_more = 0
    for template in paths:
        path = template.format(**ids)
        account = operator if path.startswith(("/admin", "/fleet", "/calendar")) else alpha
        whole = client.get(path, headers=account.headers)
        assert whole.status_code == 200, (path, whole.text)
        assert set(whole.json()) == ENVELOPE, (path, whole.text)
        assert whole.json()["next"] is None
        assert "Link" not in whole.headers
        everything = whole.json()["items"]
        assert everything or template in EMPTY_HERE, f"{path}: the seeded world holds some"
        # One item a page: next leads through the whole list, and Link says the same.
        pages: list[Any] = []
        url: str | None = f"{path}?limit=1"
        while url is not None:
            answer = client.get(url, headers=account.headers)
            assert answer.status_code == 200, (url, answer.text)
            page = answer.json()
            assert set(page) == ENVELOPE, page
            assert len(page["items"]) == len(everything[:1]), page
            pages += page["items"]
            link = answer.headers.get("Link")
            if page["next"] is None:
                assert link is None
            else:
                assert re.fullmatch(rf'<{re.escape(page["next"])}>; rel="next"', link or "")
                assert page["next"].startswith(f"{path}?")
                seen_more += 1
            url = page["next"]
        assert pages == everything, path
    assert seen_more >= 5  # several lists had more than one page
