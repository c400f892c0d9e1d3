"""Organisations, users and invites: the rules, apart from how they are stored."""

from __future__ import annotations

import re
from enum import StrEnum

from auction.eic import eic_problem
from auction.errors import DomainError, Problem
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
    for field, code in (("eic", eic), ("tso_zone", tso_zone)):
        why = eic_problem(code)
        if why:
            problems.append(Problem("organisation", None, field, code, why))
    if problems:
        raise DomainError(problems)


def check_invite(email: str, role: str) -> None:
    problems = []
    if not _EMAIL.match(normal_email(email)):
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
