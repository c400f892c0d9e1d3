"""The rush's arrivals: when each request is sent, of which kind, from which organisation.

Arrivals rise exponentially toward the gate: the density at ``t`` seconds into a rush of
``T`` seconds is proportional to ``exp(t / tau)`` with ``tau = T / RISE``, so the last
quarter of the rush carries about 63 % of the requests and the rate at the gate is about
four times the average. A share ``late_share`` of each kind is sent just after the gate
(uniform over ``LATE_WINDOW_S``): the server must refuse every one of them with 409.
Times are seconds from the rush's start; the gate is at ``T``.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass
from typing import Any

RISE = 4.0  # T / tau: how steeply arrivals rise toward the gate
LATE_WINDOW_S = (0.05, 2.0)  # after the gate, where the late requests fall


@dataclass(frozen=True)
class Request:
    """One request of the rush: its send time, kind, organisation and bid ids."""

    at_s: float
    kind: str  # "single" or "batch"
    org: int
    bid_ids: tuple[str, ...]
    body: bytes


def rising_times(n: int, seconds: float, rng: random.Random) -> list[float]:
    """``n`` instants in [0, seconds) drawn from the exponential ramp (inverse CDF)."""
    tau = seconds / RISE
    scale = math.expm1(seconds / tau)
    return [tau * math.log1p(rng.random() * scale) for _ in range(n)]


def late_times(n: int, seconds: float, rng: random.Random) -> list[float]:
    return [seconds + rng.uniform(*LATE_WINDOW_S) for _ in range(n)]


def plan(
    *,
    singles: int,
    batches: int,
    batch_size: int,
    orgs: int,
    seconds: float,
    late_share: float,
    rows: list[dict[str, Any]],
    rng: random.Random,
) -> list[Request]:
    """The whole rush, in send order. Bid ids are fresh UUIDs chosen here, so the store
    can be checked against what was acknowledged, id by id."""

    def bid() -> tuple[str, dict[str, Any]]:
        bid_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return bid_id, {
            **rng.choice(rows),
            "bid_id": bid_id,
            "price_eur_per_mw": rng.randint(0, 50_000) / 100,
        }

    def encode(body: Any) -> bytes:
        return json.dumps(body, separators=(",", ":")).encode()

    out: list[Request] = []
    for kind, n in (("single", singles), ("batch", batches)):
        late = max(1, round(n * late_share)) if n and late_share > 0 else 0
        times = rising_times(n - late, seconds, rng) + late_times(late, seconds, rng)
        for at in times:
            org = rng.randrange(orgs)
            if kind == "single":
                bid_id, body = bid()
                out.append(Request(at, kind, org, (bid_id,), encode(body)))
            else:
                pairs = [bid() for _ in range(batch_size)]
                ids = tuple(p[0] for p in pairs)
                out.append(Request(at, kind, org, ids, encode({"bids": [p[1] for p in pairs]})))
    out.sort(key=lambda r: r.at_s)
    return out
