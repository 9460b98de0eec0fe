"""The soak's PNG, from its report alone: memory, CPU, latency, the tables retention bounds, the tables that
grow by design, and the outbox backlog and consumer lag, over the run; warm-up shaded.

``python -m bench.soak.plot SOAK.json --out SOAK.png`` redraws it from a saved report.
"""

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.soak.checks import BOUNDED_TABLES, GROWING_TABLES, NOT_JUDGED


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def plot(report: dict[str, Any], path: Path) -> None:
    samples, rows = report["samples"], report["buckets"]
    bucket_minutes = report["settings"]["bucket_seconds"] / 60
    figure, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    (memory, cpu, latency), (bounded, growing, messaging) = axes
    minutes = [s["t"] / 60 for s in samples]
    middles = [r["start_s"] / 60 + bucket_minutes / 2 for r in rows]

    def series(kind: str, names: list[str], axis: Axes, scale: float = 1.0, style: str = "-") -> None:
        for name in names:
            axis.plot(minutes, [_number(s[kind].get(name)) / scale for s in samples], style, label=name)

    processes = sorted({n for s in samples for n in s["rss"]})
    series("rss", processes, memory, scale=2**20)
    for name in processes:
        cpu.plot(middles, [_number(r["cpu_cores"].get(name)) for r in rows], marker=".", label=name)
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        latency.plot(middles, [_number(r[key]) for r in rows], marker="o", label=label)
    tables = sorted({k for s in samples for k in s["rows"]})
    series("rows", [k for k in tables if k.split("/", 1)[1] in BOUNDED_TABLES], bounded)
    series("rows", [k for k in tables if k.split("/", 1)[1] in GROWING_TABLES], growing)
    for number, service in enumerate(sorted({n for s in samples for n in s["backlog"]})):
        for kind, style in (("backlog", "-"), ("lag", "--")):
            values = [_number(s[kind].get(service)) for s in samples]
            messaging.plot(minutes, values, style, color=f"C{number}", label=f"{service} {kind}")
    labels = {
        memory: f"resident MiB (PSS for PostgreSQL); not judged: {', '.join(NOT_JUDGED)}",
        cpu: "CPU cores, mean per bucket",
        latency: "POST due to decision (ms), orders due in the bucket",
        bounded: "live rows, pruned within the run (bounded)",
        growing: "live rows, retention in days (linear)",
        messaging: "outbox backlog (solid), consumer lag (dashed)",
    }
    warm = report["duration_s"] * report["tolerances"]["WARMUP_FRACTION"] / 60
    for axis, label in labels.items():
        axis.set_title(label, fontsize="small")
        axis.set_xlabel("minutes")
        axis.axvspan(0, warm, color="grey", alpha=0.12)
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="x-small", ncol=2)
    settings = report["settings"]
    verdict = "passed" if report["passed"] else "FAILED: " + ", ".join(report["failed"])
    title = f"make soak, {report['date']}: {settings['rate']:g} orders/s for {settings['minutes']:g} min; "
    figure.suptitle(title + (verdict if len(verdict) < 110 else verdict[:107] + "..."))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="redraw a make soak plot from its saved report")
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    plot(json.loads(arguments.report.read_text()), arguments.out)
