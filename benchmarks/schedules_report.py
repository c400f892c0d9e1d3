"""The schedule benchmark's tables and targets."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from benchmarks.http_report import fmt_ms, target_line

# Targets of issue 4 (SQLite, a 2-core machine).
TARGET_VALIDATE_MS = 1.0  # apply_schedule of 96 points
TARGET_REQ_S = 200.0  # POST of a schedule


def validation_table(rows: list[dict[str, Any]], repeats: int) -> Table:
    t = Table(title=f"Validating a schedule in-process ({repeats:,} calls each, interleaved)")
    for col in ("case", "points", "p50 µs", "p99 µs", "min µs", "apply_schedule ÷ this, p50"):
        t.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        ours = r["case"].startswith("apply_schedule")
        t.add_row(
            r["case"],
            str(r["points"]),
            f"{r['p50_us']:,.1f}",
            f"{r['p99_us']:,.1f}",
            f"{r['min_us']:,.1f}",
            "-" if ours else f"{r['apply_schedule_over_this']:.2f}x",
        )
    return t


def load_table(phases: list[dict[str, Any]]) -> Table:
    bare = phases[0]
    t = Table(title="POST of a schedule over HTTP (client-side latency, 2xx only)")
    cols = (
        *("phase", "clients", "blocks", "requests", "req/s", "vs bare", "p50 ms", "p90 ms"),
        *("p99 ms", "max ms", "errors", "server CPU ms/req", "server CPU %", "client CPU %"),
        "others / steal CPU %",
    )
    for col in cols:
        t.add_column(col, justify="left" if col == "phase" else "right")
    for r in phases:
        t.add_row(
            r["name"],
            str(r["clients"]),
            str(r["blocks"]),
            f"{r['requests']:,}",
            f"{r['req_per_s']:,.1f}",
            "-" if r is bare else f"{r['req_per_s'] / bare['req_per_s']:.0%}",
            fmt_ms(r["p50_ms"]),
            fmt_ms(r["p90_ms"]),
            fmt_ms(r["p99_ms"]),
            fmt_ms(r["max_ms"]),
            str(sum(r["errors"].values())),
            f"{r['server_cpu_ms_per_req']:.2f}",
            f"{r['server_cpu_s'] / r['seconds']:.0%}",
            f"{r['client_cpu_s'] / r['seconds']:.0%}",
            f"{r['others_cpu_s'] / r['seconds']:.0%} / {r['steal_s'] / r['seconds']:.0%}",
        )
    return t


def store_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="submit_schedule in-process on the same SQLite store (no HTTP)")
    for col in ("case", "calls", "p50 ms", "p99 ms", "calls/s, one writer"):
        t.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        t.add_row(
            r["case"],
            str(r["calls"]),
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['per_s_one_writer']:,.0f}",
        )
    return t


def targets(validate: list[dict[str, Any]], phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    v = next(r for r in validate if r["case"] == "apply_schedule, 96 points")
    bare = phases[0]["req_per_s"]

    def post(p: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = target_line(
            f"POST {p['name']}: >= {TARGET_REQ_S:g} req/s, every request accepted",
            f"{p['req_per_s']:,.0f} req/s ({p['req_per_s'] / bare:.0%} of the bare endpoint's "
            f"{bare:,.0f}), {p['errors_total']} errors",
            p["req_per_s"] >= TARGET_REQ_S and p["errors_total"] == 0,
        )
        return found

    return [
        target_line(
            f"validating a 96-point schedule (apply_schedule) < {TARGET_VALIDATE_MS:g} ms, "
            "judged on p99",
            f"p50 {v['p50_us'] / 1000:.3f} ms, p99 {v['p99_us'] / 1000:.3f} ms",
            v["p99_us"] / 1000 < TARGET_VALIDATE_MS,
        ),
        *(post(p) for p in phases[1:]),
    ]
