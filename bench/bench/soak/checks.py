"""The soak's verdict from its samples alone (no I/O: tested without a stack).

The run is cut in thirds. The first is warm-up (pools and caches filling, consumer groups joining, the
first prunes) and judges nothing; memory is judged by a least-squares line through the per-bucket
medians after it, latency by the last third against the middle one, tables by what their retention
allows. Every tolerance is a named constant here, and the report carries them (``tolerances``).
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.run import POSTGRES, percentile
from bench.soak.figures import BROKER, Order, Sample, bucket_of, buckets

WARMUP_FRACTION = 1 / 3

# Memory: each of our processes' resident set (a web with its gunicorn workers, a worker), fitted with a
# least-squares line through the per-bucket medians after warm-up, may grow by at most this fraction
# from the line's start to its end. A leak of 1 kB a saga at 25 sagas/s is 30 MB over the last 20 minutes
# of a 30-minute run: 30 % of a 100 MB worker.
MEMORY_GROWTH_MAX = 0.10
# Sampled, tabled and drawn, but not judged, and why.
NOT_JUDGED = {
    POSTGRES: "its PSS grows as the growing tables fill shared_buffers (bounded by shared_buffers)",
    BROKER: "the development broker (Tansu) keeps every message in memory: it grows with the topics",
}

# Latency (the POST's due time to the decision, by the minute it was due): p50 and p99 of the orders
# due in the last third may be at most this many times those of the middle third, plus a noise floor
# (a relay poll, a GC pause, a checkpoint) that matters only when latencies are small.
LATENCY_GROWTH_MAX = 1.5
LATENCY_SLACK_MS = 250.0

# Tables the soak's short retention bounds (OUTBOX_RETENTION_HOURS=0, IDEMPOTENCY_KEY_RETENTION_HOURS=0,
# pruned every --prune-seconds): after warm-up, at every sample, the live rows must have been inserted
# within the last RETENTION_WINDOWS prune intervals, give or take BOUNDED_SLACK_ROWS. A table nothing
# prunes fails at once: its live rows are everything ever inserted.
BOUNDED_TABLES = ("published", "orders_idempotency_key")
RETENTION_WINDOWS = 2.0
BOUNDED_SLACK_ROWS = 100
# Tables whose retention is days and cannot be shortened for a 30-minute run: the inbox must outlive
# the topics' retention (saga_common.E001), the sagas too (saga_common.E005). They grow with the
# sagas by design, so they must grow linearly with the sagas decided: rows added per saga decided in
# the last third at most this many times the middle third's (plus a little, for the sagas still in
# flight at a third's edges). Per saga, not per second: a stack that fell behind in the middle third
# and caught up in the last (a busy CI machine) adds rows faster in the last third because it decides
# sagas faster, not because a saga costs more rows (before 2026-12-07 this was per second, and failed
# such a run). The other way round, a stack falling behind in the last third writes rows for sagas it
# has not decided yet and may fail this; the latency checks fail such a run too.
GROWING_TABLES = ("received", "saga_instance", "saga_step", "saga_event")
GROWTH_RATE_MAX = 1.25
GROWTH_SLACK_ROWS_PER_SAGA = 0.1
# No message of the soak's mix is poison: any dead letter (PENDING ones are never pruned) is a finding.
NO_GROWTH_TABLES = ("saga_dead_letter",)

# Unpublished outbox rows per service and consumer lag per service (its group, all topics), at every
# sample of the last third: about ten seconds of the orchestrator's commands at 25 sagas/s.
OUTBOX_BACKLOG_MAX = 1000
CONSUMER_LAG_MAX = 1000
# The lag is read from the worker's saga_messaging_snapshot (every MESSAGING_SNAPSHOT_SECONDS, 5 s): older
# than this at the end, the lag is unknown.
SNAPSHOT_AGE_MAX_S = 60.0


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def tolerances() -> dict[str, Any]:
    """The constants above, for the report."""
    return {
        "WARMUP_FRACTION": WARMUP_FRACTION,
        "MEMORY_GROWTH_MAX": MEMORY_GROWTH_MAX,
        "NOT_JUDGED": NOT_JUDGED,
        "LATENCY_GROWTH_MAX": LATENCY_GROWTH_MAX,
        "LATENCY_SLACK_MS": LATENCY_SLACK_MS,
        "BOUNDED_TABLES": BOUNDED_TABLES,
        "RETENTION_WINDOWS": RETENTION_WINDOWS,
        "BOUNDED_SLACK_ROWS": BOUNDED_SLACK_ROWS,
        "GROWING_TABLES": GROWING_TABLES,
        "GROWTH_RATE_MAX": GROWTH_RATE_MAX,
        "GROWTH_SLACK_ROWS_PER_SAGA": GROWTH_SLACK_ROWS_PER_SAGA,
        "NO_GROWTH_TABLES": NO_GROWTH_TABLES,
        "OUTBOX_BACKLOG_MAX": OUTBOX_BACKLOG_MAX,
        "CONSUMER_LAG_MAX": CONSUMER_LAG_MAX,
        "SNAPSHOT_AGE_MAX_S": SNAPSHOT_AGE_MAX_S,
    }


def fitted_growth(points: Sequence[tuple[float, float]]) -> float:
    """Growth of the least-squares line through the points, from the first x to the last, as a fraction
    of the line's value at the first."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    slope, intercept = statistics.linear_regression(xs, ys)
    start = intercept + slope * xs[0]
    return slope * (xs[-1] - xs[0]) / start if start > 0 else math.inf


