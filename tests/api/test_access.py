"""Access control as a matrix: every endpoint of the app × every kind of caller.

The callers are: nobody (no token), an expired token of the member, a bidder of another
organisation, a bidder of the organisation in the path (the member) and an operator.
Organisation-scoped paths always name the member's organisation, so the other bidder and
the operator are the ones who must not get in. The table (access_table.py) has a row for
every route of the app: a new endpoint without a row fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import fastapi.routing
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.security import create_token
from auction.store import Store
from auction.store.accounts import accept_invite, create_invite, create_org, issue_invite
from auction.store.schema import bid_versions, bids
from tests.api.access_table import CALLERS, TABLE, Row, World, auction_body, unlinked
from tests.api.conftest import (
    EICS,
    PASSWORD,
    Account,
    Clock,
    bid_body,
    create_sample_auction,
    password_hash,
    provision,
    sample_archive,
    small_auction,
)

# The matrix runs on SQLite; the flow tests cover both stores.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

DAY = date(2026, 11, 28)
ORG_PREFIX = "/organisations/{org_id}/"


def app_endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) of the API, HEAD aside (Starlette adds it to GET).

    The web pages (``/`` and ``/ui/...``, a session cookie instead of a bearer token)
    have their own matrix in test_page_access.py."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Iterator[Any] = iter(app.routes) if iter_contexts is None else iter_contexts(app.routes)
    found: set[tuple[str, str]] = set()
    for route in routes:
        methods = set(getattr(route, "methods", None) or ())
        if "GET" in methods:
            methods.discard("HEAD")
        if route.path == "/" or route.path.startswith("/ui"):
            continue
        found |= {(method, route.path) for method in methods}
    return found


@pytest.fixture
def world(store: Store, make_client: Callable[[], TestClient], clock: Clock) -> World:
    """An open sample auction with bids of two organisations, and one auction per
    lifecycle step in the state that step needs."""
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    member = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    other = provision(store, client, "Beta Flex", "bidder", EICS[2])
    # Published first: its gate (D-2 of 2026-11-28) passes before the sample's.
    # On the sample's fleet, which the sample auction puts again (a fleet replaced under
    # published blocks may not lose their assets).
    fleet = sample_archive().fleet.to_dicts()
    dispatched = small_auction(
        client, operator, [member], clock, auction_id="dispatched", day=DAY, fleet=fleet
    )
    va = next(v for v in dispatched[member.org_id] if v["product_id"] == "p1")
    archive = create_sample_auction(client, operator)
    for auction_id, steps in {
        "to-open": [],
        "to-close": ["open"],
        "to-cancel": ["open"],
        "to-clear": ["open", "close"],
        "to-publish": ["open", "close", "clear"],
    }.items():
        answer = client.post(
            "/auctions", headers=operator.headers, json=auction_body(archive, auction_id)
        )
        assert answer.status_code == 201, answer.text
        for step in steps:
            answer = client.post(f"/auctions/{auction_id}/{step}", headers=operator.headers)
            assert answer.status_code == 200, answer.text

    rows = unlinked(archive)
    url = "/organisations/{org}/auctions/sample/bids"
    answer = client.post(
        url.format(org=member.org_id),
        headers=member.headers,
        json={"bids": [bid_body(r) for r in rows[:4]]},
    )
    assert answer.status_code == 201, answer.text
    member_bids = [b["bid_id"] for b in answer.json()["items"]]
    answer = client.post(
        url.format(org=other.org_id),
        headers=other.headers,
        json={"bids": [bid_body(r) for r in rows[4:7]]},
    )
    assert answer.status_code == 201, answer.text

    # The member's token from eight days ago of the app's clock; tokens last seven days.
    real_now = clock.now
    clock.advance(days=-8)
    answer = client.post(
        "/auth/public/authenticate", json={"username": member.email, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    expired = answer.json()["access_token"]
    valid_then = client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert valid_then.status_code == 200, "the token worked when it was issued"
    clock.now = real_now

    with store.write() as conn:
        invitees = create_org(conn, "Invitees", EICS[3], EICS[0], clock.now)
        invites = {
            caller: create_invite(
                conn,
                f"invitee.{caller}@example.com",
                invitees.org_id,
                "bidder",
                clock.now,
                timedelta(hours=1),
            )
            for caller in CALLERS
        }
        # An invite for the operator to revoke, and a user to deactivate and reactivate.
        invite_id, _ = issue_invite(
            conn, "revoked@example.com", invitees.org_id, "bidder", clock.now, timedelta(hours=1)
        )
        victim_token = create_invite(
            conn, "victim@example.com", invitees.org_id, "bidder", clock.now, timedelta(hours=1)
        )
        victim = accept_invite(conn, victim_token, password_hash(), clock.now)
    names = {
        "invite": invite_id,
        "victim": victim.user_id,
        "va": va["virtual_asset_id"],
        "block": va["blocks"][0]["block_id"],
        "first-mtu": va["start"],
        "bid-to-read": member_bids[0],
        "bid-to-amend": member_bids[1],
        "bid-to-withdraw": member_bids[2],
    }
    return World(client, archive, operator, member, other, expired, invites, names)


@dataclass(frozen=True)
class Answer:
    caller: str
    method: str
    path: str
    status: int
    text: str


def _path(world: World, row: Row, org_id: str | None = None) -> str:
    params = {
        "org_id": world.member.org_id if org_id is None else org_id,
        "auction_id": "sample",
        "bid_id": "bid-to-read",
        "virtual_asset_id": "va",
        "delivery_day": str(DAY),
        "block_id": "block",
        "invite_id": "invite",
        "user_id": "victim",
        **row.params,
    }
    path = row.template.format(**{k: world.names.get(v, v) for k, v in params.items()})
    return path + row.query


def _send(world: World, row: Row, caller: str, path: str) -> Answer:
    body = None if row.body is None else row.body(world, caller)
    # One request id for all: the answers to compare then differ in nothing else.
    headers = {**world.headers(caller), "X-Request-ID": "access-table"}
    answer = world.client.request(row.method, path, headers=headers, json=body)
    return Answer(caller, row.method, path, answer.status_code, answer.text)


def _bid_state(store: Store, org_id: str) -> dict[str, Any]:
    """Every live bid and every stored version of an organisation's bids in the sample."""
    with store.read() as conn:
        live = conn.execute(
            sa.select(bids.c.bid_id, bids.c.version, bids.c.price_cents).where(
                bids.c.org_id == org_id, bids.c.auction_id == "sample"
            )
        ).all()
        versions = conn.execute(
            sa.select(
                bid_versions.c.bid_id,
                bid_versions.c.version,
                bid_versions.c.action,
                bid_versions.c.user_id,
            ).where(bid_versions.c.org_id == org_id, bid_versions.c.auction_id == "sample")
        ).all()
    return {"live": sorted(map(tuple, live)), "versions": sorted(map(tuple, versions))}


