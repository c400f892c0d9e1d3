"""What the rush reports: per target and request kind, throughput, latency, what was
acknowledged before the gate and refused after it, and the store checked id by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from benchmarks.http_load import percentile
from benchmarks.http_report import fmt_ms, target_line
from benchmarks.rush_plan import Request

TARGET_P99_S = 1.0


def kind_figures(
    plan: list[Request], answers: dict[int, tuple[int, float, float]], start: float, gate: float
) -> dict[str, dict[str, Any]]:
    """Per kind: requests and bids sent before and after the gate (the real clock's
    ``gate``), what came of them, latency (2xx, from sending) and lateness (sending
    after the planned instant, when every client thread was waiting for an answer)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in ("single", "batch"):
        mine = [(k, r) for k, r in enumerate(plan) if r.kind == kind]
        if not mine:
            continue
        ok = sorted(answers[k][2] for k, _ in mine if 200 <= answers[k][0] < 300)
        late = sorted(answers[k][1] - (start + r.at_s) for k, r in mine)
        counts: dict[str, int] = {}
        for k, r in mine:
            status, sent, _ = answers[k]
            when = "before" if sent < gate else "after"
            verdict = "acked" if 200 <= status < 300 else ("refused" if status == 409 else "other")
            for unit, n in (("requests", 1), ("bids", len(r.bid_ids))):
                key = f"{unit}_{when}_{verdict}"
                counts[key] = counts.get(key, 0) + n
                if when == "after" and start + r.at_s < gate:  # no thread was free in time
                    key = f"{unit}_planned_before_sent_after"
                    counts[key] = counts.get(key, 0) + n
        # How close to the gate the bids refused although sent before it were sent: the
        # server stamps a request's arrival when its event loop reads it.
        early = [gate - answers[k][1] for k, _ in mine if answers[k][1] < gate]
        refused_early = [
            gate - answers[k][1] for k, _ in mine if answers[k][1] < gate and answers[k][0] == 409
        ]
        out[kind] = {
            "refused_before_gate_sent_within_ms": max(refused_early, default=0.0) * 1000,
            "sent_before_gate_last_ms": min(early, default=0.0) * 1000,
            "requests": len(mine),
            "bids": sum(len(r.bid_ids) for _, r in mine),
            **counts,
            "p50_ms": percentile(ok, 0.50) * 1000,
            "p99_ms": percentile(ok, 0.99) * 1000,
            "max_ms": (ok[-1] if ok else float("nan")) * 1000,
            "late_p50_ms": percentile(late, 0.50) * 1000,
            "late_p99_ms": percentile(late, 0.99) * 1000,
            "late_max_ms": late[-1] * 1000,
            "statuses": _statuses(answers[k][0] for k, _ in mine),
        }
    return out


def peak_per_s(plan: list[Request], answers: dict[int, tuple[int, float, float]]) -> dict[str, int]:
    """The most requests answered, and bids acknowledged, in one whole second."""
    reqs: dict[int, int] = {}
    bids: dict[int, int] = {}
    for k, (status, sent, s) in answers.items():
        second = int(sent + s)
        reqs[second] = reqs.get(second, 0) + 1
        if 200 <= status < 300:
            bids[second] = bids.get(second, 0) + len(plan[k].bid_ids)
    return {"peak_req_per_s": max(reqs.values()), "peak_bids_per_s": max(bids.values(), default=0)}


