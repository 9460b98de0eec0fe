"""make bench: the end-to-end benchmark (saga throughput and latency by offered rate) and its cost.

    python -m bench.run [--rates 10,25,50,100,150] [--saturation 400] [--seconds 20] [--repeat 1]
                        [--tracing off|on|both] [--workers N] [--baseline REF]
                        [--enable-pg-stat-statements]

For each offered rate: a separate load process offers orders for ``--seconds`` (open loop), the run
waits until every acknowledged order is decided, and reads from the orders database when each was
decided (``updated_at``). Latency is from the moment the order was due to be sent to that decision,
so waiting in the load process counts too, and no polling adds load. Throughput is decided orders
per second between the first and the last decision. The CPU seconds of every process of the stack,
PostgreSQL's server processes included, are read before and after each step (psutil), and memory
sampled throughout. Then the relay benchmark (``bench.relay``) runs on its own broker.

Nothing is dropped silently: each step reports the orders offered, acknowledged (201), the errors (an
error status, a timeout, a connection error: ``bench.load``) and the undecided (acknowledged, not decided
when the wait ended), next to the percentiles; and, from pg_stat_statements (``bench.statements``), the
stack's top statements per saga. CPU is reported by process and by service (its web and all its workers).

``--workers N`` runs N worker processes per service (topics get at least N partitions).
``--baseline REF`` first measures commit REF with the same arguments, in the same run
(``bench.baseline``), and reports, prints and plots the two side by side; ``--baseline-broker tansu``
does the same with this tree on the other broker (``BROKER=tansu``).

``--tracing on`` runs the stack with tracing on: every process exports its spans over OTLP/HTTP to a
receiver in this process (``devstack.otlp_sink``, decoding each request as a collector would), with
the SDK's default batching, so spans are really recorded, serialised and sent. ``both`` runs each
sweep twice, on a fresh stack, off then on, and reports what tracing costs at each rate
(``tracing_cost``); the receiver's own CPU is this process's, not counted with the stack's.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg2

from bench import baseline, relay, side_by_side, statements
from bench.limits import kafka_round_trip_rate, pgbench_commits_per_second
from bench.load import BROKE, RICH
from devstack import postgres
from devstack.broker import describe, free_port
from devstack.local_keys import jwt_signing_key
from devstack.otlp_sink import OtlpSink
from devstack.services import REPO_ROOT, SERVICES
from devstack.stack import Stack, StackConfig
from peers import PEER_DESCRIPTIONS, PEERS
from saga_client import ShopClient
from saga_common.web.tokens import OPERATOR, mint_token

RESULTS = REPO_ROOT / "bench" / "results"


POSTGRES = "postgres"  # the server's processes (all of the cluster's; during a run only ours use it)


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["username"]) if p.info["username"] == "postgres"]


def memory(name: str, pid: int) -> int:
    """Resident bytes of a process tree; for PostgreSQL the proportional share (PSS), since every
    backend maps the same shared buffers and RSS would count them once per backend."""
    if name == POSTGRES:
        total = 0
        for process in postgres_processes():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += process.memory_full_info().pss
        return total
    return sum(p.memory_info().rss for p in _tree(pid))


class Sampler:
    """Peak resident memory of every process of the stack, sampled every half second."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak: dict[str, int] = dict.fromkeys(pids, 0)
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            total = 0
            for name, pid in self.pids.items():
                rss = memory(name, pid)
                self.peak[name] = max(self.peak[name], rss)
                total += rss
            self.peak_total = max(self.peak_total, total)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each process tree of the stack (by name)."""
    used: dict[str, float] = {}
    for name, pid in pids.items():
        processes = postgres_processes() if name == POSTGRES else _tree(pid)
        used[name] = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
                used[name] += times.user + times.system
            except psutil.NoSuchProcess:
                pass
    return used


def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, Any]:
    """What the stack costs doing nothing, warm: percent of one core by process and in all, over
    ``seconds`` with no order offered (what polls, heartbeats and sweeps cost)."""
    time.sleep(2.0)  # the warm-up's last replies and commits
    before = cpu_seconds(pids)
    time.sleep(seconds)
    after = cpu_seconds(pids)
    by_process = {name: round(100 * (after[name] - before[name]) / seconds, 2) for name in pids}
    return {"seconds": seconds, "total": round(sum(by_process.values()), 2), "by_process": by_process}


def warm_idle(pids: dict[str, int], seconds: float) -> dict[str, Any] | None:
    """Idle CPU again after the sweep, everything decided: a JVM has compiled its hot paths by then,
    where the first measurement, seconds after the start, still pays for that."""
    if not seconds:
        return None
    time.sleep(5.0)  # past the saturation step's last commits, checkpoint and autovacuum wake-ups
    idle = idle_cpu(pids, seconds)
    print(json.dumps({"idle_cpu_percent_warm": idle}), flush=True)
    return idle


def database_commits(server: str, names: list[str]) -> int:
    """Transactions committed so far in these databases (PostgreSQL's statistics, which a busy
    backend reports at most once a second: read them a second after the work)."""
    query = "SELECT sum(xact_commit) FROM pg_stat_database WHERE datname = ANY(%s)"
    with psycopg2.connect(server) as connection, connection.cursor() as cursor:
        cursor.execute(query, [names])
        row = cursor.fetchone()
    connection.close()
    return int(row[0] or 0) if row else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def decisions(
    orders_url: str, ids: list[str], timeout: float, table: str = "orders_order"
) -> dict[str, tuple[str, float]]:
    """Wait until the orders are decided; return id -> (status, epoch seconds of the decision). A peer's
    orders are in its ``table`` (``peers.workload``), with the same columns."""
    deadline = time.monotonic() + timeout
    with psycopg2.connect(orders_url) as connection, connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT {statements.BENCH_MARK} id::text, status, extract(epoch FROM updated_at) "
                f"FROM {table} "
                "WHERE id::text = ANY(%s)",
                [ids],
            )
            rows = cursor.fetchall()
            connection.commit()
            decided = {row[0]: (row[1], float(row[2])) for row in rows if row[1] != "PENDING"}
            if len(decided) == len(ids) or time.monotonic() > deadline:
                return decided
            time.sleep(1.0)


def cpu_by_service(by_process: dict[str, float]) -> dict[str, dict[str, float]]:
    """CPU by service: its web, its workers summed (one, or worker-1 .. worker-N), and the two; other
    processes (the broker, PostgreSQL) by themselves, as their "total"."""
    grouped: dict[str, dict[str, float]] = {}
    for name, used in by_process.items():
        service = next((s.name for s in SERVICES if name.startswith(f"{s.name}-")), None)
        if service is None:
            grouped[name] = {"total": used}
            continue
        entry = grouped.setdefault(service, {"web": 0.0, "workers": 0.0, "total": 0.0})
        entry["web" if name == f"{service}-web" else "workers"] += used
        entry["total"] += used
    return {name: {key: round(value, 2) for key, value in entry.items()} for name, entry in grouped.items()}


def step(
    stack: Stack,
    pids: dict[str, int],
    rate: float,
    seconds: float,
    pg_statements: statements.Availability | None = None,
) -> dict[str, Any]:
    admin = f"{stack.config.postgres_url}/postgres"
    if pg_statements and pg_statements.available:
        statements.reset(admin)
    load_command = [sys.executable, "-m", "bench.load", stack.url("orders"), str(rate), str(seconds)]
    databases = [stack.config.database_name(s) for s in SERVICES]
    result = measured_step(load_command, pids, admin, databases, stack.config.database_url(SERVICES[0]))
    if pg_statements and pg_statements.available:
        result["top_statements"] = statements.top(admin, stack.config.database_prefix, result["decided"])
    return {"offered_rate": rate} | result


def measured_step(
    load_command: list[str],
    pids: dict[str, int],
    admin: str,
    databases: list[str],
    orders_url: str,
    orders_table: str = "orders_order",
) -> dict[str, Any]:
    """Offer orders with ``load_command`` (which writes its results to the file named last), wait
    until every acknowledged order is decided, and measure: ours and the peers' alike."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cpu_before = cpu_seconds(pids)
        commits_before = database_commits(admin, databases)
        subprocess.run([*load_command, out.name], check=True)
        load = json.loads(Path(out.name).read_text())
    ids = [o["id"] for o in load["orders"]]
    decided = decisions(orders_url, ids, max(120.0, load["offered_seconds"] * 4), orders_table)
    cpu_after = cpu_seconds(pids)
    time.sleep(1.0)  # see database_commits
    commits = database_commits(admin, databases) - commits_before
    cpu_by_process = {name: cpu_after[name] - cpu_before[name] for name in pids}
    cpu = sum(cpu_by_process.values())
    by_kind: dict[str, list[float]] = {}
    for order in load["orders"]:
        if order["id"] in decided:
            by_kind.setdefault(order["kind"], []).append(decided[order["id"]][1] - order["scheduled"])
    times = [when for _, when in decided.values()]
    span = max(times) - min(times) if len(times) > 1 else float("nan")
    latencies = [v for values in by_kind.values() for v in values]

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "p50_ms": 1000 * percentile(values, 0.50),
            "p95_ms": 1000 * percentile(values, 0.95),
            "p99_ms": 1000 * percentile(values, 0.99),
            "max_ms": 1000 * max(values, default=float("nan")),
            "count": len(values),
        }

    cpu_ms_by_process = {name: 1000 * used / max(1, len(decided)) for name, used in cpu_by_process.items()}
    return {
        "offered": load["offered"],
        "offered_seconds": load["offered_seconds"],
        "acknowledged": len(ids),
        "errors": load["errors"],
        "errors_by_kind": load["errors_by_kind"],
        "error_statuses": load["error_statuses"],
        "retried_by_reason": load["retried_by_reason"],  # sent again with its key, then acknowledged
        # offered = acknowledged + errors, unless the load process lost one (it counts every answer)
        "unaccounted": load["offered"] - len(ids) - load["errors"],
        "undecided": len(ids) - len(decided),
        "decided": len(decided),
        "throughput_per_s": len(decided) / span if span == span and span > 0 else None,
        "latency": summary(latencies),
        "latency_by_outcome": {kind: summary(values) for kind, values in sorted(by_kind.items())},
        "commits_per_saga": commits / len(decided) if decided else None,
        "cpu_seconds": cpu,
        "cpu_seconds_per_saga": cpu / len(decided) if decided else None,
        "cpu_ms_per_saga_by_process": {name: round(ms, 2) for name, ms in cpu_ms_by_process.items()}
        if decided
        else {},
        "cpu_ms_per_saga_by_service": cpu_by_service(cpu_ms_by_process) if decided else {},
        # pg_stat_statements over the step, the stack's databases only (None: not readable, see the
        # report's "pg_stat_statements")
        "top_statements": None,
    }