def memory_checks(samples: Sequence[Sample], duration: float, bucket_seconds: float) -> list[Check]:
    warm = duration * WARMUP_FRACTION
    after = [s for s in samples if s.t >= warm]
    checks = []
    for name in sorted({n for s in samples for n in s.rss} - set(NOT_JUDGED)):
        by_bucket: dict[int, list[Sample]] = {}
        for sample in after:
            if name in sample.rss:
                by_bucket.setdefault(bucket_of(sample.t, duration, bucket_seconds), []).append(sample)
        points = [
            (statistics.fmean(s.t for s in found), statistics.median(s.rss[name] for s in found))
            for _, found in sorted(by_bucket.items())
        ]
        if len(points) < 3:  # fewer buckets than that after warm-up: the samples themselves
            points = [(s.t, s.rss[name]) for s in after if name in s.rss]
        if len(points) < 2 or points[0][0] == points[-1][0]:
            checks.append(Check(f"memory {name}", False, "too few samples after warm-up"))
            continue
        growth = fitted_growth(points)
        start, span = points[0][1] / 2**20, (points[-1][0] - points[0][0]) / 60
        detail = (
            f"{growth:+.1%} from {start:.0f} MiB over {span:.1f} min after warm-up "
            f"(fitted; limit +{MEMORY_GROWTH_MAX:.0%})"
        )
        checks.append(Check(f"memory {name}", growth <= MEMORY_GROWTH_MAX, detail))
    return checks


def latency_checks(orders: Sequence[Order], duration: float) -> list[Check]:
    middle_start, last_start = duration * WARMUP_FRACTION, duration * 2 / 3
    middle = [o.latency for o in orders if middle_start <= o.scheduled < last_start and o.latency is not None]
    last = [o.latency for o in orders if o.scheduled >= last_start and o.latency is not None]
    checks = []
    for label, q in (("p50", 0.50), ("p99", 0.99)):
        if not middle or not last:
            checks.append(Check(f"latency {label}", False, "no decided order in the middle or last third"))
            continue
        before, now = 1000 * percentile(middle, q), 1000 * percentile(last, q)
        limit = LATENCY_GROWTH_MAX * before + LATENCY_SLACK_MS
        detail = (
            f"last third {now:.0f} ms, middle third {before:.0f} ms (limit {limit:.0f} ms: "
            f"{LATENCY_GROWTH_MAX}x + {LATENCY_SLACK_MS:.0f} ms)"
        )
        checks.append(Check(f"latency {label}", now <= limit, detail))
    return checks


def _older_rows(samples: Sequence[Sample], index: int, key: str, window: float) -> int:
    """Live rows of ``key`` at sample ``index`` beyond those inserted since the last sample at least
    ``window`` seconds before it: rows older than the window (at least)."""
    now = samples[index]
    earlier = [s for s in samples[: index + 1] if s.t <= now.t - window and key in s.inserted]
    recent = now.inserted.get(key, 0) - (earlier[-1].inserted[key] if earlier else 0)
    return now.rows[key] - recent


def table_checks(
    samples: Sequence[Sample], orders: Sequence[Order], duration: float, prune_seconds: float
) -> list[Check]:
    warm, last_start = duration * WARMUP_FRACTION, duration * 2 / 3
    window = RETENTION_WINDOWS * prune_seconds
    middle = [s for s in samples if warm <= s.t < last_start]
    last = [s for s in samples if s.t >= last_start]
    decided_before, decided_now = _decided_between(middle, orders), _decided_between(last, orders)
    checks = []
    for key in sorted({k for s in samples for k in s.rows}):
        table = key.split("/", 1)[1]
        if table in BOUNDED_TABLES:
            older = [
                _older_rows(samples, i, key, window)
                for i, s in enumerate(samples)
                if s.t >= warm and key in s.rows
            ]
            worst = max(older, default=0)
            detail = (
                f"at most {max(worst, 0)} live rows older than {window:.0f} s ({RETENTION_WINDOWS:g} prune "
                f"intervals) after warm-up (limit {BOUNDED_SLACK_ROWS})"
            )
            checks.append(Check(f"table {key} bounded", bool(older) and worst <= BOUNDED_SLACK_ROWS, detail))
        elif table in GROWING_TABLES:
            before, now = _rows_per_saga(middle, decided_before, key), _rows_per_saga(last, decided_now, key)
            if before is None or now is None:
                detail = "too few samples, or no saga decided in the middle or the last third"
                checks.append(Check(f"table {key} linear", False, detail))
                continue
            limit = GROWTH_RATE_MAX * before + GROWTH_SLACK_ROWS_PER_SAGA
            detail = (
                f"{now:.2f} rows a saga decided in the last third, {before:.2f} in the middle "
                f"(limit {limit:.2f})"
            )
            checks.append(Check(f"table {key} linear", now <= limit, detail))
        elif table in NO_GROWTH_TABLES:
            added = samples[-1].inserted.get(key, 0) - samples[0].inserted.get(key, 0)
            checks.append(Check(f"table {key} empty", added <= 0, f"{added} rows inserted during the run"))
    return checks


