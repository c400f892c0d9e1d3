"""Dispatch → Upcoming / Active / Past, and one virtual asset's dispatch page (the guide's
"select your timeslot and assign a dispatch value in kW … Click Submit Schedule").

The schedule editor is one kW input per MTU, labelled with its Berlin start time. A submit
sends the timeslots whose value differs from the stored schedule through the same
validation (``ScheduleIn``) and service (``services.dispatch.submit_schedule``) as
``POST …/virtual-assets/{va}/blocks/{block}``: accepted whole as a new version, or refused
whole with every broken timeslot named and the stored schedule left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api import services
from api.http.errors import validation_detail
from api.http.routes import virtual_assets as api_va
from api.http.schemas.dispatch import BlockPublic, ScheduleIn, VirtualAssetPublic
from api.web.forms import NO_REFUSAL, FormFields, Refusal, see_other
from api.web.render import BERLIN, BERLIN_NAME, berlin, render
from api.web.session import PageCall, TraderPage
from auction.errors import DomainError
from auction.timegrid import day_bounds
from auction.wallclock import clock
from dispatch.schedule import BlockTerms, Point

router = APIRouter(include_in_schema=False)

Status = Literal["upcoming", "active", "past"]
TABS: tuple[tuple[Status, str], ...] = (
    ("upcoming", "Upcoming"),
    ("active", "Active"),
    ("past", "Past"),
)
MARKETS = {"wholesale": "Wholesale", "fcr": "FCR", "afrr_pos": "aFRR+", "afrr_neg": "aFRR−"}
EMPTY_TAB = {
    "upcoming": "No virtual asset is waiting for its delivery window.",
    "active": "No virtual asset is delivering now.",
    "past": "No virtual asset has finished delivering yet.",
}
# An instant as the API's rule texts write it (ISO 8601 with an offset).
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")


def local_rule(rule: str) -> str:
    """The API's rule text with every instant in it as Berlin wall time, zone named."""
    return _ISO.sub(lambda m: berlin(datetime.fromisoformat(m[0]), "%d %b %H:%M"), rule)


def gate_text(seconds: int) -> str:
    """``5 min 30 s before each MTU``."""
    minutes, rest = divmod(seconds, 60)
    parts = ([f"{minutes} min"] if minutes else []) + ([f"{rest} s"] if rest or not minutes else [])
    return f"{' '.join(parts)} before each MTU"


def window_parts(
    start: datetime, end: datetime, day_format: str = "%a %d %b %Y, "
) -> tuple[str, str]:
    """A delivery window as people write it: ``Sun 29 Nov 2026, 00:00`` and ``24:00 CET``
    (the zone once if both ends share it; the end's date only if it is another day;
    ``day_format`` "" leaves the start's date out)."""
    first, last = start.astimezone(BERLIN), end.astimezone(BERLIN)
    same_zone = first.tzname() == last.tzname()
    head = first.strftime(day_format) + f"{first:%H:%M}"
    head += "" if same_zone else f" {first.tzname()}"
    tail = clock(last, first.date(), BERLIN_NAME, date_format="%a %d %b ")
    return head, f"{tail} {last.tzname()}"


# --- the list --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockRow:
    """A block as the pages show it, with its backing after outages."""

    block: BlockPublic
    market: str
    rebacked: bool  # an outage moved it onto other assets (its losses: unavailability)


@dataclass(frozen=True, slots=True)
class VaRow:
    va: VirtualAssetPublic
    blocks: list[BlockRow]
    short_id: str
    wholesale: BlockPublic | None
    first_gate: datetime | None  # the first MTU's dispatch gate, if still to come

    @property
    def name(self) -> str:
        return f"{self.va.product_id} · {self.short_id}"


def _rows(vas: Sequence[VirtualAssetPublic], call: PageCall) -> list[VaRow]:
    rebacked = services.dispatch.rebacked_blocks(
        call.store, [b.block_id for va in vas for b in va.blocks]
    )
    rows = []
    for va in vas:
        wholesale = next((b for b in va.blocks if b.market == "wholesale"), None)
        first_gate = None
        if wholesale is not None:
            gate = wholesale.start - timedelta(seconds=wholesale.gate_closure_s)
            first_gate = gate if gate > call.now else None
        rows.append(
            VaRow(
                va=va,
                blocks=[BlockRow(b, MARKETS[b.market], b.block_id in rebacked) for b in va.blocks],
                short_id=va.virtual_asset_id[:8],
                wholesale=wholesale,
                first_gate=first_gate,
            )
        )
    return rows


