"""The soak's figures from its samples alone (no I/O: tested without a stack): what one sample holds,
one order, and the per-bucket table (a minute by default) printed while the run goes on."""

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.run import POSTGRES, percentile

BROKER = "broker"


@dataclass
class Sample:
    t: float  # seconds since the load started
    rss: dict[str, int] = field(default_factory=dict)  # bytes by process tree (PSS for PostgreSQL)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used so far, by process tree
    rows: dict[str, int] = field(default_factory=dict)  # "service/table" -> live rows
    inserted: dict[str, int] = field(default_factory=dict)  # "service/table" -> rows inserted so far
    bytes: dict[str, int] = field(default_factory=dict)  # "service/table" -> with indexes and TOAST
    backlog: dict[str, int] = field(default_factory=dict)  # service -> outbox rows not yet published
    lag: dict[str, int | None] = field(default_factory=dict)  # service -> lag (None: no snapshot yet)
    lag_age: dict[str, float | None] = field(default_factory=dict)  # service -> the snapshot's age (s)
    exited: list[str] = field(default_factory=list)  # the stack's processes no longer running


@dataclass
class Order:
    scheduled: float  # when its POST was due, seconds since the load started
    latency: float | None = None  # seconds from then to its decision; None: undecided


def bucket_count(duration: float, bucket_seconds: float) -> int:
    return max(1, math.ceil(duration / bucket_seconds - 1e-9))


def bucket_of(t: float, duration: float, bucket_seconds: float) -> int:
    return min(bucket_count(duration, bucket_seconds) - 1, max(0, int(t // bucket_seconds)))


def buckets(
    samples: Sequence[Sample], orders: Sequence[Order], duration: float, bucket_seconds: float
) -> list[dict[str, Any]]:
    """Per bucket (a minute by default): the orders due in it and their p50/p99, each process's median
    memory and mean CPU (cores), the largest backlog and lag, each table's rows at its last sample."""
    count = bucket_count(duration, bucket_seconds)
    inside: list[list[Sample]] = [[] for _ in range(count)]
    for sample in samples:
        inside[bucket_of(sample.t, duration, bucket_seconds)].append(sample)
    cores: list[dict[str, list[float]]] = [{} for _ in range(count)]
    for before, after in itertools.pairwise(samples):
        elapsed = after.t - before.t
        for name, used in after.cpu.items():
            if elapsed > 0 and name in before.cpu:  # a PostgreSQL backend that exited takes its CPU along
                spent = max(0.0, used - before.cpu[name]) / elapsed
                cores[bucket_of(after.t, duration, bucket_seconds)].setdefault(name, []).append(spent)
    latencies: list[list[float]] = [[] for _ in range(count)]
    due = [0] * count
    for order in orders:
        index = bucket_of(order.scheduled, duration, bucket_seconds)
        due[index] += 1
        if order.latency is not None:
            latencies[index].append(order.latency)
    rows = []
    for index in range(count):
        found, decided = inside[index], latencies[index]
        rows.append(
            {
                "start_s": index * bucket_seconds,
                "orders": due[index],
                "decided": len(decided),
                "p50_ms": 1000 * percentile(decided, 0.50) if decided else None,
                "p99_ms": 1000 * percentile(decided, 0.99) if decided else None,
                "rss_mib": {
                    name: statistics.median(s.rss[name] for s in found if name in s.rss) / 2**20
                    for name in sorted({n for s in found for n in s.rss})
                },
                "cpu_cores": {name: statistics.fmean(v) for name, v in sorted(cores[index].items())},
                "backlog": _largest(found, "backlog"),
                "lag": _largest(found, "lag"),
                "rows": dict(sorted(found[-1].rows.items())) if found else {},
            }
        )
    return rows


def _largest(samples: Sequence[Sample], kind: str) -> dict[str, int | None]:
    names = sorted({n for s in samples for n in getattr(s, kind)})
    values = {n: [v for s in samples if (v := getattr(s, kind).get(n)) is not None] for n in names}
    return {n: max(found) if found else None for n, found in values.items()}


# The printed table: (heading, width, value of a bucket's row).
def _sum(values: dict[str, Any], keep: Callable[[str], bool] = lambda name: True) -> float:
    return sum(v for name, v in values.items() if v is not None and keep(name))


def _rows(row: dict[str, Any], table: str) -> int:
    return int(_sum(row["rows"], lambda key: key.endswith(f"/{table}")))


COLUMNS: list[tuple[str, int, Callable[[dict[str, Any]], object]]] = [
    ("min", 6, lambda r: f"{int(r['start_s'] // 60):02d}:{int(r['start_s'] % 60):02d}"),
    ("orders", 7, lambda r: r["orders"]),
    ("decided", 8, lambda r: r["decided"]),
    ("p50 ms", 7, lambda r: "-" if r["p50_ms"] is None else f"{r['p50_ms']:.0f}"),
    ("p99 ms", 7, lambda r: "-" if r["p99_ms"] is None else f"{r['p99_ms']:.0f}"),
    ("ours MiB", 9, lambda r: f"{_sum(r['rss_mib'], lambda n: n not in (POSTGRES, BROKER)):.0f}"),
    ("pg MiB", 7, lambda r: f"{r['rss_mib'].get(POSTGRES, 0):.0f}"),
    ("broker MiB", 11, lambda r: f"{r['rss_mib'].get(BROKER, 0):.0f}"),
    ("cores", 6, lambda r: f"{_sum(r['cpu_cores']):.2f}"),
    ("backlog", 8, lambda r: int(_sum(r["backlog"]))),
    ("lag", 6, lambda r: int(_sum(r["lag"]))),
    ("outbox", 7, lambda r: _rows(r, "published")),
    ("keys", 7, lambda r: _rows(r, "orders_idempotency_key")),
    ("inbox", 8, lambda r: _rows(r, "received")),
    ("sagas", 8, lambda r: _rows(r, "saga_instance")),
]


def heading() -> str:
    """The table's heading: ours = our processes (webs, workers); backlog, lag and rows summed over the
    services; outbox, keys (Idempotency-Keys), inbox and sagas are live rows."""
    return " ".join(f"{name:>{width}}" for name, width, _ in COLUMNS)


def line(row: dict[str, Any]) -> str:
    return " ".join(f"{value(row)!s:>{width}}" for _, width, value in COLUMNS)
