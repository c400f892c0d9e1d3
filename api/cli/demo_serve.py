"""``vba demo --serve``: keep the demo's store running, for a person to look around.

The server runs on the sandbox's clock, set to D-1 of the sample day at 12:00 (Berlin)
when it starts and then moving at the speed of the wall clock: the sample auction is
published, its virtual assets are upcoming and can be dispatched, and a second auction,
for the next day, is open for bids until 15:00 of the sandbox's time. The operator moves
the time forward with ``POST /sandbox/clock`` (or ``vba sandbox advance``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console

from api import services
from api.http.settings import Settings
from api.web.render import berlin
from auction.archive import read_archive
from auction.sample import sample_dir
from auction.store import Store
from auction.store.sandbox_clock import StoreClock

NEXT_AUCTION = "next-day"


def demo_now() -> datetime:
    """D-1 of the sample day, 12:00 in Berlin: after publication, before delivery."""
    config = read_archive(sample_dir()).config
    assert config.publish_at is not None
    return (config.publish_at + timedelta(hours=19)).astimezone(UTC)


def open_next_auction(store: Store, now: datetime) -> date:
    """The sample auction again, one day later, with its gate open at ``now``; returns its
    delivery day. Its gate closes a day after the sample's (15:00 on ``now``'s day)."""
    sample = read_archive(sample_dir())
    assert sample.config.gate_close is not None
    assert sample.config.publish_at is not None
    shift = timedelta(days=1)
    day = sample.config.delivery_day + shift
    config = sample.config.model_dump(mode="json")
    config.update(
        auction_id=NEXT_AUCTION,
        delivery_day=day.isoformat(),
        gate_open=(now - timedelta(days=2)).isoformat(),
        gate_close=(sample.config.gate_close + shift).isoformat(),
        publish_at=(sample.config.publish_at + shift).isoformat(),
    )
    products = [
        {
            **row,
            "start": (row["start"] + shift).isoformat(),
            "end": (row["end"] + shift).isoformat(),
        }
        for row in sample.products.to_dicts()
    ]
    with store.write() as conn:
        services.auctions.create_auction(
            conn, config, products, [], auto_publish=False, actor="demo", now=now
        )
        services.auctions.step(conn, NEXT_AUCTION, "open", "demo", now)
    return day


def serve(console: Console, workdir: Path, names: list[str], password: str, port: int) -> None:
    """Serve the demo's store on 127.0.0.1:``port`` until interrupted."""
    from api.http import logs
    from api.http.app import create_app
    from api.http.serving import serve as run_server

    url = f"sqlite:///{workdir / 'vba.db'}"
    now = demo_now()
    store = Store(url)
    try:
        # The sandbox's offset from the wall clock, in the store: the server starts there.
        wall = StoreClock(store, lambda: datetime.now(UTC), sandbox=True)
        services.sandbox.set_up_clock(store, wall, now, "demo")
        next_day = open_next_auction(store, now)
    finally:
        store.dispose()
    app = create_app(Settings(database_url=url))
    # The busiest bidder: the demo dispatched two of its virtual assets.
    busiest = str(read_archive(sample_dir()).bids["org_id"].mode().sort()[0])
    others = sorted(name for name in names if name not in ("operator", busiest))
    console.rule("The demo's store is being served")
    console.print(
        f"Web frontend: http://127.0.0.1:{port}/ui/   API reference: "
        f"http://127.0.0.1:{port}/docs\n"
        f"Sign in as operator@demo.example (the operator) or as a trader: "
        f"{busiest}@demo.example (it has dispatched), or one of "
        f"{', '.join(t + '@demo.example' for t in others[:3])}, …;\n"
        f"every demo user's password is: {password}\n"
        f"The sandbox's clock starts at {berlin(now)} and runs on: the sample "
        f"auction is published and its virtual assets can be dispatched (Dispatch → "
        f"Upcoming); auction {NEXT_AUCTION!r} for {next_day} is open for bids until 15:00 "
        f"Berlin. The operator moves the time forward with POST /sandbox/clock, or: "
        f"VBA_DATABASE_URL={url} vba sandbox advance 2h. Ctrl+C stops the server.",
        markup=False,
    )
    logs.configure("text")  # a line per request and per auction step, as `vba serve` prints
    run_server(app, "127.0.0.1", port)