def _decided_between(samples: Sequence[Sample], orders: Sequence[Order]) -> int:
    """Orders decided after the first sample and by the last (0 without two samples)."""
    if len(samples) < 2:
        return 0
    start, end = samples[0].t, samples[-1].t
    return sum(o.latency is not None and start < o.scheduled + o.latency <= end for o in orders)


def _rows_per_saga(samples: Sequence[Sample], decided: int, key: str) -> float | None:
    """Rows of ``key`` added from the first sample to the last, per order decided in between; None
    without a decision (or two samples)."""
    if not decided:
        return None
    return (samples[-1].rows.get(key, 0) - samples[0].rows.get(key, 0)) / decided


def messaging_checks(samples: Sequence[Sample], duration: float) -> list[Check]:
    last = [s for s in samples if s.t >= duration * 2 / 3]
    checks = []
    for service in sorted({n for s in samples for n in s.backlog}):
        worst = max((s.backlog.get(service, 0) for s in last), default=0)
        detail = f"at most {worst} unpublished rows in the last third (limit {OUTBOX_BACKLOG_MAX})"
        checks.append(Check(f"outbox backlog {service}", bool(last) and worst <= OUTBOX_BACKLOG_MAX, detail))
    for service in sorted({n for s in samples for n in s.lag}):
        values = [s.lag.get(service) for s in last]
        age = last[-1].lag_age.get(service) if last else None
        known = [v for v in values if v is not None]
        if not last or len(known) < len(values) or age is None or age > SNAPSHOT_AGE_MAX_S:
            detail = f"lag unknown: no snapshot, or one {age} s old (limit {SNAPSHOT_AGE_MAX_S:.0f} s)"
            checks.append(Check(f"consumer lag {service}", False, detail))
            continue
        detail = f"at most {max(known)} messages in the last third (limit {CONSUMER_LAG_MAX})"
        checks.append(Check(f"consumer lag {service}", max(known) <= CONSUMER_LAG_MAX, detail))
    return checks


def load_checks(samples: Sequence[Sample], orders: Sequence[Order], load: dict[str, Any]) -> list[Check]:
    kinds = {k: n for k, n in load.get("errors_by_kind", {}).items() if n}
    retried = load.get("retried_by_reason", {})  # POSTs sent again: shown; they fail only as errors
    undecided = sum(o.latency is None for o in orders)
    exited = sorted({name for s in samples for name in s.exited})
    failed = load.get("failed_load_processes", 0)
    return [
        Check(
            "requests",
            load.get("errors", 0) == 0 and failed == 0,
            f"{load.get('acknowledged', 0)} of {load.get('offered', 0)} acknowledged, "
            f"{load.get('errors', 0)} errors{f' {kinds}' if kinds else ''}, {failed} load processes failed"
            f"{f', sent again: {retried}' if retried else ''}",
        ),
        Check("decided", undecided == 0, f"{len(orders) - undecided} decided, {undecided} undecided"),
        Check("processes", not exited, f"exited: {', '.join(exited)}" if exited else "every process ran"),
    ]


def verdict(
    samples: Sequence[Sample],
    orders: Sequence[Order],
    load: dict[str, Any],
    *,
    duration: float,
    bucket_seconds: float,
    prune_seconds: float,
) -> dict[str, Any]:
    """The per-bucket figures, every check and whether all passed (JSON-ready)."""
    checks = (
        load_checks(samples, orders, load)
        + memory_checks(samples, duration, bucket_seconds)
        + latency_checks(orders, duration)
        + table_checks(samples, orders, duration, prune_seconds)
        + messaging_checks(samples, duration)
    )
    return {
        "buckets": buckets(samples, orders, duration, bucket_seconds),
        "checks": [asdict(c) for c in checks],
        "failed": [c.name for c in checks if not c.passed],
        "passed": all(c.passed for c in checks),
    }
