"""make soak: the whole stack at about half of its measured capacity for half an hour, watched for drift.

    python -m bench.soak [--rate 25] [--minutes 30] [--sample-seconds 10] [--bucket-seconds 60]
                         [--prune-seconds 60] [--workers 1] [--out bench/results]

A stack on fresh bench_ databases and its own broker (``bench.run.start_stack``), offered ``--rate``
orders/s (open loop, ``bench.load``'s mix) for ``--minutes``. Every ``--sample-seconds``: each process's
memory and CPU (PostgreSQL's server processes as one), each service's tables (live rows, rows inserted,
size), its outbox backlog and its consumer lag; every order's latency from when it was due to its
decision. A row per bucket (``--bucket-seconds``, a minute) is printed as the run goes; then every check
(``bench.soak.checks``: memory and latency trends, tables retention should bound, backlog, lag, failed
requests, undecided orders, processes that exited) and the verdict: exit 1 if any check failed. The
figures go to ``<out>/soak-<date>.json`` and ``.png``.

The stack prunes published outbox rows and Idempotency-Keys at once (retention 0 hours) every
``--prune-seconds``, so those tables must stay bounded within the run; the inbox and the sagas keep
days (they must outlive the topics' retention), so those must grow linearly instead.
"""

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.run import POSTGRES, RESULTS, start_stack
from bench.soak import checks, figures, probes
from bench.soak.orders import LAUNCH_LEAD_SECONDS, Feeder
from bench.soak.plot import plot
from devstack.services import SERVICES
from devstack.stack import Stack

# About half of the stack's saturation: README "Measured", 53.2 sagas/s on the 2-core machine (2026-12-03).
DEFAULT_RATE = 25.0
PRINT_GRACE_SECONDS = 30.0  # a bucket's row is printed this long after it ends: its orders decided
RUN_DIR = RESULTS.parent / ".run" / "soak"


@dataclass(frozen=True)
class Settings:
    rate: float = DEFAULT_RATE
    minutes: float = 30.0
    sample_seconds: float = 10.0
    bucket_seconds: float = 60.0
    prune_seconds: float = 60.0
    workers: int = 1

    @property
    def duration(self) -> float:
        return self.minutes * 60


def stack_env(settings: Settings) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "none",  # whatever this shell says, as make bench runs it
        # a published outbox row and an Idempotency-Key go at the next prune: bounded within the run
        "OUTBOX_RETENTION_HOURS": "0",
        "IDEMPOTENCY_KEY_RETENTION_HOURS": "0",
        "PRUNE_INTERVAL_SECONDS": f"{settings.prune_seconds:g}",
    }


def soak(
    settings: Settings,
    out_dir: Path = RESULTS,
    run_dir: Path = RUN_DIR,
    echo: Callable[[str], None] = print,
) -> tuple[dict[str, Any], Path, Path]:
    """Run the soak; return its report and where its JSON and PNG went."""
    env = stack_env(settings)
    echo(f"soak: {settings.rate:g} orders/s for {settings.minutes:g} min, the stack with {env}")
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch, contextlib.ExitStack() as cleanup:
        stack = start_stack(run_dir, env, workers=settings.workers)
        cleanup.callback(stack.stop)
        pids = {name: p.popen.pid for name, p in stack.processes.processes.items()}
        if stack.broker_pid:
            pids[figures.BROKER] = stack.broker_pid
        pids[POSTGRES] = 0  # not ours to start: found by user (bench.run.postgres_processes)
        databases = probes.Databases(stack.config.database_urls())
        cleanup.callback(databases.close)
        orders_db = stack.config.database_url(SERVICES[0])
        start = time.time() + LAUNCH_LEAD_SECONDS
        feeder = Feeder(
            stack.url("orders"), orders_db, settings.rate, settings.duration, start, Path(scratch)
        )
        cleanup.callback(feeder.stop)  # the load processes still running, if this fails
        samples, printed = watch(stack, pids, databases, feeder, settings, echo)
        feeder.finish()
    result = checks.verdict(
        samples,
        list(feeder.orders.values()),
        feeder.load,
        duration=settings.duration,
        bucket_seconds=settings.bucket_seconds,
        prune_seconds=settings.prune_seconds,
    )
    for row in result["buckets"][printed:]:
        echo(figures.line(row))
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "settings": asdict(settings),
        "duration_s": settings.duration,
        "stack_environment": env,
        "tolerances": checks.tolerances(),
        "load": feeder.load,
        "latency_measured_as": "the decision's orders.updated_at minus when the POST was due (open loop)",
        **result,
        "samples": [asdict(s) for s in samples],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "soak-" + datetime.now(UTC).strftime("%Y-%m-%d")
    json_path, png_path = out_dir / f"{name}.json", out_dir / f"{name}.png"
    json_path.write_text(json.dumps(report, indent=1))
    plot(report, png_path)
    for check in result["checks"]:
        echo(f"{'ok  ' if check['passed'] else 'FAIL'} {check['name']}: {check['detail']}")
    failed = result["failed"]
    echo("soak: passed" if not failed else f"soak: FAILED, {len(failed)} checks: {', '.join(failed)}")
    echo(f"results: {json_path} and {png_path.name}")
    return report, json_path, png_path


