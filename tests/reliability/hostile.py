"""Hostile values for every field of every write endpoint, and the verdict on an answer.

Used by the property tests (tests/properties/test_hostile_input.py, in-process, in
``make test``) and by the reliability run (tests/reliability/run.py, against a real server).

- ``targets(document, world)``: every write operation of the OpenAPI document, and in each
  every body field (walked along the schema and a valid body of the world), every path,
  query and header parameter: what a hostile value can be put into.
- ``HOSTILE``: the values that broke the server once (numbers beyond any store, raw NaN,
  exponent strings, NUL and control characters, unicode digits, long strings, wrong types,
  deep nesting, long arrays), each with its JSON text and its text in a URL or header.
- ``World``: a store with an operator, a bidder, an open auction, a published one with a
  virtual asset, and ``base(method, template)``: a valid request of each write endpoint,
  fresh ids each time (a bid id, an auction id, an invite), so examples do not collide.
- ``probe``: send a base with one hostile value; ``verdict``: a 2xx, or a 4xx (a 422 names
  the field) with the store unchanged; never a 5xx.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx2
import polars as pl
import sqlalchemy as sa

from auction.model import Archive
from auction.store import Store
from auction.store.accounts import (
    accept_invite,
    create_org,
    deactivate_user,
    issue_invite,
)
from auction.store.schema import metadata
from tests.api.conftest import (
    EICS,
    PASSWORD,
    Account,
    bid_body,
    create_sample_auction,
    password_hash,
    provision,
    sample_archive,
    small_auction,
)
from tests.calendar_bodies import template_body

WRITES = ("post", "put", "patch", "delete")
DAY = date(2026, 11, 28)  # the published auction's delivery day (as in test_access)
SKIP = {"action": "skip", "reason": "a holiday"}
# Tables that exist to count refused attempts (login throttling): a 4xx may write there.
BOOKKEEPING = re.compile(r"throttl|attempt|rate_limit|login_fail", re.IGNORECASE)
_PLACEHOLDER = "\u0000hostile-value\u0000"
# A new password the policy of auction/passwords.py accepts (and not PASSWORD).
NEW_PASSWORD = "a fresh and unusual passphrase 42"
# The sign-in throttle counts failures per client address, and a hostile password is a
# failure: each sign-in of a base request comes from an address of its own, which the
# app believes because its settings trust X-Forwarded-For (TRUSTED below). Otherwise the
# sixth failure would block every later sign-in on the pinned clock, and the hostile
# values after it would meet a 429 instead of the code they are meant for.
FORWARDED = "X-Forwarded-For"
# Settings of the apps the hostile values go to: the sign-in throttle keyed on the
# forwarded address, and a write bucket no sweep empties (the clock is pinned: it would
# never refill, and every write after the burst would be a 429 that hides the code).
TRUSTED: dict[str, Any] = {"trust_forwarded_for": True, "org_write_burst": 10**9}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Hostile:
    """One hostile value: its class, its JSON text (in a body) and its text (in a URL,
    a query or a header)."""

    kind: str
    json_text: str
    text: str

    def __repr__(self) -> str:  # hypothesis prints it: the class and a short excerpt
        return f"<{self.kind}: {self.json_text[:40]!r}{'…' if len(self.json_text) > 40 else ''}>"


def _s(kind: str, value: str) -> Hostile:
    return Hostile(kind, json.dumps(value), value)


def _raw(kind: str, json_text: str, text: str | None = None) -> Hostile:
    return Hostile(kind, json_text, json_text if text is None else text)


MB = 1 << 20
HOSTILE: list[Hostile] = [
    # Numbers no store holds, or no float does exactly.
    _raw("huge int 10**30", str(10**30)),
    _raw("huge negative int", str(-(10**30))),
    _raw("int 2**63", str(2**63)),
    _raw("float 1e17", "1e17"),
    _raw("float 1e16", "1e16"),
    _raw("float -1e17", "-1e17"),
    _raw("float 1e300", "1e300"),
    _raw("number 1e999999 (overflows a float)", "1e999999"),
    _raw("tiny 1e-30", "1e-30"),
    _raw("many decimals", "0.123456789012345678901234567890"),
    _raw("negative zero", "-0"),
    _raw("negative zero float", "-0.0"),
    _raw("raw NaN literal", "NaN"),
    _raw("raw Infinity literal", "Infinity"),
    _raw("raw -Infinity literal", "-Infinity"),
    # Numbers as strings.
    _s("string 1e999999", "1e999999"),
    _s("string -1e999999", "-1e999999"),
    _s("string NaN", "NaN"),
    _s("string Infinity", "Infinity"),
    _s("string 10**30", str(10**30)),
    _s("superscript digit", "²"),
    _s("arabic-indic digits", "١٢٣"),
    _s("fullwidth digit", "\uff15"),
    _s("underscored number", "1_000"),
    _s("hex number", "0x10"),
    # Strings.
    _s("empty string", ""),
    _s("blank string", "   "),
    _s("NUL byte", "a\x00b"),
    _s("control character", "a\x01b"),
    _s("escape sequence", "\x1b[31mred"),
    _s("newline", "a\r\nb"),
    _s("right-to-left override", "a\u202eb"),
    _raw("lone surrogate", '"\\ud800"', "\ud800"),
    _s("65 characters", "x" * 65),
    _s("201 characters", "x" * 201),
    _s("322 characters", "x" * 322),
    _s("10 kB string", "x" * 10_000),
    _s("1 MB string", "x" * MB),
    _s("path traversal", "../.."),
    _s("slash", "a/b"),
    _s("dot", "."),
    _s("formula", "=cmd|' /C calc'!A0"),
    _s("date 9999-12-31", "9999-12-31"),
    _s("date 0001-01-01", "0001-01-01"),
    _s("impossible date", "2026-02-30"),
    _s("impossible time", "2026-11-28T25:00:00+01:00"),
    _s("time without offset", "2026-11-28T12:00:00"),
    # Wrong types and shapes.
    _raw("true", "true"),
    _raw("null", "null"),
    _raw("empty array", "[]", ""),
    _raw("empty object", "{}", ""),
    _raw("array of one", "[1]", "1"),
    _raw("object", '{"a": 1}', "a"),
    _raw("deep nesting", "[" * 10_000 + "]" * 10_000, "[" * 1000),
    _raw("long array", "[" + ",".join(["0"] * 20_001) + "]", "0"),  # past any batch limit
]
BY_KIND = {h.kind: h for h in HOSTILE}
assert len(BY_KIND) == len(HOSTILE), "one value per class"

# The classes that broke the server, by the JSON type a place takes: what every place
# gets in ``make test`` (the reliability run sends all of HOSTILE everywhere).
EVERYWHERE = ("raw NaN literal", "true")
FOR_TYPE = {
    "number": ("huge int 10**30", "float 1e17", "string 1e999999", "raw Infinity literal"),
    "integer": ("huge int 10**30", "float 1e17", "negative zero"),
    # A lone surrogate: valid JSON, no UTF-8 text (it reached a hash once: an invite token).
    "string": ("NUL byte", "201 characters", "superscript digit", "empty string", "lone surrogate"),
    "array": ("long array",),
    "object": ("deep nesting", "1 MB string"),
}


def pinned(target: Target) -> list[Hostile]:
    """The classes of HOSTILE a target gets every time: by the types it takes."""
    names = list(EVERYWHERE)
    for sort in target.kinds or ("string",):
        names += [n for n in FOR_TYPE.get(sort, ()) if n not in names]
    return [BY_KIND[n] for n in names]


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """Where a hostile value goes: a body field (``where="body"``, ``path`` the keys and
    indexes to it), or a parameter (``where`` = path, query or header; ``path`` its name)."""

    method: str
    template: str
    where: str
    path: tuple[str | int, ...]
    kinds: tuple[str, ...] = ()  # the JSON types the schema allows there

    @property
    def name(self) -> str:
        named = [p for p in self.path if isinstance(p, str)]
        return named[-1] if named else "body"

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "(whole body)"
        return f"{self.method} {self.template} {self.where}:{where}"


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _branch(document: dict[str, Any], schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """The branch of an anyOf/oneOf that describes ``value`` (a bid or a batch of bids)."""
    branches = [_resolve(document, s) for s in schema.get("anyOf", schema.get("oneOf", []))]
    if not branches:
        return schema
    if isinstance(value, dict):
        for branch in branches:
            if set(value) <= set(branch.get("properties", {})):
                return branch
    kinds = {"list": "array", "dict": "object"}.get(type(value).__name__)
    for branch in branches:
        if branch.get("type") not in (None, "null") and (kinds is None or branch["type"] == kinds):
            return branch
    return branches[0]


def kinds(document: dict[str, Any], schema: dict[str, Any]) -> tuple[str, ...]:
    """The JSON types ``schema`` allows (its anyOf branches too), sorted."""
    schema = _resolve(document, schema)
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for branch in schema.get("anyOf", schema.get("oneOf", [])):
        found |= set(kinds(document, branch))
    if "properties" in schema:
        found.add("object")
    return tuple(sorted(found - {"null"}))


Place = tuple[tuple[str | int, ...], tuple[str, ...]]


def body_paths(
    document: dict[str, Any], schema: dict[str, Any], value: Any, prefix: tuple[str | int, ...]
) -> Iterator[Place]:
    """Every place in a body and the types it takes: each property of the schema (present
    in ``value`` or not), walked into objects and into the first item of arrays."""
    resolved = _resolve(document, schema)
    branch = _branch(document, resolved, value)
    yield prefix, kinds(document, resolved)
    if isinstance(value, dict) and "properties" in branch:
        for name, sub in branch["properties"].items():
            if name in value:
                yield from body_paths(document, sub, value[name], (*prefix, name))
            else:
                yield (*prefix, name), kinds(document, sub)
    elif isinstance(value, list) and value and "items" in branch:
        yield from body_paths(document, branch["items"], value[0], (*prefix, 0))


def targets(document: dict[str, Any], world: World) -> list[Target]:
    """Every place of every write operation of the document a hostile value can go."""
    out: list[Target] = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in WRITES:
                continue
            for parameter in operation.get("parameters", []):
                where, name = parameter["in"], parameter["name"]
                sort = kinds(document, parameter.get("schema", {}))
                out.append(Target(method, template, where, (name,), sort))
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = world.base(method, template).body
                schema = content["application/json"]["schema"]
                for path, sort in body_paths(document, schema, body, ()):
                    out.append(Target(method, template, "body", path, sort))
    return out


# --------------------------------------------------------------------------- world


class Client(Protocol):
    """What ``fastapi.testclient.TestClient`` and ``httpx2.Client`` both offer."""

    def request(self, method: str, url: str, **kw: Any) -> Any: ...
    def post(self, url: str, **kw: Any) -> Any: ...
    def put(self, url: str, **kw: Any) -> Any: ...
    def get(self, url: str, **kw: Any) -> Any: ...


@dataclass
class Request:
    """A valid request of one endpoint, as its parts."""

    account: Account | None
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _checked(answer: Any, status: int) -> Any:
    assert answer.status_code == status, answer.text[:500]
    return answer.json() if answer.status_code != 204 else None


@dataclass
class World:
    """An operator and a bidder (the member), the sample auction open with four of the
    member's bids, a published auction with the member's virtual asset, and a draft."""

    client: Client
    store: Store
    now: Callable[[], Any]
    archive: Archive
    operator: Account
    member: Account
    names: dict[str, str]
    counter: Iterator[int] = field(default_factory=itertools.count)
    refusals: dict[tuple[str, str], bool] = field(default_factory=dict)

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}-{uuid.uuid4().hex[:6]}"

    def invite_token(self) -> str:
        return self.invite()[1]

    def invite(self) -> tuple[str, str]:
        """A pending invite to the invitees' organisation: its id and its token."""
        with self.store.write() as conn:
            return issue_invite(
                conn,
                f"{self.fresh('invitee')}@example.com",
                self.names["invitees"],
                "bidder",
                self.now(),
                timedelta(hours=1),
            )

    def address(self) -> str:
        """A client address no sign-in came from yet (TEST-NET-2 and on)."""
        n = next(self.counter)
        return f"198.{51 + n // 65536 % 200}.{n // 256 % 256}.{n % 256}"

    def new_user(self) -> tuple[str, str]:
        """A throwaway bidder of the invitees' organisation, with PASSWORD: its id and
        email. For the requests that end a user's tokens or count its failed sign-ins,
        so that the member's and the operator's keep working."""
        token = self.invite_token()  # a write of its own: the store's writes do not nest
        with self.store.write() as conn:
            user = accept_invite(conn, token, password_hash(), self.now())
        return user.user_id, user.email

    def signed_in(self) -> Account:
        """A throwaway user (``new_user``) signed in through the API."""
        _, email = self.new_user()
        answer = self.client.post(
            "/auth/public/authenticate",
            json={"username": email, "password": PASSWORD},
            headers={FORWARDED: self.address()},
        )
        token = _checked(answer, 200)["access_token"]
        return Account(self.names["invitees"], email, str(token))

    def inactive_user(self) -> str:
        """The id of a throwaway user an operator switched off."""
        user_id, _ = self.new_user()
        with self.store.write() as conn:
            deactivate_user(conn, user_id, self.now())
        return user_id

    def draft(self) -> str:
        auction_id = self.fresh("draft")
        body = {**auction_body(self.archive, auction_id)}
        _checked(self.client.post("/auctions", headers=self.operator.headers, json=body), 201)
        return auction_id

    def member_bid(self) -> str:
        url = f"/organisations/{self.member.org_id}/auctions/sample/bids"
        body = bid_body(unlinked(self.archive)[20])
        bid: dict[str, Any] = _checked(
            self.client.post(url, headers=self.member.headers, json=body), 201
        )
        return str(bid["bid_id"])

    def template(self) -> tuple[str, str]:
        """A fresh auction template saved by the operator: its id and its first day."""
        template_id = self.fresh("tpl")
        url = f"/calendar/templates/{template_id}"
        saved = _checked(
            self.client.put(url, headers=self.operator.headers, json=template_body()), 200
        )
        return template_id, str(saved["body"]["first_day"])

    def marked_day(self) -> tuple[str, str]:
        """A fresh template with its first day marked to be skipped: its id and the day."""
        template_id, day = self.template()
        url = f"/calendar/exceptions/{template_id}/{day}"
        _checked(self.client.put(url, headers=self.operator.headers, json=SKIP), 200)
        return template_id, day

    def base(self, method: str, template: str) -> Request:
        """A valid request of ``method template`` (fresh ids each call)."""
        return BASES[(method.lower(), template)](self)