def step_line(result: dict[str, Any], traced: bool) -> dict[str, Any]:
    """The JSON line printed for a step: what was offered and what became of it, then the measures."""
    return (
        {"tracing": "on" if traced else "off"}
        | {k: result[k] for k in ("offered_rate", "offered", "acknowledged", "errors", "undecided")}
        | {"errors_by_kind": {kind: n for kind, n in result["errors_by_kind"].items() if n}}
        | ({"unaccounted": result["unaccounted"]} if result["unaccounted"] else {})
        | {k: result[k] for k in ("decided", "throughput_per_s")}
        | {"p50_ms": result["latency"]["p50_ms"], "p99_ms": result["latency"]["p99_ms"]}
        | {"cpu_ms_per_saga": 1000 * (result["cpu_seconds_per_saga"] or float("nan"))}
    )


# What one approved PlaceOrder saga costs, counted from the code. Commits, when every message comes
# alone: orders 2 (the POST, the ApproveOrder handler), payments 2 (authorize, capture), shipping 1
# (schedule), orchestrator 5 (OrderCreated, then one per reply), plus the relays' marking transactions,
# one per batch. Consumers apply a fetched batch in one transaction, so under load a saga needs fewer:
# each step also reports the commits it measured per saga. Messages: OrderCreated, 4 commands and
# their 4 replies.
COMMITS_PER_SAGA = 10
MESSAGES_PER_SAGA = 9


