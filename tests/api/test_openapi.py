"""The OpenAPI document tells the truth: it is valid OpenAPI 3.1, every route documents our
422 and the errors it can answer, and real error answers fit the published schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from auction.store import Store
from tests.api.conftest import EICS, bid_body, create_sample_auction, provision

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
WRITES = {"post", "put", "patch", "delete"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _schema(document: dict[str, Any], path: str, method: str, status: int) -> Any:
    """A validator of the JSON body the document publishes for one answer."""
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/problem+json"]["schema"]
    # The components travel along, so that the $refs resolve inside the one document.
    root = {**schema, "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(root)


@pytest.fixture
def client(make_client: Callable[[], TestClient]) -> TestClient:
    return make_client()


def test_the_document_is_valid_openapi_31(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    errors = [e.message for e in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []


def test_every_route_documents_our_error_bodies(client: TestClient) -> None:
    """422 with our items (field, value, rule) everywhere, never FastAPI's (``type``);
    401 wherever a token is needed, 403 on operators' routes, 412 with If-Match, 413 on
    bodies, 429 on writes and on the login."""
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorItem"]["required"]) >= {"loc", "field", "rule", "msg"}
    assert "type" not in schemas["ErrorItem"]["properties"]
    missing = []
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        ref = responses.get("422", {}).get("content", {}).get("application/problem+json", {})
        if ref.get("schema") != {"$ref": "#/components/schemas/ValidationProblem"}:
            missing.append(f"{method} {path}: 422")
        secured = bool(operation.get("security"))
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        wanted = {
            "401": secured or path == "/auth/public/authenticate",
            "412": "If-Match" in headers,
            "413": "requestBody" in operation,
            "429": method in WRITES,
        }
        missing += [f"{method} {path}: {s}" for s, w in wanted.items() if w and s not in responses]
    assert missing == []
    operator_only = document["paths"]["/fleet/assets"]["put"]["responses"]
    assert "403" in operator_only
    assert "Rules the schemas cannot say" in document["info"]["description"]


def test_real_error_answers_fit_the_published_schemas(client: TestClient, store: Store) -> None:
    """A 422 (a bid breaking rules), 401, 403, 404, 409 (a bid id in use) and 412 (a stale
    If-Match), each validated against what the document publishes for it (problem details,
    ``application/problem+json``)."""
    document = client.get("/openapi.json").json()
    operator = provision(store, client, "Operator", "operator")
    bidder = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    archive = create_sample_auction(client, operator)
    bids = f"/organisations/{bidder.org_id}/auctions/sample/bids"
    one = "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}"
    row = archive.bids.row(0, named=True)
    first = client.post(bids, headers=bidder.headers, json=bid_body(row, exclusive_group=None))
    assert first.status_code == 201, first.text
    bid_id = first.json()["bid_id"]

    answers = [
        (
            "/organisations/{org_id}/auctions/{auction_id}/bids",
            "post",
            client.post(
                bids,
                headers=bidder.headers,
                json={**bid_body(row), "price_eur_per_mw": "x", "quantity_mw": -1},
            ),
            422,
        ),
        ("/auth/me", "get", client.get("/auth/me"), 401),
        ("/fleet/assets", "get", client.get("/fleet/assets", headers=bidder.headers), 403),
        (
            "/auctions/{auction_id}",
            "get",
            client.get("/auctions/nope", headers=bidder.headers),
            404,
        ),
        (
            "/organisations/{org_id}/auctions/{auction_id}/bids",
            "post",
            client.post(
                bids,
                headers=bidder.headers,
                json={**bid_body(row, exclusive_group=None), "bid_id": bid_id},
            ),
            409,
        ),
        (
            one,
            "put",
            client.put(
                f"{bids}/{bid_id}",
                headers={**bidder.headers, "If-Match": '"7"'},
                json=bid_body(row, exclusive_group=None),
            ),
            412,
        ),
    ]
    for path, method, answer, status in answers:
        assert answer.status_code == status, (path, method, answer.text)
        problems = [
            e.message for e in _schema(document, path, method, status).iter_errors(answer.json())
        ]
        assert problems == [], (path, method, status, answer.json())
