"""Hostile values in every field of every write endpoint: never a 5xx, nothing stored on a 4xx.

The targets come from the app's OpenAPI document (every write operation; every body field,
walked along its schema; every path, query and header parameter), the values from
tests/reliability/hostile.py (numbers beyond any store, raw NaN, exponent strings, NUL,
control characters, unicode digits, long strings, wrong types, deep nesting, long arrays)
and from hypothesis. Each value goes into a valid request of the world (fresh ids each
time); the answer must be a 2xx, or a 4xx with the store unchanged whose 422 names the
field. In-process on SQLite, and on PostgreSQL when ``VBA_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store
from tests.api.conftest import SECRET, Clock, postgres_schema, postgres_url
from tests.reliability.hostile import (
    BASES,
    HOSTILE,
    TRUSTED,
    WRITES,
    Hostile,
    Target,
    World,
    base_refused,
    build_world,
    pinned,
    probe,
    shape_world,
    targets,
    verdict,
)

DRAWN = 3  # values hypothesis draws per target after the pinned ones


def _generated() -> st.SearchStrategy[Hostile]:
    """Values hypothesis makes: big and odd numbers, odd characters, the fixed classes."""
    numbers = st.one_of(
        st.integers(min_value=10**15, max_value=10**40),
        st.integers(max_value=-(10**15), min_value=-(10**40)),
        st.floats(allow_nan=True, allow_infinity=True),
    ).map(lambda n: Hostile(f"number {n!r}", _json_number(n), repr(n)))
    texts = st.text(
        st.characters(categories=["Cc", "Cf", "Nd", "No", "Zs", "Co"]), min_size=1, max_size=40
    ).map(lambda t: Hostile("odd characters", _json_text(t), t))
    return st.one_of(st.sampled_from(HOSTILE), numbers, texts)


def _json_number(n: float) -> str:
    return json.dumps(n, allow_nan=True)


def _json_text(t: str) -> str:
    return json.dumps(t)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store of the module's own: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'vba.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL store tests need VBA_TEST_POSTGRES_URL (.ci/run sets it)")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture(scope="module")
def world(store_url: str) -> Iterator[World]:
    clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    settings = Settings(
        database_url=store_url, secret_key=SECRET, token_minutes=7 * 24 * 60, **TRUSTED
    )
    app = create_app(settings, clock=clock, scheduler=False)
    # A 500 must come back as an answer, not as the server's exception in the test.
    with TestClient(app, raise_server_exceptions=False) as client:
        store: Store = app.state.store
        yield build_world(store, client, clock)


def _document() -> dict[str, object]:
    settings = Settings(database_url="sqlite://", secret_key=SECRET)
    app: FastAPI = create_app(settings, scheduler=False)
    return app.openapi()


# The body fields are walked along a valid body: a world without a store gives its shape.
TARGETS = targets(_document(), shape_world())


def test_every_write_endpoint_has_a_valid_request() -> None:
    """A new write endpoint fails here until BASES has a valid request of it."""
    document = _document()
    writes = {
        (method, template)
        for template, operations in document["paths"].items()  # type: ignore[union-attr]
        for method in operations
        if method in WRITES
    }
    assert writes == set(BASES)


@pytest.mark.parametrize("target", TARGETS, ids=str)
@settings(
    max_examples=DRAWN,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],  # no shrinking: the value's class says it
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(value=_generated())
def test_a_hostile_value_gets_a_2xx_or_a_4xx_that_changes_nothing(
    world: World, target: Target, value: Hostile
) -> None:
    """Drawn values; the classes that broke the server once come first (below)."""
    _check(world, target, value)


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_every_known_hostile_class_gets_a_2xx_or_a_4xx_that_changes_nothing(
    world: World, target: Target
) -> None:
    """Every class of the issue for the types the place takes (a number place gets 10**30,
    1e17, "1e999999", Infinity; a string place NUL, 201 characters, "²", "", a lone
    surrogate; every place raw NaN and a wrong type); every failing class is listed, not
    only the first."""
    problems = []
    for value in pinned(target):
        try:
            _check(world, target, value)
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def _check(world: World, target: Target, value: Hostile) -> None:
    sent = probe(world, target, value)
    problem = verdict(sent, base_refused(world, target.method, target.template))
    assert problem is None, f"{target} <- {value!r}: {problem}"