def fractions(limits: dict[str, Any], throughput: float, commits_per_saga: float | None) -> dict[str, float]:
    """Our saturated throughput as a fraction of what the database and the broker could carry
    (the database's share with the commits per saga measured at saturation, or else counted)."""
    if not limits:
        return {}
    broker = min(limits["kafka"]["produce_per_s"], limits["kafka"]["consume_per_s"]) / MESSAGES_PER_SAGA
    database = limits["postgres_commits_per_s"] / (commits_per_saga or COMMITS_PER_SAGA)
    return {"of_broker_sagas_per_s": throughput / broker, "of_postgres_sagas_per_s": throughput / database}


def start_stack(run_dir: Path, extra_env: dict[str, str] | None = None, workers: int = 1) -> Stack:
    config = StackConfig(
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
        database_prefix="bench_",
        ports={s.name: free_port() for s in SERVICES},
        run_dir=run_dir,
        extra_env=extra_env or {},
        workers=workers,  # per service; the topics get as many partitions (StackConfig.topic_partitions)
    )
    admin = f"{config.postgres_url}/postgres"
    postgres.ensure_server(admin)
    postgres.drop_databases([config.database_name(s) for s in SERVICES], admin)
    stack = Stack(config, echo=False)
    stack.prepare()
    stack.start()
    stack.wait_ready()
    operator = mint_token(jwt_signing_key(), "bench", [OPERATOR])
    with ShopClient({"payments": stack.url("payments")}, token=operator) as payments:
        payments.open_account(RICH, "999999999.00")
    assert BROKE != RICH  # BROKE never gets an account: its orders are declined
    return stack