def _user_id(world: World, account: Account) -> str:
    me = world.client.get("/auth/me", headers=account.headers)
    assert me.status_code == 200, me.text
    user_id: str = me.json()["user_id"]
    return user_id


def test_the_table_has_a_row_for_every_endpoint_of_the_app(
    make_client: Callable[[], TestClient],
) -> None:
    """No endpoint escapes the matrix: the table and the app's routes are the same set."""
    app = make_client().app
    assert isinstance(app, FastAPI)
    table = {(row.method, row.template) for row in TABLE}
    assert len(table) == len(TABLE), "one row per endpoint"
    endpoints = app_endpoints(app)
    assert endpoints - table == set(), "endpoints without a row in TABLE"
    assert table - endpoints == set(), "rows of TABLE naming no endpoint"


def test_every_endpoint_answers_every_caller_as_the_table_says(world: World, store: Store) -> None:
    """The whole matrix, plus: a foreign organisation looks exactly like a missing one,
    and no request of a non-member reads or changes another organisation's bids."""
    member_user = _user_id(world, world.member)
    other_before = _bid_state(store, world.other.org_id)
    member_before = _bid_state(store, world.member.org_id)
    assert len(member_before["live"]) == 4
    unknown_org = str(uuid.uuid4())

    answers: list[Answer] = []
    wrong: list[str] = []
    for row in TABLE:
        path = _path(world, row)
        for caller, expected in zip(CALLERS, row.expected, strict=True):
            answer = _send(world, row, caller, path)
            answers.append(answer)
            if answer.status != expected:
                wrong.append(
                    f"{caller} {row.method} {row.template}: {answer.status} (expected "
                    f"{expected}) {answer.text[:200]}"
                )
            org_scoped = row.template.startswith(ORG_PREFIX)
            hidden = caller == "other" or (caller == "operator" and not row.operator_sees_org)
            if org_scoped and hidden and expected == 404:
                # Exactly what the same caller gets for an organisation that does not exist.
                missing = _send(world, row, caller, _path(world, row, unknown_org))
                answers.append(missing)
                as_if_missing = missing.text.replace(unknown_org, world.member.org_id)
                if (missing.status, as_if_missing) != (answer.status, answer.text):
                    wrong.append(
                        f"{caller} {row.method} {row.template}: {answer.status} "
                        f"{answer.text[:200]} differs from an unknown organisation's "
                        f"{missing.status} {missing.text[:200]}"
                    )
    assert not wrong, "\n".join(wrong)

    # The member's own writes only: one new bid, one amended, one withdrawn; every
    # version written by the member. The other organisation's bids did not move.
    member_after = _bid_state(store, world.member.org_id)
    live = {bid_id: (version, price) for bid_id, version, price in member_after["live"]}
    assert len(live) == 4
    assert world.names["bid-to-withdraw"] not in live
    assert live[world.names["bid-to-amend"]] == (2, 7777)
    assert live[world.names["bid-to-read"]][0] == 1
    assert {user for *_, user in member_after["versions"]} == {member_user}
    assert len(member_after["versions"]) == len(member_before["versions"]) + 3
    assert _bid_state(store, world.other.org_id) == other_before

    # No answer to anyone outside an organisation names one of its bids.
    member_ids = {bid_id for bid_id, *_ in member_after["versions"]}
    other_ids = {bid_id for bid_id, *_ in other_before["versions"]}
    for answer in answers:
        foreign = {
            "anonymous": member_ids | other_ids,
            "expired": member_ids | other_ids,
            "other": member_ids,
            "member": other_ids,
            "operator": set(),
        }[answer.caller]
        # An error's ``instance`` repeats the path the caller sent: that tells it nothing.
        text = answer.text.replace(f'"instance":"{urlsplit(answer.path).path}"', "")
        leaked = {bid_id for bid_id in foreign if bid_id in text}
        assert not leaked, (answer.caller, answer.method, answer.path, leaked)


def test_a_token_expires_by_the_apps_clock(world: World, clock: Clock) -> None:
    """A token works until the app's clock passes its expiry; a token signed with another
    key or for another environment never works."""
    app = world.client.app
    assert isinstance(app, FastAPI)
    user_id = _user_id(world, world.member)
    settings = app.state.settings

    def me(token: str) -> int:
        return world.client.get(
            "/auth/me", headers={"Authorization": f"Bearer {token}"}
        ).status_code

    made = {
        "fresh": create_token(user_id, "sandbox", settings.secret_key, clock.now, 60)[0],
        "old": create_token(
            user_id, "sandbox", settings.secret_key, clock.now - timedelta(minutes=61), 60
        )[0],
        "other key": create_token(user_id, "sandbox", "x" * 48, clock.now, 60)[0],
        "other env": create_token(user_id, "production", settings.secret_key, clock.now, 60)[0],
    }
    assert {name: me(token) for name, token in made.items()} == {
        "fresh": 200,
        "old": 401,
        "other key": 401,
        "other env": 401,
    }
    clock.advance(minutes=60)
    assert me(made["fresh"]) == 401
    assert me(world.member.token) == 200, "the week-long token of the fixture still works"
