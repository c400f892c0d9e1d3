"""Group commit on SQLite: writes waiting for the writer share one transaction, and each
still succeeds or fails alone."""

from __future__ import annotations

import asyncio
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


def test_coroutines_hand_their_writes_to_the_writer_thread_and_share_one_commit(
    tmp_path: Path,
) -> None:
    """``write_soon`` (async routes): three writes queued before the writer takes any
    share one COMMIT; the refused one is rolled back alone and raises in its own
    coroutine; every answer comes after the COMMIT."""
    store = Store(f"sqlite:///{tmp_path / 'vba.db'}")
    migrate(store)
    log: list[str] = []
    event.listen(store.engine, "commit", lambda _conn: log.append("commit"))

    def work(n: int) -> Callable[[Connection], int]:
        def write(conn: Connection) -> int:
            record(conn, "tester", f"write.{n}", "subject", NOW)
            if n == 2:
                raise Refused("the second write breaks a rule after writing")
            return n

        return write

    async def send(n: int) -> int | Exception:
        try:
            answer = await store.write_soon(work(n))
        except Refused as exc:
            log.append(f"answer {n}")
            return exc
        log.append(f"answer {n}")
        return answer

    async def main() -> list[int | Exception]:
        held = threading.Thread()  # stands in for the writer until all three are queued
        store._writer_thread = held
        sending = [asyncio.ensure_future(send(n)) for n in (1, 2, 3)]
        while store._inbox.qsize() < 3:
            await asyncio.sleep(0)
        store._writer_thread = None
        store._start_writer()
        return await asyncio.gather(*sending)

    answers = asyncio.run(main())
    assert answers[0] == 1
    assert isinstance(answers[1], Refused)
    assert answers[2] == 3
    assert log[0] == "commit"
    assert sorted(log[1:]) == ["answer 1", "answer 2", "answer 3"]
    with store.read() as conn:
        assert [e["action"] for e in events(conn)] == ["write.1", "write.3"]
    store.dispose()


def test_a_write_whose_caller_went_away_stands_and_the_writer_goes_on(tmp_path: Path) -> None:
    """A client that disconnects cancels its coroutine, not its write (which may have
    committed already); the writer thread keeps serving the next ones."""
    store = Store(f"sqlite:///{tmp_path / 'vba.db'}")
    migrate(store)
    started = threading.Event()
    release = threading.Event()

    def slow(conn: Connection) -> str:
        started.set()
        release.wait(30)
        record(conn, "tester", "slow", "subject", NOW)
        return "slow"

    async def main() -> str:
        waiting = asyncio.ensure_future(store.write_soon(slow))
        while not started.is_set():
            await asyncio.sleep(0.001)
        waiting.cancel()
        release.set()
        return await store.write_soon(lambda conn: "next")

    assert asyncio.run(main()) == "next"
    with store.read() as conn:
        assert [e["action"] for e in events(conn)] == ["slow"]
    store.dispose()