def _statuses(codes: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for code in codes:
        found[str(code)] = found.get(str(code), 0) + 1
    return found


def store_check(
    plan: list[Request],
    answers: dict[int, tuple[int, float, float]],
    stored: dict[str, datetime],
    gate_close: datetime,
) -> dict[str, Any]:
    """Every acknowledged bid stored (by id), nothing stored that was refused, and no
    bid stored with submitted_at at or after the gate (server time)."""
    acked = {i for k, r in enumerate(plan) if 200 <= answers[k][0] < 300 for i in r.bid_ids}
    refused = {i for k, r in enumerate(plan) if answers[k][0] == 409 for i in r.bid_ids}
    after = [i for i, at in stored.items() if at >= gate_close]
    latest = max(stored.values()) if stored else None
    return {
        "stored": len(stored),
        "acked": len(acked),
        "acked_missing": len(acked - stored.keys()),
        "refused_but_stored": len(refused & stored.keys()),
        "stored_not_acked": len(stored.keys() - acked),
        "stored_at_or_after_gate": len(after),
        "latest_submitted_before_gate_ms": None
        if latest is None
        else (gate_close - latest).total_seconds() * 1000,
    }


def verdict(name: str, kinds: dict[str, dict[str, Any]], check: dict[str, Any]) -> list[Any]:
    """The issue's target for the rush, on one target: every bid sent before the gate
    acknowledged, p99 < 1 s for each kind, none stored after the gate."""
    lost = sum(
        k.get("bids_before_refused", 0) + k.get("bids_before_other", 0) for k in kinds.values()
    )
    sent = sum(
        k.get(f"bids_before_{v}", 0) for k in kinds.values() for v in ("acked", "refused", "other")
    )
    within_ms = max(k["refused_before_gate_sent_within_ms"] for k in kinds.values())
    found = [
        target_line(
            f"{name}: every bid sent before the gate acknowledged",
            f"{sent - lost:,} of {sent:,}"
            + (f" (the refused ones sent at most {within_ms:.0f} ms before it)" if lost else ""),
            lost == 0,
        )
    ]
    found.extend(
        target_line(
            f"{name}: {kind} p99 < {TARGET_P99_S:g} s",
            f"p99 {k['p99_ms'] / 1000:.2f} s",
            k["p99_ms"] / 1000 < TARGET_P99_S,
        )
        for kind, k in kinds.items()
    )
    late_acked = sum(k.get("bids_after_acked", 0) for k in kinds.values())
    bad = check["stored_at_or_after_gate"] + check["acked_missing"] + check["refused_but_stored"]
    found.append(
        target_line(
            f"{name}: none after the gate; every acknowledged bid stored",
            f"{check['stored_at_or_after_gate']} stored after, {late_acked} acked after, "
            f"{check['acked_missing']} acked missing, {check['refused_but_stored']} refused "
            f"but stored",
            bad == 0 and late_acked == 0,
        )
    )
    return found


def rush_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="The rush before the gate (latency from sending, 2xx only)")
    cols = (
        *("target", "kind", "requests", "req/s (peak)", "bids/s (peak)", "p50 ms", "p99 ms"),
        *("max ms", "late p99 ms", "bids sent before gate: acked / refused / other"),
        *("planned before, sent after", "sent after gate: refused"),
        *("server / client / others CPU %", "load"),
    )
    for col in cols:
        t.add_column(col, justify="left" if col in ("target", "kind") else "right")
    for row in rows:
        for kind, k in row["kinds"].items():
            after = sum(k.get(f"bids_after_{v}", 0) for v in ("acked", "refused", "other"))
            t.add_row(
                row["target"],
                kind,
                f"{k['requests']:,}",
                f"{row['req_per_s']:,.1f} ({row['peak_req_per_s']:,})",
                "-"
                if row["bids_per_s"] is None
                else f"{row['bids_per_s']:,.0f} ({row['peak_bids_per_s']:,})",
                fmt_ms(k["p50_ms"]),
                fmt_ms(k["p99_ms"]),
                fmt_ms(k["max_ms"]),
                fmt_ms(k["late_p99_ms"]),
                "{:,} / {:,} / {:,}".format(
                    *(k.get(f"bids_before_{v}", 0) for v in ("acked", "refused", "other"))
                ),
                f"{k.get('bids_planned_before_sent_after', 0):,}",
                f"{k.get('bids_after_refused', 0):,} of {after:,}",
                " / ".join(
                    f"{row[c] / row['span_s']:.0%}"
                    for c in ("server_cpu_s", "client_cpu_s", "others_cpu_s")
                ),
                "{:.2f} / {:.2f}".format(*row["load_1min"]),
            )
    return t
