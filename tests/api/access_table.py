"""The access matrix's table (test_access.py): a row for every endpoint of the app with
the status each kind of caller must get, and the world the rows' paths and bodies are
built from.

The callers, in the order of a row's statuses: nobody (no token), an expired token of the
member, a bidder of another organisation, a bidder of the organisation in the path (the
member) and an operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from fastapi.testclient import TestClient

from auction.model import Archive
from tests.api.conftest import EICS, PASSWORD, Account, bid_body
from tests.calendar_bodies import template_body

CALLERS = ("anonymous", "expired", "other", "member", "operator")

Body = Callable[["World", str], dict[str, Any]]
Statuses = tuple[int, int, int, int, int]


def public(status: int) -> Statuses:
    """Anyone, with or without a token (the token is ignored)."""
    return (status, status, status, status, status)


def authenticated(status: int) -> Statuses:
    """Any caller with a valid token."""
    return (401, 401, status, status, status)


def operator_only(status: int) -> Statuses:
    return (401, 401, 403, 403, status)


def org_read(member: int, operator: int | None = None) -> Statuses:
    """The member and operators read; another organisation's bidder sees a 404."""
    return (401, 401, 404, member, member if operator is None else operator)


def org_write(member: int) -> Statuses:
    """Only the member writes; to everybody else the organisation does not exist."""
    return (401, 401, 404, member, 404)


@dataclass(frozen=True)
class Row:
    """One endpoint: its method and path template, and the expected status per caller."""

    method: str
    template: str
    expected: Statuses
    # Path parameters other than the defaults (values may name an entry of World.names).
    params: dict[str, str] = field(default_factory=dict)
    body: Body | None = None
    query: str = ""
    # The operator's 404 is the domain's (nothing there yet), not a hidden organisation.
    operator_sees_org: bool = False


@dataclass
class World:
    """What the matrix runs against; ``names`` maps symbolic path values to real ids."""

    client: TestClient
    archive: Archive
    operator: Account
    member: Account
    other: Account
    expired_token: str
    invites: dict[str, str]
    names: dict[str, str]

    def headers(self, caller: str) -> dict[str, str]:
        token = {
            "anonymous": None,
            "expired": self.expired_token,
            "other": self.other.token,
            "member": self.member.token,
            "operator": self.operator.token,
        }[caller]
        return {} if token is None else {"Authorization": f"Bearer {token}"}


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _now(world: World) -> str:
    """The sandbox's time, as the operator reads it."""
    answer = world.client.get("/sandbox/clock", headers=world.headers("operator"))
    now: str = answer.json()["now"]
    return now


def auction_body(archive: Archive, auction_id: str) -> dict[str, Any]:
    config = {**archive.config.model_dump(mode="json"), "auction_id": auction_id}
    products = [{k: _json(v) for k, v in p.items()} for p in archive.products.to_dicts()]
    return {"auction": config, "products": products}


def unlinked(archive: Archive) -> list[dict[str, Any]]:
    return archive.bids.filter(pl.col("linked_to").is_null()).to_dicts()


