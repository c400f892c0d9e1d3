"""The clearing benchmark's instances: the scale curve, the hard days, the extra corners,
and the time limits they run with."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TIME_LIMIT_S = 60.0
SHORT_LIMIT_S = 5.0
HARD_LIMIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Instance:
    """One benchmark book: ``benchmark_scenario(n_bids, n_assets)`` with its default seed."""

    name: str
    n_bids: int
    n_assets: int
    baseline: bool  # also solve it with the straightforward formulation
    reference_day: bool = False
    hard_seed: int | None = None  # a hard day: synthetic.hard_scenario with this seed

    @property
    def short_limits_s(self) -> tuple[float, ...]:
        """The short time limits: 5 s, and on hard days other than 10k bids also 10 s."""
        if self.hard_seed is not None and self.n_bids != 10_000:
            return (SHORT_LIMIT_S, HARD_LIMIT_S)
        return (SHORT_LIMIT_S,)

    @property
    def hard_limit_s(self) -> float | None:
        """The limit a hard day is judged at: 5 s for 10,000 bids, 10 s otherwise."""
        if self.hard_seed is None:
            return None
        return SHORT_LIMIT_S if self.n_bids == 10_000 else HARD_LIMIT_S


@dataclass(frozen=True, slots=True)
class Limits:
    """Time limits in seconds: our clearing's, and the baseline's."""

    ours_s: float
    baseline_s: float


# The scale curve covers 1k/10k/100k bids and 20/200/1,000 assets along two diagonals
# rather than the full 3x3: the missing corners add run time, not information.
INSTANCES: tuple[Instance, ...] = (
    Instance("1k-20a", 1_000, 20, baseline=True),
    Instance("1k-200a", 1_000, 200, baseline=True),
    Instance("10k-200a", 10_000, 200, baseline=True, reference_day=True),
    Instance("10k-1000a", 10_000, 1_000, baseline=True),
    Instance("100k-200a", 100_000, 200, baseline=False),
    Instance("100k-1000a", 100_000, 1_000, baseline=False),
)
# Hard days (issue 12): the reference day's fleet and products, books full of minimums,
# big exclusive groups and links; the seed changes the solve time a lot, so three each.
HARD: tuple[Instance, ...] = tuple(
    Instance(f"hard-{n // 1000}k-s{seed}", n, 200, baseline=False, hard_seed=seed)
    for n in (5_000, 10_000, 20_000)
    for seed in (1, 2, 3)
)
# Not run by default; available through --only.
EXTRA: tuple[Instance, ...] = (
    Instance("1k-1000a", 1_000, 1_000, baseline=True),
    Instance("10k-20a", 10_000, 20, baseline=True),
    Instance("100k-20a", 100_000, 20, baseline=False),
)
QUICK = INSTANCES[:2]
