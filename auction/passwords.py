"""The password policy: what a new password must not be.

Length first (12 to 128 characters: the upper bound keeps a 10 MB "password" away from
argon2), then what an attacker tries first: blanks, the most common passwords (also with
digits or symbols around them: ``dragon123456``), one short unit repeated
(``abcabcabcabc``), runs along the alphabet, the digits or a keyboard row
(``qwerty123456``), and the account's own email, its local part or the organisation's name
with little else. The rules follow NIST SP 800-63B §5.1.1.2: no composition rules (no
"one digit, one capital"), a list of known-bad passwords instead.
"""

from __future__ import annotations

import re
import string
from functools import cache
from importlib.resources import files

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128

# Runs a person types without thinking, read forwards or backwards. The keyboard rows are
# joined so that a run may go on to the next row (``qwertyuiopasdf``).
_SEQUENCES = (
    string.ascii_lowercase * 2,
    string.digits * 3,
    "1234567890qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",  # German
    "azertyuiopqsdfghjklmwxcvbn",  # French
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",  # keyboard columns
    "qazwsxedcrfvtgbyhnujmikolp",
    "!@#$%^&*()_+",
)
_MIN_RUN = 3  # a run shorter than this is no pattern
_EDGES = string.digits + string.punctuation + string.whitespace
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)
# What must be left of a password once a personal word is taken out of it.
_MIN_REST = 6


@cache
def common_passwords() -> frozenset[str]:
    """The list shipped as ``auction/common_passwords.txt`` (lower case)."""
    text = files("auction").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("# "))


def _is_run(part: str) -> bool:
    """One character repeated, or a stretch of one of the sequences, either way."""
    if len(set(part)) == 1:
        return True
    return any(part in way or part[::-1] in way for way in _SEQUENCES)


def _runs_only(text: str) -> bool:
    """Whether ``text`` is made of runs of at least three characters of the sequences
    above (either way) or of one repeated character: ``abcdef123456``, ``aaa111zyx``."""
    # ends[i]: text[i:] splits into such runs (a small dynamic programme: text is short).
    ends = [False] * len(text) + [True]
    for i in range(len(text) - _MIN_RUN, -1, -1):
        ends[i] = any(ends[j] and _is_run(text[i:j]) for j in range(i + _MIN_RUN, len(text) + 1))
    return bool(text) and ends[0]


def _mostly(password: str, word: str) -> bool:
    """Whether ``password`` (normalised) is ``word`` with little more than digits or
    symbols added: fewer than six other characters left once it is taken out."""
    if len(word) < _MIN_RUN or word not in password:
        return False
    return len(password.replace(word, "").strip(_EDGES)) < _MIN_REST


def _personal_words(email: str | None, org_name: str | None) -> list[str]:
    words = []
    if email:
        email = email.strip().lower()
        words += [email, email.partition("@")[0]]
    if org_name:
        name = org_name.strip().lower()
        words += [name, "".join(name.split())]
    return words


def password_problem(
    password: str, *, email: str | None = None, org_name: str | None = None
) -> str | None:
    """The rule ``password`` breaks, or None if it may be used.

    ``email`` and ``org_name`` are the account's: a password made of them is refused.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "password must not be only blank characters"
    folded = password.lower()
    squeezed = "".join(folded.split())
    if folded.strip() in common_passwords() or folded.strip(_EDGES) in common_passwords():
        return "password is one of the 10,000 most common passwords (or one with digits added)"
    if _REPEATED.fullmatch(squeezed):
        return "password must not be one character or one short part repeated"
    if _runs_only(squeezed):
        return "password must not be a run of the alphabet, the digits or a keyboard row"
    for word in _personal_words(email, org_name):
        if _mostly(folded, word) or _mostly(squeezed, word):
            return "password must not be your email, its name part or your organisation's name"
    return None
