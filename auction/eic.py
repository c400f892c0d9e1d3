"""Energy Identification Codes (EIC): 16 characters, the last a check character.

Layout: two digits for the issuing office, one letter for the type of object, twelve
characters of the code itself (A-Z, 0-9, '-'), and the check character. The check is
ENTSO-E's: each of the first 15 characters has a value (digits 0-9, letters A-Z 10-35,
'-' 36), weighted 16, 15, ... 2; the check value is 36 - ((sum - 1) mod 37), written in
the same alphabet (36 is '-', 37 cannot occur).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
_SHAPE = re.compile(r"^[0-9]{2}[A-Z][A-Z0-9-]{13}$")
# The object types of the EIC reference manual.
OBJECT_TYPES = {
    "A": "substation",
    "T": "tie line",
    "V": "location",
    "W": "resource object",
    "X": "party",
    "Y": "area or domain",
    "Z": "measurement point",
}


@dataclass(frozen=True, slots=True)
class Eic:
    """A valid EIC, taken apart."""

    code: str

    @property
    def issuing_office(self) -> str:
        return self.code[:2]

    @property
    def object_type(self) -> str:
        """The type letter: X for a party (a balancing group's owner), Y for an area."""
        return self.code[2]

    @property
    def object_name(self) -> str:
        return OBJECT_TYPES[self.object_type]

    def __str__(self) -> str:
        return self.code


def check_character(first15: str) -> str:
    """The check character for the first 15 characters of an EIC."""
    total = sum(_ALPHABET.index(c) * (16 - i) for i, c in enumerate(first15))
    value = 36 - ((total - 1) % 37)
    return _ALPHABET[value]


def eic_problem(code: str) -> str | None:
    """Why ``code`` is not a valid EIC, or None if it is."""
    if not _SHAPE.match(code):
        return (
            "an EIC has 16 characters: two digits (the issuing office), the object type "
            "letter, then 12 of A-Z, 0-9 or '-', then the check character"
        )
    if code[2] not in OBJECT_TYPES:
        kinds = ", ".join(f"{k} {v}" for k, v in OBJECT_TYPES.items())
        return f"the EIC's object type {code[2]!r} is not one of {kinds}"
    expected = check_character(code[:15])
    if code[15] != expected:
        return f"the EIC's check character is {code[15]!r}, but should be {expected!r}"
    return None


def parse_eic(code: str) -> Eic:
    """``code`` as an ``Eic``; ValueError saying why if it is not a valid one."""
    problem = eic_problem(code)
    if problem is not None:
        raise ValueError(problem)
    return Eic(code)