def auction_body(archive: Archive, auction_id: str) -> dict[str, Any]:
    from tests.api.access_table import auction_body as body

    return body(archive, auction_id)


def unlinked(archive: Archive) -> list[dict[str, Any]]:
    return archive.bids.filter(pl.col("linked_to").is_null()).to_dicts()


def build_world(store: Store, client: Client, clock: Any) -> World:
    """The world of ``World``'s docstring, on ``store``, through ``client``; ``clock`` is
    the app's clock (``tests.api.conftest.Clock``), moved as small_auction needs."""
    operator = provision(store, client, "Operator", "operator")  # type: ignore[arg-type]
    member = provision(store, client, "Alpha Trading", "bidder", EICS[1])  # type: ignore[arg-type]
    fleet = sample_archive().fleet.to_dicts()
    dispatched = small_auction(
        client,  # type: ignore[arg-type]
        operator,
        [member],
        clock,
        auction_id="dispatched",
        day=DAY,
        fleet=fleet,
    )
    va = next(v for v in dispatched[member.org_id] if v["product_id"] == "p1")
    archive = create_sample_auction(client, operator)  # type: ignore[arg-type]
    url = f"/organisations/{member.org_id}/auctions/sample/bids"
    bids = [bid_body(r) for r in unlinked(archive)[:4]]
    answer = _checked(client.post(url, headers=member.headers, json={"bids": bids}), 201)
    _checked(
        client.post("/auctions", headers=operator.headers, json=auction_body(archive, "to-allot")),
        201,
    )
    with store.write() as conn:
        invitees = create_org(conn, "Invitees", EICS[3], EICS[0], clock())
    names = {
        "va": va["virtual_asset_id"],
        "block": va["blocks"][0]["block_id"],
        "first-mtu": va["start"],
        "bid-to-amend": answer["items"][1]["bid_id"],
        "invitees": invitees.org_id,
    }
    return World(client, store, clock, archive, operator, member, names)


