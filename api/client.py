"""A typed Python client of the REST API, for traders' and operators' scripts.

    from api.client import VbaClient

    with VbaClient("https://sandbox.example.com") as vba:
        vba.authenticate("trader@example.com", "correct horse battery staple")
        for auction in vba.auctions():
            print(auction.auction_id, auction.status, auction.my_status)

Answers are the API's own response models (``api.http.schemas``); lists are read whole,
page after page, following each answer's ``next``. A refusal raises ``VbaError`` with the
status, the sentence and the field errors. Pass ``client=`` an ``httpx2.Client`` of your
own (a FastAPI ``TestClient`` works) to reuse its connection, base URL and settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx2
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from api.http.schemas.accounts import (
    AccessToken,
    InviteCreated,
    InvitePublic,
    Me,
    OrganisationPublic,
    UserPublic,
)
from api.http.schemas.ancillary import AncillaryBidPublic, ImportSummary, TsoBids
from api.http.schemas.auctions import AllocationPublic, AssetPublic, AuctionPublic, OutageCreated
from api.http.schemas.bids import AuctionResults, AwardPublic, BidPublic, BidVersion
from api.http.schemas.calendar import CalendarDayPublic, ExceptionPublic, TemplatePublic
from api.http.schemas.clearing import AuctionReport, ClearOutcome
from api.http.schemas.dispatch import (
    RebalancingPlan,
    ScheduleVersionPublic,
    ScheduleView,
    SetpointList,
    VirtualAssetPublic,
)
from api.http.schemas.settlement import DayRun, Invoice, Nominations

M = TypeVar("M", bound=BaseModel)
Number = int | float | Decimal | str
Body = Mapping[str, Any] | BaseModel


class VbaError(Exception):
    """The API refused a request: its HTTP status, its sentence and its field errors.

    ``errors`` holds the items ``{loc, field, value, rule, msg}`` of a 422; ``body`` the
    whole answer, for the facts a 409 carries (``gate_close``, ``version``...)."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]], body: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors
        self.body = body


class SandboxClock(BaseModel):
    """The sandbox's clock: the time the server runs at and its offset from the wall."""

    now: datetime
    offset_s: int
    environment: str