def sweep(
    run_dir: Path,
    rates: list[float],
    args: argparse.Namespace,
    *,
    traced: bool,
    measure_limits: bool,
    pg_statements: statements.Availability,
) -> dict[str, Any]:
    """One sweep of the rates on a fresh stack (tracing on: exporting to a receiver here)."""
    sink = OtlpSink(keep=False).start() if traced else None
    # the SDK's own batching (a batch every 5 s, or every 512 spans), as a deployment exports; off is off
    # whatever this shell's environment says
    stack = start_stack(
        run_dir,
        sink.env(schedule_delay_ms=5000) if sink else {"OTEL_TRACES_EXPORTER": "none"},
        workers=args.workers,
    )
    decided = 0
    try:
        pids = {name: p.popen.pid for name, p in stack.processes.processes.items()}
        if stack.broker_pid:
            pids["broker"] = stack.broker_pid
        pids[POSTGRES] = 0  # not ours to start: found by user (postgres_processes)
        # warm-up, not measured: groups joined, connections open, and (--warmup-seconds) the JVM's JIT
        decided += step(stack, pids, args.warmup_rate, args.warmup_seconds)["decided"]
        idle = None
        if args.idle_seconds:
            idle = idle_cpu(pids, args.idle_seconds)
            print(json.dumps({"idle_cpu_percent": idle}), flush=True)
        sampler = Sampler(pids)
        sampler.start()
        steps = []
        for number, rate in enumerate(rates):
            seconds = args.saturation_seconds if rate == args.saturation else args.seconds
            result = step(stack, pids, rate, seconds, pg_statements)
            print(json.dumps(step_line(result, traced)), flush=True)
            if number == len(rates) - 1:  # saturation: where the cost is
                print(json.dumps({"cpu_ms_per_saga_by_service": result["cpu_ms_per_saga_by_service"]}))
                print(statements.format_top(result["top_statements"], pg_statements.note), flush=True)
            steps.append(result)
            decided += result["decided"]
        sampler.stop()
        idle_warm = warm_idle(pids, args.idle_seconds)
        limits = {}
        if measure_limits:
            limits = {
                "kafka": kafka_round_trip_rate(stack.config.kafka_bootstrap),
                "postgres_commits_per_s": pgbench_commits_per_second(f"{stack.config.postgres_url}/postgres"),
            }
            print(json.dumps({"limits": limits}), flush=True)
    finally:
        stack.stop()  # the processes export their last spans as they stop
        if sink is not None:
            sink.stop()
    spans = None
    if sink is not None:
        spans = {
            "spans": sink.received,
            "export_requests": sink.requests,
            "bytes": sink.bytes,
            "sagas": decided,
            "spans_per_saga": sink.received / decided if decided else None,
            "bytes_per_span": sink.bytes / sink.received if sink.received else None,
        }
        print(json.dumps({"exported": spans}), flush=True)
    return {
        "steps": steps,
        "idle": idle,
        "idle_warm": idle_warm,
        "limits": limits,
        "peak": sampler.peak,
        "peak_total": sampler.peak_total,
        "spans": spans,
    }