class _Shape(World):
    """A world without a store: its requests have the shape of the real ones."""

    def invite(self) -> tuple[str, str]:
        return "invite", "token"

    def new_user(self) -> tuple[str, str]:
        return "user", "someone@example.com"

    def signed_in(self) -> Account:
        return self.member

    def inactive_user(self) -> str:
        return "user"

    def draft(self) -> str:
        return "draft"

    def member_bid(self) -> str:
        return str(uuid.uuid4())

    def template(self) -> tuple[str, str]:
        return "tpl", "2026-12-06"

    def marked_day(self) -> tuple[str, str]:
        return "tpl", "2026-12-06"


def shape_world() -> World:
    """The shapes of the valid requests, to walk their bodies (no store, no client)."""
    someone = Account("org", "someone@example.com", "token")
    names = defaultdict(lambda: "2026-11-28T09:00:00+00:00")
    return _Shape(None, None, lambda: None, sample_archive(), someone, someone, names)  # type: ignore[arg-type]


def _bid_path(w: World, **params: str) -> dict[str, str]:
    return {"org_id": w.member.org_id, "auction_id": "sample", **params}


def _va_path(w: World, **params: str) -> dict[str, str]:
    return {"org_id": w.member.org_id, "virtual_asset_id": w.names["va"], **params}