class VbaClient:
    """One signed-in session with the API.

    Parameters
    ----------
    base_url
        The server, e.g. ``https://sandbox.example.com`` (ignored with ``client``).
    client
        An ``httpx2.Client`` to send through (its base URL is used as it is).
    token
        An access token from an earlier ``authenticate``.
    page_size
        Items asked for per page when a list is read (1 to 1,000).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client: httpx2.Client | None = None,
        token: str | None = None,
        timeout_s: float = 30.0,
        page_size: int = 1000,
    ) -> None:
        if client is None and base_url is None:
            raise ValueError("give the server's base_url, or an httpx2.Client")
        self._own = client is None
        self._http = (
            client
            if client is not None
            else httpx2.Client(base_url=str(base_url), timeout=timeout_s)
        )
        self.token = token
        self.page_size = page_size
        self._me: Me | None = None

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> VbaClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # --- the wire ------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Body | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            data = body.model_dump(exclude_none=True) if isinstance(body, BaseModel) else body
            payload = to_jsonable_python(data)
        # No params at all for a URL that carries its query (a ``next``): httpx2 would
        # replace that query with an empty one.
        query = {k: to_jsonable_python(v) for k, v in (params or {}).items() if v is not None}
        answer = self._http.request(method, path, json=payload, params=query or None, headers=sent)
        if answer.status_code >= 400:
            raise _error(answer)
        return answer

    def _one(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        return model.model_validate(self._send(method, path, **kw).json())

    def _many(self, model: type[M], method: str, path: str, **kw: Any) -> list[M]:
        """A list answered whole (``next`` is null): a batch, a replaced collection."""
        return [model.model_validate(i) for i in self._send(method, path, **kw).json()["items"]]

    def pages(
        self, model: type[M], path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[M]:
        """Every item of the list at ``path``, page after page, following ``next``."""
        url: str | None = path
        query: Mapping[str, Any] | None = {**(params or {}), "limit": self.page_size}
        while url is not None:
            page = self._send("GET", url, params=query).json()
            for item in page["items"]:
                yield model.model_validate(item)
            url, query = page["next"], None  # next carries the whole query

    def _list(self, model: type[M], path: str, **params: Any) -> list[M]:
        return list(self.pages(model, path, params))

    def _org(self, org_id: str | None) -> str:
        return org_id if org_id is not None else self.me().org_id

    # --- accounts ------------------------------------------------------------------

    def authenticate(self, email: str, password: str) -> AccessToken:
        """Sign in; the token is then sent with every request."""
        self._me = None
        body = {"username": email, "password": password}
        token = self._one(AccessToken, "POST", "/auth/public/authenticate", body=body)
        self.token = token.access_token
        return token

    def accept_invite(self, token: str, password: str) -> Me:
        """Set the password of an invited user (no sign-in needed)."""
        return self._one(
            Me, "POST", "/auth/public/accept-invite", body={"token": token, "password": password}
        )

    def me(self) -> Me:
        """Who is signed in: user, role, organisation (read once, then remembered)."""
        if self._me is None:
            self._me = self._one(Me, "GET", "/auth/me")
        return self._me

    # --- auctions and bids ---------------------------------------------------------

    def auctions(self) -> list[AuctionPublic]:
        """Every auction you may see, latest delivery day first."""
        return self._list(AuctionPublic, "/auctions")

    def auction(self, auction_id: str) -> AuctionPublic:
        return self._one(AuctionPublic, "GET", f"/auctions/{auction_id}")

    def results(self, auction_id: str) -> AuctionResults:
        """The anonymous result list, once published."""
        return self._one(AuctionResults, "GET", f"/auctions/{auction_id}/results")

    def _bids_path(self, auction_id: str, org_id: str | None) -> str:
        return f"/organisations/{self._org(org_id)}/auctions/{auction_id}/bids"

    def submit_bid(
        self,
        auction_id: str,
        product_id: str,
        quantity_mw: Number,
        price_eur_per_mw: Number,
        *,
        min_quantity_mw: Number | None = None,
        exclusive_group: str | None = None,
        linked_to: str | None = None,
        bid_id: str | None = None,
        idempotency_key: str | None = None,
        org_id: str | None = None,
    ) -> BidPublic:
        """Submit one bid; ``idempotency_key`` makes a retry safe."""
        body = _bid(
            product_id,
            quantity_mw,
            price_eur_per_mw,
            min_quantity_mw=min_quantity_mw,
            exclusive_group=exclusive_group,
            linked_to=linked_to,
            bid_id=bid_id,
        )
        return self._one(
            BidPublic,
            "POST",
            self._bids_path(auction_id, org_id),
            body=body,
            headers=_key(idempotency_key),
        )

    def submit_bids(
        self,
        auction_id: str,
        bids: Sequence[Body],
        *,
        idempotency_key: str | None = None,
        org_id: str | None = None,
    ) -> list[BidPublic]:
        """Submit many bids (each a mapping or a ``BidCreate``): stored all or none."""
        items = [b.model_dump(exclude_none=True) if isinstance(b, BaseModel) else b for b in bids]
        return self._many(
            BidPublic,
            "POST",
            self._bids_path(auction_id, org_id),
            body={"bids": items},
            headers=_key(idempotency_key),
        )

    def amend_bid(
        self,
        auction_id: str,
        bid_id: str,
        product_id: str,
        quantity_mw: Number,
        price_eur_per_mw: Number,
        *,
        min_quantity_mw: Number | None = None,
        exclusive_group: str | None = None,
        linked_to: str | None = None,
        version: int | None = None,
        org_id: str | None = None,
    ) -> BidPublic:
        """Replace a bid's terms; with ``version``, refused (412) if it moved on."""
        body = _bid(
            product_id,
            quantity_mw,
            price_eur_per_mw,
            min_quantity_mw=min_quantity_mw,
            exclusive_group=exclusive_group,
            linked_to=linked_to,
        )
        return self._one(
            BidPublic,
            "PUT",
            f"{self._bids_path(auction_id, org_id)}/{bid_id}",
            body=body,
            headers=_if_match(version),
        )

    def withdraw_bid(
        self,
        auction_id: str,
        bid_id: str,
        *,
        version: int | None = None,
        org_id: str | None = None,
    ) -> None:
        """Withdraw a bid while the gate is open; with ``version``, 412 if it moved on."""
        path = f"{self._bids_path(auction_id, org_id)}/{bid_id}"
        self._send("DELETE", path, headers=_if_match(version))

    def bids(self, auction_id: str, *, org_id: str | None = None) -> list[BidPublic]:
        """Your live bids in the auction, oldest first."""
        return self._list(BidPublic, self._bids_path(auction_id, org_id))

    def bid(self, auction_id: str, bid_id: str, *, org_id: str | None = None) -> BidPublic:
        return self._one(BidPublic, "GET", f"{self._bids_path(auction_id, org_id)}/{bid_id}")

    def bid_versions(
        self, auction_id: str, bid_id: str, *, org_id: str | None = None
    ) -> list[BidVersion]:
        path = f"{self._bids_path(auction_id, org_id)}/{bid_id}/versions"
        return self._list(BidVersion, path)

    def awards(self, auction_id: str, *, org_id: str | None = None) -> list[AwardPublic]:
        """Your awards, once the auction is published."""
        path = f"/organisations/{self._org(org_id)}/auctions/{auction_id}/awards"
        return self._list(AwardPublic, path)

    # --- virtual assets and schedules -----------------------------------------------

    def _va_path(self, org_id: str | None) -> str:
        return f"/organisations/{self._org(org_id)}/virtual-assets"

    def virtual_assets(
        self,
        status: Literal["upcoming", "active", "past"] | None = None,
        *,
        org_id: str | None = None,
    ) -> list[VirtualAssetPublic]:
        return self._list(VirtualAssetPublic, self._va_path(org_id), status=status)

    def virtual_asset(self, va_id: str, *, org_id: str | None = None) -> VirtualAssetPublic:
        return self._one(VirtualAssetPublic, "GET", f"{self._va_path(org_id)}/{va_id}")

    def set_schedule(
        self,
        va_id: str,
        block_id: str,
        points: Mapping[datetime, Number] | Sequence[tuple[datetime, Number]],
        *,
        org_id: str | None = None,
    ) -> ScheduleView:
        """Set the power (kW) of the MTUs starting at the times given; accepted whole or
        refused whole (``VbaError`` with one item per broken rule)."""
        pairs = points.items() if isinstance(points, Mapping) else points
        body = {"schedule": [{"power": power, "time": time} for time, power in pairs]}
        path = f"{self._va_path(org_id)}/{va_id}/blocks/{block_id}"
        return self._one(ScheduleView, "POST", path, body=body)

    def schedule(self, va_id: str, block_id: str, *, org_id: str | None = None) -> ScheduleView:
        path = f"{self._va_path(org_id)}/{va_id}/blocks/{block_id}/schedule"
        return self._one(ScheduleView, "GET", path)

    def schedule_versions(
        self, va_id: str, block_id: str, *, org_id: str | None = None
    ) -> list[ScheduleVersionPublic]:
        path = f"{self._va_path(org_id)}/{va_id}/blocks/{block_id}/schedule/versions"
        return self._list(ScheduleVersionPublic, path)

    def ancillary_bids(self, va_id: str, *, org_id: str | None = None) -> list[AncillaryBidPublic]:
        return self._list(AncillaryBidPublic, f"{self._va_path(org_id)}/{va_id}/ancillary-bids")

    def submit_ancillary_bids(
        self, va_id: str, bids: Sequence[Body], *, org_id: str | None = None
    ) -> list[AncillaryBidPublic]:
        """Offer the reserve of a virtual asset to the TSO, one bid per product (each
        ``{productDateCode, offeredCapacity (kW), capacityPrice, energyPrice}``), each
        replacing your bid for that product: stored all or none."""
        items = [b.model_dump(exclude_none=True) if isinstance(b, BaseModel) else b for b in bids]
        path = f"{self._va_path(org_id)}/{va_id}/ancillary-bids"
        return self._many(AncillaryBidPublic, "POST", path, body={"bids": items})

    # --- settlement ----------------------------------------------------------------

    def invoices(self, *, org_id: str | None = None) -> list[Invoice]:
        return self._list(Invoice, f"/organisations/{self._org(org_id)}/invoices")

    def nominations(self, day: date, *, org_id: str | None = None) -> Nominations:
        path = f"/organisations/{self._org(org_id)}/nominations/{day.isoformat()}"
        return self._one(Nominations, "GET", path)

    def nomination_document(
        self, day: date, format: Literal["xml", "csv"] = "xml", *, org_id: str | None = None
    ) -> str:
        """Your nomination for a settled day as a file: the ESS-style schedule document
        (``xml``) or its CSV."""
        path = f"/organisations/{self._org(org_id)}/nominations/{day.isoformat()}"
        return self._send("GET", path, params={"format": format}).text

    # --- the sandbox's clock -----------------------------------------------------------

    def sandbox_clock(self) -> SandboxClock:
        return self._one(SandboxClock, "GET", "/sandbox/clock")

    def advance_clock(self, seconds: int | None = None, to: datetime | None = None) -> SandboxClock:
        """Move the sandbox's clock on by ``seconds``, or to ``to`` (operators only)."""
        if (seconds is None) == (to is None):
            raise ValueError("give exactly one of seconds or to")
        body = {"advance_s": seconds} if seconds is not None else {"to": to}
        return self._one(SandboxClock, "POST", "/sandbox/clock", body=body)

    # --- operators -------------------------------------------------------------------

    def create_organisation(
        self, name: str, eic: str, tso_zone: str | None = None
    ) -> OrganisationPublic:
        body = _given(name=name, eic=eic, tso_zone=tso_zone)
        return self._one(OrganisationPublic, "POST", "/admin/organisations", body=body)

    def organisations(self) -> list[OrganisationPublic]:
        return self._list(OrganisationPublic, "/admin/organisations")

    def invite(self, email: str, org_id: str, role: str = "bidder") -> InviteCreated:
        """Invite a user; the answer's token is shown this once."""
        body = {"email": email, "org_id": org_id, "role": role}
        return self._one(InviteCreated, "POST", "/admin/invites", body=body)

    def invites(self, org_id: str | None = None) -> list[InvitePublic]:
        return self._list(InvitePublic, "/admin/invites", org_id=org_id)

    def users(self, org_id: str) -> list[UserPublic]:
        return self._list(UserPublic, f"/admin/organisations/{org_id}/users")

    def fleet(self) -> list[AssetPublic]:
        return self._list(AssetPublic, "/fleet/assets")

    def put_fleet(self, assets: Sequence[Body]) -> list[AssetPublic]:
        """Replace the whole fleet (rows of fleet.csv); answers the new fleet."""
        return self._many(AssetPublic, "PUT", "/fleet/assets", body={"assets": list(assets)})

    def record_outage(self, outage: Body) -> OutageCreated:
        """An outage or derate ``{asset_id, start, end, available_fraction}``."""
        return self._one(OutageCreated, "POST", "/fleet/outages", body=outage)

    def setpoints(self, start: datetime, end: datetime, *, rebalance: bool = True) -> SetpointList:
        """The fleet's setpoints of [start, end), with the operator's rebalancing plan
        unless ``rebalance`` is false."""
        params = {"from": start, "to": end, "rebalance": rebalance}
        return self._one(SetpointList, "GET", "/fleet/setpoints", params=params)

    def rebalancing(self, start: datetime, end: datetime) -> RebalancingPlan:
        """The operator's rebalancing plan for [start, end): its trades, and what it
        cannot fix with the reason."""
        params = {"from": start, "to": end}
        return self._one(RebalancingPlan, "GET", "/fleet/rebalancing", params=params)

    # --- the auction calendar (operators) --------------------------------------------

    def put_template(self, template_id: str, template: Body) -> TemplatePublic:
        """Create an auction template or store its next version (docs/api.md, "The
        auction calendar"); it applies from the next day not yet created."""
        path = f"/calendar/templates/{template_id}"
        return self._one(TemplatePublic, "PUT", path, body=template)

    def calendar(self, first_day: date | None = None, days: int = 14) -> list[CalendarDayPublic]:
        """Every template's days from ``first_day`` (today in Berlin) for ``days`` days:
        planned, created (with its auction and status), skipped, refused or missed."""
        params: dict[str, Any] = {"days": days}
        if first_day is not None:
            params["first_day"] = first_day
        return self._list(CalendarDayPublic, "/calendar", **params)

    def mark_day(self, template_id: str, day: date, mark: Body) -> ExceptionPublic:
        """Mark a day not yet created: ``{"action": "skip", "reason": ...}`` or
        ``{"action": "adapt", "use_template": ..., "reason": ...}``."""
        path = f"/calendar/exceptions/{template_id}/{day.isoformat()}"
        return self._one(ExceptionPublic, "PUT", path, body=mark)

    def create_auction(
        self,
        auction: Body,
        products: Sequence[Body],
        allocations: Sequence[Body] = (),
        *,
        auto_publish: bool = False,
        idempotency_key: str | None = None,
    ) -> AuctionPublic:
        """Create an auction (draft) from auction.json's keys and its products."""
        body = {
            "auction": auction,
            "products": list(products),
            "allocations": list(allocations),
            "auto_publish": auto_publish,
        }
        return self._one(
            AuctionPublic, "POST", "/auctions", body=body, headers=_key(idempotency_key)
        )

    def _step(self, auction_id: str, step: str, idempotency_key: str | None) -> AuctionPublic:
        path = f"/auctions/{auction_id}/{step}"
        return self._one(AuctionPublic, "POST", path, headers=_key(idempotency_key))

    def open_auction(self, auction_id: str, idempotency_key: str | None = None) -> AuctionPublic:
        return self._step(auction_id, "open", idempotency_key)

    def close_auction(self, auction_id: str, idempotency_key: str | None = None) -> AuctionPublic:
        return self._step(auction_id, "close", idempotency_key)

    def cancel_auction(self, auction_id: str, idempotency_key: str | None = None) -> AuctionPublic:
        return self._step(auction_id, "cancel", idempotency_key)

    def publish_auction(self, auction_id: str, idempotency_key: str | None = None) -> AuctionPublic:
        return self._step(auction_id, "publish", idempotency_key)

    def clear_auction(self, auction_id: str) -> ClearOutcome:
        """Clear and check the auction; the summary and the checker's verdict."""
        return self._one(ClearOutcome, "POST", f"/auctions/{auction_id}/clear")

    def put_allocations(
        self, auction_id: str, allocations: Sequence[Body]
    ) -> list[AllocationPublic]:
        body = {"allocations": list(allocations)}
        return self._many(AllocationPublic, "PUT", f"/auctions/{auction_id}/allocations", body=body)

    def report(self, auction_id: str) -> AuctionReport:
        return self._one(AuctionReport, "GET", f"/auctions/{auction_id}/report")

    def run_settlement(
        self,
        day: date,
        imbalance_price_eur_per_mwh: Number,
        *,
        idempotency_key: str | None = None,
    ) -> DayRun:
        body = {"imbalance_price_eur_per_mwh": imbalance_price_eur_per_mwh}
        path = f"/settlement/{day.isoformat()}/run"
        return self._one(DayRun, "POST", path, body=body, headers=_key(idempotency_key))

    def settlement(self, day: date) -> DayRun:
        return self._one(DayRun, "GET", f"/settlement/{day.isoformat()}")

    def export_ancillary(
        self, day: date, market: Literal["fcr", "afrr_capacity", "afrr_energy"]
    ) -> TsoBids:
        """The pool's bids of the day in one market, in the TSO's bid format (they
        become ``sent``)."""
        path = f"/ancillary/{day.isoformat()}/export"
        return self._one(TsoBids, "POST", path, params={"market": market})

    def sandbox_tso(
        self,
        day: date,
        market: Literal["fcr", "afrr_capacity"],
        *,
        demand_mw: Mapping[str, int] | None = None,
        seed: int | None = None,
    ) -> ImportSummary:
        """Sandbox only: play the TSO's capacity auction of the day (seeded competitors,
        ``demand_mw`` per product, else the server's) and import its results."""
        body = _given(demand_mw=demand_mw, seed=seed)
        path = f"/ancillary/{day.isoformat()}/sandbox-tso"
        return self._one(ImportSummary, "POST", path, body=body, params={"market": market})


def _given(**fields: Any) -> dict[str, Any]:
    """The fields given: one left out takes the server's default."""
    return {k: v for k, v in fields.items() if v is not None}


def _bid(
    product_id: str,
    quantity_mw: Number,
    price_eur_per_mw: Number,
    **optional: Any,
) -> dict[str, Any]:
    return _given(
        product_id=product_id,
        quantity_mw=quantity_mw,
        price_eur_per_mw=price_eur_per_mw,
        **optional,
    )


def _key(idempotency_key: str | None) -> dict[str, str]:
    return {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}


def _if_match(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}


def _error(answer: httpx2.Response) -> VbaError:
    """The refusal as a ``VbaError``: an RFC 9457 problem (``detail`` a sentence,
    ``errors`` the field errors of a 422), or whatever a proxy in front answered."""
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text
    problem = body if isinstance(body, dict) else {}
    raw = problem.get("errors")
    errors = [dict(i) for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []
    sentence = str(problem.get("detail") or answer.reason_phrase)
    return VbaError(answer.status_code, sentence, errors, body)
