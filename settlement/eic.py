"""EIC codes for settlement: the rules live with the domain (``auction.eic``), where
organisations are checked when they are created; settlement names them here."""

from __future__ import annotations

from auction.eic import OBJECT_TYPES, Eic, check_character, eic_problem, parse_eic

__all__ = ["OBJECT_TYPES", "Eic", "check_character", "eic_problem", "parse_eic"]
