"""D+1 nominations: sums per organisation and MTU, the CSV, the ESS-style XML and its schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from auction.eic import check_character
from auction.errors import DomainError
from auction.model import TENNET_DE
from auction.timegrid import day_bounds, mtu_count
from dispatch.frames import SCHEDULES
from settlement.nominations import (
    NAMESPACE,
    NOMINATIONS,
    nomination_csv,
    nomination_document_id,
    nominations,
    schedule_document,
    validate_document,
)
from tests.strategies import FALL_BACK, MTU, NORMAL_DAY, SPRING_FORWARD, local

TZ = "Europe/Berlin"
OPERATOR = "11XOPERATOR-BG-" + check_character("11XOPERATOR-BG-")
CUSTOMER = "11XCUSTOMER-A--" + check_character("11XCUSTOMER-A--")
NS = {"s": NAMESPACE}
CREATED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BLOCKS = pl.DataFrame(
    {"block_id": ["a1", "a2", "b1", "c1"], "org_id": ["org-a", "org-a", "org-b", "org-c"]}
)


def schedules(rows: list[tuple[str, datetime, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEDULES, orient="row")


def day_frame(day: date, rows: list[tuple[str, datetime, int]], org: str = "org-a") -> pl.DataFrame:
    start, end = day_bounds(day, TZ)
    return nominations(schedules(rows), BLOCKS, start, end).filter(pl.col("org_id") == org)


def document(
    frame: pl.DataFrame, day: date, version: int = 1, created: datetime = CREATED
) -> bytes:
    return schedule_document(
        frame,
        document_id=nomination_document_id(day, CUSTOMER),
        version=version,
        sender_eic=OPERATOR,
        receiver_eic=TENNET_DE,
        operator_eic=OPERATOR,
        customer_eic=CUSTOMER,
        tso_zone_eic=TENNET_DE,
        day=day,
        time_zone=TZ,
        created_at=created,
    )


def series(xml: bytes) -> dict[tuple[str, str], list[tuple[int, Decimal]]]:
    """(InParty, OutParty) → [(Pos, Qty)] of each time series."""
    root = etree.fromstring(xml)
    out = {}
    for ts in root.iterfind("s:ScheduleTimeSeries", NS):
        key = (ts.find("s:InParty", NS).get("v"), ts.find("s:OutParty", NS).get("v"))
        out[key] = [
            (int(i.find("s:Pos", NS).get("v")), Decimal(i.find("s:Qty", NS).get("v")))
            for i in ts.iterfind("s:Period/s:Interval", NS)
        ]
    return out


def value(xml: bytes, path: str) -> str:
    return etree.fromstring(xml).find(path, NS).get("v")


# --------------------------------------------------------------------------- the frame


def test_sums_per_org_and_mtu_with_zeros() -> None:
    t0, t1 = local(NORMAL_DAY, 10), local(NORMAL_DAY, 10, 15)
    frame = nominations(
        schedules([("a1", t0, 1000), ("a2", t0, -250), ("a2", t1, 40), ("b1", t1, -3000)]),
        BLOCKS,
        *day_bounds(NORMAL_DAY, TZ),
    )
    assert frame.schema == NOMINATIONS
    assert frame.height == 3 * 96  # org-c has a block but no schedule: zeros
    assert frame["org_id"].unique(maintain_order=True).to_list() == ["org-a", "org-b", "org-c"]
    assert frame.equals(frame.sort("org_id", "start"))
    non_zero = frame.filter(pl.col("power_kw") != 0).rows()
    assert non_zero == [("org-a", t0, 750), ("org-a", t1, 40), ("org-b", t1, -3000)]


def test_blocks_without_an_owner_give_no_rows() -> None:
    blocks = pl.concat([BLOCKS, pl.DataFrame({"block_id": ["x1"], "org_id": [None]})])
    frame = nominations(schedules([]), blocks, *day_bounds(NORMAL_DAY, TZ))
    assert frame["org_id"].unique().sort().to_list() == ["org-a", "org-b", "org-c"]


def test_schedules_outside_the_window_are_ignored() -> None:
    start, end = day_bounds(NORMAL_DAY, TZ)
    rows = [("a1", start - MTU, 500), ("a1", end, 500), ("a1", start, 1)]
    frame = nominations(schedules(rows), BLOCKS, start, end)
    assert frame["power_kw"].sum() == 1


def test_empty_day_gives_zero_rows_and_a_valid_document() -> None:
    frame = day_frame(NORMAL_DAY, [])
    assert frame.height == 96
    assert frame["power_kw"].to_list() == [0] * 96
    xml = document(frame, NORMAL_DAY)
    assert validate_document(xml) == []
    for points in series(xml).values():
        assert [q for _, q in points] == [Decimal("0.000")] * 96


def test_unknown_blocks_and_off_grid_starts_are_refused_together() -> None:
    start, end = day_bounds(NORMAL_DAY, TZ)
    blocks = pl.concat([BLOCKS, pl.DataFrame({"block_id": ["x1"], "org_id": [None]})])
    rows = [("nobody", start, 10), ("x1", start, 5), ("a1", start + timedelta(minutes=5), 10)]
    with pytest.raises(DomainError) as caught:
        nominations(schedules(rows), blocks, start, end)
    assert {(p.column, p.value) for p in caught.value.problems} == {
        ("block_id", "nobody"),
        ("block_id", "x1"),
        ("start", start + timedelta(minutes=5)),
    }


# --------------------------------------------------------------------------- the CSV


def test_csv_direction_and_exact_mw() -> None:
    t0 = local(NORMAL_DAY, 0)
    rows = [("a1", t0, -1250), ("a1", t0 + MTU, 7), ("a1", t0 + 2 * MTU, 12345)]
    lines = nomination_csv(day_frame(NORMAL_DAY, rows), OPERATOR, CUSTOMER, TZ).splitlines()
    assert lines[0] == "start,end,from_eic,to_eic,mw"
    assert lines[1:5] == [
        f"2026-11-29T00:00:00+01:00,2026-11-29T00:15:00+01:00,{CUSTOMER},{OPERATOR},1.250",
        f"2026-11-29T00:15:00+01:00,2026-11-29T00:30:00+01:00,{OPERATOR},{CUSTOMER},0.007",
        f"2026-11-29T00:30:00+01:00,2026-11-29T00:45:00+01:00,{OPERATOR},{CUSTOMER},12.345",
        f"2026-11-29T00:45:00+01:00,2026-11-29T01:00:00+01:00,{OPERATOR},{CUSTOMER},0.000",
    ]
    assert len(lines) == 1 + 96


def test_csv_on_the_fall_back_day_repeats_the_local_hour_with_its_offset() -> None:
    lines = nomination_csv(day_frame(FALL_BACK, []), OPERATOR, CUSTOMER, TZ).splitlines()
    starts = [line.split(",")[0] for line in lines[1:]]
    assert len(starts) == 100
    assert starts.count("2026-10-25T02:00:00+02:00") == 1
    assert starts.count("2026-10-25T02:00:00+01:00") == 1


# --------------------------------------------------------------------------- the XML


@pytest.mark.parametrize(
    ("day", "count", "interval"),
    [
        (SPRING_FORWARD, 92, "2026-03-28T23:00Z/2026-03-29T22:00Z"),
        (NORMAL_DAY, 96, "2026-11-28T23:00Z/2026-11-29T23:00Z"),
        (FALL_BACK, 100, "2026-10-24T22:00Z/2026-10-25T23:00Z"),
    ],
)
def test_dst_days_have_their_interval_count(day: date, count: int, interval: str) -> None:
    last = day_bounds(day, TZ)[1] - MTU
    xml = document(day_frame(day, [("a1", last, 2000)]), day)
    assert validate_document(xml) == []
    assert mtu_count(day) == count
    assert value(xml, "s:ScheduleTimeInterval") == interval
    for ts in etree.fromstring(xml).iterfind("s:ScheduleTimeSeries", NS):
        assert ts.find("s:Period/s:TimeInterval", NS).get("v") == interval
        assert ts.find("s:Period/s:Resolution", NS).get("v") == "PT15M"
    out = series(xml)[(CUSTOMER, OPERATOR)]
    assert [pos for pos, _ in out] == list(range(1, count + 1))
    assert out[-1] == (count, Decimal("2.000"))


def test_header() -> None:
    xml = document(day_frame(NORMAL_DAY, []), NORMAL_DAY)
    assert value(xml, "s:DocumentIdentification") == f"NOM-20261129-{CUSTOMER}"
    assert value(xml, "s:DocumentType") == "A01"
    assert value(xml, "s:CreationDateTime") == "2026-11-30T09:00:00Z"
    assert value(xml, "s:Domain") == TENNET_DE
    assert etree.fromstring(xml).find("s:SenderIdentification", NS).get("codingScheme") == "A01"


def test_negative_mtus_go_into_the_reverse_series() -> None:
    t = local(NORMAL_DAY, 12)
    xml = document(day_frame(NORMAL_DAY, [("a1", t, -500), ("a2", t + MTU, 300)]), NORMAL_DAY)
    by_pair = series(xml)
    assert list(by_pair) == [(CUSTOMER, OPERATOR), (OPERATOR, CUSTOMER)]
    out, back = by_pair[(CUSTOMER, OPERATOR)], by_pair[(OPERATOR, CUSTOMER)]
    pos = 12 * 4 + 1  # 12:00 local is the 49th MTU of a 96-MTU day
    assert (out[pos - 1][1], back[pos - 1][1]) == (Decimal("0.000"), Decimal("0.500"))
    assert (out[pos][1], back[pos][1]) == (Decimal("0.300"), Decimal("0.000"))
    assert sum(q for _, q in out) == Decimal("0.300")
    assert sum(q for _, q in back) == Decimal("0.500")


def test_versions_differ_only_in_version_and_creation_time() -> None:
    frame = day_frame(NORMAL_DAY, [("a1", local(NORMAL_DAY, 8), 900)])
    first = etree.fromstring(document(frame, NORMAL_DAY, 1, CREATED))
    second = etree.fromstring(document(frame, NORMAL_DAY, 2, CREATED + timedelta(days=1)))
    pairs = list(zip(first.iter(), second.iter(), strict=True))
    differing = {etree.QName(a).localname for a, b in pairs if a.attrib != b.attrib}
    assert differing == {"DocumentVersion", "CreationDateTime"}
    assert all(a.tag == b.tag for a, b in pairs)


# --------------------------------------------------------------------------- the schema


def _broken(xml: bytes, change) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root)


def _first(root, path: str):
    return root.find(path, NS)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r.remove(_first(r, "s:DocumentType")), id="missing element"),
        pytest.param(
            lambda r: _first(r, ".//s:Interval/s:Qty").set("v", "-1.000"), id="negative Qty"
        ),
        pytest.param(lambda r: _first(r, ".//s:Interval/s:Qty").set("v", "1.5"), id="2 decimals"),
        pytest.param(lambda r: _first(r, ".//s:Interval/s:Pos").set("v", "2"), id="Pos twice"),
        pytest.param(
            lambda r: _first(r, "s:Domain").set("codingScheme", "A10"), id="not an EIC scheme"
        ),
        pytest.param(lambda r: _first(r, "s:DocumentVersion").set("v", "0"), id="version 0"),
        pytest.param(
            lambda r: _first(r, "s:CreationDateTime").set("v", "2026-11-30T10:00:00+01:00"),
            id="local time",
        ),
    ],
)
def test_broken_documents_do_not_validate(change) -> None:
    xml = document(day_frame(NORMAL_DAY, [("a1", local(NORMAL_DAY, 3), 1)]), NORMAL_DAY)
    assert validate_document(xml) == []
    errors = validate_document(_broken(xml, change))
    assert errors
    assert all(e.startswith("line ") for e in errors)


def test_not_well_formed_xml_is_reported() -> None:
    assert validate_document(b"<ScheduleMessage>")[0].startswith("not well-formed XML")


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(day_frame(NORMAL_DAY, [])[1:], id="an MTU missing"),
        pytest.param(day_frame(SPRING_FORWARD, []), id="another day"),
        pytest.param(
            pl.concat([day_frame(NORMAL_DAY, []), day_frame(NORMAL_DAY, [], "org-b")]),
            id="two organisations",
        ),
    ],
)
def test_documents_need_one_org_and_every_mtu_of_the_day(frame: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"organisation|MTUs"):
        document(frame, NORMAL_DAY)


def test_bad_parties_are_refused() -> None:
    frame = day_frame(NORMAL_DAY, [])
    with pytest.raises(DomainError, match="check character"):
        nomination_csv(frame, OPERATOR, CUSTOMER[:-1] + "0", TZ)
    with pytest.raises(DomainError, match="differs"):
        nomination_csv(frame, OPERATOR, OPERATOR, TZ)


# --------------------------------------------------------------------------- property


@given(
    day=st.sampled_from([SPRING_FORWARD, NORMAL_DAY, FALL_BACK]),
    picks=st.lists(
        st.tuples(
            st.sampled_from(["a1", "a2"]),
            st.integers(0, 91),
            st.integers(-(10**6), 10**6).filter(bool),
        ),
        max_size=30,
        unique_by=lambda p: (p[0], p[1]),
    ),
)
def test_the_two_series_carry_the_frame_exactly(
    day: date, picks: list[tuple[str, int, int]]
) -> None:
    start = day_bounds(day, TZ)[0]
    frame = day_frame(day, [(block, start + k * MTU, kw) for block, k, kw in picks])
    expected = [0] * mtu_count(day)
    for _, k, kw in picks:
        expected[k] += kw
    assert frame["power_kw"].to_list() == expected
    xml = document(frame, day)
    by_pair = series(xml)
    out, back = by_pair[(CUSTOMER, OPERATOR)], by_pair[(OPERATOR, CUSTOMER)]
    net_kw = [(o - b) * 1000 for (_, o), (_, b) in zip(out, back, strict=True)]
    assert net_kw == expected
    assert validate_document(xml) == []
