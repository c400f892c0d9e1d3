"""Energy Identification Codes (EIC): 16 characters, the last a check character.

The check character is ENTSO-E's: each of the first 15 characters has a value (digits
0-9, letters A-Z 10-35, '-' 36), weighted 16, 15, ... 2; the check value is
36 - ((sum - 1) mod 37), written in the same alphabet (36 is '-', 37 cannot occur).
"""

from __future__ import annotations

import re

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
_SHAPE = re.compile(r"^[0-9]{2}[A-Z0-9-]{14}$")


def check_character(first15: str) -> str:
    """The check character for the first 15 characters of an EIC."""
    total = sum(_ALPHABET.index(c) * (16 - i) for i, c in enumerate(first15))
    value = 36 - ((total - 1) % 37)
    return _ALPHABET[value]


def eic_problem(code: str) -> str | None:
    """Why ``code`` is not a valid EIC, or None if it is."""
    if not _SHAPE.match(code):
        return (
            "an EIC has 16 characters: two digits (the issuing office), then 13 of "
            "A-Z, 0-9 or '-', then the check character"
        )
    expected = check_character(code[:15])
    if code[15] != expected:
        return f"the EIC's check character is {code[15]!r}, but should be {expected!r}"
    return None
