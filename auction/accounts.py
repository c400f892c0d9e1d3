"""Organisations, users and invites: the rules, apart from how they are stored."""

from __future__ import annotations

import re
from enum import StrEnum

from auction.eic import eic_problem
from auction.errors import DomainError, Problem
from auction.limits import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, control_character
from auction.passwords import MAX_PASSWORD_LENGTH as MAX_PASSWORD_LENGTH
from auction.passwords import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from auction.passwords import password_problem


class Role(StrEnum):
    BIDDER = "bidder"
    OPERATOR = "operator"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normal_email(email: str) -> str:
    """Emails are compared without case or surrounding blanks."""
    return email.strip().lower()


def check_organisation(name: str, eic: str, tso_zone: str) -> None:
    """A name, a valid EIC for the balancing group and a valid EIC for the TSO zone."""
    problems = []
    if not name.strip():
        problems.append(Problem("organisation", None, "name", name, "name must not be empty"))
    problems += _text_problems("organisation", "name", name, NAME_MAX_LENGTH)
    for field, code in (("eic", eic), ("tso_zone", tso_zone)):
        why = eic_problem(code)
        if why:
            problems.append(Problem("organisation", None, field, code, why))
    if problems:
        raise DomainError(problems)


def _text_problems(file: str, field: str, text: str, max_length: int) -> list[Problem]:
    """The store's limits on a text: its column's length, and no control characters
    (PostgreSQL cannot hold a NUL; the others have no place in a name)."""
    problems = []
    if len(text) > max_length:
        rule = f"{field} must have at most {max_length} characters"
        problems.append(Problem(file, None, field, text, rule))
    found = control_character(text)
    if found is not None:
        rule = f"{field} must not contain control characters; found {found}"
        problems.append(Problem(file, None, field, text, rule))
    return problems


def check_invite(email: str, role: str) -> None:
    # Judged as stored: lower() can lengthen a text ("İ" becomes two characters).
    problems = _text_problems("invite", "email", normal_email(email), EMAIL_MAX_LENGTH)
    if not problems and not _EMAIL.match(normal_email(email)):
        problems.append(Problem("invite", None, "email", email, "email must look like a@b.c"))
    if role not in {r.value for r in Role}:
        rule = "role must be bidder or operator"
        problems.append(Problem("invite", None, "role", role, rule))
    if problems:
        raise DomainError(problems)


def check_password(
    password: str,
    *,
    email: str | None = None,
    org_name: str | None = None,
    form: str = "accept-invite",
    field: str = "password",
) -> None:
    """Refuse a new password that breaks the policy of ``auction.passwords``; the error
    names ``field`` and the rule, never the password itself."""
    rule = password_problem(password, email=email, org_name=org_name)
    if rule is not None:
        raise DomainError([Problem(form, None, field, None, rule)])
