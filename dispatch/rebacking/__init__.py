"""Re-backing after an outage: keep virtual assets whole on what is left of the fleet.

An outage (a new availability row) may leave assets carrying more blocks than they can.
``reback`` re-solves the backing of the blocks delivering in the affected interval,
keeping all other backing as it is where possible; only what the remaining fleet cannot
carry is lost, in the MTUs where it cannot.

The interval is cut into *stretches*: maximal runs of MTUs in which nothing changes (the
availability of every asset, the blocks delivering, their current backing). Blocks of one
product and market (a *group* ``g``, one line of the clearing, see clearing/assets.py) are
interchangeable, so each stretch's LP decides kW per group and asset ``k`` around the
current backing ``B_gk`` (kW; ``c`` the capacity coefficients of docs/clearing.md: 1 for
power, the group's kWh per kW for energy)::

    min  LOST·Σ_g L_g + Σ_gk ((MOVE + TIE·rank_k)·u_gk + MOVE·d_gk)
    s.t. Σ_k (u_gk − d_gk) + L_g = P_g − Σ_k B_gk                     (whole, or lost)
         Σ_g c_g·(u_gk − d_gk) <= room_k − Σ_g c_g·B_gk      (discharge, charge, energy)
         0 <= d_gk <= B_gk,  u_gk >= 0 on allowed assets only,  0 <= L_g <= P_g

``room_k = a_k·cap_k`` plus a *grace*: an excess already there and no larger than the
clearing's own rounding (1 kW per group on the asset, times ``c``; the checker allows it)
may stay, anything larger must come down. A kW lost costs far more than a chain of moves
that saves it (so a reserve block gets a prequalified asset even if wholesale has to make
room on it); a move costs per kW taken off or put on (``|β_new − β_old|``). ``rank_k``
orders the assets by the power they have to spare through the whole interval (most
first, then asset_id): among equally cheap moves every stretch prefers the same assets,
so that a block keeps its new backing from one stretch to the next where it can. (One LP
over all stretches with a penalty on such changes was 12 times slower on the reference
day: 75,000 columns instead of 12 LPs of 2,800.) Stretches with the same data share one
solve, so identical inputs give identical answers.

The answer is made whole kW that exceed no room: floors, then the missing kW handed out
where all three rows of the asset still hold. Only where that loses more than the LP's
loss rounded up (a vertex may split kW so that no single asset has room for the whole
kW), an integer search next to the LP optimum finds the least loss, then the fewest
moves (``_whole_kw``). The group's kW are then laid back onto its blocks with as few
changes as possible (``relay``): kW come off the blocks on assets that lost share, last
blocks of the line first, and the freed kW go to the blocks short of backing, first
blocks first. A loss thus falls on the blocks at the END of the group's line among those
the outage touched; the line is the order of the rows of ``blocks`` within a product and
market (the clearing's: fixed allocations, then bids in award order). Everything else is
sorted first, so no other row order matters. A group's energy per kW is ``ΣE / ΣP`` of
its blocks (they differ only by the rounding of energy to 1 kWh).
"""

from __future__ import annotations

from dispatch.rebacking.blocks import relay
from dispatch.rebacking.from_clearing import clearing_frames
from dispatch.rebacking.orchestration import reback
from dispatch.rebacking.summary import Rebacking

__all__ = ["Rebacking", "clearing_frames", "reback", "relay"]
