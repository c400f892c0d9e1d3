"""The sandbox's clock: anyone signed in reads it, operators move it forward. Production
does not mount this router (``api.http.app``): there these paths are unknown."""

from __future__ import annotations

from datetime import UTC, timedelta

from fastapi import APIRouter, Request

from api import services
from api.http.deps import AnyUser, Operator
from api.http.schemas.sandbox import ClockMove, ClockPublic
from api.services.sandbox import ClockState
from auction.store.sandbox_clock import StoreClock

router = APIRouter(prefix="/sandbox", tags=["sandbox"])


def _public(state: ClockState) -> ClockPublic:
    return ClockPublic(
        now=state.now.astimezone(UTC),
        offset_s=state.offset // timedelta(seconds=1),
        environment="sandbox",
    )


def _clock(request: Request) -> StoreClock:
    clock: StoreClock = request.app.state.clock
    return clock


@router.get("/clock", response_model=ClockPublic)
def get_clock(request: Request, _call: AnyUser) -> ClockPublic:
    """The sandbox's time: the real clock plus what operators have moved it forward."""
    return _public(services.sandbox.clock_state(_clock(request)))


@router.post("/clock", response_model=ClockPublic)
def post_clock(body: ClockMove, request: Request, call: Operator) -> ClockPublic:
    """Move the sandbox's time forward by ``advance_s`` seconds or to the instant ``to``
    (never back). Before it answers, the server does what it would have done while
    waiting, at each instant the move passed, in order: gates close, auctions set to
    publish themselves are cleared and published. Tokens age with the sandbox's time: a
    move past a token's expiry signs its holder out."""
    state = services.sandbox.move_clock(
        call.store, _clock(request), call.user.user_id, advance_s=body.advance_s, to=body.to
    )
    return _public(state)
