"""The password policy and the sign-in throttle's delays, as rules on values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auction.passwords import common_passwords, password_problem
from auction.throttle import POLICIES, Scope, after_failure, blocked_until, retry_after_s

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_common_list_ships_with_the_package() -> None:
    common = common_passwords()
    assert len(common) == 10_000
    assert {"123456", "password", "qwertyuiop", "iloveyou"} <= common


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "fjords are deep and long",
        "kestrel.trader2026",  # the email's name part, with plenty besides
        "Tr0ub4dor&3 on a Tuesday",
        "x" * 6 + "lighthouse",
    ],
)
def test_passwords_a_person_may_choose(password: str) -> None:
    assert password_problem(password, email="trader@example.com", org_name="Alpha") is None


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("\t" * 12, "blank"),
        ("dragon123456", "common"),
        ("!!monkey!!2026", "common"),
        ("passwordpassword", "repeated"),
        ("zzzzzzzzzzzzzz", "repeated"),
        ("1234567890123", "run"),
        ("qwertyuiopasdf", "run"),
        ("zyxwvu987654", "run"),
        ("1qaz2wsx3edc4rfv", "common"),
        ("aaa111zyxcba", "run"),
        ("TRADER@EXAMPLE.COM", "email"),
        ("Alpha Trading 2026", "organisation"),
    ],
)
def test_weak_passwords_name_their_rule(password: str, rule: str) -> None:
    problem = password_problem(password, email="trader@example.com", org_name="Alpha Trading")
    assert problem is not None
    assert rule in problem


def test_the_delays_double_from_the_fifth_failure_up_to_each_cap() -> None:
    for scope, cap_s in ((Scope.ACCOUNT, 60), (Scope.ADDRESS, 900)):
        policy = POLICIES[scope]
        delays = [policy.delay(n).total_seconds() for n in range(1, 40)]
        assert delays[:4] == [0, 0, 0, 0]
        assert delays[4:8] == [1, 2, 4, 8]
        assert max(delays) == cap_s == delays[-1]


def test_failures_are_forgotten_after_an_hour_without_one() -> None:
    policy = POLICIES[Scope.ACCOUNT]
    state = None
    for _ in range(5):
        state = after_failure(state, policy, NOW)
    assert state is not None
    assert (state.count, state.blocked_until) == (5, NOW + timedelta(seconds=1))
    assert blocked_until([state, None], NOW) == NOW + timedelta(seconds=1)
    assert blocked_until([state], NOW + timedelta(seconds=1)) is None, "the block is over"
    assert retry_after_s(NOW + timedelta(milliseconds=10), NOW) == 1
    later = after_failure(state, policy, NOW + timedelta(hours=1))
    assert (later.count, later.blocked_until) == (1, None)
