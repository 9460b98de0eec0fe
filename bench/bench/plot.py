"""The PNG the README shows: latency percentiles and throughput against the offered rate.

``python -m bench.plot RESULTS.json [--before BEFORE.json] --out PLOT.png`` redraws a plot from saved
results, with an earlier run dashed for comparison (``make bench`` draws the plain one itself, and with
``--baseline`` also ``<date>-vs-baseline.png``, the baseline dashed). An earlier run's results may lack
fields a later bench writes: what is missing is not drawn.
"""

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PERCENTILES = (("p50_ms", "p50", "C0"), ("p95_ms", "p95", "C1"), ("p99_ms", "p99", "C2"))


def plot(report: dict[str, Any], path: Path, before: dict[str, Any] | None = None) -> None:
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4.2))
    runs = [(report, "", "-")] + ([(before, "before ", "--")] if before else [])
    for data, prefix, style in runs:
        steps = data["runs"][0]
        offered = [s["offered_rate"] for s in steps]
        for key, label, color in PERCENTILES:
            values = [(s.get("latency") or {}).get(key, float("nan")) for s in steps]
            latency.plot(offered, values, style, marker="o", color=color, label=prefix + label)
        decided = [s.get("throughput_per_s") or 0 for s in steps]
        throughput.plot(offered, decided, style, marker="o", color="C0", label=prefix + "decided/s")
    offered = [s["offered_rate"] for s in report["runs"][0]]
    throughput.plot(offered, offered, linestyle=":", color="grey", label="offered")
    latency.set_xlabel("offered orders/s")
    latency.set_ylabel("POST to decision (ms)")
    latency.set_yscale("log")
    latency.legend(fontsize="small")
    latency.grid(True, which="both", alpha=0.3)
    throughput.set_xlabel("offered orders/s")
    throughput.set_ylabel("sagas decided per second")
    throughput.legend(fontsize="small")
    throughput.grid(True, alpha=0.3)
    title = f"make bench, {report['date']} ({report['machine']['cpus']} cores)"
    if before is not None and "ref" in before:  # the report's "baseline"
        title += f"; dashed: {before['ref']} ({before['sha'][:10]})"
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_side_by_side(report: dict[str, Any], path: Path) -> None:
    """Ours and the peers (``--peers``) in one figure: p50, p99, sagas/s and CPU per saga against the
    offered rate, each the median over a system's sweeps."""
    from bench.baseline import median_at
    from bench.side_by_side import systems

    panels = (
        ("p50_ms", "p50, POST to decision (ms)", True),
        ("p99_ms", "p99 (ms)", True),
        ("decided_per_s", "sagas decided per second", False),
        ("cpu_ms_per_saga", "CPU per saga, all processes (ms)", True),
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(16, 4.2))
    for index, (name, system) in enumerate(systems(report).items()):
        rates = sorted({step["offered_rate"] for run in system["runs"] for step in run})
        for axis, (measure, label, log) in zip(axes, panels, strict=True):
            values = [median_at(system["runs"], rate, measure) for rate in rates]
            axis.plot(
                rates,
                [float("nan") if v is None else v for v in values],
                marker="o",
                color=f"C{index}",
                label=name,
                linewidth=2.5 if index == 0 else 1.5,
            )
            axis.set_ylabel(label)
            if log:
                axis.set_yscale("log")
    rates = [step["offered_rate"] for step in report["runs"][0]]
    axes[2].plot(rates, rates, linestyle=":", color="grey", label="offered")
    for axis in axes:
        axis.set_xlabel("offered orders/s")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle(f"make bench, ours and the peers, {report['date']} ({report['machine']['cpus']} cores)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="redraw a make bench plot from saved results")
    parser.add_argument("results", type=Path)
    parser.add_argument("--before", type=Path, help="an earlier run, drawn dashed")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    earlier = json.loads(args.before.read_text()) if args.before else None
    plot(json.loads(args.results.read_text()), args.out, earlier)