def measure_peer(name: str, server: str, rates: list[float], args: argparse.Namespace) -> dict[str, Any]:
    """A peer's sweeps (``--repeat`` of them), reported with the same figures as ours."""
    from peers.sweep import sweep as peer_sweep  # the peers' SDKs load only when they are measured

    sweeps = [
        peer_sweep(name, server, RESULTS.parent / ".run" / f"peer-{name}-{repeat}", rates, args)
        for repeat in range(args.repeat)
    ]
    saturated = [result["steps"][-1]["throughput_per_s"] or 0.0 for result in sweeps]
    return {
        "runs": [result["steps"] for result in sweeps],
        "idle_cpu_percent": [result["idle"] for result in sweeps if result["idle"] is not None],
        "idle_cpu_percent_warm": [result["idle_warm"] for result in sweeps if result["idle_warm"]],
        "saturation_throughput": {
            "min": min(saturated),
            "median": statistics.median(saturated),
            "max": max(saturated),
        },
        "peak_rss_bytes": {
            "total": max(result["peak_total"] for result in sweeps),
            "by_process": {k: max(r["peak"].get(k, 0) for r in sweeps) for k in sweeps[0]["peak"]},
        },
        "what": PEER_DESCRIPTIONS[name],
    }


def tracing_cost(off: list[list[dict[str, Any]]], on: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """At each offered rate, the median over the sweeps of CPU per saga, latency and throughput, with
    tracing off and on, and the change."""
    measures = {
        "cpu_ms_per_saga": lambda r: 1000 * r["cpu_seconds_per_saga"] if r["cpu_seconds_per_saga"] else None,
        "p50_ms": lambda r: r["latency"]["p50_ms"],
        "p99_ms": lambda r: r["latency"]["p99_ms"],
        "decided_per_s": lambda r: r["throughput_per_s"],
    }

    def median(runs: list[list[dict[str, Any]]], index: int, name: str) -> float | None:
        values = [v for run in runs if (v := measures[name](run[index])) is not None]
        return statistics.median(values) if values else None

    rows = []
    for index, first in enumerate(off[0]):
        row: dict[str, Any] = {"offered_rate": first["offered_rate"]}
        for name in measures:
            off_value, on_value = median(off, index, name), median(on, index, name)
            change = 100 * (on_value - off_value) / off_value if off_value and on_value else None
            row[name] = {
                "off": off_value,
                "on": on_value,
                "change_pct": None if change is None else round(change, 1),
            }
        rows.append(row)
    return rows


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="10,25,60,100,150", help="offered orders per second, comma-separated"
    )
    parser.add_argument(
        "--saturation", type=float, default=400.0, help="a rate beyond what the system can do"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate is offered")
    parser.add_argument(
        "--saturation-seconds", type=float, default=5.0, help="how long saturation is offered"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of the whole sweep (noise: min/median/max)"
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=3.0,
        help="the unmeasured warm-up before each sweep (Kafka's JVM wants 30 or more to be warm)",
    )
    parser.add_argument("--warmup-rate", type=float, default=10.0, help="orders per second in the warm-up")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=15.0,
        help="after the warm-up, measure the stack's CPU with nothing offered for this long (0: skip)",
    )
    parser.add_argument(
        "--relay-rows", type=int, default=100_000, help="outbox rows for the relay benchmark (0: skip it)"
    )
    parser.add_argument(
        "--tracing",
        choices=("off", "on", "both"),
        default="off",
        help="tracing in the stack: off, on (exported to a receiver in this process), or both, one after "
        "the other, with what it costs",
    )
    parser.add_argument(
        "--no-limits", dest="limits", action="store_false", help="skip measuring the machine's limits"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes per service (orchestrator and participants); topics get max(3, N) partitions",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="first measure this commit (a sha, HEAD~3, a tag) with the same arguments, in a worktree "
        "under bench/.run, and compare",
    )
    parser.add_argument(
        "--baseline-broker",
        choices=("kafka", "tansu"),
        help="first measure this tree on that broker (BROKER=...) with the same arguments, and compare: "
        "e.g. BROKER=kafka make bench BENCH_ARGS='--baseline-broker tansu'",
    )
    parser.add_argument(
        "--baseline-env",
        metavar="NAME=VALUE",
        action="append",
        help="first measure this tree with this variable set in every process, and compare (repeatable): "
        "e.g. --baseline-env SAGA_START_VERSIONS=place_order=1 compares PlaceOrder v1 with v2",
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="after our sweeps, measure these peers the same way (bench/peers: "
        + ", ".join(PEERS)
        + "), comma-separated; 'none' for none",
    )
    parser.add_argument(
        "--enable-pg-stat-statements",
        action="store_true",
        help="if the server does not preload pg_stat_statements and is the local Debian cluster, preload "
        "it and restart the server (make bench passes this)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = arguments()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if sum(bool(a) for a in (args.baseline, args.baseline_broker, args.baseline_env)) > 1:
        parser.error("--baseline, --baseline-broker, --baseline-env: one comparison at a time")
    if any("=" not in assignment for assignment in args.baseline_env or ()):
        parser.error("--baseline-env takes NAME=VALUE")
    peers = [] if args.peers in ("", "none") else args.peers.split(",")
    if unknown := set(peers) - set(PEERS):
        parser.error(f"--peers: unknown {', '.join(sorted(unknown))} (known: {', '.join(PEERS)})")
    rates = [float(r) for r in args.rates.split(",")] + [args.saturation]
    admin = f"{os.environ.get('POSTGRES_URL', postgres.DEFAULT_SERVER_URL)}/postgres"
    postgres.ensure_server(admin)
    # first, so that the baseline runs on the server as this run will
    pg_statements = statements.prepare(admin, enable=args.enable_pg_stat_statements)
    if pg_statements.note:
        print(f"top statements: not measured: {pg_statements.note}", flush=True)
    earlier = (
        baseline.run(args.baseline, parser, args)
        if args.baseline
        else baseline.run_on_broker(args.baseline_broker, parser, args)
        if args.baseline_broker
        else baseline.run_with_environment(args.baseline_env, parser, args)
        if args.baseline_env
        else None
    )
    modes = {"off": (False,), "on": (True,), "both": (False, True)}[args.tracing]
    runs: dict[bool, list[list[dict[str, Any]]]] = {traced: [] for traced in modes}
    exported: list[dict[str, Any]] = []
    limits: dict[str, Any] = {}
    peak: dict[str, int] = {}
    peak_total = 0
    idle_runs: list[dict[str, Any]] = []
    warm_idle_runs: list[dict[str, Any]] = []
    for repeat in range(args.repeat):
        for traced in modes:
            run_dir = RESULTS.parent / ".run" / f"stack-{repeat}{'-traced' if traced else ''}"
            result = sweep(
                run_dir,
                rates,
                args,
                traced=traced,
                measure_limits=args.limits and not limits,
                pg_statements=pg_statements,
            )
            runs[traced].append(result["steps"])
            if traced == modes[0] and result["idle"] is not None:
                idle_runs.append(result["idle"])
            if traced == modes[0] and result["idle_warm"] is not None:
                warm_idle_runs.append(result["idle_warm"])
            limits = limits or result["limits"]
            if result["spans"]:
                exported.append(result["spans"])
            if not traced or len(modes) == 1:  # the memory of the stack as make bench runs it
                peak = {k: max(v, peak.get(k, 0)) for k, v in result["peak"].items()}
                peak_total = max(peak_total, result["peak_total"])
    server = os.environ.get("POSTGRES_URL", postgres.DEFAULT_SERVER_URL)
    peer_results = {
        name: measure_peer(name, server, rates, args) for name in peers
    }  # after ours, on the same PostgreSQL server, with our stack stopped
    relay_results = relay.on_own_broker(args.relay_rows) if args.relay_rows else {}
    main_runs = runs[modes[0]]
    saturated = [run[-1]["throughput_per_s"] or 0.0 for run in main_runs]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "broker": describe(),
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "settings": vars(args),
        "tracing": args.tracing,
        # tracing's settings the stack inherited (OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, say)
        "otel_environment": {name: value for name, value in os.environ.items() if name.startswith("OTEL_")},
        "runs": main_runs,
        # the whole stack's CPU with nothing offered, per sweep (percent of one core)
        "idle_cpu_percent": idle_runs,
        # the same after the sweep, warm (what the target is judged on)
        "idle_cpu_percent_warm": warm_idle_runs,
        "saturation_throughput": {
            "min": min(saturated),
            "median": statistics.median(saturated),
            "max": max(saturated),
        },
        "peak_rss_bytes": {"total": peak_total, "by_process": peak},
        "limits": limits,
        "fraction_of_limits": fractions(
            limits, statistics.median(saturated), main_runs[0][-1]["commits_per_saga"]
        ),
        "relay": relay_results,
        "peers": peer_results,
        "latency_measured_as": "the decision's orders.updated_at minus when the POST was due (open loop)",
        "pg_stat_statements": pg_statements.as_report(),
    }
    if earlier is not None:
        report["baseline"] = earlier
        report["baseline_comparison"] = baseline.comparison(earlier["runs"], main_runs)
        title = (
            f"baseline {earlier['ref']} ({earlier['sha'][:10]}) -> working tree, "
            f"median per offered rate over {len(earlier['runs'])} and {len(main_runs)} sweeps:"
        )
        print(baseline.format_comparison(report["baseline_comparison"], title), flush=True)
        idle_before, idle_after = earlier.get("idle_cpu_percent") or [], report["idle_cpu_percent"]
        if idle_before and idle_after:
            median_total = [
                statistics.median(r["total"] for r in runs_) for runs_ in (idle_before, idle_after)
            ]
            print(
                f"idle CPU of the whole stack, % of one core (median): {median_total[0]} -> {median_total[1]}"
            )
    if peer_results:
        print(side_by_side.table(report), flush=True)
    report["targets"] = side_by_side.targets(report)
    print(side_by_side.format_targets(report["targets"]), flush=True)
    if True in runs and len(modes) == 2:
        report["traced_runs"] = runs[True]
        report["tracing_cost"] = tracing_cost(runs[False], runs[True])
        for row in report["tracing_cost"]:
            print(json.dumps({"tracing_cost": row}), flush=True)
    if exported:
        report["exported_spans"] = exported
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = datetime.now(UTC).strftime("%Y-%m-%d") + (
        "" if args.tracing == "off" else f"-tracing-{args.tracing}"
    )
    if (RESULTS / f"{name}.json").exists():  # a second run that day: never over the first's results
        name += datetime.now(UTC).strftime("-%H%M")
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    from bench.plot import plot, plot_side_by_side

    plot(report, RESULTS / f"{name}.png")
    print(f"results: bench/results/{name}.json and .png")
    if peer_results:
        plot_side_by_side(report, RESULTS / f"{name}-peers.png")
        print(f"ours and the peers: bench/results/{name}-peers.png")
    if earlier is not None and earlier["runs"]:
        plot(report, RESULTS / f"{name}-vs-baseline.png", before=earlier)
        print(f"baseline drawn dashed: bench/results/{name}-vs-baseline.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