@router.get("/ui/dispatch")
def dispatch_list(
    request: Request,
    call: TraderPage,
    status: Annotated[Status, Query(description="upcoming, active or past")] = "upcoming",
) -> HTMLResponse:
    listed = api_va.list_virtual_assets(call.org.org_id, call, None).items
    counts = {s: sum(1 for va in listed if va.status == s) for s, _ in TABS}
    shown = [va for va in listed if va.status == status]
    values = {
        "tabs": TABS,
        "status": status,
        "heading": dict(TABS)[status],
        "counts": counts,
        "rows": _rows(shown, call),
        "empty": EMPTY_TAB[status],
        "gate_text": gate_text,
        "window_parts": window_parts,
    }
    return render(request, "dispatch/list.html", call, values, title="Dispatch")


# --- the schedule grid -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """One MTU of the wholesale block: its input, labelled with its Berlin start time."""

    k: int
    start: datetime  # UTC
    label: str  # "10:30"; on a DST day "02:15 CEST"
    zoned: str  # always with the zone: "10:30 CET"
    open: bool  # before its dispatch gate closure
    gate: datetime
    stored_kw: int
    available_kw: int
    value: str  # what the input holds: the stored kW, or what was typed when refused

    @property
    def name(self) -> str:
        return f"kw-{self.k}"


@dataclass(frozen=True, slots=True)
class Grid:
    """The block's MTUs as rows of local hours (the columns: minutes past the hour)."""

    slots: list[Slot]
    rows: list[tuple[str, list[Slot | None]]]
    columns: list[str]
    zone: str  # "CET", "CEST", or both on a DST day
    dst_day: bool
    power_kw: int

    @property
    def open_slots(self) -> list[Slot]:
        return [s for s in self.slots if s.open]


def _day_hours(day: date) -> float:
    start, end = day_bounds(day, "Europe/Berlin")
    return (end - start) / timedelta(hours=1)


