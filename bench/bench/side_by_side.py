"""Ours and the peers (``--peers``) side by side, and the targets of docs/benchmarks.md checked.

``table(report)`` is what ``make bench`` prints and docs/benchmarks.md shows: at each offered rate, the
median over the sweeps of sagas decided per second, p50, p99 and CPU per saga (every process of the
system, its servers and PostgreSQL included), for us and each peer; then idle CPU and peak memory.
``targets(report)`` checks the figures the project aims at (never asserted in tests: a benchmark's
numbers depend on the machine and the day) and says by how far each is met or missed.
"""

import statistics
from typing import Any

from bench.baseline import median_at

SHOWN = ("decided_per_s", "p50_ms", "p99_ms", "cpu_ms_per_saga")
HEADINGS = {
    "decided_per_s": "sagas/s",
    "p50_ms": "p50 ms",
    "p99_ms": "p99 ms",
    "cpu_ms_per_saga": "CPU ms/saga",
}
OURS = "ours"


def systems(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every system measured in the report, ours first: name -> its runs, idle CPU and memory."""
    ours = {
        "runs": report["runs"],
        "idle_cpu_percent": report.get("idle_cpu_percent") or [],
        "idle_cpu_percent_warm": report.get("idle_cpu_percent_warm") or [],
        "peak_rss_bytes": report.get("peak_rss_bytes") or {},
        "saturation_throughput": report.get("saturation_throughput") or {},
    }
    return {OURS: ours} | dict(report.get("peers") or {})


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def idle_cores(system: dict[str, Any]) -> float | None:
    """The median over the sweeps of the whole system's idle CPU, in cores: measured warm, after the
    sweep, where the report has that (since 2026-12-07), else just after the warm-up."""
    measured = system.get("idle_cpu_percent_warm") or system.get("idle_cpu_percent") or []
    totals = [run["total"] for run in measured if run]
    return statistics.median(totals) / 100 if totals else None


def table(report: dict[str, Any]) -> str:
    """The side-by-side table (markdown), medians over each system's sweeps."""
    measured = systems(report)
    rates = sorted({step["offered_rate"] for s in measured.values() for run in s["runs"] for step in run})
    header = "| offered/s | " + " | ".join(f"{HEADINGS[m]}: {' / '.join(measured)}" for m in SHOWN) + " |"
    lines = [header, "|" + "---|" * (1 + len(SHOWN))]
    for rate in rates:
        cells = [" / ".join(_number(median_at(s["runs"], rate, m)) for s in measured.values()) for m in SHOWN]
        lines.append(f"| {_number(rate)} | " + " | ".join(cells) + " |")
    idle = " / ".join(_number(None if (c := idle_cores(s)) is None else 100 * c) for s in measured.values())
    memory = " / ".join(_number((s["peak_rss_bytes"].get("total") or 0) / 2**20) for s in measured.values())
    lines.append("")
    lines.append(f"idle CPU, % of one core ({' / '.join(measured)}): {idle}")
    lines.append(f"peak memory, MiB, every process and PostgreSQL's share ({' / '.join(measured)}): {memory}")
    return "\n".join(lines)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what it asks, the measured value, the limit, whether it is met."""
    ours = systems(report)[OURS]
    runs = ours["runs"]
    rates = [step["offered_rate"] for step in runs[0]]
    saturation = (ours["saturation_throughput"] or {}).get("median")
    sustained = rates[:-1]
    rows: list[dict[str, Any]] = []

    def target(name: str, value: float | None, limit: float | None, at_least: bool = False) -> None:
        met = None if value is None or limit is None else value >= limit if at_least else value <= limit
        rows.append({"target": name, "value": value, "limit": limit, "at_least": at_least, "met": met})

    peers = {name: p for name, p in systems(report).items() if name != OURS}
    best_peer = max(
        ((p.get("saturation_throughput") or {}).get("median") or 0 for p in peers.values()), default=0
    )
    if peers:
        target(
            "saturation, sagas/s, at least 1.5 x the best peer's", saturation, 1.5 * best_peer, at_least=True
        )
    commits = (report.get("limits") or {}).get("postgres_commits_per_s")
    floor = 150.0 if not commits else min(150.0, 0.04 * commits)
    target(
        "saturation, sagas/s, at least 150 (or 0.04 per pgbench commit/s)", saturation, floor, at_least=True
    )
    if 10.0 in rates:
        target("p50 at 10 orders/s, ms", median_at(runs, 10.0, "p50_ms"), 60.0)
        target("CPU per saga at 10 orders/s, ms", median_at(runs, 10.0, "cpu_ms_per_saga"), 30.0)
    if 60.0 in rates:
        target("p99 at 60 orders/s, ms", median_at(runs, 60.0, "p99_ms"), 500.0)
    target("CPU per saga at saturation, ms", median_at(runs, rates[-1], "cpu_ms_per_saga"), 12.0)
    idle = idle_cores(ours)
    target("idle, cores", idle, 0.05)
    best_sustained = max(
        (v for r in sustained if (v := median_at(runs, r, "decided_per_s")) is not None), default=None
    )
    if best_sustained is not None:
        target(
            "the burst's sagas/s, at least the best sustained step's",
            saturation,
            best_sustained,
            at_least=True,
        )
    cost = [row for row in report.get("tracing_cost") or [] if row["offered_rate"] == rates[-1]]
    if cost:
        change = cost[0]["decided_per_s"]["change_pct"]
        target("tracing on: change of saturation throughput, %, at least -10", change, -10.0, at_least=True)
    return rows


def format_targets(rows: list[dict[str, Any]]) -> str:
    lines = ["targets (docs/benchmarks.md):"]
    for row in rows:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[row["met"]]
        bound = ">=" if row["at_least"] else "<="
        lines.append(
            f"  {verdict:<12} {row['target']}: {_number(row['value'])} ({bound} {_number(row['limit'])})"
        )
    return "\n".join(lines)
