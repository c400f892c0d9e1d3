"""``vba calendar``: a template saved from a file, a holiday marked, the calendar shown;
a bad file refused naming the field, changing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.cli.main import main
from api.services import auctions
from api.services.scheduler import tick
from auction.store import Store, migrate
from tests.calendar_bodies import template_body
from tests.strategies import asset


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'vba.db'}"
    monkeypatch.setenv("VBA_DATABASE_URL", url)
    monkeypatch.setenv("VBA_ENV", "sandbox")
    return url


NOW = ["--now", "2030-01-01T12:00:00Z"]  # the commands' clock, pinned


def test_a_template_from_a_file_a_holiday_and_the_calendar(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "daily.json"
    file.write_text(json.dumps(template_body(first_day="2030-01-10")))
    assert main(["calendar", "put", "daily", str(file), *NOW]) == 0
    assert "version 1 saved" in capsys.readouterr().out
    assert main(["calendar", "skip", "daily", "2030-01-11", "--reason", "maintenance", *NOW]) == 0
    store = Store(url)
    try:
        migrate(store)
        auctions.put_fleet(
            store, [asset("a1", 5.0, 10.0)], "test", datetime(2030, 1, 1, tzinfo=UTC)
        )
        tick(store, datetime(2030, 1, 4, 12, tzinfo=UTC))  # 01-10 and 01-11 opened
    finally:
        store.dispose()
    assert main(["calendar", "show", "--from", "2030-01-10", "--days", "3", *NOW]) == 0
    out = capsys.readouterr().out
    assert "daily-2030-01-10" in out
    assert "skipped" in out
    assert "maintenance" in out
    assert "planned" in out
    assert main(["calendar", "template", "daily"]) == 0
    assert '"first_day": "2030-01-10"' in capsys.readouterr().out
    # A day already decided cannot be marked; one ahead can, and unmarked again.
    assert main(["calendar", "skip", "daily", "2030-01-10", "--reason", "late", *NOW]) == 2
    assert (
        main(["calendar", "adapt", "daily", "2030-01-20", "--use", "daily", "--reason", "x"]) == 0
    )
    assert main(["calendar", "unmark", "daily", "2030-01-20", *NOW]) == 0


def test_a_bad_template_file_is_refused_naming_the_field(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = template_body()
    body["auction"]["gate_close"] = "D+2 15:00"
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(body))
    assert main(["calendar", "put", "daily", str(file), *NOW]) == 2
    assert "auction.gate_close" in capsys.readouterr().out
    assert main(["calendar", "template", "daily"]) == 2  # nothing was saved
    assert main(["calendar", "put", "daily", str(tmp_path / "missing.json"), *NOW]) == 2
    file.write_text(json.dumps(template_body()))
    assert main(["calendar", "put", "a/b", str(file), *NOW]) == 2  # not an id for an auction's
    assert main(["calendar", "put", "daily", str(file), *NOW]) == 0
    assert main(["calendar", "skip", "daily", "2030-01-20", "--reason", "x" * 501, *NOW]) == 2
    assert main(["calendar", "skip", "daily", "2030-01-20", "--reason", "a\x00b", *NOW]) == 2