TABLE: list[Row] = [
    # The API's documentation is public (served from vendored files: no CDN).
    Row("GET", "/openapi.json", public(200)),
    Row("GET", "/docs", public(200)),
    Row("GET", "/redoc", public(200)),
    # For the operator's machines (docs/operations.md): probes answer anyone; metrics are
    # off (404) without VBA_METRICS_TOKEN, and no user token opens them.
    Row("GET", "/healthz", public(200)),
    Row("GET", "/readyz", public(200)),
    Row("GET", "/metrics", public(404)),
    # Accounts: the two public doors, then who am I.
    Row(
        "POST",
        "/auth/public/accept-invite",
        public(201),
        body=lambda w, caller: {"token": w.invites[caller], "password": PASSWORD},
    ),
    Row(
        "POST",
        "/auth/public/authenticate",
        public(200),
        body=lambda w, _caller: {"username": w.member.email, "password": PASSWORD},
    ),
    Row("GET", "/auth/me", authenticated(200)),
    # A wrong current password: refused, nothing changes (sign-out everywhere is last).
    Row(
        "POST",
        "/auth/password",
        authenticated(422),
        body=lambda _w, _caller: {
            "current_password": "not the password at all",
            "new_password": "a brand new passphrase",
        },
    ),
    # Operators only.
    Row(
        "POST",
        "/admin/organisations",
        operator_only(201),
        body=lambda _w, _caller: {"name": "Matrix Org", "eic": EICS[3]},
    ),
    Row("GET", "/admin/organisations", operator_only(200)),
    Row(
        "POST",
        "/admin/invites",
        operator_only(201),
        body=lambda w, _caller: {"email": "new.trader@example.com", "org_id": w.member.org_id},
    ),
    Row("GET", "/admin/invites", operator_only(200)),
    Row("DELETE", "/admin/invites/{invite_id}", operator_only(204)),
    Row("GET", "/admin/organisations/{org_id}/users", operator_only(200)),
    Row("POST", "/admin/users/{user_id}/deactivate", operator_only(200)),
    Row("POST", "/admin/users/{user_id}/reactivate", operator_only(200)),
    Row("GET", "/fleet/assets", operator_only(200)),
    Row(
        "PUT",
        "/fleet/assets",
        operator_only(200),
        body=lambda w, _caller: {"assets": w.archive.fleet.to_dicts()},
    ),
    Row(
        "POST",
        "/fleet/outages",
        operator_only(201),
        body=lambda w, _caller: {
            k: _json(v) for k, v in w.archive.availability.row(0, named=True).items()
        },
    ),
    Row(
        "GET",
        "/fleet/setpoints",
        operator_only(200),
        query="?from=2026-11-28T00:00:00%2B01:00&to=2026-11-29T00:00:00%2B01:00",
    ),
    Row(
        "GET",
        "/fleet/rebalancing",
        operator_only(200),
        query="?from=2026-11-28T00:00:00%2B01:00&to=2026-11-29T00:00:00%2B01:00",
    ),
    Row("GET", "/auctions", authenticated(200)),
    Row("GET", "/auctions/{auction_id}", authenticated(200)),
    Row(
        "POST",
        "/auctions",
        operator_only(201),
        body=lambda w, _caller: auction_body(w.archive, "created-by-matrix"),
    ),
    Row("POST", "/auctions/{auction_id}/open", operator_only(200), {"auction_id": "to-open"}),
    Row("POST", "/auctions/{auction_id}/close", operator_only(200), {"auction_id": "to-close"}),
    Row("POST", "/auctions/{auction_id}/cancel", operator_only(200), {"auction_id": "to-cancel"}),
    Row("POST", "/auctions/{auction_id}/clear", operator_only(200), {"auction_id": "to-clear"}),
    Row(
        "POST",
        "/auctions/{auction_id}/publish",
        operator_only(200),
        {"auction_id": "to-publish"},
    ),
    Row(
        "PUT",
        "/auctions/{auction_id}/allocations",
        operator_only(200),
        body=lambda w, _caller: {
            "allocations": [{"org_id": w.member.org_id, "product_id": "DAY-WS2", "quantity_mw": 5}]
        },
    ),
    Row("GET", "/auctions/{auction_id}/report", operator_only(200)),
    # Not published yet: the domain's 409, to every authenticated caller alike.
    Row("GET", "/auctions/{auction_id}/results", authenticated(409)),
    # Organisation-scoped: the path names the member's organisation.
    Row(
        "POST",
        "/organisations/{org_id}/auctions/{auction_id}/bids",
        org_write(201),
        body=lambda w, _caller: bid_body(unlinked(w.archive)[10]),
    ),
    Row("GET", "/organisations/{org_id}/auctions/{auction_id}/bids", org_read(200)),
    Row("GET", "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}", org_read(200)),
    Row(
        "GET",
        "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}/versions",
        org_read(200),
    ),
    Row(
        "PUT",
        "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}",
        org_write(200),
        {"bid_id": "bid-to-amend"},
        body=lambda w, _caller: bid_body(unlinked(w.archive)[1], price_eur_per_mw=77.77),
    ),
    Row(
        "DELETE",
        "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}",
        org_write(204),
        {"bid_id": "bid-to-withdraw"},
    ),
    # Awards before publication: the domain's 409 for those who may read them.
    Row("GET", "/organisations/{org_id}/auctions/{auction_id}/awards", org_read(409)),
    # Settlement: the "dispatched" day is not over yet (the domain's 409); nothing settled.
    Row(
        "POST",
        "/settlement/{delivery_day}/run",
        operator_only(409),
        body=lambda _w, _caller: {"imbalance_price_eur_per_mwh": 100},
    ),
    Row("GET", "/settlement/{delivery_day}", operator_only(404)),
    Row("GET", "/organisations/{org_id}/invoices", org_read(200)),
    Row(
        "GET",
        "/organisations/{org_id}/nominations/{delivery_day}",
        org_read(404),
        operator_sees_org=True,
    ),
    # Virtual assets of the member's published auction "dispatched".
    Row("GET", "/organisations/{org_id}/virtual-assets", org_read(200)),
    Row("GET", "/organisations/{org_id}/virtual-assets/{virtual_asset_id}", org_read(200)),
    *[
        Row(
            method,
            "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/blocks/{block_id}",
            org_write(200),
            body=lambda w, _caller: {"schedule": [{"power": 100, "time": w.names["first-mtu"]}]},
        )
        for method in ("POST", "PUT")
    ],
    Row(
        "GET",
        "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/blocks/{block_id}/schedule",
        org_read(200),
    ),
    Row(
        "GET",
        "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/blocks/{block_id}"
        "/schedule/versions",
        org_read(200),
    ),
    # p1's virtual asset has no reserve block: the member's bid reaches the rules (422).
    Row(
        "POST",
        "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids",
        org_write(422),
        body=lambda _w, _caller: {
            "bids": [
                {
                    "productDateCode": "2026-11-28_NEGPOS_16_20",
                    "offeredCapacity": 1000,
                    "capacityPrice": 10,
                }
            ]
        },
    ),
    Row(
        "GET",
        "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids",
        org_read(200),
    ),
    *[
        Row(
            method,
            "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids"
            "/{product_date_code}",
            org_read(404) if method == "GET" else org_write(404),
            {"product_date_code": "2026-11-28_NEGPOS_16_20"},
            operator_sees_org=method == "GET",
        )
        for method in ("GET", "DELETE")
    ],
    # The pool's bids of the dispatched auction's day (none yet): the operator's alone.
    Row(
        "POST",
        "/ancillary/{delivery_day}/export",
        operator_only(200),
        {"delivery_day": "2026-11-28"},
        query="?market=fcr",
    ),
    Row(
        "POST",
        "/ancillary/{delivery_day}/results",
        operator_only(200),
        {"delivery_day": "2026-11-28"},
        body=lambda _w, _caller: {"bids": []},
    ),
    Row(
        "POST",
        "/ancillary/{delivery_day}/sandbox-tso",
        operator_only(200),
        {"delivery_day": "2026-11-28"},
        body=lambda _w, _caller: {},
        query="?market=fcr",
    ),
    # The auction calendar: a template saved (then read), a day of it marked and unmarked.
    Row(
        "PUT",
        "/calendar/templates/{template_id}",
        operator_only(200),
        {"template_id": "matrix"},
        body=lambda _w, _caller: template_body(),
    ),
    Row("GET", "/calendar/templates", operator_only(200)),
    Row("GET", "/calendar/templates/{template_id}", operator_only(200), {"template_id": "matrix"}),
    Row(
        "GET",
        "/calendar/templates/{template_id}/versions",
        operator_only(200),
        {"template_id": "matrix"},
    ),
    Row(
        "PUT",
        "/calendar/exceptions/{template_id}/{day}",
        operator_only(200),
        {"template_id": "matrix", "day": "2026-12-24"},
        body=lambda _w, _caller: {"action": "skip", "reason": "Christmas Eve"},
    ),
    Row("GET", "/calendar/exceptions", operator_only(200)),
    Row(
        "DELETE",
        "/calendar/exceptions/{template_id}/{day}",
        operator_only(204),
        {"template_id": "matrix", "day": "2026-12-24"},
    ),
    Row("GET", "/calendar", operator_only(200)),
    # The sandbox's clock: anyone signed in reads it; the operator moves it to the present
    # (allowed, and nothing changes), so the rows after it run at the same time.
    Row("GET", "/sandbox/clock", authenticated(200)),
    Row("POST", "/sandbox/clock", operator_only(200), body=lambda w, _caller: {"to": _now(w)}),
    # Last: it ends every token of the caller.
    Row("POST", "/auth/logout-all", authenticated(204)),
]
