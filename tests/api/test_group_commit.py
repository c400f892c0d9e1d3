"""Group commit on SQLite: writes waiting for the writer share one transaction, and each
still succeeds or fails alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

from auction.store import Store, migrate
from auction.store.audit import events, record
from auction.store.engine import Connection

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Refused(Exception):
    pass


def test_queued_writes_share_one_commit_and_a_failing_one_is_rolled_back_alone(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vba.db'}")
    migrate(store)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))

    def work(n: int) -> Callable[[Connection], int]:
        def write(conn: Connection) -> int:
            record(conn, "tester", f"write.{n}", "subject", NOW)
            if n == 2:
                raise Refused("the second write breaks a rule after writing")
            return n

        return write

    answers: dict[int, int | Exception] = {}

    def send(n: int) -> None:
        try:
            answers[n] = store.write_each(work(n))
        except Refused as exc:
            answers[n] = exc

    # Hold the writer, as a long write would, while three requests queue behind it.
    with store._write_lock:
        threads = [threading.Thread(target=send, args=(n,)) for n in (1, 2, 3)]
        for t in threads:
            t.start()
        while len(store._queue) < 3:  # all three queued: no timing involved
            threading.Event().wait(0.001)
    for t in threads:
        t.join()

    assert commits == [1]  # one transaction, one COMMIT, one fsync for the three
    assert answers[1] == 1
    assert isinstance(answers[2], Refused)
    assert answers[3] == 3
    with store.read() as conn:
        assert [e["action"] for e in events(conn)] == ["write.1", "write.3"]
    store.dispose()


def test_a_write_alone_that_fails_changes_nothing_and_raises(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vba.db'}")
    migrate(store)

    def write(conn: Connection) -> None:
        record(conn, "tester", "write", "subject", NOW)
        raise Refused("refused")

    try:
        store.write_each(write)
    except Refused:
        pass
    else:
        raise AssertionError("the refusal did not reach the caller")
    assert store.write_each(lambda conn: 7) == 7
    with store.read() as conn:
        assert events(conn) == []
    store.dispose()