def watch(
    stack: Stack,
    pids: dict[str, int],
    databases: probes.Databases,
    feeder: Feeder,
    settings: Settings,
    echo: Callable[[str], None],
) -> tuple[list[figures.Sample], int]:
    """Sample every ``sample_seconds`` from the load's start to its end, launching the load's chunks
    when due and printing each bucket's row once its orders are decided; return the samples and how
    many rows were printed."""
    samples: list[figures.Sample] = []
    printed = 0
    next_sample, end = feeder.start, feeder.start + settings.duration
    echo(figures.heading())
    while next_sample <= end + 1e-6:
        feeder.launch_due(time.time())
        if time.time() < next_sample:
            upcoming = min(next_sample, feeder.next_launch() or next_sample)
            time.sleep(max(0.0, min(upcoming - time.time(), settings.sample_seconds)))
            continue
        exited = [p.name for p in stack.processes.processes.values() if not p.running]
        samples.append(probes.sample(time.time() - feeder.start, pids, databases, exited))
        next_sample += settings.sample_seconds
        feeder.collect()
        feeder.decide()
        printed = show_ready(samples, feeder, settings, printed, echo)
    return samples, printed


def show_ready(
    samples: list[figures.Sample],
    feeder: Feeder,
    settings: Settings,
    printed: int,
    echo: Callable[[str], None],
) -> int:
    """Print the rows of the buckets ended over PRINT_GRACE_SECONDS ago whose orders are all known."""
    count = figures.bucket_count(settings.duration, settings.bucket_seconds)
    now = time.time() - feeder.start

    def ready(index: int) -> bool:
        ends = min((index + 1) * settings.bucket_seconds, settings.duration)
        return index < count and ends <= feeder.collected_until and ends + PRINT_GRACE_SECONDS <= now

    if not ready(printed):
        return printed
    orders = list(feeder.orders.values())
    rows = figures.buckets(samples, orders, settings.duration, settings.bucket_seconds)
    while ready(printed):
        echo(figures.line(rows[printed]))
        printed += 1
    return printed


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default = Settings()
    parser.add_argument("--rate", type=float, default=default.rate, help="offered orders per second")
    parser.add_argument("--minutes", type=float, default=default.minutes, help="how long the load runs")
    parser.add_argument(
        "--sample-seconds", type=float, default=default.sample_seconds, help="sampling period"
    )
    parser.add_argument(
        "--bucket-seconds", type=float, default=default.bucket_seconds, help="one row of the table (medians)"
    )
    parser.add_argument(
        "--prune-seconds",
        type=float,
        default=default.prune_seconds,
        help="the stack's PRUNE_INTERVAL_SECONDS (outbox and Idempotency-Keys kept 0 hours)",
    )
    parser.add_argument("--workers", type=int, default=default.workers, help="worker processes per service")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where soak-<date>.json and .png go")
    return parser


def parse(argv: list[str] | None = None) -> tuple[Settings, Path]:
    parser = arguments()
    args = parser.parse_args(argv)
    settings = Settings(
        args.rate, args.minutes, args.sample_seconds, args.bucket_seconds, args.prune_seconds, args.workers
    )
    warm_up = settings.duration * checks.WARMUP_FRACTION
    if settings.rate <= 0 or settings.sample_seconds <= 0 or settings.workers < 1:
        parser.error("--rate and --sample-seconds must be positive, --workers at least 1")
    if settings.bucket_seconds < settings.sample_seconds:
        parser.error("--bucket-seconds must be at least --sample-seconds")
    if warm_up < 2 * settings.sample_seconds:
        parser.error("--minutes too short: each third of the run needs two samples at least")
    if checks.RETENTION_WINDOWS * settings.prune_seconds > warm_up:
        parser.error(
            f"--prune-seconds {settings.prune_seconds:g}: {checks.RETENTION_WINDOWS:g} prune intervals "
            f"must fit in the warm-up, a third of the run ({warm_up:g} s)"
        )
    return settings, args.out


def main(argv: list[str] | None = None) -> int:
    settings, out = parse(argv)
    report, _, _ = soak(settings, out)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
