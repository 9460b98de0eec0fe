"""The PNG the README shows: latency percentiles and throughput against the offered rate."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot(report: dict[str, Any], path: Path) -> None:
    steps = report["runs"][0]
    offered = [s["offered_rate"] for s in steps]
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
        latency.plot(offered, [s["latency"][key] for s in steps], marker="o", label=label)
    latency.set_xlabel("offered orders/s")
    latency.set_ylabel("POST to decision (ms)")
    latency.set_yscale("log")
    latency.legend()
    latency.grid(True, which="both", alpha=0.3)
    throughput.plot(offered, [s["throughput_per_s"] or 0 for s in steps], marker="o", label="decided/s")
    throughput.plot(offered, offered, linestyle="--", color="grey", label="offered")
    throughput.set_xlabel("offered orders/s")
    throughput.set_ylabel("sagas decided per second")
    throughput.legend()
    throughput.grid(True, alpha=0.3)
    figure.suptitle(f"make bench, {report['date']} ({report['machine']['cpus']} cores)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