def schedule_grid(
    terms: BlockTerms,
    power_kw: Sequence[int],
    now: datetime,
    inputs: Mapping[str, str] | None = None,
) -> Grid:
    """The editor's grid: one slot per MTU. On a day with a DST change (92 or 100 MTUs)
    every label names its zone, since 02:00 to 02:45 may occur twice."""
    local = [terms.mtu_start(k).astimezone(BERLIN) for k in range(terms.n_mtu)]
    dst_day = any(_day_hours(day) != 24 for day in {t.date() for t in local})
    mtu = terms.mtu_minutes
    per_hour = 60 // mtu if mtu <= 60 and 60 % mtu == 0 else 1
    slots: list[Slot] = []
    rows: list[tuple[str, list[Slot | None]]] = []
    row_key: tuple[str, str] | None = None
    zones: list[str] = []
    for k, at in enumerate(local):
        zone = at.tzname() or ""
        if zone not in zones:
            zones.append(zone)
        start = terms.mtu_start(k)
        suffix = f" {zone}" if dst_day else ""
        name = f"kw-{k}"
        stored = int(power_kw[k])
        value = str(stored) if inputs is None else inputs.get(name, "")
        slot = Slot(
            k=k,
            start=start,
            label=at.strftime("%H:%M") + suffix,
            zoned=f"{at:%H:%M} {zone}",
            open=terms.gate_open(start, now),
            gate=terms.gate_closure(start),
            stored_kw=stored,
            available_kw=terms.available_kw(k),
            value=value if terms.gate_open(start, now) else str(stored),
        )
        slots.append(slot)
        key = (at.strftime("%Y-%m-%d %H"), zone)
        if key != row_key:
            rows.append((at.strftime("%H") + suffix, [None] * per_hour))
            row_key = key
        column = (at.minute // mtu) if per_hour > 1 else 0
        rows[-1][1][column] = slot
    columns = [f":{c * mtu:02d}" for c in range(per_hour)] if per_hour > 1 else ["start"]
    return Grid(slots, rows, columns, "/".join(zones), dst_day, terms.power_kw)


def soc_chart(s: services.dispatch.BlockSchedule, now: datetime, zone: str) -> dict[str, Any]:
    """What static/app/charts/soc.js draws: SoC at every MTU edge, the power as steps."""
    terms, profile = s.terms, s.profile
    power = [int(p) for p in profile.power_kw.tolist()]
    return {
        "x": [terms.mtu_start(k).timestamp() for k in range(terms.n_mtu + 1)],
        "soc": [round(float(v), 1) for v in profile.soc_kwh.tolist()],
        "power": [*power, power[-1] if power else 0],
        "energy": terms.energy_kwh,
        "target": terms.final_soc_kwh,
        "power_max": terms.power_kw,
        "now": now.timestamp(),
        "gate": (now + timedelta(seconds=terms.gate_closure_s)).timestamp(),
        "zone": zone,
    }


# --- the virtual asset's page ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Editor:
    """The wholesale block's schedule as stored, and its grid as the form shows it."""

    block: BlockPublic
    schedule: services.dispatch.BlockSchedule
    grid: Grid
    version: int
    chart: dict[str, Any]
    soc_rows: list[tuple[Slot, float]] = field(default_factory=list)

    @property
    def terms(self) -> BlockTerms:
        return self.schedule.terms

    @property
    def end_soc_kwh(self) -> float:
        return float(self.schedule.profile.soc_kwh[-1])

    @property
    def imbalance(self) -> str:
        """The API's imbalance sentence, e.g. "projected to end on its final SoC target"."""
        return self.schedule.profile.summary

    @property
    def next_gate(self) -> datetime | None:
        """The dispatch gate closure of the first timeslot still open to change."""
        return next((s.gate for s in self.grid.slots if s.open), None)

    @property
    def accepted_at(self) -> datetime | None:
        return None if self.schedule.version is None else self.schedule.version.at


NOTICES = {"accepted": "Schedule accepted: version {version} is now in force."}


def _version(s: services.dispatch.BlockSchedule) -> int:
    return 0 if s.version is None else s.version.version


def _editor(
    call: PageCall, va: VirtualAssetPublic, inputs: Mapping[str, str] | None
) -> Editor | None:
    block = next((b for b in va.blocks if b.market == "wholesale"), None)
    if block is None:
        return None
    s = services.dispatch.read_schedule(
        call.store, call.org.org_id, va.virtual_asset_id, block.block_id
    )
    grid = schedule_grid(s.terms, s.profile.power_kw.tolist(), call.now, inputs)
    soc_end = [float(v) for v in s.profile.soc_kwh.tolist()[1:]]
    return Editor(
        block=block,
        schedule=s,
        grid=grid,
        version=_version(s),
        chart=soc_chart(s, call.now, grid.zone),
        soc_rows=list(zip(grid.slots, soc_end, strict=True)),
    )


def _va_page(
    request: Request,
    call: PageCall,
    va_id: str,
    *,
    inputs: Mapping[str, str] | None = None,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    va = api_va.get_virtual_asset(call.org.org_id, va_id, call)
    [row] = _rows([va], call)
    editor = _editor(call, va, inputs)
    notice_text = ""
    if notice in NOTICES and editor is not None and editor.version > 0:
        notice_text = NOTICES[notice].format(version=editor.version)
    reserve = [b for b in row.blocks if b.block.market != "wholesale"]
    problem_ids: dict[str, list[str]] = {}
    for n, item in enumerate(refusal.items, start=1):
        if item.get("field"):
            problem_ids.setdefault(str(item["field"]), []).append(f"problem-{n}")
    values = {
        "problem_ids": problem_ids,
        "row": row,
        "va": va,
        "editor": editor,
        "reserve": reserve,
        "refusal": refusal,
        "notice": notice_text,
        "gate_text": gate_text,
        "window_parts": window_parts,
        "conflicts": [] if editor is None else _conflicts(editor),
    }
    title = f"Dispatch {va.product_id} · {row.short_id}"
    return render(request, "dispatch/va.html", call, values, title=title, status_code=status_code)


def _conflicts(editor: Editor) -> list[str]:
    """Accepted points an outage has since made too large, one sentence each."""
    slots = editor.grid.slots
    return [
        f"{slots[c.row - 1].zoned}: {c.value} kW; {local_rule(c.rule)}"
        for c in editor.schedule.conflicts
        if c.row is not None
    ]


@router.get("/ui/dispatch/{va_id}")
def va_page(request: Request, va_id: str, call: TraderPage, notice: str = "") -> HTMLResponse:
    return _va_page(request, call, va_id, notice=notice)


def _differs(raw: str | None, stored: int) -> bool:
    if raw is None:
        return True
    try:
        return int(raw.replace("−", "-")) != stored
    except ValueError:
        return True


def _slot_of_rule(rule: str, grid: Grid) -> Slot | None:
    """The MTU a rule names by its start (the SoC rule names where the SoC leaves)."""
    by_start = {s.start: s for s in grid.slots}
    for found in _ISO.finditer(rule):
        slot = by_start.get(datetime.fromisoformat(found[0]))
        if slot is not None:
            return slot
    return None


def _item(slot: Slot | None, field_name: str | None, value: object, rule: str) -> dict[str, Any]:
    text = local_rule(rule)
    return {
        "field": None if slot is None else slot.name,
        "column": field_name,
        "value": value,
        "rule": text,
        "msg": text if slot is None else f"{slot.zoned}: {text}",
        "k": None if slot is None else slot.k,
    }


def _ordered(items: list[dict[str, Any]], headline: str) -> Refusal:
    items.sort(key=lambda i: (i["k"] is None, i["k"] or 0))
    return Refusal(items, headline)


_REFUSED = "The schedule was refused: it breaks {n}."


def _headline(n: int) -> str:
    return _REFUSED.format(n=f"{n} rule" if n == 1 else f"{n} rules")


def _validation_refusal(exc: ValidationError, sent: Sequence[Slot]) -> Refusal:
    items = []
    for detail in validation_detail(exc.errors()):
        loc = detail["loc"]
        index = next((p for p in loc if isinstance(p, int)), None)
        slot = sent[index] if index is not None and index < len(sent) else None
        items.append(_item(slot, detail["field"], detail["value"], str(detail["rule"])))
    return _ordered(items, _headline(len(items)))


def _domain_refusal(exc: DomainError, sent: Sequence[Slot], grid: Grid) -> Refusal:
    items = []
    for problem in exc.problems:
        slot = (
            sent[problem.row - 1]
            if problem.row is not None and problem.row <= len(sent)
            else _slot_of_rule(problem.rule, grid)
        )
        items.append(_item(slot, problem.column, problem.value, problem.rule))
    return _ordered(items, _headline(len(items)))


def _rebased(
    call: PageCall, va_id: str, block_id: str, form: Mapping[str, str], grid: Grid
) -> dict[str, str]:
    """The form on top of the schedule as it is now: the user's changes to the version the
    page showed, the current version elsewhere (so that a resubmit loses nobody's work)."""
    versions = api_va.get_schedule_versions(call.org.org_id, va_id, block_id, call).items
    shown = {str(v.version): [p.power for p in v.schedule] for v in versions}
    shown["0"] = [0] * len(grid.slots)
    base = shown.get(form.get("base_version", ""))
    if base is None:
        return dict(form)
    return {
        s.name: form.get(s.name, "") if _differs(form.get(s.name), base[s.k]) else str(s.stored_kw)
        for s in grid.slots
    }


@router.post("/ui/dispatch/{va_id}/blocks/{block_id}/schedule")
def submit_schedule(
    request: Request, va_id: str, block_id: str, call: TraderPage, form: FormFields
) -> Response:
    """Submit Schedule: the timeslots whose kW differ from the stored schedule, as one
    request of the API; refused whole (422, every broken timeslot named) or a new version."""
    org_id = call.org.org_id
    stored = services.dispatch.read_schedule(call.store, org_id, va_id, block_id)
    version = _version(stored)
    grid = schedule_grid(stored.terms, stored.profile.power_kw.tolist(), call.now, form)
    if form.get("base_version") != str(version):
        message = (
            f"version {version} was accepted meanwhile (from another page or the API); the "
            f"timeslots you changed keep your values, the others now show version {version}: "
            "check them and submit again"
        )
        refusal = Refusal(
            [{"field": None, "value": None, "rule": message, "msg": message, "k": None}],
            "The schedule changed while you edited it.",
        )
        inputs = _rebased(call, va_id, block_id, form, grid)
        return _va_page(request, call, va_id, inputs=inputs, refusal=refusal, status_code=409)
    # An input the page sent but whose gate has closed since goes too: the API refuses it.
    sent = [
        s
        for s in grid.slots
        if (s.open or s.name in form) and _differs(form.get(s.name), s.stored_kw)
    ]
    if not sent:
        message = (
            f"no timeslot differs from the stored schedule (version {version}): "
            "change a kW value first"
        )
        refusal = Refusal(
            [{"field": None, "value": None, "rule": message, "msg": message, "k": None}],
            "There is nothing to submit.",
        )
        return _va_page(request, call, va_id, inputs=form, refusal=refusal, status_code=422)
    try:
        body = ScheduleIn.model_validate(
            {
                "schedule": [
                    {"time": s.start, "power": form.get(s.name, "").replace("−", "-")} for s in sent
                ]
            }
        )
        services.dispatch.submit_schedule(
            call.store,
            org_id,
            va_id,
            block_id,
            [Point(p.time, p.power) for p in body.schedule],
            call.user.user_id,
            call.now,
        )
    except ValidationError as exc:
        refusal = _validation_refusal(exc, sent)
        return _va_page(request, call, va_id, inputs=form, refusal=refusal, status_code=422)
    except DomainError as exc:
        refusal = _domain_refusal(exc, sent, grid)
        return _va_page(request, call, va_id, inputs=form, refusal=refusal, status_code=422)
    return see_other(f"/ui/dispatch/{va_id}", notice="accepted")