def _clock(w: World) -> Request:
    """To the sandbox's present: valid, and the world's time stays where it is."""
    if w.client is None:  # the shape world: any instant
        return Request(w.operator, body={"to": w.names["now"]})
    now = w.client.get("/sandbox/clock", headers=w.operator.headers).json()["now"]
    return Request(w.operator, body={"to": now})


def _step(w: World) -> Request:
    return Request(
        w.operator, {"auction_id": w.draft()}, headers={"Idempotency-Key": w.fresh("key")}
    )


def _schedule(w: World) -> Request:
    return Request(
        w.member,
        _va_path(w, block_id=w.names["block"]),
        {"schedule": [{"power": 100, "time": w.names["first-mtu"]}]},
    )


ANCILLARY_BID = {
    "bids": [
        {
            "product_date_code": "2026-11-28_NEGPOS_16_20",
            "offered_capacity": 1000,
            "capacity_price": 10,
        }
    ]
}


def _sign_in(w: World) -> Request:
    return Request(
        None,
        body={"username": w.new_user()[1], "password": PASSWORD},
        headers={FORWARDED: w.address()},
    )


def _password(w: World) -> Request:
    return Request(
        w.signed_in(),
        body={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={FORWARDED: w.address()},
    )


BASES: dict[tuple[str, str], Callable[[World], Request]] = {
    ("post", "/auth/public/accept-invite"): lambda w: Request(
        None, body={"token": w.invite_token(), "password": PASSWORD}
    ),
    ("post", "/auth/public/authenticate"): _sign_in,
    ("post", "/auth/password"): _password,
    ("post", "/auth/logout-all"): lambda w: Request(w.signed_in()),
    ("post", "/admin/users/{user_id}/deactivate"): lambda w: Request(
        w.operator, {"user_id": w.new_user()[0]}
    ),
    ("post", "/admin/users/{user_id}/reactivate"): lambda w: Request(
        w.operator, {"user_id": w.inactive_user()}
    ),
    ("delete", "/admin/invites/{invite_id}"): lambda w: Request(
        w.operator, {"invite_id": w.invite()[0]}
    ),
    ("post", "/admin/organisations"): lambda w: Request(
        w.operator, body={"name": w.fresh("Org"), "eic": EICS[3], "tso_zone": EICS[0]}
    ),
    ("post", "/admin/invites"): lambda w: Request(
        w.operator,
        body={
            "email": f"{w.fresh('trader')}@example.com",
            "org_id": w.member.org_id,
            "role": "bidder",
        },
    ),
    ("put", "/fleet/assets"): lambda w: Request(
        w.operator, body={"assets": w.archive.fleet.to_dicts()}
    ),
    ("post", "/fleet/outages"): lambda w: Request(
        w.operator,
        body={
            k: v.isoformat() if hasattr(v, "isoformat") else v
            for k, v in w.archive.availability.row(0, named=True).items()
        },
    ),
    ("post", "/auctions"): lambda w: Request(
        w.operator,
        body=auction_body(w.archive, w.fresh("created")),
        headers={"Idempotency-Key": w.fresh("key")},
    ),
    **{("post", f"/auctions/{{auction_id}}/{step}"): _step for step in ("open", "close", "cancel")},
    ("post", "/auctions/{auction_id}/publish"): _step,
    ("post", "/auctions/{auction_id}/clear"): lambda w: Request(
        w.operator, {"auction_id": w.draft()}
    ),
    ("put", "/auctions/{auction_id}/allocations"): lambda w: Request(
        w.operator,
        {"auction_id": "to-allot"},
        {"allocations": [{"org_id": w.member.org_id, "product_id": "DAY-WS2", "quantity_mw": 5}]},
    ),
    ("post", "/organisations/{org_id}/auctions/{auction_id}/bids"): lambda w: Request(
        w.member,
        _bid_path(w),
        {**bid_body(unlinked(w.archive)[10]), "bid_id": str(uuid.uuid4())},
        headers={"Idempotency-Key": w.fresh("key")},
    ),
    ("put", "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}"): lambda w: Request(
        w.member,
        _bid_path(w, bid_id=w.names["bid-to-amend"]),
        bid_body(unlinked(w.archive)[1], price_eur_per_mw=77.77),
        headers={"If-Match": "*"},
    ),
    ("delete", "/organisations/{org_id}/auctions/{auction_id}/bids/{bid_id}"): lambda w: Request(
        w.member, _bid_path(w, bid_id=w.member_bid()), headers={"If-Match": '"1"'}
    ),
    ("post", "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/blocks/{block_id}"): (
        _schedule
    ),
    ("put", "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/blocks/{block_id}"): (
        _schedule
    ),
    ("post", "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids"): (
        lambda w: Request(w.member, _va_path(w), json.loads(json.dumps(ANCILLARY_BID)))
    ),
    (
        "delete",
        "/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids"
        "/{product_date_code}",
    ): lambda w: Request(w.member, _va_path(w, product_date_code="2026-11-28_NEGPOS_16_20")),
    ("post", "/settlement/{delivery_day}/run"): lambda w: Request(
        w.operator, {"delivery_day": str(DAY)}, {"imbalance_price_eur_per_mwh": 100}
    ),
    ("post", "/ancillary/{delivery_day}/export"): lambda w: Request(
        w.operator, {"delivery_day": str(DAY)}, query={"market": "fcr"}
    ),
    ("post", "/ancillary/{delivery_day}/results"): lambda w: Request(
        w.operator, {"delivery_day": str(DAY)}, {"bids": []}
    ),
    ("post", "/ancillary/{delivery_day}/sandbox-tso"): lambda w: Request(
        w.operator, {"delivery_day": str(DAY)}, {}, query={"market": "fcr"}
    ),
    ("post", "/sandbox/clock"): _clock,
    ("put", "/calendar/templates/{template_id}"): lambda w: Request(
        w.operator, {"template_id": w.fresh("tpl")}, template_body()
    ),
    ("put", "/calendar/exceptions/{template_id}/{day}"): lambda w: Request(
        w.operator, dict(zip(("template_id", "day"), w.template(), strict=True)), SKIP
    ),
    ("delete", "/calendar/exceptions/{template_id}/{day}"): lambda w: Request(
        w.operator, dict(zip(("template_id", "day"), w.marked_day(), strict=True))
    ),
}


# --------------------------------------------------------------------------- probing


def fingerprint(store: Store) -> str:
    """A digest of every row of every table (bookkeeping of refused logins aside)."""
    digest = hashlib.sha256()
    with store.read() as conn:
        for table in metadata.sorted_tables:
            if BOOKKEEPING.search(table.name):
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(sa.select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
            digest.update(f"|{table.name}|".encode())
    return digest.hexdigest()


def _set(body: Any, path: tuple[str | int, ...]) -> Any:
    """``body`` with the placeholder at ``path`` (a copy; absent keys are added)."""
    if not path:
        return _PLACEHOLDER
    head, rest = path[0], path[1:]
    if isinstance(body, dict):
        return {**body, head: _set(body.get(head), rest)}
    if isinstance(body, list) and isinstance(head, int) and body:
        return [_set(body[0], rest), *body[1:]]
    return {head: _set(None, rest)} if isinstance(head, str) else [_set(None, rest)]


@dataclass(frozen=True)
class Sent:
    """What was sent and what came back."""

    target: Target
    value: Hostile
    status: int
    body: str
    changed: bool = False  # the store differs after the request
    sendable: bool = True


def _quoted(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def probe(world: World, target: Target, value: Hostile) -> Sent:
    """Send the base request of ``target``'s endpoint with ``value`` at ``target``."""
    base = world.base(target.method, target.template)
    params, query, headers = dict(base.params), dict(base.query), dict(base.headers)
    name = str(target.path[0]) if target.path else ""
    content = None
    if target.where == "path":
        if value.text in ("", ".", ".."):  # no HTTP path addresses these as a segment
            return Sent(target, value, 0, "not a path segment", sendable=False)
        params[name] = value.text
    elif target.where == "query":
        query[name] = value.text
    elif target.where == "header":
        headers[name] = value.text
    if target.where == "body":
        placed = json.dumps(_set(base.body, target.path), allow_nan=True)
        content = placed.replace(json.dumps(_PLACEHOLDER), value.json_text).encode()
    elif base.body is not None:
        content = json.dumps(base.body).encode()
    # Lone surrogates travel as their UTF-8 bytes ("surrogatepass"): what a raw client sends.
    url = target.template.format(**{k: _quoted(v) for k, v in params.items()})
    if query:
        url += "?" + "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in query.items())
    all_headers: dict[str, Any] = {} if base.account is None else dict(base.account.headers)
    if content is not None:
        all_headers["Content-Type"] = "application/json"
    for key, text in headers.items():
        all_headers[key] = text.encode("utf-8", "surrogatepass")
    before = fingerprint(world.store)
    try:
        answer = world.client.request(
            target.method.upper(), url, content=content, headers=all_headers
        )
    except (ValueError, UnicodeError, httpx2.InvalidURL, httpx2.LocalProtocolError) as exc:
        # What no HTTP client sends: CR LF in a header, a path of a megabyte.
        return Sent(target, value, 0, repr(exc), sendable=False)
    except httpx2.TransportError as exc:  # the server closed the connection, no answer
        return Sent(target, value, 0, f"no answer: {exc!r}", fingerprint(world.store) != before)
    changed = fingerprint(world.store) != before
    return Sent(target, value, answer.status_code, answer.text, changed)


def base_refused(world: World, method: str, template: str) -> bool:
    """Whether the valid request of the endpoint is itself refused here (a 4xx of the
    domain: a closed day, no reserve block); its 422s then need not name the field."""
    key = (method, template)
    if key not in world.refusals:
        base = world.base(method, template)
        url = template.format(**{k: quote(v, safe="") for k, v in base.params.items()})
        headers = {} if base.account is None else dict(base.account.headers)
        answer = world.client.request(
            method.upper(),
            url,
            params=base.query,
            json=base.body,
            headers={**headers, **base.headers},
        )
        world.refusals[key] = 400 <= answer.status_code < 500
    return world.refusals[key]


def names_field(sent: Sent) -> bool:
    """Whether a 422 answer names the field the hostile value was put in."""
    try:
        errors = json.loads(sent.body).get("errors")
    except (ValueError, AttributeError):
        return False
    wanted = sent.target.name.lower()
    # A rule across fields of one row (e_min_mwh <= e_max_mwh) may name the other field.
    row = [str(p).lower() for p in sent.target.path[:-1]]
    items = errors if isinstance(errors, list) else []
    for item in items:
        if not isinstance(item, dict):
            continue
        loc = [str(p).lower() for p in item.get("loc", [])]
        places = [*loc, str(item.get("field")).lower()]
        same_row = bool(row) and loc[1 : 1 + len(row)] == row and item.get("field") is not None
        if (
            wanted in places
            or same_row
            or (sent.target.where == "body" and not row and not sent.target.path)
        ):
            return True
    return False


def verdict(sent: Sent, refused: bool) -> str | None:
    """What is wrong with an answer, or None: a 2xx, or a 4xx with nothing stored (and a
    422 that names the field, unless the valid request itself is refused)."""
    if not sent.sendable:
        return None
    if sent.status == 0:
        return sent.body
    if sent.status >= 500:
        return f"{sent.status}: {sent.body[:200]}"
    if 200 <= sent.status < 300:
        return None
    if not 400 <= sent.status < 500:
        return f"unexpected status {sent.status}"
    if sent.changed:
        return f"{sent.status} but the store changed"
    if sent.status == 422 and not refused and not names_field(sent):
        return f"422 does not name {sent.target.name!r}: {sent.body[:200]}"
    return None
