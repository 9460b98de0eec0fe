"""make bench: the end-to-end benchmark (saga throughput and latency by offered rate) and its cost.

    python -m bench.run [--rates 10,25,50,100,150] [--saturation 400] [--seconds 20] [--repeat 1]

For each offered rate: a separate load process offers orders for ``--seconds`` (open loop), the run
waits until every acknowledged order is decided, and reads from the orders database when each was
decided (``updated_at``). Latency is from the moment the order was due to be sent to that decision,
so waiting in the load process counts too, and no polling adds load. Throughput is decided orders
per second between the first and the last decision. The CPU seconds of every process of the stack,
PostgreSQL's server processes included, are read before and after each step (psutil), and memory
sampled throughout. Then the relay benchmark (``bench.relay``) runs on its own broker.
"""

import argparse
import contextlib
import json
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

from bench import relay
from bench.limits import kafka_round_trip_rate, pgbench_commits_per_second
from bench.load import BROKE, RICH
from devstack import postgres
from devstack.broker import free_port
from devstack.local_keys import jwt_signing_key
from devstack.services import REPO_ROOT, SERVICES
from devstack.stack import Stack, StackConfig
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


def database_commits(stack: Stack) -> int:
    """Transactions committed so far in the stack's databases (PostgreSQL's statistics, which a busy
    backend reports at most once a second: read them a second after the work)."""
    names = [stack.config.database_name(s) for s in SERVICES]
    query = "SELECT sum(xact_commit) FROM pg_stat_database WHERE datname = ANY(%s)"
    server = f"{stack.config.postgres_url}/postgres"
    with psycopg2.connect(server) as connection, connection.cursor() as cursor:
        cursor.execute(query, [names])
        row = cursor.fetchone()
    connection.close()
    return int(row[0] or 0) if row else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def decisions(orders_url: str, ids: list[str], timeout: float) -> dict[str, tuple[str, float]]:
    """Wait until the orders are decided; return id -> (status, epoch seconds of the decision)."""
    deadline = time.monotonic() + timeout
    with psycopg2.connect(orders_url) as connection, connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id::text, status, extract(epoch FROM updated_at) FROM orders_order "
                "WHERE id::text = ANY(%s)",
                [ids],
            )
            rows = cursor.fetchall()
            connection.commit()
            decided = {row[0]: (row[1], float(row[2])) for row in rows if row[1] != "PENDING"}
            if len(decided) == len(ids) or time.monotonic() > deadline:
                return decided
            time.sleep(1.0)


def step(stack: Stack, pids: dict[str, int], rate: float, seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cpu_before = cpu_seconds(pids)
        commits_before = database_commits(stack)
        subprocess.run(
            [sys.executable, "-m", "bench.load", stack.url("orders"), str(rate), str(seconds), out.name],
            check=True,
        )
        load = json.loads(Path(out.name).read_text())
    orders_url = stack.config.database_url(SERVICES[0])
    ids = [o["id"] for o in load["orders"]]
    decided = decisions(orders_url, ids, timeout=max(120.0, seconds * 4))
    cpu_after = cpu_seconds(pids)
    time.sleep(1.0)  # see database_commits
    commits = database_commits(stack) - commits_before
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

    return {
        "offered_rate": rate,
        "offered": load["offered"],
        "offered_seconds": load["offered_seconds"],
        "acknowledged": len(ids),
        "errors": load["errors"],
        "decided": len(decided),
        "throughput_per_s": len(decided) / span if span == span and span > 0 else None,
        "latency": summary(latencies),
        "latency_by_outcome": {kind: summary(values) for kind, values in sorted(by_kind.items())},
        "commits_per_saga": commits / len(decided) if decided else None,
        "cpu_seconds": cpu,
        "cpu_seconds_per_saga": cpu / len(decided) if decided else None,
        "cpu_ms_per_saga_by_process": {
            name: round(1000 * used / len(decided), 2) for name, used in cpu_by_process.items()
        }
        if decided
        else {},
    }


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


def start_stack(run_dir: Path) -> Stack:
    config = StackConfig(
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
        topic_prefix=f"bench-{uuid.uuid4().hex[:8]}.",
        database_prefix="bench_",
        ports={s.name: free_port() for s in SERVICES},
        run_dir=run_dir,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="10,25,50,100,150", help="offered orders per second, comma-separated"
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
        "--relay-rows", type=int, default=100_000, help="outbox rows for the relay benchmark (0: skip it)"
    )
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")] + [args.saturation]
    runs: list[list[dict[str, Any]]] = []
    limits: dict[str, Any] = {}
    peak: dict[str, int] = {}
    peak_total = 0
    for repeat in range(args.repeat):
        stack = start_stack(RESULTS.parent / ".run" / f"stack-{repeat}")
        try:
            pids = {name: p.popen.pid for name, p in stack.processes.processes.items()}
            if stack.broker_pid:
                pids["broker"] = stack.broker_pid
            pids[POSTGRES] = 0  # not ours to start: found by user (postgres_processes)
            step(stack, pids, 10.0, 3.0)  # warm-up: consumer groups joined, connections open
            sampler = Sampler(pids)
            sampler.start()
            steps = []
            for rate in rates:
                seconds = args.saturation_seconds if rate == args.saturation else args.seconds
                result = step(stack, pids, rate, seconds)
                print(
                    json.dumps(
                        {k: result[k] for k in ("offered_rate", "decided", "throughput_per_s")}
                        | {"p50_ms": result["latency"]["p50_ms"], "p99_ms": result["latency"]["p99_ms"]}
                    ),
                    flush=True,
                )
                steps.append(result)
            sampler.stop()
            runs.append(steps)
            if repeat == 0:
                limits = {
                    "kafka": kafka_round_trip_rate(stack.config.kafka_bootstrap),
                    "postgres_commits_per_s": pgbench_commits_per_second(
                        f"{stack.config.postgres_url}/postgres"
                    ),
                }
                print(json.dumps({"limits": limits}), flush=True)
            peak = {k: max(v, peak.get(k, 0)) for k, v in sampler.peak.items()}
            peak_total = max(peak_total, sampler.peak_total)
        finally:
            stack.stop()
    relay_results = relay.on_own_broker(args.relay_rows) if args.relay_rows else {}
    saturated = [run[-1]["throughput_per_s"] or 0.0 for run in runs]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "settings": vars(args),
        "runs": runs,
        "saturation_throughput": {
            "min": min(saturated),
            "median": statistics.median(saturated),
            "max": max(saturated),
        },
        "peak_rss_bytes": {"total": peak_total, "by_process": peak},
        "limits": limits,
        "fraction_of_limits": fractions(
            limits, statistics.median(saturated), runs[0][-1]["commits_per_saga"]
        ),
        "relay": relay_results,
        "latency_measured_as": "the decision's orders.updated_at minus when the POST was due (open loop)",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = datetime.now(UTC).strftime("%Y-%m-%d")
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    from bench.plot import plot

    plot(report, RESULTS / f"{name}.png")
    print(f"results: bench/results/{name}.json and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
