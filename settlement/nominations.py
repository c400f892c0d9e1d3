"""D+1 nominations: each customer's virtual-asset schedules, from our balancing group to theirs.

On the day after delivery the operator nominates, per customer organisation, the final
wholesale schedules of all its virtual assets summed per MTU, from the operator's balancing
group to the customer's (both EIC codes in one TSO zone), so that the TSO sees the
imbalance of both groups as administrative. Positive power is the fleet discharging on the
customer's behalf (energy flows operator → customer), negative is charging (customer →
operator). Frames hold exact kW; MW appear only in the written forms, with 3 decimals,
which is the kW exactly.

The XML follows the structure of the ENTSO-E Scheduling System (ESS) schedule message and
validates against ``settlement/schemas/schedule_document.xsd``, this project's own schema.
Re-running a settled day must keep the document identification and raise the version
(``nomination_document_id``), so that a receiver never sees a silent overwrite.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

import polars as pl
from lxml import etree

from auction.archive import table_csv
from auction.book import UTC_TIME
from auction.book import schema as _schema
from auction.eic import eic_problem
from auction.errors import DomainError, Problem
from auction.timegrid import Grid, day_bounds, whole_mtus

NAMESPACE = "urn:vba-engine:ess-schedule:1"

# One row per organisation and MTU of the window, zeros included: a nomination states
# every MTU of the day, also those in which nothing flowed.
NOMINATIONS = _schema({"org_id": pl.String, "start": UTC_TIME, "power_kw": pl.Int64})

# ESS codes the documents use (ENTSO-E code lists).
DOCUMENT_TYPE = "A01"  # balance responsible schedule
PROCESS_TYPE = "A17"  # schedule day: the whole delivery day is nominated
CLASSIFICATION_TYPE = "A01"  # detail type
SENDER_ROLE = "A01"  # trade responsible party: the operator's balancing group
RECEIVER_ROLE = "A04"  # system operator: the TSO of the zone
BUSINESS_TYPE = "A02"  # internal trade: both balancing groups are in one TSO zone
PRODUCT = "8716867000016"  # active power
OBJECT_AGGREGATION = "A01"  # area
EIC_SCHEME = "A01"


def nominations(
    schedules: pl.DataFrame,
    blocks: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
) -> pl.DataFrame:
    """Each organisation's wholesale schedules summed per MTU of ``[start, end)``.

    Parameters
    ----------
    schedules
        Accepted schedules as ``dispatch.frames.SCHEDULES`` (non-zero MTUs only); rows
        outside the window are ignored, so a frame of several days may be passed.
    blocks
        block_id and org_id, the owner of the block's virtual asset. Every organisation
        listed here gets rows, also one without any schedule.
    start, end
        The window (a delivery day: ``auction.timegrid.day_bounds``), UTC-aware.

    Returns
    -------
    pl.DataFrame
        ``NOMINATIONS``: every MTU for every organisation, sorted by org_id and start;
        power_kw is the exact sum (0 where nothing was scheduled).

    Raises
    ------
    DomainError
        A schedule row in the window names a block without an owner in ``blocks``, or
        starts off the MTU grid; a block has two owners.
    """
    aware = start.tzinfo is not None and end.tzinfo is not None
    n_mtu = whole_mtus(start, end, mtu_minutes) if aware else None
    if n_mtu is None:
        raise ValueError(f"[{start}, {end}) is not a UTC-aware window of whole MTUs")
    grid = Grid(start.astimezone(UTC), n_mtu, mtu_minutes)
    # A block without an owner gives no organisation rows; a schedule on it is refused.
    owners = blocks.select("block_id", "org_id").drop_nulls("org_id").unique()
    window = schedules.filter(pl.col("start") >= start, pl.col("start") < end).join(
        owners, on="block_id", how="left"
    )
    _check_inputs(window, owners, grid)
    sums = window.group_by("org_id", "start").agg(pl.col("power_kw").sum())
    orgs = owners.select("org_id").unique()
    return (
        orgs.join(grid.starts().to_frame(), how="cross")
        .join(sums, on=["org_id", "start"], how="left")
        .with_columns(pl.col("power_kw").fill_null(0).cast(pl.Int64))
        .select(NOMINATIONS.names())
        .sort("org_id", "start")
    )


def _check_inputs(window: pl.DataFrame, owners: pl.DataFrame, grid: Grid) -> None:
    """Every problem of the inputs at once (``DomainError``), or nothing."""
    problems = [
        Problem("blocks", None, "org_id", block, "a block belongs to one organisation")
        for block in owners.filter(pl.col("block_id").is_duplicated())["block_id"].unique()
    ]
    problems += [
        Problem("schedules", None, "block_id", block, "the block has no owner in blocks")
        for block in window.filter(pl.col("org_id").is_null())["block_id"].unique().sort()
    ]
    off_grid = window.filter(~grid.on_grid("start"))
    problems += [
        Problem("schedules", None, "start", instant, "a schedule starts on an MTU edge")
        for instant in off_grid["start"].unique().sort()
    ]
    if problems:
        raise DomainError(problems)


def nomination_document_id(day: date, customer_eic: str) -> str:
    """The identification of a customer's nomination for ``day``, the same in every version.

    A re-run of the day sends this identification again with a higher version, which
    replaces the earlier document at the receiver openly instead of overwriting it.
    """
    return f"NOM-{day:%Y%m%d}-{customer_eic}"


def nomination_csv(
    frame: pl.DataFrame,
    operator_eic: str,
    customer_eic: str,
    time_zone: str,
    *,
    mtu_minutes: int = 15,
) -> str:
    """One organisation's nomination as CSV: start, end, from_eic, to_eic, mw.

    ``frame`` holds start and power_kw (one organisation's rows of ``nominations``).
    start and end are local ISO 8601 with the offset, as the archive writes them. mw is
    never negative and has exactly 3 decimals after a point (the kW exactly, no
    rounding); the direction is from_eic → to_eic: operator → customer for positive
    power and for 0, customer → operator for negative power.
    """
    _check_parties({"operator_eic": operator_eic, "customer_eic": customer_eic})
    back = pl.col("power_kw") < 0
    operator, customer = pl.lit(operator_eic), pl.lit(customer_eic)
    text = _one_org(frame).select(
        "start",
        end=pl.col("start") + timedelta(minutes=mtu_minutes),
        from_eic=pl.when(back).then(customer).otherwise(operator),
        to_eic=pl.when(back).then(operator).otherwise(customer),
        mw=_mw_text(pl.col("power_kw")),
    )
    return table_csv(text, time_zone)


def schedule_document(
    frame: pl.DataFrame,
    *,
    document_id: str,
    version: int,
    sender_eic: str,
    receiver_eic: str,
    operator_eic: str,
    customer_eic: str,
    tso_zone_eic: str,
    day: date,
    time_zone: str,
    created_at: datetime,
    mtu_minutes: int = 15,
) -> bytes:
    """One organisation's nomination of ``day`` as an ESS-style schedule document (UTF-8).

    Two time series, each with every MTU of the day (Pos 1..N, N = 92, 96 or 100) and
    non-negative Qty in MW with 3 decimals: ``TS1`` operator → customer (InParty the
    customer, OutParty the operator) carries the positive powers, ``TS2`` customer →
    operator the negative ones, so out minus back is the frame's power in every MTU.

    Parameters
    ----------
    frame
        start and power_kw of one organisation, exactly the MTUs of ``day``.
    document_id, version
        Keep ``document_id`` (``nomination_document_id``) across re-runs and raise
        ``version`` (from 1): only DocumentVersion and CreationDateTime then differ.
    sender_eic, receiver_eic
        Who sends (role A01, the operator's balancing group as a rule) and receives (role
        A04, the TSO).
    operator_eic, customer_eic, tso_zone_eic
        The two balancing groups and the control area both are in.
    """
    _check_parties(
        {
            "sender_eic": sender_eic,
            "receiver_eic": receiver_eic,
            "operator_eic": operator_eic,
            "customer_eic": customer_eic,
            "tso_zone_eic": tso_zone_eic,
        }
    )
    if version < 1:
        raise ValueError(f"document versions count from 1, not {version}")
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    power = _day_powers(frame, day, time_zone, mtu_minutes)
    start, end = day_bounds(day, time_zone)
    interval = f"{_utc_minute(start)}/{_utc_minute(end)}"

    root = etree.Element(_tag("ScheduleMessage"), nsmap={None: NAMESPACE})
    _value(root, "DocumentIdentification", document_id)
    _value(root, "DocumentVersion", str(version))
    _value(root, "DocumentType", DOCUMENT_TYPE)
    _value(root, "ProcessType", PROCESS_TYPE)
    _value(root, "ScheduleClassificationType", CLASSIFICATION_TYPE)
    _value(root, "SenderIdentification", sender_eic, EIC_SCHEME)
    _value(root, "SenderRole", SENDER_ROLE)
    _value(root, "ReceiverIdentification", receiver_eic, EIC_SCHEME)
    _value(root, "ReceiverRole", RECEIVER_ROLE)
    _value(root, "CreationDateTime", created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    _value(root, "ScheduleTimeInterval", interval)
    _value(root, "Domain", tso_zone_eic, EIC_SCHEME)
    flows = (
        ("TS1", customer_eic, operator_eic, [max(kw, 0) for kw in power]),
        ("TS2", operator_eic, customer_eic, [max(-kw, 0) for kw in power]),
    )
    for series_id, in_party, out_party, quantities in flows:
        series = etree.SubElement(root, _tag("ScheduleTimeSeries"))
        _value(series, "SendersTimeSeriesIdentification", series_id)
        _value(series, "BusinessType", BUSINESS_TYPE)
        _value(series, "Product", PRODUCT)
        _value(series, "ObjectAggregation", OBJECT_AGGREGATION)
        _value(series, "InArea", tso_zone_eic, EIC_SCHEME)
        _value(series, "OutArea", tso_zone_eic, EIC_SCHEME)
        _value(series, "InParty", in_party, EIC_SCHEME)
        _value(series, "OutParty", out_party, EIC_SCHEME)
        _value(series, "MeasurementUnit", "MAW")
        period = etree.SubElement(series, _tag("Period"))
        _value(period, "TimeInterval", interval)
        _value(period, "Resolution", f"PT{mtu_minutes}M")
        for pos, kw in enumerate(quantities, start=1):
            point = etree.SubElement(period, _tag("Interval"))
            _value(point, "Pos", str(pos))
            _value(point, "Qty", _mw(kw))
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def validate_document(xml: bytes) -> list[str]:
    """Why ``xml`` is not a valid schedule document, one line per XSD error (empty: valid)."""
    try:
        tree = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    schema = _xsd()
    # The schema object keeps the log of its last validation: one validation at a time.
    with _VALIDATING:
        if schema.validate(tree):
            return []
        return [f"line {entry.line}: {entry.message}" for entry in schema.error_log]


_VALIDATING = threading.Lock()


@cache
def _xsd() -> Any:
    """The schema, parsed once from the package data (shipped in the wheel)."""
    source = files("settlement").joinpath("schemas/schedule_document.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(source, _parser()))


def _parser() -> Any:
    """A parser that neither expands entities nor reaches the network (a fresh one per use:
    lxml parsers are not shared across threads)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _value(parent: Any, name: str, value: str, coding_scheme: str | None = None) -> None:
    """An ESS element: the value in ``v``, EIC codes with their coding scheme."""
    element = etree.SubElement(parent, _tag(name))
    if coding_scheme is not None:
        element.set("codingScheme", coding_scheme)
    element.set("v", value)


def _utc_minute(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _mw(kw: int) -> str:
    """Non-negative kW as MW with 3 decimals: integer arithmetic, so the text is exact."""
    return f"{kw // 1000}.{kw % 1000:03d}"


def _mw_text(kw: pl.Expr) -> pl.Expr:
    """``_mw`` of |kW| as a polars expression."""
    magnitude = kw.abs()
    thousandths = (magnitude % 1000).cast(pl.String).str.zfill(3)
    return pl.format("{}.{}", magnitude // 1000, thousandths)


def _one_org(frame: pl.DataFrame) -> pl.DataFrame:
    """start and power_kw of a single organisation's frame, by start."""
    if "org_id" in frame.columns and frame["org_id"].n_unique() > 1:
        raise ValueError("a nomination is for one organisation: filter the frame by org_id")
    if frame["power_kw"].null_count():
        raise ValueError("power_kw has nulls: every MTU needs its power (0 if none)")
    return frame.select("start", "power_kw").sort("start")


def _day_powers(frame: pl.DataFrame, day: date, time_zone: str, mtu_minutes: int) -> list[int]:
    """The frame's kW per MTU of ``day``, after checking it holds every MTU once."""
    rows = _one_org(frame)
    grid = Grid.of_day(day, mtu_minutes, time_zone)
    expected, count = grid.starts(), grid.n_mtu
    if rows.height != count or not rows["start"].cast(UTC_TIME).equals(expected, check_names=False):
        raise ValueError(f"the frame must hold each of the {count} MTUs of {day} exactly once")
    return [int(kw) for kw in rows["power_kw"]]


def _check_parties(codes: dict[str, str]) -> None:
    """Every EIC well-formed and the two balancing groups distinct (``DomainError``)."""
    problems = [
        Problem("nomination", None, name, code, problem)
        for name, code in codes.items()
        if (problem := eic_problem(code)) is not None
    ]
    if codes.get("operator_eic") == codes.get("customer_eic"):
        problems.append(
            Problem(
                "nomination",
                None,
                "customer_eic",
                codes["customer_eic"],
                "the customer's balancing group differs from the operator's",
            )
        )
    if problems:
        raise DomainError(problems)
